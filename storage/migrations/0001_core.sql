-- Pieces (interviews), their Q&A turns and the sentences of the answers (quotes).
CREATE TABLE pieces (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    speaker      TEXT,
    lead         TEXT NOT NULL,          -- JSON array of paragraphs
    closing      TEXT NOT NULL,          -- JSON array of paragraphs
    credits      TEXT NOT NULL,          -- JSON array of lines
    summary      TEXT NOT NULL,          -- JSON object: text/short/long arrays of sentences
    source_hash  TEXT NOT NULL UNIQUE,   -- sha256 of the normalised source: one piece per text
    published_at TEXT NOT NULL           -- ISO 8601, UTC
);

CREATE TABLE turns (
    piece_id INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
    number   INTEGER NOT NULL,           -- 1-based
    question TEXT NOT NULL,              -- JSON array of paragraphs
    answer   TEXT NOT NULL,              -- JSON array of paragraphs
    gist     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (piece_id, number)
) WITHOUT ROWID;

CREATE TABLE quotes (
    id          INTEGER PRIMARY KEY,
    piece_id    INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
    turn_number INTEGER NOT NULL,
    position    INTEGER NOT NULL,        -- sentence index within the answer
    text        TEXT NOT NULL,
    UNIQUE (piece_id, turn_number, position)
);

-- The piece a chat chose in the archive (/pieces). A piece published after the choice wins.
CREATE TABLE chat_pieces (
    chat_id   INTEGER PRIMARY KEY,
    piece_id  INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
    chosen_at TEXT NOT NULL
);
