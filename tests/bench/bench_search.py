"""Quote-search benchmark: a synthetic archive of ~1M quotes, latency, memory and quality.

    .venv/bin/python -m tests.bench.bench_search [--quotes N] [--db PATH] [--rebuild]

The archive is published through ``Repository.add_piece`` (the production path, indexing
included). Its sentences are the real interviews' sentences with about 60% of their nouns,
adjectives, verbs and adverbs replaced by other dictionary words in the same grammatical form
(pymorphy3's dictionary, lexemes drawn from a Zipf distribution), numbers varied: a realistic
Russian vocabulary — a long tail of word forms, a head of very common words. The two real
interviews are published last (newest).

The query phase runs in a fresh process (startup time and peak RSS are that process's): the
whole path of the inline handler — ``Repository.search_quotes`` (normalisation, vocabulary,
FTS5 stages, ranking) and building the ``InlineQueryResultArticle`` list — next to the raw FTS5
query for the same words (``MATCH '"w1" AND "w2"' LIMIT 50``, and the same ``ORDER BY rank``,
i.e. bm25 over every match). Caches of the search code are cleared before the timed pass, the
SQLite page cache is warm. The quality table runs ``tests/data/search_queries.tsv`` against the
two real interviews alone and inside the big archive.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import itertools
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
SEED = ROOT / "bot" / "data" / "c5-summit-kuramaev-interview.txt"
OTHERS = sorted(p for p in (DATA / "interviews").glob("*.txt") if p.name != SEED.name)
INTERVIEWS = [SEED, *OTHERS]
QUERIES = DATA / "search_queries.tsv"  # written with the engine
HOLDOUT = DATA / "search_queries_holdout.tsv"  # written without seeing it
QUERY_SETS = {"own": QUERIES, "held-out": HOLDOUT}
PAGE = 50

# dictionary prefixes whose lexemes make the synthetic vocabulary (~50k lexemes)
LEXICON_PREFIXES = [
    "ба",
    "ве",
    "га",
    "да",
    "за",
    "ка",
    "ла",
    "ма",
    "на",
    "об",
    "пе",
    "ра",
    "са",
    "ст",
    "та",
    "ша",
    "ли",
    "ту",
    "це",
    "чи",
    "эк",
    "юр",
    "де",
    "ин",
    "мо",
    "пл",
    "ро",
    "тр",
]
SUBSTITUTE = 0.6
SPEAKERS = 2_000
ZIPF_S = 1.05


def process_age_s() -> float:
    """Seconds since this process started (Linux /proc), to count interpreter start-up too."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime")
        )
        return time.time() - (boot + ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, StopIteration):
        return float("nan")


