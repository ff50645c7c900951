-- Several experts in one piece (issue 11): who said each answer paragraph, and each quote.
-- Empty/NULL means the piece's speaker said it (every piece stored before this migration).

ALTER TABLE turns ADD COLUMN speakers TEXT NOT NULL DEFAULT '[]';  -- JSON array parallel to answer
ALTER TABLE quotes ADD COLUMN speaker TEXT;
