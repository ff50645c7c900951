"""Quote search, the SQL side: indexing quotes at publish time and answering queries in stages.

The text side (folding, keys, match expressions, ranking) is ``bot/search.py``; the schema is
``migrations/0002_search.sql``.

Query path, for a query of words w1..wn (stop words optional):

1. one vocabulary look-up resolves each word to the archive's keys: its form and lemmas that
   occur, the most frequent completions of the word being typed, and — for a long word the
   archive does not know — its nearest known spellings (``search_fuzzy``);
2. stage by stage — all words, all but one, ..., any word — FTS5 returns the newest
   ``CANDIDATES_PER_STAGE`` matches (``ORDER BY rowid DESC LIMIT``: FTS5 walks its doclists
   newest first and stops, so a common word costs no more than a rare one);
3. the candidates are ranked in Python from their key texts (phrase, proximity, how directly
   each word matched, recency, quotability); later stages run only when earlier ones did not
   fill the requested page. Ranking every match of a common word with bm25 would cost ~100 ms
   at a million quotes; this costs a few.
"""

from __future__ import annotations

import logging
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

import aiosqlite

from bot.models import QuoteHit
from bot.search import (
    NORMALISER_VERSION,
    Matcher,
    Plan,
    QueryWord,
    coverage_stages,
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

logger = logging.getLogger(__name__)

CANDIDATES_PER_STAGE = 150  # newest matches ranked in the all-words stage
CANDIDATES_LATER = 80  # ... and in each later stage (some words)
COMPLETIONS = 32  # terms tried for the word being typed (fewer for a 2- or 3-letter prefix)
MAX_RESULTS = 200  # deepest result reachable by paging
TYPO_SCAN = 1500  # terms sharing a long unknown word's first letters checked for two edits
_CHUNK = 500  # host parameters per IN (...) list


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- indexing --------------------------------------------------------------------------------


async def index_piece(conn: aiosqlite.Connection, piece_id: int) -> int:
    """Index the quotes of one piece; call inside the transaction that inserted them."""
    async with conn.execute(
        "SELECT id, piece_id, text FROM quotes WHERE piece_id = ? ORDER BY id", (piece_id,)
    ) as cursor:
        rows = [(int(r[0]), int(r[1]), str(r[2])) for r in await cursor.fetchall()]
    return await index_quotes(conn, rows)


async def index_quotes(conn: aiosqlite.Connection, rows: Sequence[tuple[int, int, str]]) -> int:
    """Index quotes given as ``(quote_id, piece_id, text)``, whole pieces at a time (the
    quotability of a sentence depends on its piece). Inside a write transaction."""
    by_piece: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for quote_id, piece_id, text in rows:
        by_piece[piece_id].append((quote_id, text))
    docs: list[tuple[int, int, str, float]] = []
    freq: Counter[str] = Counter()
    for piece_id, quotes in by_piece.items():
        keys = [key_text(text) for _id, text in quotes]
        scores = quotability(keys, [text for _id, text in quotes])
        for (quote_id, _text), key, score in zip(quotes, keys, scores, strict=True):
            docs.append((quote_id, piece_id, key, score))
            groups = key_groups(key)
            freq.update({k for group in groups for k in group})
    await conn.executemany(
        "INSERT INTO search_docs (quote_id, piece_id, keys, quality) VALUES (?, ?, ?, ?)", docs
    )
    terms = sorted(freq)
    known: set[str] = set()
    for chunk in _chunks(terms):
        marks = ",".join("?" * len(chunk))
        async with conn.execute(
            f"SELECT term FROM search_vocab WHERE term IN ({marks})", tuple(chunk)
        ) as cursor:
            known.update(str(r[0]) for r in await cursor.fetchall())
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


_checked: weakref.WeakKeyDictionary[aiosqlite.Connection, bool] = weakref.WeakKeyDictionary()


async def ensure_index(
    conn: aiosqlite.Connection,
    transaction: Callable[[], AbstractAsyncContextManager[aiosqlite.Connection]],
) -> None:
    """Once per connection: (re)build the index when it was built by another normaliser
    (``NORMALISER_VERSION``) or not at all (quotes stored before migration 0002: version 0).

    A rebuild indexes every quote in one write transaction (minutes for a million quotes)."""
    if _checked.get(conn):
        return
    async with conn.execute("SELECT version FROM search_state WHERE id = 1") as cursor:
        row = await cursor.fetchone()
    if row is None or row[0] != NORMALISER_VERSION:
        async with transaction() as tx:
            await rebuild(tx)
    _checked[conn] = True


async def rebuild(conn: aiosqlite.Connection) -> int:
    """Index every quote anew (inside a write transaction); returns how many."""
    logger.info("Building the quote search index")
    await conn.execute("DELETE FROM search_docs")
    await conn.execute("INSERT INTO search_fts (search_fts) VALUES ('delete-all')")
    await conn.execute("DELETE FROM search_vocab")
    await conn.execute("DELETE FROM search_fuzzy")
    async with conn.execute("SELECT id, piece_id, text FROM quotes ORDER BY id") as cursor:
        rows = [(int(r[0]), int(r[1]), str(r[2])) for r in await cursor.fetchall()]
    count = await index_quotes(conn, rows)
    await conn.execute(
        "INSERT INTO search_state (id, version) VALUES (1, ?)"
        " ON CONFLICT (id) DO UPDATE SET version = excluded.version",
        (NORMALISER_VERSION,),
    )
    logger.info("Indexed %d quotes for search", count)
    return count


# -- querying --------------------------------------------------------------------------------


def completions(prefix: str) -> int:
    """How many archive terms a typed prefix stands for: a short prefix says little, and each
    completion is one more doclist for FTS5 to merge."""
    return {2: 8, 3: 16}.get(len(prefix), COMPLETIONS)


async def _fetchall(
    conn: aiosqlite.Connection, sql: str, params: Sequence[object] = ()
) -> list[aiosqlite.Row]:
    async with conn.execute(sql, params) as cursor:
        return list(await cursor.fetchall())


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
    for term, kind in await _fetchall(conn, sql, params):
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
    rows = await _fetchall(conn, sql, params)
    return pick_typos(form, ((str(r[0]), int(r[1])) for r in rows))


_STAGE_SQL = (
    "SELECT d.quote_id, d.piece_id, d.keys, d.quality"
    " FROM (SELECT rowid AS id FROM search_fts WHERE search_fts MATCH ?"
    " ORDER BY rowid DESC LIMIT ?) m"
    " JOIN search_docs d ON d.quote_id = m.id"
)
_HIT_SQL = (
    "SELECT q.id, q.piece_id, p.title, p.speaker, q.turn_number, q.text, p.published_at"
    " FROM quotes q JOIN pieces p ON p.id = q.piece_id WHERE q.id IN ({marks})"
)

# piece id → published_at, per connection (pieces are immutable once published)
_published: weakref.WeakKeyDictionary[aiosqlite.Connection, dict[int, str]] = (
    weakref.WeakKeyDictionary()
)


async def _publication_times(conn: aiosqlite.Connection, piece_ids: set[int]) -> dict[int, str]:
    known = _published.setdefault(conn, {})
    missing = [i for i in piece_ids if i not in known]
    if missing:
        if len(known) > 100_000:
            known.clear()
        marks = ",".join("?" * len(missing))
        for row in await _fetchall(
            conn, f"SELECT id, published_at FROM pieces WHERE id IN ({marks})", missing
        ):
            known[int(row[0])] = str(row[1])
    return known


async def _rank(conn: aiosqlite.Connection, plan: Plan, rows: Sequence[Any]) -> list[int]:
    """Candidate quote ids, best first."""
    if not rows:
        return []
    published = await _publication_times(conn, {r[1] for r in rows})
    ages = {ts: age for age, ts in enumerate(sorted({published[r[1]] for r in rows}, reverse=True))}
    relevance = Matcher(plan).relevance
    keyed = [(rank_key(relevance(r[2]), ages[published[r[1]]], r[3], r[0]), r[0]) for r in rows]
    keyed.sort()
    return [quote_id for _key, quote_id in keyed]


async def _hits(conn: aiosqlite.Connection, quote_ids: Sequence[int]) -> list[QuoteHit]:
    if not quote_ids:
        return []
    rows = await _fetchall(conn, _HIT_SQL.format(marks=",".join("?" * len(quote_ids))), quote_ids)
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
        published_at=datetime.fromisoformat(row[6]),
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
    stages = coverage_stages([plan.alternatives(i) for i in plan.required])
    for number, expression in enumerate(stages):
        cap = CANDIDATES_PER_STAGE if number == 0 else CANDIDATES_LATER
        rows = [r for r in await _fetchall(conn, _STAGE_SQL, (expression, cap)) if r[0] not in seen]
        seen.update(r[0] for r in rows)
        ranked += await _rank(conn, plan, rows)
        if len(ranked) >= end:
            break
    return await _hits(conn, ranked[offset:end])


async def top_quotes(
    conn: aiosqlite.Connection, piece_id: int, *, limit: int, offset: int = 0
) -> list[QuoteHit]:
    """The most quotable sentences of a piece (for an empty query)."""
    rows = await _fetchall(
        conn,
        "SELECT q.id, q.piece_id, p.title, p.speaker, q.turn_number, q.text, p.published_at"
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
        rows = await _fetchall(conn, f"SELECT count(*) FROM {table}")
        out[table] = int(rows[0][0])
    return out


__all__ = [
    "CANDIDATES_PER_STAGE",
    "MAX_RESULTS",
    "ensure_index",
    "index_piece",
    "index_quotes",
    "rebuild",
    "resolve",
    "search",
    "stats",
    "top_quotes",
]
