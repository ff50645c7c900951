"""Follow-matching benchmark: 100,000 readers, 500,000 follows, pieces published into them.

Run: ``.venv/bin/python -m tests.bench.bench_follows`` (``make bench-follows``).

The follows are drawn the way readers would write them: nouns and two-noun phrases from the
archive's own vocabulary (the bundled interviews, Zipf-distributed by frequency, so common
words like "год" or "Казахстан" are followed by thousands), speakers' names (8 %), and a long
tail of topics no piece mentions (37 %). A fifth of the readers are also subscribed to everything.

For each of six interviews it publishes the piece (``Pieces.add_piece``: the piece, its search
index and its deliveries in one transaction) and reports the time spent in
``outbox.create_deliveries`` — matching the piece against every follow and writing the
deliveries, each with the follow it matched — with how many key-index rows the piece touched, how many readers
it matched and how many deliveries it wrote. Target: ≤ 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from pathlib import Path

from bot.domain.follows import FollowKind, FollowProblem, FollowSpec, follow_key_rows, parse_follow
from bot.domain.language import morph
from bot.domain.matching import STOPWORDS, tokens
from bot.publishing import prepare, store
from storage import Repository, follows, outbox
from tests.conftest import DATA

READERS = 100_000
FOLLOWS = 500_000
PIECES = sorted((DATA / "interviews").glob("*.txt"))
NAMES = [
    "Токаев",
    "Курамаев",
    "Байкадам Курамаев",
    "Олег Петров",
    "Айгерим Нурланова",
    "Олег Пак",
    "Сергей Лаптев",
    "Дана Ахметова",
    "Серджио Гор",
    "Мирзиёев",
]


def vocabulary() -> list[str]:
    """Words of the bundled texts, most frequent first (their Zipf rank is their order)."""
    counts: dict[str, int] = {}
    for path in sorted(DATA.rglob("*.txt")):
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            continue
        for token in tokens(text):
            form = token.form
            if len(form) >= 3 and form.isalpha() and form not in STOPWORDS:
                counts[form] = counts.get(form, 0) + 1
    nouns = [w for w in counts if "NOUN" in morph().parse(w)[0].tag]  # what readers follow
    return sorted(nouns, key=lambda w: -counts[w])


def draw(rng: random.Random, vocab: list[str], tail: int) -> tuple[str, FollowKind]:
    roll = rng.random()
    if roll < 0.08:
        return rng.choice(NAMES), FollowKind.SPEAKER
    if roll < 0.45:  # topics nobody writes about (yet)
        return f"тема{rng.randrange(tail)}", FollowKind.TOPIC
    rank = min(int(rng.paretovariate(1.1)) - 1, len(vocab) - 1)
    word = vocab[rank]
    if roll < 0.65:
        other = vocab[min(int(rng.paretovariate(1.1)) - 1, len(vocab) - 1)]
        return f"{word} {other}", FollowKind.TOPIC
    return word, FollowKind.TOPIC


async def populate(repo: Repository, readers: int, total: int, seed: int) -> int:
    rng = random.Random(seed)
    vocab = vocabulary()
    specs: dict[tuple[str, FollowKind], FollowSpec | None] = {}
    follow_rows: list[tuple[int, int, str, str, str, int, float]] = []
    key_rows: list[tuple[str, int, int, int, int, int]] = []
    seen: set[tuple[int, str, str]] = set()
    follow_id = 0
    while follow_id < total:
        chat = 1 + rng.randrange(readers)
        phrase, kind = draw(rng, vocab, 50_000)
        key = (phrase, kind)
        if key not in specs:
            parsed = parse_follow(phrase, kind)
            specs[key] = None if isinstance(parsed, FollowProblem) else parsed
        spec = specs[key]
        if spec is None or (chat, kind.value, spec.norm) in seen:
            continue
        seen.add((chat, kind.value, spec.norm))
        follow_id += 1
        follow_rows.append(
            (follow_id, chat, kind.value, spec.phrase, spec.norm, len(spec.words), 0.0)
        )
        speaker = int(kind is FollowKind.SPEAKER)
        key_rows += [
            (k, follow_id, word, len(spec.words), chat, speaker)
            for k, word in follow_key_rows(spec)
        ]
    async with repo.transaction() as conn:
        await conn.executemany(
            "INSERT INTO readers (chat_id, locale, changed_at) VALUES (?, 'ru', 0)",
            [(chat,) for chat in range(1, readers + 1)],
        )
        await conn.executemany(
            "INSERT INTO follows (id, chat_id, kind, phrase, norm, words, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            follow_rows,
        )
        await conn.executemany(
            "INSERT OR IGNORE INTO follow_keys (key, follow_id, word, words, chat_id, speaker)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            key_rows,
        )
        await conn.executemany(
            "INSERT INTO subscribers (chat_id, state, locale, subscribed_at, changed_at)"
            " VALUES (?, 'active', 'ru', 0, 0)",
            [(chat,) for chat in rng.sample(range(1, readers + 1), readers // 5)],
        )
    return len(key_rows)


async def main(readers: int, total: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        repo = await Repository.open(Path(folder) / "bench.sqlite3")
        try:
            started = time.perf_counter()
            keys = await populate(repo, readers, total, seed=14)
            print(
                f"{readers:,} readers, {total:,} follows ({keys:,} index rows),"
                f" {readers // 5:,} subscribed to everything; set up in"
                f" {time.perf_counter() - started:.1f} s"
            )
            timings: dict[str, float] = {}
            real_route = follows.route_piece
            real_create = outbox.create_deliveries

            async def timed_route(*args: object) -> int:
                t = time.perf_counter()
                added = await real_route(*args)  # type: ignore[arg-type]
                timings["route"] = time.perf_counter() - t
                return added

            async def timed_create(*args: object) -> int:
                t, cpu = time.perf_counter(), time.process_time()
                total_ = await real_create(*args)  # type: ignore[arg-type]
                timings["create"] = time.perf_counter() - t
                timings["cpu"] = time.process_time() - cpu  # all threads: SQLite's too
                return total_

            follows.route_piece = timed_route  # type: ignore[assignment]
            outbox.create_deliveries = timed_create  # type: ignore[assignment]
            print(
                "| piece | index rows hit | readers matched | deliveries | "
                "matching + writing (create_deliveries), wall | CPU |"
            )
            print("| --- | --- | --- | --- | --- | --- |")
            worst = 0.0
            for path in PIECES:
                before = await repo._fetchone("SELECT count(*) FROM deliveries")
                piece_id = await store(repo, prepare(path.read_bytes()))
                after = await repo._fetchone("SELECT count(*) FROM deliveries")
                notes = await repo._fetchone(
                    "SELECT count(*) FROM deliveries WHERE piece_id = ? AND follow IS NOT NULL",
                    (piece_id,),
                )
                hits = await _hits(repo, piece_id)
                written = int(after[0]) - int(before[0]) if after and before else 0
                worst = max(worst, timings["create"])
                print(
                    f"| {path.stem} | {hits:,} | {int(notes[0]) if notes else 0:,} |"
                    f" {written:,} | {timings['create']:.2f} s (routing {timings['route']:.2f} s) |"
                    f" {timings['cpu']:.2f} s |"
                )
            print(f"worst: {worst:.2f} s (target ≤ 5 s); load average {os.getloadavg()[0]:.1f}")
        finally:
            await repo.close()


async def _hits(repo: Repository, piece_id: int) -> int:
    """Key-index rows the piece shares a key with (what matching reads)."""
    import json

    index = await follows._piece_units(repo._conn, piece_id)
    if index is None:
        return 0
    row = await repo._fetchone(
        "SELECT count(*) FROM json_each(?) j JOIN follow_keys k ON k.key = j.value",
        (json.dumps(index.keys, ensure_ascii=False),),
    )
    return int(row[0]) if row else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--readers", type=int, default=READERS)
    parser.add_argument("--follows", type=int, default=FOLLOWS)
    args = parser.parse_args()
    asyncio.run(main(args.readers, args.follows))
