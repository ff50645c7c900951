"""The answer index behind /ask: one row per turn, BM25 over its lemmas, its embedding.

Derived data, like a search index: everything here is computed from ``turns`` and can be
dropped and rebuilt, so the schema is created on first use (``CREATE … IF NOT EXISTS``) rather
than by a numbered migration, and rows are added for any piece that has none — a piece published
by the CLI in another process, or every piece of an archive older than this index.

* ``answer_docs`` — the turn's question and answer as content lemmas/stems
  (``bot.domain.asking.keys``), and its embedding (float16, NULL until computed);
* ``answer_fts`` — external-content FTS5 over the key columns, ranked with ``bm25()``, the
  question column weighing ``QUESTION_WEIGHT`` times the answer column, the piece's title
  ``TITLE_WEIGHT`` times (a turn is read in its piece: "станция" of "Сколько стоила станция?"
  is in the title of the solar piece, not in its answer about the cost).

The embeddings of every turn are held in memory as one float32 matrix while the bot runs
(384 numbers a turn: 1.5 MB per 1,000 turns), reloaded when new ones are stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite

from bot.domain.asking import (
    QUESTION_WEIGHT,
    TITLE_WEIGHT,
    AnswerHit,
    blend,
    embedding_text,
    keys,
    match_expression,
    passage,
    query_keys,
)
from storage.connection import Database, ReadPool, fetchall, fetchone, to_datetime

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)

CANDIDATES = 30  # from each ranking, before fusion
INDEX_BATCH = 50  # pieces keyed per transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS answer_docs (
    id            INTEGER PRIMARY KEY,
    piece_id      INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
    turn_number   INTEGER NOT NULL,
    question_keys TEXT NOT NULL,
    answer_keys   TEXT NOT NULL,
    title_keys    TEXT NOT NULL DEFAULT '',
    vector        BLOB,
    UNIQUE (piece_id, turn_number)
);
CREATE VIRTUAL TABLE IF NOT EXISTS answer_fts USING fts5(
    question_keys,
    answer_keys,
    title_keys,
    content = 'answer_docs',
    content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 0 tokenchars '-.'"
);
CREATE TRIGGER IF NOT EXISTS answer_docs_ai AFTER INSERT ON answer_docs BEGIN
    INSERT INTO answer_fts (rowid, question_keys, answer_keys, title_keys)
    VALUES (new.id, new.question_keys, new.answer_keys, new.title_keys);
END;
CREATE TRIGGER IF NOT EXISTS answer_docs_ad AFTER DELETE ON answer_docs BEGIN
    INSERT INTO answer_fts (answer_fts, rowid, question_keys, answer_keys, title_keys)
    VALUES ('delete', old.id, old.question_keys, old.answer_keys, old.title_keys);
END;
"""


async def ensure_schema(conn: aiosqlite.Connection) -> None:
    await conn.executescript(f"BEGIN IMMEDIATE;\n{SCHEMA}\nCOMMIT;")


async def unindexed_pieces(conn: aiosqlite.Connection, limit: int = INDEX_BATCH) -> list[int]:
    rows = await fetchall(
        conn,
        "SELECT p.id FROM pieces p WHERE NOT EXISTS"
        " (SELECT 1 FROM answer_docs d WHERE d.piece_id = p.id) ORDER BY p.id DESC LIMIT ?",
        (limit,),
    )
    return [int(r[0]) for r in rows]


async def unindex_piece(conn: aiosqlite.Connection, piece_id: int) -> None:
    """Forget a piece's answers (in the transaction that corrects or purges it): ``ask`` keys
    the piece's current turns again before its next search, so a corrected turn is found by
    its new words and under its new number. Nothing to do before the index exists."""
    exists = await fetchone(
        conn, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'answer_docs'"
    )
    if exists:
        await conn.execute("DELETE FROM answer_docs WHERE piece_id = ?", (piece_id,))


