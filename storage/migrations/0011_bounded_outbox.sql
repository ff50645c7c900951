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

-- Compact what is there. Every piece with deliveries gets a broadcast row for its counters (a
-- piece posted only to the channel had none); every finished delivery is folded in, except the
-- ones a withdrawal cancelled while the piece stays withdrawn (a restore sends them). The rows
-- that stay are copied to a new table and the old one is dropped: dropping frees its pages at
-- once, where deleting millions of rows one by one would rewrite every page of the table and
-- its indexes into the WAL.
INSERT OR IGNORE INTO broadcasts (piece_id, total, created_at, finished_at, reported)
    SELECT piece_id, count(*), coalesce(min(done_at), 0), max(done_at), 1
    FROM deliveries GROUP BY piece_id;

CREATE TEMP VIEW finished AS
    SELECT * FROM deliveries d WHERE d.done_at IS NOT NULL
    AND NOT (d.state = 'cancelled' AND d.last_error = 'withdrawn'
             AND d.piece_id IN (SELECT id FROM pieces WHERE status = 'withdrawn'));

UPDATE broadcasts SET sent = broadcasts.sent + c.s, failed = broadcasts.failed + c.f,
    unreachable = broadcasts.unreachable + c.u, cancelled = broadcasts.cancelled + c.c
    FROM (SELECT piece_id, sum(state = 'sent') AS s, sum(state = 'failed') AS f,
          sum(state = 'unreachable') AS u, sum(state = 'cancelled') AS c
          FROM temp.finished GROUP BY piece_id) AS c
    WHERE broadcasts.piece_id = c.piece_id;

INSERT OR REPLACE INTO sent_messages (piece_id, chat_id, message_id, sent_at, locale)
    SELECT piece_id, chat_id, message_id, CAST(done_at AS INTEGER), locale FROM temp.finished
    WHERE state = 'sent' AND message_id IS NOT NULL ORDER BY piece_id, chat_id;

-- The same table, plus why a delivery was made (it was the joined table delivery_notes): one
-- insert per delivery at publish, and nothing to join or clean up later.
CREATE TABLE deliveries_kept (
    id           INTEGER PRIMARY KEY,
    piece_id     INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
    chat_id      INTEGER NOT NULL,
    locale       TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unreachable',
                                  'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,
    last_error   TEXT,
    message_id   INTEGER,
    done_at      REAL,
    follow       TEXT,                           -- the follow it matched (NULL: subscribed)
    turn         INTEGER,                        -- the matching answer, shown first
    UNIQUE (piece_id, chat_id)
);
INSERT INTO deliveries_kept (id, piece_id, chat_id, locale, state, attempts, next_attempt,
        last_error, message_id, done_at, follow, turn)
    SELECT d.id, d.piece_id, d.chat_id, d.locale, d.state, d.attempts, d.next_attempt,
        d.last_error, d.message_id, d.done_at, n.follow, n.turn
    FROM deliveries d LEFT JOIN delivery_notes n ON n.delivery_id = d.id
    WHERE d.id NOT IN (SELECT id FROM temp.finished) ORDER BY d.id;
DROP VIEW temp.finished;
-- (secure_delete, on in Debian's SQLite, would zero and log every freed page: the WAL of a
-- 2-million-row table grew to 178 MiB with it, 51 MiB without; it is on again right after)
PRAGMA secure_delete = FAST;
DROP TABLE delivery_notes;
DROP TABLE deliveries;
PRAGMA secure_delete = ON;
ALTER TABLE deliveries_kept RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (next_attempt) WHERE state = 'pending';
CREATE INDEX deliveries_leased ON deliveries (next_attempt) WHERE state = 'sending';
CREATE INDEX deliveries_chat ON deliveries (chat_id);
-- Finished rows, by when they finished: what the compaction takes. Pending and sending rows
-- have no done_at and are not in it, so publishing pays nothing for it.
CREATE INDEX deliveries_done ON deliveries (done_at) WHERE done_at IS NOT NULL;
