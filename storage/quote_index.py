"""The quote index: the SQL side of quote search, indexing quotes and answering queries in stages.

The text side (folding, keys, match expressions, typos, ranking) is the pure
``bot.domain.matching``, called from here; nothing there calls back. The schema is
``migrations/0002_search.sql`` and ``0004_search_speakers.sql``. The index is kept at publish
time (``index_piece``, in the transaction that stores the piece); after an upgrade that changes
it, it is rebuilt in short batches, newest quotes first (``reset_index``, ``next_batch``,
``store_batch``; ``QuoteSearch.prepare_search`` drives them). ``QuoteSearch`` is the part of
``Repository`` that handlers call: ``search_quotes``, ``top_quotes``.

Query path, for a query of words w1..wn (stop words optional):

1. one vocabulary look-up resolves each word to the archive's keys: its form and lemmas that
   occur, the most frequent completions of the word being typed, and — for a long word the
   archive does not know — its nearest known spellings (``search_fuzzy``);
2. stage by stage (``candidate_stages``: for one word its direct matches, then completions
   or typo fixes; for several, all words, all but one, ..., any word) FTS5 returns the newest
   matches (``ORDER BY rowid DESC LIMIT``: FTS5 walks its doclists newest first and stops, so
   a common word costs no more than a rare one);
3. the candidates are ranked in Python from their key texts (phrase, proximity, how directly
   each word matched, recency, quotability); later stages run only when earlier ones did not
   fill the requested page. Ranking every match of a common word with bm25 would cost ~100 ms
   at a million quotes; this costs a few.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import aiosqlite

from bot.domain.matching import (
    NORMALISER_VERSION,
    Matcher,
    Plan,
    QueryWord,
    Relevance,
    candidate_stages,
    fuzzy_keys,
    key_groups,
    key_text,
    lemma_keys,
    max_typo_distance,
    parse_query,
    pick_typos,
    prefix_bounds,
    quotability,
    rank_key,
    typo_probe_keys,
)
from bot.domain.models import QuoteHit
from storage.connection import Database, ReadPool, fetchall, to_datetime

logger = logging.getLogger(__name__)

COMPLETIONS = 32  # terms tried for the word being typed (fewer for a 2- or 3-letter prefix)
MAX_RESULTS = 200  # deepest result reachable by paging
TYPO_SCAN = 1500  # terms sharing a long unknown word's first letters checked for two edits
_CHUNK = 500  # host parameters per IN (...) list


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- indexing --------------------------------------------------------------------------------

REINDEX_BATCH = 500  # quotes per transaction when the index is (re)built
REINDEX_NOW = 5_000  # pending quotes indexed before the first search answers; more: background

# only live pieces are indexed (withdrawn and scheduled ones are not findable)
_QUOTE_ROWS = (
    "SELECT q.id, q.piece_id, q.text, coalesce(q.speaker, p.speaker, '') FROM quotes q"
    " JOIN pieces p ON p.id = q.piece_id AND p.status = 'live'"
)

Doc = tuple[int, int, str, str, float]  # quote id, piece id, key text, speaker key text, quality


async def index_piece(conn: aiosqlite.Connection, piece_id: int) -> int:
    """Index the quotes of one piece; call inside the transaction that inserted them."""
    rows = await fetchall(conn, f"{_QUOTE_ROWS} WHERE q.piece_id = ? ORDER BY q.id", (piece_id,))
    return await write_docs(conn, prepare_docs(rows))


async def unindex_piece(conn: aiosqlite.Connection, piece_id: int) -> int:
    """Take a piece's quotes out of the index and its words out of the vocabulary (a piece
    withdrawn or corrected); call inside a write transaction. Returns how many."""
    of_piece = "SELECT id FROM quotes WHERE piece_id = ?"  # by the quotes' index
    rows = await fetchall(
        conn, f"SELECT keys, speaker FROM search_docs WHERE quote_id IN ({of_piece})", (piece_id,)
    )
    if not rows:
        return 0
    freq: Counter[str] = Counter()
    for keys, speaker in rows:
        freq.update({k for group in (*key_groups(keys), *key_groups(speaker)) for k in group})
    await conn.executemany(
        "UPDATE search_vocab SET freq = freq - ? WHERE term = ?",
        [(count, term) for term, count in sorted(freq.items())],
    )
    await conn.execute("DELETE FROM search_vocab WHERE freq <= 0")
    await conn.execute(f"DELETE FROM search_docs WHERE quote_id IN ({of_piece})", (piece_id,))
    return len(rows)


def prepare_docs(rows: Iterable[Sequence[Any]]) -> list[Doc]:
    """Index rows for quotes given as ``(quote_id, piece_id, text, speaker)``, whole pieces at a
    time (how quotable a sentence is depends on its piece)."""
    by_piece: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for quote_id, piece_id, text, speaker in rows:
        by_piece[int(piece_id)].append((int(quote_id), str(text), str(speaker or "")))
    docs: list[Doc] = []
    for piece_id, quotes in by_piece.items():
        keys = [key_text(text) for _id, text, _speaker in quotes]
        scores = quotability(keys, [text for _id, text, _speaker in quotes])
        speakers: dict[str, str] = {}  # several experts: each quote under its own speaker
        for (quote_id, _text, speaker), key, score in zip(quotes, keys, scores, strict=True):
            if speaker not in speakers:
                speakers[speaker] = key_text(speaker)
            docs.append((quote_id, piece_id, key, speakers[speaker], score))
    return docs


async def write_docs(conn: aiosqlite.Connection, docs: Sequence[Doc]) -> int:
    """Store prepared index rows with their vocabulary and typo keys (in a write transaction)."""
    freq: Counter[str] = Counter()
    for _quote_id, _piece_id, keys, speaker, _quality in docs:
        freq.update({k for group in (*key_groups(keys), *key_groups(speaker)) for k in group})
    await conn.executemany(
        "INSERT INTO search_docs (quote_id, piece_id, keys, speaker, quality)"
        " VALUES (?, ?, ?, ?, ?)",
        docs,
    )
    terms = sorted(freq)
    known: set[str] = set()
    for chunk in _chunks(terms):
        marks = ",".join("?" * len(chunk))
        rows = await fetchall(conn, f"SELECT term FROM search_vocab WHERE term IN ({marks})", chunk)
        known.update(str(r[0]) for r in rows)
    await conn.executemany(
        "INSERT INTO search_vocab (term, freq) VALUES (?, ?)"
        " ON CONFLICT (term) DO UPDATE SET freq = freq + excluded.freq",
        [(term, freq[term]) for term in terms],
    )
    fresh = [t for t in terms if t not in known]
    await conn.executemany(
        "INSERT OR IGNORE INTO search_fuzzy (key, term) VALUES (?, ?)",
        [(key, term) for term in fresh for key in fuzzy_keys(term)],
    )
    return len(docs)


class IndexState(NamedTuple):
    version: int  # the normaliser that built (or is building) the index
    pending_below: int  # quotes with smaller ids still wait to be indexed; 0 = none

    @property
    def current(self) -> bool:
        return self.version == NORMALISER_VERSION


async def index_state(conn: aiosqlite.Connection) -> IndexState:
    rows = await fetchall(conn, "SELECT version, pending_below FROM search_state WHERE id = 1")
    return IndexState(int(rows[0][0]), int(rows[0][1])) if rows else IndexState(0, 0)


async def settle_empty_index(conn: aiosqlite.Connection) -> None:
    """With no quotes stored there is nothing to rebuild: mark the (empty) index as built by
    this normaliser (in a write transaction). Without this, a fresh database (whose migrations
    ask for a rebuild of whatever an older normaliser indexed) would throw away, at the first
    search, the index of every piece published before it."""
    if (await index_state(conn)).current:
        return
    if await fetchall(conn, "SELECT 1 FROM quotes LIMIT 1"):
        return
    await conn.execute(
        "UPDATE search_state SET version = ?, pending_below = 0 WHERE id = 1",
        (NORMALISER_VERSION,),
    )


async def reset_index(conn: aiosqlite.Connection) -> int:
    """Drop the index and mark every quote as pending for this normaliser (in a write
    transaction); returns how many quotes wait. ``next_batch`` and ``store_batch`` then index
    them, newest first."""
    logger.info("Search index: rebuilding for normaliser %d", NORMALISER_VERSION)
    await conn.execute("DELETE FROM search_docs")
    await conn.execute("INSERT INTO search_fts (search_fts) VALUES ('delete-all')")
    await conn.execute("DELETE FROM search_vocab")
    await conn.execute("DELETE FROM search_fuzzy")
    rows = await fetchall(conn, "SELECT coalesce(max(id), 0), count(*) FROM quotes")
    top, count = int(rows[0][0]), int(rows[0][1])
    await conn.execute(
        "INSERT INTO search_state (id, version, pending_below) VALUES (1, ?, ?)"
        " ON CONFLICT (id) DO UPDATE"
        " SET version = excluded.version, pending_below = excluded.pending_below",
        (NORMALISER_VERSION, top + 1 if count else 0),
    )
    return count


async def pending_quotes(conn: aiosqlite.Connection) -> int:
    """How many quotes still wait to be indexed."""
    state = await index_state(conn)
    if not state.pending_below:
        return 0
    rows = await fetchall(conn, "SELECT count(*) FROM quotes WHERE id < ?", (state.pending_below,))
    return int(rows[0][0])


async def next_batch(conn: aiosqlite.Connection, size: int | None = None) -> list[Any]:
    """The newest pending quotes, about ``size`` (``REINDEX_BATCH``) of them, in whole pieces
    (readers search new pieces most, so a rebuild serves them first)."""
    size = size or REINDEX_BATCH
    state = await index_state(conn)
    if not state.pending_below:
        return []
    rows = await fetchall(
        conn,
        f"{_QUOTE_ROWS} WHERE q.id < ? ORDER BY q.id DESC LIMIT ?",
        (state.pending_below, size),
    )
    if len(rows) == size:  # the oldest piece of the batch may go on below it
        last = rows[-1]
        rows += await fetchall(
            conn,
            f"{_QUOTE_ROWS} WHERE q.piece_id = ? AND q.id < ? ORDER BY q.id DESC",
            (last[1], last[0]),
        )
    return rows


async def store_batch(conn: aiosqlite.Connection, rows: Sequence[Any], docs: Sequence[Doc]) -> int:
    """Write a batch prepared from ``next_batch`` rows and move the pending mark below it (in a
    write transaction). Returns how many quotes were indexed; 0 if the batch is stale."""
    state = await index_state(conn)
    if not rows or not state.current or not state.pending_below:
        return 0
    if max(int(r[0]) for r in rows) >= state.pending_below:
        return 0  # another writer indexed these meanwhile
    lowest = min(int(r[0]) for r in rows)
    count = await write_docs(conn, docs)
    more = await fetchall(conn, "SELECT 1 FROM quotes WHERE id < ? LIMIT 1", (lowest,))
    await conn.execute(
        "UPDATE search_state SET pending_below = ? WHERE id = 1", (lowest if more else 0,)
    )
    return count


# -- querying --------------------------------------------------------------------------------


def completions(prefix: str) -> int:
    """How many archive terms a typed prefix stands for: a short prefix says little, and each
    completion is one more doclist for FTS5 to merge."""
    return {2: 8, 3: 16}.get(len(prefix), COMPLETIONS)


async def resolve(conn: aiosqlite.Connection, words: Sequence[QueryWord]) -> Plan:
    """Each word's keys that occur in the archive: forms and lemmas (strong), completions of
    the word being typed and typo fixes (weak)."""
    keys = sorted({k for w in words for k in w.keys})[:_CHUNK]
    sql = f"SELECT term, 0 FROM search_vocab WHERE term IN ({','.join('?' * len(keys))})"
    params: list[object] = list(keys)
    typing = next((w for w in words if w.prefix), None)
    if typing is not None:
        head = len(typing.form)
        if head <= 3:  # an expression index holds the 2- and 3-letter heads by frequency
            where = f"substr(term, 1, {head}) = ?"
            params.append(typing.form)
        else:
            where = "term >= ? AND term < ?"
            params += prefix_bounds(typing.form)
        sql += (
            f" UNION ALL SELECT term, 1 FROM (SELECT term FROM search_vocab WHERE {where}"
            " ORDER BY freq DESC LIMIT ?)"
        )
        params.append(completions(typing.form))
    known: set[str] = set()
    completed: list[str] = []
    for term, kind in await fetchall(conn, sql, params):
        (completed.append if kind else known.add)(str(term))
    strong = [frozenset(k for k in w.keys if k in known) for w in words]
    weak = [frozenset(completed) if w.prefix else frozenset() for w in words]
    for i, word in enumerate(words):
        if strong[i] or weak[i] or word.optional or not word.typo_distance:
            continue
        fixes = await _typo_fixes(conn, word.form)
        if fixes:
            weak[i] = frozenset({*fixes, *(lemma for fix in fixes for lemma in lemma_keys(fix))})
    return Plan(tuple(words), tuple(strong), tuple(weak))


async def _typo_fixes(conn: aiosqlite.Connection, form: str) -> list[str]:
    """Known spellings near ``form``: shared deletions (every one-edit typo, many two-edit ones),
    and for long words also the terms sharing their first three letters (two edits anywhere
    after them)."""
    probes = typo_probe_keys(form)
    if not probes:
        return []
    marks = ",".join("?" * len(probes))
    sql = (
        f"SELECT v.term, v.freq FROM search_fuzzy f JOIN search_vocab v"
        f" ON v.term = f.term WHERE f.key IN ({marks})"
    )
    params: list[object] = list(probes)
    if max_typo_distance(form) >= 2:
        low, high = prefix_bounds(form[: 3 if len(form) < 10 else 4])
        sql += (
            " UNION SELECT term, freq FROM (SELECT term, freq FROM search_vocab"
            " WHERE term >= ? AND term < ? LIMIT ?)"
        )
        params += [low, high, TYPO_SCAN]
    rows = await fetchall(conn, sql, params)
    return pick_typos(form, ((str(r[0]), int(r[1])) for r in rows))


_STAGE_SQL = (
    "SELECT d.quote_id, d.piece_id, d.keys, d.quality, d.speaker"
    " FROM (SELECT rowid AS id FROM search_fts WHERE search_fts MATCH ?"
    " ORDER BY rowid DESC LIMIT ?) m"
    " JOIN search_docs d ON d.quote_id = m.id"
)
_HIT_SQL = (
    "SELECT q.id, q.piece_id, p.title, coalesce(q.speaker, p.speaker), q.turn_number, q.text,"
    " p.published_at"
    " FROM quotes q JOIN pieces p ON p.id = q.piece_id WHERE q.id IN ({marks})"
)

# piece id → published_at, per connection (pieces are immutable once published)
_published: weakref.WeakKeyDictionary[aiosqlite.Connection, dict[int, float]] = (
    weakref.WeakKeyDictionary()
)


async def _publication_times(conn: aiosqlite.Connection, piece_ids: set[int]) -> dict[int, float]:
    known = _published.setdefault(conn, {})
    missing = [i for i in piece_ids if i not in known]
    if missing:
        if len(known) > 100_000:
            known.clear()
        marks = ",".join("?" * len(missing))
        for row in await fetchall(
            conn, f"SELECT id, published_at FROM pieces WHERE id IN ({marks})", missing
        ):
            known[int(row[0])] = float(row[1])
    return known


async def _rank(conn: aiosqlite.Connection, plan: Plan, rows: Sequence[Any]) -> list[int]:
    """Candidate quote ids, best first."""
    if not rows:
        return []
    published = await _publication_times(conn, {r[1] for r in rows})
    ages = {ts: age for age, ts in enumerate(sorted({published[r[1]] for r in rows}, reverse=True))}
    relevance = Matcher(plan).relevance
    scored = [relevance(r[2], r[4]) for r in rows]
    context = await _answer_context(conn, plan, rows, scored)
    keyed = [
        (rank_key(rel, ages[published[r[1]]], r[3], r[0], context.get(r[0], 0)), r[0])
        for r, rel in zip(rows, scored, strict=True)
    ]
    keyed.sort()
    return [quote_id for _key, quote_id in keyed]


async def _answer_context(
    conn: aiosqlite.Connection, plan: Plan, rows: Sequence[Any], scored: Sequence[Relevance]
) -> dict[int, int]:
    """Quote id → query words its whole answer matches, among the candidates, for quotes that
    miss some words themselves ("кто бы поехал в село": "…поехали?" and "…в село" in one
    answer)."""
    partial = [
        r[0] for r, rel in zip(rows, scored, strict=True) if rel.coverage < len(plan.required)
    ]
    if len(plan.required) < 2 or not partial:
        return {}
    turns: dict[int, tuple[int, int]] = {}
    for chunk in _chunks([r[0] for r in rows]):
        marks = ",".join("?" * len(chunk))
        for quote_id, piece_id, turn in await fetchall(
            conn, f"SELECT id, piece_id, turn_number FROM quotes WHERE id IN ({marks})", chunk
        ):
            turns[int(quote_id)] = (int(piece_id), int(turn))
    keys: dict[tuple[int, int], list[str]] = defaultdict(list)
    for row in rows:
        if row[0] in turns:
            keys[turns[row[0]]].append(row[2])
    relevance = Matcher(plan).relevance
    coverage = {answer: relevance(" | ".join(texts)).coverage for answer, texts in keys.items()}
    return {quote_id: coverage[turns[quote_id]] for quote_id in partial if quote_id in turns}


async def _hits(conn: aiosqlite.Connection, quote_ids: Sequence[int]) -> list[QuoteHit]:
    if not quote_ids:
        return []
    rows = await fetchall(conn, _HIT_SQL.format(marks=",".join("?" * len(quote_ids))), quote_ids)
    by_id = {int(r[0]): r for r in rows}
    return [_hit(by_id[i]) for i in quote_ids if i in by_id]


def _hit(row: Any) -> QuoteHit:
    return QuoteHit(
        quote_id=int(row[0]),
        piece_id=int(row[1]),
        piece_title=row[2],
        speaker=row[3],
        turn_number=int(row[4]),
        text=row[5],
        published_at=to_datetime(row[6]),
    )


async def search(
    conn: aiosqlite.Connection, query: str, *, limit: int, offset: int = 0
) -> list[QuoteHit]:
    """Quotes matching ``query``, best first; ``offset``/``limit`` page through at most
    ``MAX_RESULTS``. Any text is a valid query: unmatched input yields an empty list."""
    offset = max(0, offset)
    end = min(offset + max(0, limit), MAX_RESULTS)
    if end <= offset:
        return []
    words = parse_query(query)
    if not words:
        return []
    plan = await resolve(conn, words)
    ranked: list[int] = []
    seen: set[int] = set()
    for expression, cap in candidate_stages(plan, end):
        rows = [r for r in await fetchall(conn, _STAGE_SQL, (expression, cap)) if r[0] not in seen]
        seen.update(r[0] for r in rows)
        ranked += await _rank(conn, plan, rows)
        if len(ranked) >= end:
            break
    return await _hits(conn, ranked[offset:end])


async def top_quotes(
    conn: aiosqlite.Connection, piece_id: int, *, limit: int, offset: int = 0
) -> list[QuoteHit]:
    """The most quotable sentences of a piece (for an empty query)."""
    rows = await fetchall(
        conn,
        "SELECT q.id, q.piece_id, p.title, coalesce(q.speaker, p.speaker), q.turn_number, q.text,"
        " p.published_at"
        " FROM quotes q JOIN search_docs d ON d.quote_id = q.id"
        " JOIN pieces p ON p.id = q.piece_id"
        " WHERE q.piece_id = ? ORDER BY d.quality DESC, q.id LIMIT ? OFFSET ?",
        (piece_id, max(0, limit), max(0, offset)),
    )
    return [_hit(r) for r in rows]


async def stats(conn: aiosqlite.Connection) -> dict[str, int]:
    """Sizes of the search tables (for the benchmark and diagnostics)."""
    out = {}
    for table in ("search_docs", "search_vocab", "search_fuzzy"):
        rows = await fetchall(conn, f"SELECT count(*) FROM {table}")
        out[table] = int(rows[0][0])
    return out


# -- the repository's part ----------------------------------------------------------------------


class QuoteSearch(Database):
    """Quote search for ``Repository``: answers queries, keeps the index current."""

    def __init__(
        self, conn: aiosqlite.Connection, path: Path, readers: ReadPool | None = None
    ) -> None:
        super().__init__(conn, path, readers)
        self._search_ready = False
        self._reindex: asyncio.Task[int] | None = None

    async def close(self) -> None:
        if self._reindex is not None and not self._reindex.done():
            self._reindex.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reindex
        await super().close()

    async def search_quotes(self, query: str, *, limit: int, offset: int = 0) -> list[QuoteHit]:
        """Quotes matching any text, best first (never raises on odd input)."""
        await self.prepare_search()
        async with self.reading() as conn:
            return await search(conn, query, limit=limit, offset=offset)

    async def top_quotes(self, piece_id: int, limit: int, *, offset: int = 0) -> list[QuoteHit]:
        """The most quotable sentences of a piece, for an empty search."""
        await self.prepare_search()
        async with self.reading() as conn:
            return await top_quotes(conn, piece_id, limit=limit, offset=offset)

    async def _settle_index(self) -> None:
        """At open: an empty index of an older normaliser is marked current (a write only when
        there is one to do)."""
        if not (await index_state(self._conn)).current:
            async with self.transaction() as conn:
                await settle_empty_index(conn)

    async def prepare_search(self) -> int:
        """Make the search index current; returns how many quotes are still waiting.

        An index built by another normaliser (or before migration 0002) is dropped and rebuilt,
        newest quotes first: up to ``REINDEX_NOW`` quotes right away, a bigger archive in a
        background task while searches answer from what is indexed so far."""
        if self._search_ready or (self._reindex is not None and not self._reindex.done()):
            return 0
        await self._reset_stale_index()
        pending = await pending_quotes(self._conn)
        if pending > REINDEX_NOW:
            logger.info("Search index: %d quotes to index, in the background", pending)
            self._reindex = asyncio.create_task(self._index_in_background(), name="search-index")
            return pending
        await self.index_pending_quotes()
        return 0

    async def build_search_index(self, progress: Callable[[int], None] | None = None) -> int:
        """Bring the search index up to date now, in the foreground (``python -m bot reindex``);
        returns how many quotes were indexed."""
        await self._reset_stale_index()
        return await self.index_pending_quotes(progress)

    async def _reset_stale_index(self) -> None:
        if not (await index_state(self._conn)).current:
            async with self.transaction() as conn:
                if not (await index_state(conn)).current:
                    await reset_index(conn)

    async def index_pending_quotes(self, progress: Callable[[int], None] | None = None) -> int:
        """Index every waiting quote, newest first, in short transactions of about
        ``REINDEX_BATCH`` quotes (publishing and subscribing are never held up for long);
        ``progress`` gets the running count. Returns how many were indexed."""
        total = 0
        while rows := await next_batch(self._conn):
            docs: list[Doc] = []
            by_piece: dict[int, list[aiosqlite.Row]] = {}
            for row in rows:
                by_piece.setdefault(int(row[1]), []).append(row)
            for piece_rows in by_piece.values():  # CPU-bound: let other tasks run in between
                docs += prepare_docs(piece_rows)
                await asyncio.sleep(0)
            async with self.transaction() as conn:
                done = await store_batch(conn, rows, docs)
            if not done:
                break
            total += done
            if progress is not None:
                progress(total)
        self._search_ready = (await index_state(self._conn)).pending_below == 0
        return total

    async def _index_in_background(self) -> int:
        started = time.monotonic()
        try:
            count = await self.index_pending_quotes()
        except Exception:
            logger.exception("Search index: background indexing failed")
            return 0
        logger.info("Search index: %d quotes indexed in %.0f s", count, time.monotonic() - started)
        return count


__all__ = [
    "MAX_RESULTS",
    "REINDEX_BATCH",
    "REINDEX_NOW",
    "IndexState",
    "QuoteSearch",
    "index_piece",
    "index_state",
    "next_batch",
    "pending_quotes",
    "prepare_docs",
    "reset_index",
    "resolve",
    "search",
    "settle_empty_index",
    "stats",
    "store_batch",
    "top_quotes",
    "unindex_piece",
]