def _doc_rows(turn_rows: Sequence[Any]) -> list[tuple[int, int, str, str, str]]:
    """(piece, turn, question keys, answer keys, title keys) for turn rows (CPU-bound)."""
    out = []
    titles: dict[str, str] = {}
    for piece_id, number, question, answer, title in turn_rows:
        question_text = " ".join(json.loads(question))
        answer_text = " ".join(json.loads(answer))
        title_keys = titles.setdefault(title, keys(title))
        out.append((int(piece_id), int(number), keys(question_text), keys(answer_text), title_keys))
    return out


def _to_blob(vector: npt.NDArray[np.float32]) -> bytes:
    import numpy as np

    return np.asarray(vector, dtype=np.float16).tobytes()


def _speaker_of(
    shown: Sequence[str], answer: Sequence[str], speakers: Sequence[str | None]
) -> str | None:
    """Who said the passage, in a piece with several experts (``None``: the piece's speaker).
    The first letter is skipped: a repaired sentence may have been re-capitalised."""
    if not shown or len(speakers) != len(answer):
        return None
    probe = shown[0][1:40]
    return next((who for text, who in zip(answer, speakers, strict=True) if probe in text), None)


class AnswerIndex(Database):
    """Finding answers for ``Repository`` (``ask``) and keeping their index current."""

    def __init__(
        self, conn: aiosqlite.Connection, path: Path, readers: ReadPool | None = None
    ) -> None:
        super().__init__(conn, path, readers)
        self._answers_ready = False
        self._matrix: npt.NDArray[np.float32] | None = None
        self._matrix_ids: npt.NDArray[np.int64] | None = None
        self._vectors_stored = 0  # bumped when this process stores vectors: reload the matrix
        self._matrix_version = -1

    async def index_answers(self) -> int:
        """Key the turns of every piece not in the index yet; returns how many pieces."""
        if not self._answers_ready:
            async with self._write_lock:  # no other transaction is open on the connection
                await ensure_schema(self._conn)
            self._answers_ready = True
        total = 0
        while pieces := await unindexed_pieces(self._conn):
            marks = ",".join("?" * len(pieces))
            turn_rows = await self._fetchall(
                "SELECT t.piece_id, t.number, t.question, t.answer, p.title FROM turns t"
                f" JOIN pieces p ON p.id = t.piece_id WHERE t.piece_id IN ({marks})",
                pieces,
            )
            docs = await asyncio.to_thread(_doc_rows, turn_rows)
            async with self.transaction() as conn:
                await conn.executemany(
                    "INSERT OR IGNORE INTO answer_docs"
                    " (piece_id, turn_number, question_keys, answer_keys, title_keys)"
                    " VALUES (?, ?, ?, ?, ?)",
                    docs,
                )
            total += len(pieces)
            if len(pieces) < INDEX_BATCH:
                break
        return total

    async def turns_to_embed(self, limit: int) -> list[tuple[int, str, str]]:
        """(doc id, question, question and answer to embed) of turns without an embedding,
        newest pieces first."""
        rows = await self._fetchall(
            "SELECT d.id, t.question, t.answer FROM answer_docs d"
            " JOIN turns t ON t.piece_id = d.piece_id AND t.number = d.turn_number"
            " WHERE d.vector IS NULL ORDER BY d.piece_id DESC, d.turn_number LIMIT ?",
            (limit,),
        )
        out = []
        for row in rows:
            question = " ".join(json.loads(row[1]))
            out.append((int(row[0]), question, embedding_text(question, json.loads(row[2]))))
        return out

    async def store_vectors(self, vectors: Sequence[tuple[int, npt.NDArray[np.float32]]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(
                "UPDATE answer_docs SET vector = ? WHERE id = ?",
                [(_to_blob(vector), doc) for doc, vector in vectors],
            )
        self._vectors_stored += len(vectors)

    async def _load_matrix(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]] | None:
        """Every stored embedding as one matrix, read once and again only after this process
        stored new ones (only the bot embeds: the CLI leaves new turns to it)."""
        import numpy as np

        fresh = self._matrix_version == self._vectors_stored
        if self._matrix is not None and self._matrix_ids is not None and fresh:
            return self._matrix, self._matrix_ids
        version = self._vectors_stored
        rows = await self._fetchall("SELECT id, vector FROM answer_docs WHERE vector IS NOT NULL")
        if not rows:
            return None
        ids = np.fromiter((int(r[0]) for r in rows), dtype=np.int64, count=len(rows))
        blob = b"".join(r[1] for r in rows)
        matrix = np.frombuffer(blob, dtype=np.float16).reshape(len(rows), -1).astype(np.float32)
        self._matrix, self._matrix_ids, self._matrix_version = matrix, ids, version
        return matrix, ids

    async def lexical_scores(self, question: str, limit: int = CANDIDATES) -> dict[int, float]:
        """Doc id → BM25 over lemmas (higher is better) of the best ``limit`` lexical hits."""
        terms = query_keys(question)
        if not terms:
            return {}
        rows = await self._fetchall(
            "SELECT rowid, bm25(answer_fts, ?, 1.0, ?) AS score FROM answer_fts"
            " WHERE answer_fts MATCH ? ORDER BY score LIMIT ?",
            (QUESTION_WEIGHT, TITLE_WEIGHT, match_expression(terms), limit),
        )
        return {int(r[0]): -float(r[1]) for r in rows}

    async def semantic_scores(
        self, query_vector: npt.NDArray[np.float32] | None, limit: int = CANDIDATES
    ) -> dict[int, float]:
        """Doc id → cosine with the question's embedding, for the best ``limit`` docs."""
        import numpy as np

        if query_vector is None:
            return {}
        loaded = await self._load_matrix()
        if loaded is None:
            return {}
        matrix, ids = loaded
        scores = matrix @ np.asarray(query_vector, dtype=np.float32)
        top = np.argsort(-scores)[: max(limit, 10)]
        return {int(ids[i]): float(scores[i]) for i in top}

    async def ask(
        self,
        question: str,
        query_vector: npt.NDArray[np.float32] | None = None,
        *,
        limit: int = 3,
    ) -> list[AnswerHit]:
        """The answers that best answer a reader's question, best first: the embedding's cosine
        with BM25 over lemmas blended in (``bot.domain.asking.blend``), or BM25 alone without
        ``query_vector``."""
        await self.index_answers()
        lexical = await self.lexical_scores(question)
        semantic = await self.semantic_scores(query_vector)
        ranked = blend(semantic, lexical)[:limit]
        return [hit for doc, score in ranked if (hit := await self._hit(doc, score, question))]

    async def _hit(self, doc: int, score: float, question: str) -> AnswerHit | None:
        row = await self._fetchone(
            "SELECT p.id, p.title, p.speaker, p.published_at, t.number, t.question, t.answer,"
            " (SELECT count(*) FROM turns c WHERE c.piece_id = p.id), t.speakers"
            " FROM answer_docs d JOIN pieces p ON p.id = d.piece_id"
            " JOIN turns t ON t.piece_id = d.piece_id AND t.number = d.turn_number"
            " WHERE d.id = ? AND p.status = 'live'",  # not scheduled, withdrawn or purged
            (doc,),
        )
        if row is None:
            return None
        turn_question = " ".join(json.loads(row[5]))
        answer = json.loads(row[6])
        shown = passage(question, answer) or tuple(answer[:1])
        return AnswerHit(
            piece_id=int(row[0]),
            piece_title=row[1],
            speaker=_speaker_of(shown, answer, json.loads(row[8] or "[]")) or row[2],
            published_at=to_datetime(row[3]),
            turn_number=int(row[4]),
            turn_count=int(row[7]),
            question=turn_question,
            passage=shown,
            score=score,
        )

    async def answer_index_stats(self) -> dict[str, int]:
        await self.index_answers()
        row = await fetchone(self._conn, "SELECT count(*), count(vector) FROM answer_docs", ())
        return {"turns": int(row[0]), "embedded": int(row[1])} if row else {}
