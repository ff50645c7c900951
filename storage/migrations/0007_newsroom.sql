-- After publishing (issue 12): withdrawals, corrections in place, the follow-up outbox of sent
-- messages (edits and deletions) and the editors' audit log.

-- A piece's life: live → withdrawn → (restored: live) | purged; scheduled → live.
-- Readers, search and inline results see live pieces only.
ALTER TABLE pieces ADD COLUMN status TEXT NOT NULL DEFAULT 'live'
    CHECK (status IN ('live', 'scheduled', 'withdrawn', 'purged'));
ALTER TABLE pieces ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;  -- +1 per correction
ALTER TABLE pieces ADD COLUMN corrected_at REAL;                    -- the latest correction
ALTER TABLE pieces ADD COLUMN withdrawn_at REAL;
ALTER TABLE pieces ADD COLUMN withdrawn_reason TEXT;                -- shown to readers

-- A turn's link: the number its deep links and buttons carry. It is the turn's number when the
-- piece is published and stays with the turn when a correction adds or removes turns before
-- it; new turns get links above every link the piece ever had. quotes.turn_number holds links.
ALTER TABLE turns ADD COLUMN link INTEGER NOT NULL DEFAULT 0;
ALTER TABLE turns ADD COLUMN corrected_at REAL;                     -- this answer changed then
UPDATE turns SET link = number;
CREATE INDEX turns_link ON turns (piece_id, link);

-- Every replaced version of a piece (JSON of what readers saw), newest revision last.
CREATE TABLE piece_versions (
    piece_id    INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
    revision    INTEGER NOT NULL,
    content     TEXT NOT NULL,
    replaced_at REAL NOT NULL,
    PRIMARY KEY (piece_id, revision)
) WITHOUT ROWID;

-- Follow-ups of messages already sent (a subscriber's notification): edit it to the piece's
-- current form (a correction, a restore) or remove it (a withdrawal: deleted while Telegram
-- allows, otherwise edited to the withdrawal note). One row per message; a newer request
-- replaces an older one (generation counts them, so an outcome of a superseded attempt is
-- not recorded over it). Same life cycle as deliveries: pending → sending → done | failed.
CREATE TABLE followups (
    id           INTEGER PRIMARY KEY,
    piece_id     INTEGER NOT NULL,
    chat_id      INTEGER NOT NULL,
    message_id   INTEGER NOT NULL,
    locale       TEXT NOT NULL,
    sent_at      REAL NOT NULL,                 -- when the message was sent (48-hour rule)
    action       TEXT NOT NULL CHECK (action IN ('edit', 'remove')),
    notice       INTEGER NOT NULL DEFAULT 0,    -- 1: also reply with a short correction notice
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'sending', 'done', 'failed')),
    generation   INTEGER NOT NULL DEFAULT 1,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,
    result       TEXT,                          -- edited, deleted, gone (the chat or message)
    last_error   TEXT,
    done_at      REAL,
    UNIQUE (chat_id, message_id)
);
CREATE INDEX followups_due ON followups (next_attempt) WHERE state = 'pending';
CREATE INDEX followups_piece ON followups (piece_id);

-- What editors did, by whom (a Telegram user id, or 0 for the command line) and when.
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    at       REAL NOT NULL,
    actor    INTEGER NOT NULL,
    action   TEXT NOT NULL,
    piece_id INTEGER,
    detail   TEXT NOT NULL DEFAULT ''
);

-- An editor's request from Telegram (/withdraw, /restore, /purge, /correct) held until they
-- confirm or cancel: buttons carry the short id only (64 bytes), the reason and the corrected
-- file stay here. A request older than a week is dropped when the next one is saved.
CREATE TABLE editor_requests (
    id         TEXT PRIMARY KEY,
    admin_id   INTEGER NOT NULL,
    chat_id    INTEGER NOT NULL,
    action     TEXT NOT NULL,
    piece_id   INTEGER NOT NULL,
    revision   INTEGER NOT NULL,
    reason     TEXT,
    file_name  TEXT,
    source     BLOB,
    state      TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'cancelled')),
    created_at REAL NOT NULL
);
