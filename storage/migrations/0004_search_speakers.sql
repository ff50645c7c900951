-- Quote search, second index format (bot/domain/matching.py NORMALISER_VERSION 2):
-- * the speaker's name is indexed with each of their quotes, in a second FTS5 column, so a
--   reader can search by who said it ("Курамаев", "Курамаев Токаев");
-- * the index is rebuilt in batches, newest quotes first, instead of in one transaction:
--   search_state.pending_below says which quotes still wait (ids below it; 0 = none).
--
-- The old index is dropped here (its key texts lack the speaker) and rebuilt by the repository
-- (storage/quote_index.py: QuoteSearch.prepare_search, index_pending_quotes): version 0 asks
-- for that.

DROP TRIGGER search_docs_ai;
DROP TRIGGER search_docs_ad;
DROP TRIGGER search_docs_au;
DROP TABLE search_fts;
DELETE FROM search_docs;
DELETE FROM search_vocab;
DELETE FROM search_fuzzy;

ALTER TABLE search_docs ADD COLUMN speaker TEXT NOT NULL DEFAULT '';  -- key text of the name

CREATE VIRTUAL TABLE search_fts USING fts5(
    keys,
    speaker,
    content = 'search_docs',
    content_rowid = 'quote_id',
    tokenize = "ascii tokenchars '&+<>~$%.'",
    detail = none
);
INSERT INTO search_fts (search_fts, rank) VALUES ('automerge', 2);

CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_fts (rowid, keys, speaker) VALUES (new.quote_id, new.keys, new.speaker);
END;

CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, keys, speaker)
    VALUES ('delete', old.quote_id, old.keys, old.speaker);
END;

CREATE TRIGGER search_docs_au AFTER UPDATE OF keys, speaker ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, keys, speaker)
    VALUES ('delete', old.quote_id, old.keys, old.speaker);
    INSERT INTO search_fts (rowid, keys, speaker) VALUES (new.quote_id, new.keys, new.speaker);
END;

ALTER TABLE search_state ADD COLUMN pending_below INTEGER NOT NULL DEFAULT 0;
UPDATE search_state SET version = 0, pending_below = 0;
