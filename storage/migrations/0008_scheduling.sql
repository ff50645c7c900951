-- Scheduled publishing (issue 12): a scheduled piece is stored with status 'scheduled' and its
-- publication time in published_at; the running bot makes it live when due (storage/schedule.py).
-- The bot looks for due pieces every half second: this index holds only the scheduled ones.
CREATE INDEX pieces_scheduled ON pieces (published_at) WHERE status = 'scheduled';

-- /publish from Telegram with a time (``/publish 2026-12-03 09:00``): the draft keeps it.
ALTER TABLE drafts ADD COLUMN publish_at REAL;
