-- A bounded outbox (issue 16): ``deliveries`` keeps only the rows that still matter. A finished
-- delivery is compacted (storage/outbox.py ``compact``) a while after it finished: its state is
-- added to its broadcast's counters, and a sent one leaves its edit target (chat, message,
-- when, language) in ``sent_messages`` for corrections and withdrawals to follow it up, for as
-- long as the edit window lasts (``EDIT_WINDOW_S`` in bot/domain/followups.py: 14 days). Counts are the counters
-- plus the rows still in ``deliveries``.

-- What compacted deliveries became, per piece.
ALTER TABLE broadcasts ADD COLUMN sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN unreachable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0;

-- The notifications that were sent, as few bytes as SQLite stores them (about 25 a message):
-- clustered by piece, so a correction reads one range and pruning deletes whole pieces.
CREATE TABLE sent_messages (
    piece_id   INTEGER NOT NULL,
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    sent_at    INTEGER NOT NULL,             -- unix seconds (the 48-hour rule of deleteMessage)
    locale     TEXT NOT NULL,
    PRIMARY KEY (piece_id, chat_id)
) WITHOUT ROWID;

-- Why a delivery was made lives in its own row (it was the joined table delivery_notes): one
-- insert per delivery at publish, and nothing to join or clean up later.
ALTER TABLE deliveries ADD COLUMN follow TEXT;   -- the follow it matched (NULL: subscribed)
ALTER TABLE deliveries ADD COLUMN turn INTEGER;  -- the matching answer, shown first
UPDATE deliveries SET follow = (SELECT n.follow FROM delivery_notes n WHERE n.delivery_id = deliveries.id),
    turn = (SELECT n.turn FROM delivery_notes n WHERE n.delivery_id = deliveries.id)
    WHERE id IN (SELECT delivery_id FROM delivery_notes);
DROP TABLE delivery_notes;

-- Finished rows, by when they finished: what the compaction takes. Pending and sending rows
-- have no done_at and are not in it, so publishing pays nothing for it.
CREATE INDEX deliveries_done ON deliveries (done_at) WHERE done_at IS NOT NULL;

-- Compact what is there: every piece with deliveries gets a broadcast row for its counters (a
-- piece posted only to the channel had none), then every finished delivery is folded in,
-- except the ones a withdrawal cancelled while the piece stays withdrawn (a restore sends them).
INSERT OR IGNORE INTO broadcasts (piece_id, total, created_at, finished_at, reported)
    SELECT piece_id, count(*), coalesce(min(done_at), 0), max(done_at), 1
    FROM deliveries GROUP BY piece_id;

CREATE TEMP TABLE compacting AS
    SELECT d.id FROM deliveries d JOIN pieces p ON p.id = d.piece_id
    WHERE d.done_at IS NOT NULL
    AND NOT (d.state = 'cancelled' AND d.last_error = 'withdrawn' AND p.status = 'withdrawn');

UPDATE broadcasts SET
    sent = sent + (SELECT count(*) FROM deliveries d WHERE d.piece_id = broadcasts.piece_id
        AND d.state = 'sent' AND d.id IN (SELECT id FROM temp.compacting)),
    failed = failed + (SELECT count(*) FROM deliveries d WHERE d.piece_id = broadcasts.piece_id
        AND d.state = 'failed' AND d.id IN (SELECT id FROM temp.compacting)),
    unreachable = unreachable + (SELECT count(*) FROM deliveries d
        WHERE d.piece_id = broadcasts.piece_id AND d.state = 'unreachable'
        AND d.id IN (SELECT id FROM temp.compacting)),
    cancelled = cancelled + (SELECT count(*) FROM deliveries d
        WHERE d.piece_id = broadcasts.piece_id AND d.state = 'cancelled'
        AND d.id IN (SELECT id FROM temp.compacting));

INSERT OR REPLACE INTO sent_messages (piece_id, chat_id, message_id, sent_at, locale)
    SELECT piece_id, chat_id, message_id, CAST(done_at AS INTEGER), locale FROM deliveries
    WHERE state = 'sent' AND message_id IS NOT NULL AND id IN (SELECT id FROM temp.compacting)
    ORDER BY piece_id, chat_id;

DELETE FROM deliveries WHERE id IN (SELECT id FROM temp.compacting);
DROP TABLE temp.compacting;
