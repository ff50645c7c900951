-- Subscriptions: who is told about new pieces, and the outbox of those notifications.
-- Times in the outbox tables are unix seconds (REAL) because they are compared on every pickup;
-- the subscriber dates are ISO 8601 UTC text like the rest of the schema.

CREATE TABLE subscribers (
    chat_id       INTEGER PRIMARY KEY,
    state         TEXT NOT NULL DEFAULT 'active'
                  CHECK (state IN ('active', 'unsubscribed', 'blocked')),
    locale        TEXT NOT NULL DEFAULT 'ru',    -- language the notifications are written in
    subscribed_at TEXT NOT NULL,                 -- the latest /subscribe
    changed_at    TEXT NOT NULL,                 -- the latest change of state
    reason        TEXT                           -- why inactive: the 403/400 text, my_chat_member
);

-- One row per (piece, subscriber), created in the transaction that stores the piece.
-- pending → sending (claimed, lease in next_attempt) → sent | failed | unreachable;
-- pending → cancelled when the subscriber leaves before their turn.
CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY,
    piece_id     INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
    chat_id      INTEGER NOT NULL,
    locale       TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unreachable',
                                  'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0,     -- answered attempts (a 429 is not one)
    next_attempt REAL NOT NULL DEFAULT 0,        -- pending: due time; sending: lease expiry
    last_error   TEXT,
    message_id   INTEGER,                        -- the notification, once sent
    done_at      REAL,                           -- when it reached a final state
    UNIQUE (piece_id, chat_id)
);
-- Small partial indexes: only live rows are indexed by time, finished rows drop out.
CREATE INDEX deliveries_due ON deliveries (next_attempt) WHERE state = 'pending';
CREATE INDEX deliveries_leased ON deliveries (next_attempt) WHERE state = 'sending';
CREATE INDEX deliveries_chat ON deliveries (chat_id);

-- One row per piece that had subscribers when it was published.
CREATE TABLE broadcasts (
    piece_id       INTEGER PRIMARY KEY REFERENCES pieces(id) ON DELETE CASCADE,
    total          INTEGER NOT NULL,
    created_at     REAL NOT NULL,
    finished_at    REAL,                         -- when nothing was left to send
    report_chat    INTEGER,                      -- the progress message (the publishing editor's)
    report_message INTEGER,
    report_locale  TEXT,
    reported       INTEGER NOT NULL DEFAULT 0    -- 1: the final progress was shown (or nobody to)
);

-- Files sent with /publish, held until the editor confirms or cancels. Buttons carry the short
-- id; update_key ('<chat>:<message>') makes a redelivered /publish update reuse its draft.
CREATE TABLE drafts (
    id              TEXT PRIMARY KEY,
    update_key      TEXT NOT NULL UNIQUE,
    admin_id        INTEGER NOT NULL,
    chat_id         INTEGER NOT NULL,
    file_name       TEXT NOT NULL,
    source          BLOB NOT NULL,
    source_hash     TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'open'
                    CHECK (state IN ('open', 'published', 'cancelled')),
    piece_id        INTEGER,
    preview_message INTEGER,
    created_at      REAL NOT NULL
);
