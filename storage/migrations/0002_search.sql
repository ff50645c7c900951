-- Quote search (issue 4). The normalised shadow of every quote is computed in Python
-- (bot/domain/matching.py: folding, pymorphy3 lemmas, symbol tokens) because Python's sqlite3
-- cannot register an FTS5 tokenizer; FTS5 only splits the shadow on spaces and "|".
--
-- Quotes stored before this migration are indexed by the repository on first search
-- (storage/quote_index.py: QuoteSearch.prepare_search), since the shadow text needs Python:
-- search_state starts at version 0 when quotes already exist.

-- One row per quote: its key text ("form lemma… | form lemma… | …", one group per word) and
-- how quotable it is within its piece (empty inline query, ties).
CREATE TABLE search_docs (
    quote_id INTEGER PRIMARY KEY REFERENCES quotes(id) ON DELETE CASCADE,
    piece_id INTEGER NOT NULL,          -- = quotes.piece_id, so ranking needs no join
    keys     TEXT NOT NULL,
    quality  REAL NOT NULL DEFAULT 0
);

-- External-content FTS5 index over search_docs.keys. detail=none: ranking is done in stages
-- outside FTS5 (bot/domain/matching.py), so positions are not stored and the index stays small.
CREATE VIRTUAL TABLE search_fts USING fts5(
    keys,
    content = 'search_docs',
    content_rowid = 'quote_id',
    tokenize = "ascii tokenchars '&+<>~$%.'",
    detail = none
);

-- Merge index segments eagerly (default 4): publishing adds a piece's quotes at a time, and
-- fewer segments make OR-heavy queries (completions of the typed word) cheaper.
INSERT INTO search_fts (search_fts, rank) VALUES ('automerge', 2);

CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_fts (rowid, keys) VALUES (new.quote_id, new.keys);
END;

CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, keys) VALUES ('delete', old.quote_id, old.keys);
END;

CREATE TRIGGER search_docs_au AFTER UPDATE OF keys ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, keys) VALUES ('delete', old.quote_id, old.keys);
    INSERT INTO search_fts (rowid, keys) VALUES (new.quote_id, new.keys);
END;

-- The archive's vocabulary: every key with the number of quotes holding it, maintained at
-- publish time. Completes the word being typed (most frequent first) and tells known words
-- from typos.
CREATE TABLE search_vocab (
    term TEXT PRIMARY KEY,
    freq INTEGER NOT NULL
) WITHOUT ROWID;
-- the most frequent completions of a 2- or 3-letter prefix without scanning all its terms
CREATE INDEX search_vocab_head2 ON search_vocab (substr(term, 1, 2), freq DESC);
CREATE INDEX search_vocab_head3 ON search_vocab (substr(term, 1, 3), freq DESC);

-- Typo candidates, SymSpell style: each word form of 4+ letters under itself and its
-- one-letter deletions.
CREATE TABLE search_fuzzy (
    key  TEXT NOT NULL,
    term TEXT NOT NULL,
    PRIMARY KEY (key, term)
) WITHOUT ROWID;

-- Which normaliser built the index (bot/domain/matching.py NORMALISER_VERSION); 0 = quotes not
-- indexed yet. When it differs from the code's, the repository rebuilds the index on first search.
CREATE TABLE search_state (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO search_state (id, version)
VALUES (1, CASE WHEN EXISTS (SELECT 1 FROM quotes) THEN 0 ELSE 1 END);

-- The empty inline query asks for the newest piece on every keystroke (latest_piece_id): without
-- this index that is a scan of all pieces (~10 ms at 20k pieces).
CREATE INDEX IF NOT EXISTS pieces_published ON pieces (published_at, id);
