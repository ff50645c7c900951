-- One time convention in every table: Unix seconds, UTC, as REAL (storage/connection.py says
-- why). The outbox tables (0003) already hold them; this converts the columns that held
-- ISO 8601 text: pieces.published_at, chat_pieces.chosen_at, subscribers.subscribed_at and
-- subscribers.changed_at.
--
-- SQLite cannot change a column's type in place, so each gets a REAL column beside it, filled
-- from it, and takes its name once it is dropped. ADD COLUMN wants a default for NOT NULL: the
-- 0 is never used (every writer sets these columns), and a text SQLite cannot read converts to
-- NULL, which NOT NULL refuses, failing the migration and leaving the database as it was.
--
-- The text was written by Python's datetime.isoformat(): 'YYYY-MM-DDTHH:MM:SS', then '.ffffff'
-- (six digits) unless the microseconds were 0, then the offset ('+00:00'). SQLite's date
-- functions keep milliseconds only and round them (59.9996 s becomes the next second), so the
-- whole seconds are read without the fraction and the six digits are added back exactly.

CREATE TEMP TABLE iso_seconds (iso TEXT PRIMARY KEY, seconds REAL);
INSERT INTO iso_seconds (iso)
SELECT published_at FROM pieces UNION SELECT chosen_at FROM chat_pieces
UNION SELECT subscribed_at FROM subscribers UNION SELECT changed_at FROM subscribers;
UPDATE iso_seconds SET seconds = CASE
    WHEN substr(iso, 20, 1) = '.'
    THEN strftime('%s', substr(iso, 1, 19) || substr(iso, 27)) + CAST(substr(iso, 20, 7) AS REAL)
    ELSE CAST(strftime('%s', iso) AS REAL) END;

ALTER TABLE pieces ADD COLUMN published_s REAL NOT NULL DEFAULT 0;
ALTER TABLE chat_pieces ADD COLUMN chosen_s REAL NOT NULL DEFAULT 0;
ALTER TABLE subscribers ADD COLUMN subscribed_s REAL NOT NULL DEFAULT 0;
ALTER TABLE subscribers ADD COLUMN changed_s REAL NOT NULL DEFAULT 0;

UPDATE pieces SET published_s = (SELECT seconds FROM iso_seconds WHERE iso = published_at);
UPDATE chat_pieces SET chosen_s = (SELECT seconds FROM iso_seconds WHERE iso = chosen_at);
UPDATE subscribers SET subscribed_s = (SELECT seconds FROM iso_seconds WHERE iso = subscribed_at),
                       changed_s = (SELECT seconds FROM iso_seconds WHERE iso = changed_at);
DROP TABLE iso_seconds;

DROP INDEX pieces_published;
ALTER TABLE pieces DROP COLUMN published_at;
ALTER TABLE chat_pieces DROP COLUMN chosen_at;
ALTER TABLE subscribers DROP COLUMN subscribed_at;
ALTER TABLE subscribers DROP COLUMN changed_at;

ALTER TABLE pieces RENAME COLUMN published_s TO published_at;
ALTER TABLE chat_pieces RENAME COLUMN chosen_s TO chosen_at;
ALTER TABLE subscribers RENAME COLUMN subscribed_s TO subscribed_at;
ALTER TABLE subscribers RENAME COLUMN changed_s TO changed_at;
-- the newest piece without a scan (as in 0002)
CREATE INDEX pieces_published ON pieces (published_at, id);
