-- Follows, reader settings and daily digests (issue 14).
--
-- A follow is a topic (words anywhere in a piece) or a speaker (a person's answers). Matching
-- runs once per piece at publish (storage/follows.py): the piece's lemma keys are looked up in
-- follow_keys, an index from key to follows, so the cost grows with the piece and the follows
-- that share its words, never with the number of readers.

CREATE TABLE follows (
    id         INTEGER PRIMARY KEY,
    chat_id    INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('topic', 'speaker')),
    phrase     TEXT NOT NULL,                -- as the reader wrote it (cleaned), for display
    norm       TEXT NOT NULL,                -- the words' lemmas: one follow per meaning
    words      INTEGER NOT NULL,             -- how many words must all match
    created_at REAL NOT NULL,
    UNIQUE (chat_id, kind, norm)
);

-- key → follows: one row per (key, follow, word); chat_id, words and kind are copied here so
-- matching reads one index range per key of the piece and nothing else.
CREATE TABLE follow_keys (
    key       TEXT NOT NULL,
    follow_id INTEGER NOT NULL REFERENCES follows(id) ON DELETE CASCADE,
    word      INTEGER NOT NULL,              -- index of the follow's word this key stands for
    words     INTEGER NOT NULL,
    chat_id   INTEGER NOT NULL,
    speaker   INTEGER NOT NULL,              -- 1: a speaker follow
    PRIMARY KEY (key, follow_id, word)
) WITHOUT ROWID;
CREATE INDEX follow_keys_follow ON follow_keys (follow_id);

-- What a reader chose in /settings (no row: the defaults). ``mode`` applies to readers who are
-- not subscribed to everything (subscribers.state = 'active' means "every piece").
CREATE TABLE readers (
    chat_id      INTEGER PRIMARY KEY,
    locale       TEXT NOT NULL DEFAULT 'ru',
    mode         TEXT NOT NULL DEFAULT 'followed' CHECK (mode IN ('followed', 'nothing')),
    silent       TEXT NOT NULL DEFAULT 'quiet' CHECK (silent IN ('never', 'quiet', 'always')),
    quiet_from   INTEGER NOT NULL DEFAULT 1320,  -- minutes after local midnight (22:00)
    quiet_to     INTEGER NOT NULL DEFAULT 480,   -- (08:00)
    utc_offset   INTEGER NOT NULL DEFAULT 300,   -- minutes (UTC+5: Astana, Almaty, Tashkent)
    digest_hour  INTEGER CHECK (digest_hour BETWEEN 0 AND 23),  -- NULL: each piece at once
    blocked      INTEGER NOT NULL DEFAULT 0,     -- the chat was unreachable (403, kicked)
    changed_at   REAL NOT NULL
);

-- Why a delivery was made for this reader: the follow it matched and the answer to show first.
CREATE TABLE delivery_notes (
    delivery_id INTEGER PRIMARY KEY REFERENCES deliveries(id) ON DELETE CASCADE,
    follow      TEXT NOT NULL,
    turn        INTEGER                      -- the matching answer (NULL: matched elsewhere)
);

-- Daily digests: pieces waiting for a digest reader, then one message per reader and day,
-- sent through its own small outbox (pending → sending → sent | failed), like deliveries.
CREATE TABLE digest_items (
    chat_id   INTEGER NOT NULL,
    piece_id  INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
    follow    TEXT,                          -- the follow it matched (NULL: subscribed to all)
    turn      INTEGER,
    added_at  REAL NOT NULL,                 -- when the piece was published
    digest_id INTEGER REFERENCES digests(id) ON DELETE SET NULL,  -- NULL: not sent yet
    PRIMARY KEY (chat_id, piece_id)
) WITHOUT ROWID;
CREATE INDEX digest_items_waiting ON digest_items (chat_id) WHERE digest_id IS NULL;

CREATE TABLE digests (
    id           INTEGER PRIMARY KEY,
    chat_id      INTEGER NOT NULL,
    day          TEXT NOT NULL,              -- the reader's local date (YYYY-MM-DD)
    locale       TEXT NOT NULL,
    silent       INTEGER NOT NULL DEFAULT 0,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unreachable')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,    -- pending: due time; sending: lease expiry
    last_error   TEXT,
    message_id   INTEGER,
    created_at   REAL NOT NULL,
    done_at      REAL,
    UNIQUE (chat_id, day)                    -- one digest per reader and day, whatever happens
);
CREATE INDEX digests_live ON digests (next_attempt) WHERE state IN ('pending', 'sending');
CREATE INDEX readers_digest ON readers (chat_id) WHERE digest_hour IS NOT NULL;