def rss_now_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def rss_mb() -> float:
    """Peak resident memory of this process (VmHWM; ru_maxrss would include the parent's peak,
    which Linux carries over fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the synthetic archive -------------------------------------------------------------------


def real_pieces() -> list[Any]:
    from bot.publishing import prepare

    return [prepare(path.read_bytes()) for path in INTERVIEWS]


def template_sentences(pieces: list[Any]) -> list[str]:
    from bot.domain.language import split_sentences

    found: list[str] = []
    for prepared in pieces:
        interview = prepared.interview
        found += [q.text for q in prepared.quotes]
        for paragraph in (*interview.lead, *(p for t in interview.turns for p in t.question)):
            found += split_sentences(paragraph.lstrip("— "))
    return list(dict.fromkeys(s for s in found if len(s.split()) >= 4))


def _slot_key(tag: Any) -> tuple[Any, ...] | None:
    pos = tag.POS
    if pos == "NOUN":
        return (pos, tag.case, tag.number)
    if pos == "ADJF":
        return (pos, tag.case, tag.number, tag.gender)
    if pos == "VERB":
        return (pos, tag.mood, tag.tense, tag.person, tag.number, tag.gender)
    if pos in ("INFN", "ADVB"):
        return (pos,)
    return None


class Lexicon:
    """Dictionary lexemes by part of speech, each a map grammatical slot → form, drawn from a
    Zipf distribution over a fixed random popularity order."""

    def __init__(self, rng: random.Random) -> None:
        from bot.domain.language import morph

        skip = {"Arch", "Infr", "Slng", "Dist", "Erro", "Abbr", "Init"}
        lexemes: dict[tuple[str, int], dict[tuple[Any, ...], str]] = {}
        pos_of: dict[tuple[str, int], str] = {}
        names: dict[str, set[str]] = {"Name": set(), "Surn": set()}
        for prefix in LEXICON_PREFIXES:
            for word, tag, normal, para, _idx in morph().dictionary.iter_known_words(prefix):
                if {"masc", "sing", "nomn"} <= tag.grammemes and word == normal:
                    for kind in names.keys() & tag.grammemes:
                        names[kind].add(word.capitalize())
                key = _slot_key(tag)
                if key is None or skip & tag.grammemes or "-" in word:
                    continue
                ident = (normal, para)
                lexemes.setdefault(ident, {}).setdefault(key, word)
                pos_of[ident] = key[0]
        self.by_pos: dict[str, list[dict[tuple[Any, ...], str]]] = {}
        for ident in sorted(lexemes):
            self.by_pos.setdefault(pos_of[ident], []).append(lexemes[ident])
        self.cum: dict[str, list[float]] = {}
        for pos, items in self.by_pos.items():
            rng.shuffle(items)
            self.cum[pos] = list(
                itertools.accumulate(1 / (r + 1) ** ZIPF_S for r in range(len(items)))
            )
        self.count = sum(len(v) for v in self.by_pos.values())
        first, last = sorted(names["Name"]), sorted(names["Surn"])
        # the newsroom's interviewees: a pool of people, some interviewed far more often
        self.speakers = sorted({f"{rng.choice(first)} {rng.choice(last)}" for _ in range(SPEAKERS)})
        rng.shuffle(self.speakers)
        self.speaker_cum = list(
            itertools.accumulate(1 / (r + 1) ** ZIPF_S for r in range(len(self.speakers)))
        )

    def speaker(self, rng: random.Random) -> str:
        rank = bisect.bisect_left(self.speaker_cum, rng.random() * self.speaker_cum[-1])
        return self.speakers[min(rank, len(self.speakers) - 1)]

    def draw(self, rng: random.Random, key: tuple[Any, ...]) -> str | None:
        items, cum = self.by_pos[key[0]], self.cum[key[0]]
        for _ in range(3):
            rank = bisect.bisect_left(cum, rng.random() * cum[-1])
            form = items[min(rank, len(items) - 1)].get(key)
            if form:
                return form
        return None


_WORD = re.compile(r"(\w+)")


class SentenceMaker:
    def __init__(self, templates: list[str], lexicon: Lexicon) -> None:
        from bot.domain.language import morph
        from bot.domain.matching import STOPWORDS

        self.lexicon = lexicon
        self.templates: list[list[tuple[str, tuple[Any, ...] | None, str]]] = []
        for sentence in templates:
            parts: list[tuple[str, tuple[Any, ...] | None, str]] = []
            for i, piece in enumerate(_WORD.split(sentence)):
                kind = "text"
                key = None
                if i % 2 == 1:
                    if piece.isdigit():
                        kind = "number"
                    elif (
                        len(piece) > 2
                        and piece.lower() not in STOPWORDS
                        and not piece.isupper()
                        and re.fullmatch(r"[А-Яа-яЁё]+", piece)
                    ):
                        key = _slot_key(morph().parse(piece)[0].tag)
                        kind = "word" if key else "text"
                parts.append((piece, key, kind))
            self.templates.append(parts)

    def make(self, rng: random.Random) -> str:
        out = []
        for piece, key, kind in rng.choice(self.templates):
            if kind == "word" and key is not None and rng.random() < SUBSTITUTE:
                form = self.lexicon.draw(rng, key)
                if form:
                    piece = form.capitalize() if piece[0].isupper() else form
            elif kind == "number" and rng.random() < 0.5:
                piece = str(rng.randint(1, 10 ** len(piece) * 3))
            out.append(piece)
        return "".join(out)


async def build(db: Path, quotes: int, seed: int = 7) -> dict[str, Any]:
    from bot.domain.models import Interview, Summary, Turn
    from bot.domain.parsing import extract_quotes
    from storage import Repository
    from storage import quote_index as search_sql

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    rng = random.Random(seed)
    t0 = time.perf_counter()
    real = real_pieces()
    lexicon = Lexicon(rng)
    maker = SentenceMaker(template_sentences(real), lexicon)
    prep_s = time.perf_counter() - t0
    print(
        f"  lexicon: {lexicon.count:,} lexemes, {len(maker.templates)} template sentences "
        f"({prep_s:.1f} s)",
        flush=True,
    )

    index_s = 0.0
    original = search_sql.index_piece

    async def timed_index(conn: Any, piece_id: int) -> int:
        nonlocal index_s
        start = time.perf_counter()
        try:
            return await original(conn, piece_id)
        finally:
            index_s += time.perf_counter() - start

    search_sql.index_piece = timed_index  # type: ignore[assignment]
    repo = await Repository.open(db)
    start = datetime(2015, 1, 1, tzinfo=UTC)
    made = 0
    number = 0
    gen_s = 0.0
    t_build = time.perf_counter()
    try:
        while made < quotes:
            g0 = time.perf_counter()
            turns = []
            for n in range(1, rng.randint(5, 9) + 1):
                sentences = [maker.make(rng) for _ in range(rng.randint(3, 11))]
                paragraphs = [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]
                turns.append(Turn(n, (maker.make(rng),), tuple(paragraphs)))
            title = " ".join(maker.make(rng).split()[:9]).rstrip(",.:;—")
            speaker = lexicon.speaker(rng)
            interview = Interview(title, (maker.make(rng),), tuple(turns), speaker=speaker)
            piece_quotes = extract_quotes(interview)
            gen_s += time.perf_counter() - g0
            await repo.add_piece(
                interview,
                Summary(text=()),
                piece_quotes,
                source_hash=f"bench-{number}",
                published_at=start + timedelta(hours=3 * number),
            )
            made += len(piece_quotes)
            number += 1
            if number % 2000 == 0:
                rate = made / (time.perf_counter() - t_build)
                print(f"  {made:,} quotes, {number:,} pieces ({rate:,.0f} quotes/s)", flush=True)
        for prepared in real:
            await repo.add_piece(
                prepared.interview,
                prepared.summary,
                prepared.quotes,
                source_hash=prepared.source_hash,
                published_at=start + timedelta(hours=3 * number),
            )
            number += 1
        build_s = time.perf_counter() - t_build - gen_s
        await repo._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        counts = await search_sql.stats(repo._conn)
    finally:
        search_sql.index_piece = original  # type: ignore[assignment]
        await repo.close()
    return {
        "quotes": made + sum(len(p.quotes) for p in real),
        "pieces": number,
        "publish_s": build_s,
        "index_s": index_s,
        "generate_s": gen_s + prep_s,
        "db_mb": db.stat().st_size / 2**20,
        "build_rss_mb": rss_mb(),
        **counts,
    }


# -- queries ---------------------------------------------------------------------------------


def quality_queries(path: Path = QUERIES) -> list[tuple[str, str, list[str]]]:
    """``(kind, query, expected)`` rows of a quality set (see the file's header)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            kind, query, expected = line.split("\t")
            rows.append((kind, query, expected.split(" || ")))
    return rows


def workload(db: Path, size: int, seed: int = 11) -> list[str]:
    """What readers type: the quality set, every keystroke of some queries, random words and
    phrases from the archive (the last word often cut short), typos, hostile input."""
    import sqlite3

    rng = random.Random(seed)
    queries = [q for path in QUERY_SETS.values() for _k, q, _e in quality_queries(path)]
    conn = sqlite3.connect(db)
    top = conn.execute("SELECT max(id) FROM quotes").fetchone()[0]
    texts = []
    while len(texts) < size:
        row = conn.execute(
            "SELECT text FROM quotes WHERE id = ?", (rng.randint(1, top),)
        ).fetchone()
        if row:
            texts.append(row[0])
    speakers = []
    while len(speakers) < size // 15:  # who said it: a surname, or the full name being typed
        row = conn.execute(
            "SELECT speaker FROM pieces WHERE id = ?", (rng.randint(1, top // 50),)
        ).fetchone()
        if row and row[0]:
            name = row[0]
            speakers.append(
                name.split()[-1] if rng.random() < 0.5 else name[: rng.randint(5, len(name))]
            )
    conn.close()
    phrases = []
    for text in texts:
        words = re.findall(r"[\w%+&<]+", text)
        if not words:
            continue
        n = rng.choice((1, 1, 2, 2, 3))
        i = rng.randrange(max(1, len(words) - n + 1))
        phrase = " ".join(words[i : i + n])
        if rng.random() < 0.4 and len(phrase) > 4:  # still typing the last word
            phrase = phrase[: rng.randint(len(phrase) - 3, len(phrase) - 1)]
        phrases.append(phrase)
    typos = []
    for phrase in rng.sample(phrases, min(len(phrases), size // 8)):
        word = max(phrase.split(), key=len)
        if len(word) >= 6:
            i = rng.randrange(1, len(word) - 1)
            typos.append(word[:i] + rng.choice("аеиоуя") + word[i + 1 :])
    keystrokes = []
    for full in ["Токаев", "сирийский процесс", "ExxonMobil", "80 миллионов", *phrases[:6]]:
        keystrokes += [full[:k] for k in range(1, len(full) + 1)]
    hostile = [
        '"',
        "*",
        "NEAR(a b)",
        "a AND b OR NOT c",
        "-x",
        "col:val",
        "^start",
        "\x00",
        "\ud800\udfff",
        "<b>&amp;</b>",
        "я" * 256,
        " ".join(["в"] * 100),
        "на и в с по",
        "ё" * 3,
        "💥🔥",
        "a" * 255 + "*",
    ]
    return queries + keystrokes + phrases + speakers + typos + hostile


async def serve(db: Path, queries_file: Path) -> None:
    """The query phase (a fresh process): prints one JSON line."""
    memory = {"interpreter": rss_now_mb()}
    t0 = time.perf_counter()
    from aiogram.utils.i18n import I18n  # the bot's baseline: aiogram and its pydantic models

    aiogram_s = time.perf_counter() - t0
    memory["aiogram imported"] = rss_now_mb()
    t1 = time.perf_counter()
    from bot.app import prepare_to_serve
    from bot.domain import language
    from bot.domain import matching as search_text
    from bot.domain.matching import quote_term, tokens
    from bot.i18n import build_i18n
    from bot.views import quotes as search_views
    from bot.views.quotes import inline_results
    from storage import Repository

    I18n.set_current(build_i18n())
    repo = await Repository.open(db)
    await prepare_to_serve(repo)  # as the bot does before its first update
    await repo.search_quotes("старт", limit=PAGE)  # first query
    search_startup_s = time.perf_counter() - t1
    startup_total_s = process_age_s()
    memory["search ready"] = rss_now_mb()
    queries: list[str] = json.loads(queries_file.read_text(encoding="utf-8"))
    conn = repo._conn

    async def full(query: str) -> int:
        hits = await repo.search_quotes(query, limit=PAGE)
        inline_results(hits, "bench_bot")
        return len(hits)

    async def raw_match(expression: str, ranked: bool, quotes: bool) -> int:
        sql = "SELECT rowid FROM search_fts WHERE search_fts MATCH ?"
        sql += " ORDER BY rank LIMIT ?" if ranked else " LIMIT ?"
        if quotes:  # what a reader needs back: the quotes, attributed
            sql = (
                "SELECT q.text, p.title, p.speaker FROM quotes q JOIN pieces p"
                f" ON p.id = q.piece_id WHERE q.id IN ({sql})"
            )
        async with conn.execute(sql, (expression, PAGE)) as cursor:
            return len(await cursor.fetchall())

    async def raw(query: str, ranked: bool, quotes: bool = False) -> int | None:
        """FTS5 asked for the exact forms typed, all of them."""
        forms = [t.form for t in tokens(query)][:10]
        if not forms:
            return None
        return await raw_match(" AND ".join(map(quote_term, forms)), ranked, quotes)

    from bot.domain.matching import candidate_stages, parse_query
    from storage.quote_index import resolve

    async def same_keys(query: str) -> str | None:
        """The engine's first match expression for the query: the keys its words resolve to
        (forms, lemmas, completions of the word being typed, typo fixes)."""
        words = parse_query(query)
        if not words:
            return None
        stages = candidate_stages(await resolve(conn, words), PAGE)
        return stages[0][0] if stages else None

    expressions = [await same_keys(query) for query in queries]  # resolved untimed
    for query in queries[::3]:  # warm the page cache (not the code's caches)
        await full(query)
        await raw(query, False)
    search_text.parse_query.cache_clear()
    search_text.lemma_keys.cache_clear()
    search_views._article.cache_clear()
    language.lemma_candidates.cache_clear()
    language.lemma.cache_clear()
    gc.collect()

    timings: dict[str, list[float]] = {
        "full": [],
        "raw": [],
        "raw_quotes": [],
        "raw_same_keys": [],
        "raw_bm25": [],
    }
    slowest: list[tuple[float, str]] = []
    empty = 0
    for query, expression in zip(queries, expressions, strict=True):
        if expression is not None:
            start = time.perf_counter()
            await raw_match(expression, ranked=False, quotes=True)
            timings["raw_same_keys"].append(time.perf_counter() - start)
        start = time.perf_counter()
        found = await full(query)
        elapsed = time.perf_counter() - start
        timings["full"].append(elapsed)
        slowest.append((elapsed, query))
        empty += found == 0
        for name, ranked, quotes in (
            ("raw", False, False),
            ("raw_quotes", False, True),
            ("raw_bm25", True, False),
        ):
            start = time.perf_counter()
            if await raw(query, ranked, quotes) is not None:
                timings[name].append(time.perf_counter() - start)
    empty_runs = []
    for _ in range(21):  # the empty query: what the handler does, results built anew each time
        search_views._article.cache_clear()
        start = time.perf_counter()
        hits = await repo.top_quotes(await repo.latest_piece_id() or 0, PAGE)
        inline_results(hits, "bench_bot")
        empty_runs.append(time.perf_counter() - start)
    empty_query_ms = statistics.median(empty_runs) * 1000

    quality = {name: await evaluate(repo, path) for name, path in QUERY_SETS.items()}
    await repo.close()
    slowest.sort(reverse=True)
    print(
        json.dumps(
            {
                "aiogram_s": aiogram_s,
                "search_startup_s": search_startup_s,
                "startup_total_s": startup_total_s,
                "memory": {**memory, "after all queries": rss_now_mb()},
                "rss_mb": rss_mb(),
                "timings": timings,
                "queries": len(queries),
                "no_hits": empty,
                "empty_query_ms": empty_query_ms,
                "slowest": [(round(s * 1000, 1), q[:40]) for s, q in slowest[:5]],
                "quality": quality,
            },
            ensure_ascii=False,
        )
    )


async def serve_bare(db: Path, queries_file: Path) -> None:
    """The search engine alone in a fresh process, without aiogram (its import alone is about
    165 MB): peak memory of what search itself needs. Prints one JSON line."""
    import gc

    from bot.domain.language import morph
    from storage import Repository

    repo = await Repository.open(db)
    await repo.prepare_search()
    morph()
    gc.collect()
    gc.freeze()
    queries: list[str] = json.loads(queries_file.read_text(encoding="utf-8"))
    timings = []
    for query in queries:
        start = time.perf_counter()
        await repo.search_quotes(query, limit=PAGE)
        timings.append(time.perf_counter() - start)
    await repo.close()
    print(json.dumps({"rss_mb": rss_mb(), "after": rss_now_mb(), "search": timings}))


async def evaluate(repo: Any, path: Path = QUERIES) -> dict[str, list[int]]:
    """kind → [queries, hit@1, hit@5] (a hit is an expected quote among the first results)."""
    table: dict[str, list[int]] = {}
    for kind, query, expected in quality_queries(path):
        rank = await expected_rank(repo, query, expected)
        row = table.setdefault(kind, [0, 0, 0])
        row[0] += 1
        row[1] += rank == 0
        row[2] += rank is not None
    return table


async def expected_rank(repo: Any, query: str, expected: list[str], depth: int = 5) -> int | None:
    """Where the first expected quote ranks among the first ``depth`` hits (0 = first)."""
    hits = await repo.search_quotes(query, limit=depth)
    return next((i for i, h in enumerate(hits) if any(_expected(h, e) for e in expected)), None)


def _expected(hit: Any, expected: str) -> bool:
    """``@Name``: any quote of that speaker; otherwise a part of the quote's text."""
    if expected.startswith("@"):
        return hit.speaker == expected[1:]
    return expected in hit.text


async def small_archive_quality(tmp: Path) -> dict[str, dict[str, list[int]]]:
    from bot.publishing import store
    from storage import Repository

    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    repo = await Repository.open(tmp)
    try:
        for prepared in real_pieces():
            await store(repo, prepared)
        return {name: await evaluate(repo, path) for name, path in QUERY_SETS.items()}
    finally:
        await repo.close()


# -- report ----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def quality_table(small: dict[str, list[int]], big: dict[str, list[int]], quotes: int) -> str:
    lines = [
        f"| kind | queries | hit@1 (real pieces only) | hit@5 (real pieces only) | hit@1 ({quotes:,} quotes) "
        f"| hit@5 ({quotes:,} quotes) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    total_small = [0, 0, 0]
    total_big = [0, 0, 0]
    for kind in small:
        s, b = small[kind], big.get(kind, [0, 0, 0])
        total_small = [x + y for x, y in zip(total_small, s, strict=True)]
        total_big = [x + y for x, y in zip(total_big, b, strict=True)]
        lines.append(f"| {kind} | {s[0]} | {s[1]} | {s[2]} | {b[1]} | {b[2]} |")
    n = total_small[0]
    lines.append(
        f"| **all** | {n} | {total_small[1] / n:.0%} | {total_small[2] / n:.0%} "
        f"| {total_big[1] / n:.0%} | {total_big[2] / n:.0%} |"
    )
    return "\n".join(lines)


def _child(db: Path, queries_file: Path, *extra: str) -> dict[str, Any]:
    """Run a query phase in a fresh process; its JSON result."""
    command = [sys.executable, "-m", "tests.bench.bench_search", "--serve", str(db)]
    command += ["--queries-file", str(queries_file), *extra]
    child = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if child.returncode != 0:
        print(child.stderr)
        raise SystemExit(child.returncode)
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quotes", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--rebuild", action="store_true", help="rebuild even if the db exists")
    parser.add_argument("--sample", type=int, default=600, help="random archive queries")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--queries-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run((serve_bare if args.bare else serve)(args.serve, args.queries_file))
        return

    db = args.db or Path(f"/tmp/bench_search_{args.quotes}.sqlite3")
    print(f"Quote search benchmark: {args.quotes:,} quotes, {os.cpu_count()} cores, db {db}")
    built: dict[str, Any] | None = None
    if args.rebuild or not db.exists():
        print("Building the archive (publishing through Repository.add_piece)…", flush=True)
        built = asyncio.run(build(db, args.quotes))
    else:
        print("Reusing the archive built before (--rebuild to rebuild it)")
    queries = workload(db, args.sample)
    queries_file = db.with_suffix(".queries.json")
    queries_file.write_text(json.dumps(queries), encoding="utf-8")  # surrogates escaped
    started = time.perf_counter()
    result = _child(db, queries_file)
    process_s = time.perf_counter() - started
    bare = _child(db, queries_file, "--bare")
    small = asyncio.run(small_archive_quality(db.with_name("bench_search_small.sqlite3")))

    t = result["timings"]
    print()
    if built:
        print("| archive | |")
        print("| --- | ---: |")
        print(f"| quotes / pieces | {built['quotes']:,} / {built['pieces']:,} |")
        print(
            f"| vocabulary terms / typo keys | {built['search_vocab']:,} / "
            f"{built['search_fuzzy']:,} |"
        )
        print(f"| publish time (add_piece, all of it) | {built['publish_s']:.0f} s |")
        print(
            f"| of which search indexing | {built['index_s']:.0f} s "
            f"({built['quotes'] / built['index_s']:,.0f} quotes/s) |"
        )
        print(f"| database size | {built['db_mb']:,.0f} MB |")
        print(f"| build process peak RSS | {built['build_rss_mb']:.0f} MB |")
    else:
        print(f"| database size | {db.stat().st_size / 2**20:,.0f} MB |")
    print()
    print(
        f"Latency over {result['queries']} queries ({result['no_hits']} without hits), "
        f"milliseconds:"
    )
    print()
    print("| path | p50 | p90 | p99 | max |")
    print("| --- | ---: | ---: | ---: | ---: |")
    names = {
        "full": "inline path: search_quotes + 50 results built",
        "raw": 'raw FTS5: MATCH \'"w1" AND "w2"\' LIMIT 50',
        "raw_quotes": "raw FTS5, the same returning the 50 quotes with title and speaker",
        "raw_same_keys": "raw FTS5 for the keys the query resolves to (same terms), unranked,"
        " returning the 50 quotes",
        "raw_bm25": "raw FTS5 + bm25: … ORDER BY rank LIMIT 50",
    }
    for key, label in names.items():
        v = t[key]
        print(
            f"| {label} | {pct(v, 0.5):.2f} | {pct(v, 0.9):.2f} | {pct(v, 0.99):.2f} "
            f"| {pct(v, 1):.2f} |"
        )
    print()
    ratio = pct(t["full"], 0.99) / pct(t["raw_bm25"], 0.99)
    full99 = pct(t["full"], 0.99)
    print(
        f"p99 inline path / p99 raw FTS5+bm25: {ratio:.2f}×;  / p99 raw FTS5 unranked: "
        f"{full99 / pct(t['raw'], 0.99):.1f}×;  / p99 raw FTS5 unranked returning the quotes: "
        f"{full99 / pct(t['raw_quotes'], 0.99):.1f}×;  / p99 raw FTS5 for the same keys, "
        f"returning the quotes: {full99 / pct(t['raw_same_keys'], 0.99):.1f}×"
    )
    print(
        f"empty query (top quotes of the newest piece, 50 results built), median: "
        f"{result['empty_query_ms']:.1f} ms"
    )
    print(f"slowest: {result['slowest']}")
    print(
        f"startup to the first answer: {result['startup_total_s']:.2f} s from process start, of "
        f"which importing aiogram {result['aiogram_s']:.2f} s and the search itself (imports, "
        f"open, pymorphy3, first query) {result['search_startup_s']:.2f} s"
    )
    mem = result["memory"]
    stages = ", ".join(f"{k} {v:.0f} MB" for k, v in mem.items())
    print(f"query process RSS: {stages}; peak {result['rss_mb']:.0f} MB")
    print(
        f"memory of the search path (peak − RSS with aiogram imported): "
        f"{result['rss_mb'] - mem['aiogram imported']:.0f} MB; whole child run {process_s:.0f} s"
    )
    b = bare["search"]
    print(
        f"search engine alone (a process without aiogram, same queries): peak RSS "
        f"{bare['rss_mb']:.0f} MB, {bare['after']:.0f} MB at the end; search_quotes p50 "
        f"{pct(b, 0.5):.2f} ms, p99 {pct(b, 0.99):.2f} ms"
    )
    print()
    size = built["quotes"] if built else args.quotes
    for name, path in QUERY_SETS.items():
        print()
        print(f"Quality, {name} query set ({path.relative_to(ROOT)}):")
        print()
        print(quality_table(small[name], result["quality"][name], size))


if __name__ == "__main__":
    main()
