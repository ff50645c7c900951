"""Outbox benchmark (issue 16): publish lock, WAL and database size as history grows.

Run: ``.venv/bin/python -m tests.bench.bench_outbox`` (``make bench-outbox``).

100,000 active subscribers. A piece is published (``store``: the piece, its search index and
one delivery per subscriber in one transaction) into a database with no history, then with
``--history`` past pieces (1,000) whose broadcasts were compacted: their counters, and the
edit targets (``sent_messages``) of the ones still inside the edit window, one piece a day.
History is bulk-inserted in SQL (stub pieces without text; the archive's own size is measured
separately from the bundled interviews and scaled to the same number of pieces). After each
publish the broadcast is played out in SQL (every delivery sent) and compacted the way the
broadcaster does (``compact_deliveries``, 5,000 rows per transaction).

For comparison, the old layout: the same publish with ``--old`` past broadcasts (20) kept as
finished rows in ``deliveries`` (what schema 10 did for ever), and what compacting them costs
(what migration 0011 does once).

Reported: the publish's write lock (BEGIN IMMEDIATE to COMMIT), the WAL it appended
(auto-checkpoint off), the database size (after a checkpoint) and what the outbox tables take
(``dbstat``), with the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from bot.domain.followups import EDIT_WINDOW_S
from bot.publishing import Prepared, prepare, store
from storage import Repository, outbox
from tests.conftest import DATA

SUBSCRIBERS = 100_000
HISTORY = 1_000
OLD = 20
DAY = 86400.0
PIECES = sorted((DATA / "interviews").glob("*.txt"))
MIB = 1024 * 1024
OUTBOX_TABLES = ("deliveries", "sent_messages", "broadcasts", "sqlite_autoindex_deliveries_1")


def variant(n: int) -> Prepared:
    """A bundled interview with one more sentence: a new piece each time."""
    text = PIECES[n % len(PIECES)].read_text("utf-8").rstrip() + f" Уточнение номер {n}.\n"
    return prepare(text.encode("utf-8"))


WRITING: list[float] = []  # seconds in outbox.create_deliveries, per publish


def time_deliveries() -> None:
    real = outbox.create_deliveries

    async def timed(*args: object) -> int:
        started = time.perf_counter()
        total = await real(*args)  # type: ignore[arg-type]
        WRITING.append(time.perf_counter() - started)
        return total

    outbox.create_deliveries = timed  # type: ignore[assignment]


class Timed:
    """Wraps the repository's write transactions and records how long each held the lock."""

    def __init__(self, repo: Repository) -> None:
        self.held: list[float] = []
        real = repo.transaction

        @asynccontextmanager
        async def transaction() -> AsyncIterator[aiosqlite.Connection]:
            async with real() as conn:
                started = time.perf_counter()
                yield conn
            self.held.append(time.perf_counter() - started)

        repo.transaction = transaction  # type: ignore[method-assign]


async def one(repo: Repository, sql: str, params: tuple[object, ...] = ()) -> int:
    row = await repo._fetchone(sql, params)
    return int(row[0]) if row and row[0] is not None else 0


async def checkpoint(repo: Repository) -> None:
    await repo._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def sizes(repo: Repository) -> tuple[float, float]:
    """(database MiB, outbox tables and indexes MiB), after a checkpoint."""
    await checkpoint(repo)
    total = await one(
        repo, "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size"
    )
    rows = await repo._fetchall(
        "SELECT name, tbl_name FROM sqlite_schema WHERE tbl_name IN (?, ?, ?)", OUTBOX_TABLES[:3]
    )
    names = sorted({str(r[0]) for r in rows} | {"sqlite_autoindex_deliveries_1"})
    marks = ",".join("?" * len(names))
    outbox = await one(
        repo, f"SELECT sum(pgsize) FROM dbstat WHERE name IN ({marks})", tuple(names)
    )
    return total / MIB, outbox / MIB


async def publish(repo: Repository, timed: Timed, n: int) -> tuple[int, float, float, float, float]:
    """Publish one piece, play its broadcast out, compact it: (piece, publish lock s, WAL MiB,
    compaction s in all, longest compaction transaction s)."""
    prepared = variant(n)
    await checkpoint(repo)
    wal = Path(f"{repo.path}-wal")
    timed.held.clear()
    WRITING.clear()
    piece_id = await store(repo, prepared)
    lock = max(timed.held)
    grown = wal.stat().st_size / MIB if wal.exists() else 0.0
    now = time.time()
    async with repo.transaction() as conn:  # the broadcaster's work, in bulk
        await conn.execute(
            "UPDATE deliveries SET state = 'sent', attempts = 1, message_id = 1000 + chat_id % 9973,"
            " done_at = ? WHERE piece_id = ?",
            (now - 3600, piece_id),
        )
    timed.held.clear()
    started = time.perf_counter()
    await repo.compact_deliveries()
    compaction = time.perf_counter() - started
    return piece_id, lock, grown, compaction, max(timed.held)


async def add_history(repo: Repository, pieces: int, subscribers: int, *, compacted: bool) -> None:
    """``pieces`` past broadcasts, one a day: compacted (counters, and edit targets inside the
    window) or, the old layout, every delivery kept as a finished row."""
    now = time.time()
    window = int(EDIT_WINDOW_S // DAY)
    async with repo.transaction() as conn:
        first = await one(repo, "SELECT coalesce(max(id), 0) + 1 FROM pieces")
        await conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)"
            " INSERT INTO pieces (id, title, lead, closing, credits, summary, source_hash,"
            " published_at, status) SELECT ? + i, 'history ' || i, '[]', '[]', '[]', '{}',"
            " 'history:' || (? + i), ? - (? - i) * 86400.0, 'live' FROM n",
            (pieces, first, first, now, pieces),
        )
        if compacted:
            await conn.execute(
                "INSERT INTO broadcasts (piece_id, total, created_at, finished_at, reported, sent,"
                " unreachable) SELECT id, ?, published_at, published_at + 3600, 1, ? - 40, 40"
                " FROM pieces WHERE source_hash LIKE 'history:%'",
                (subscribers, subscribers),
            )
            await conn.execute(
                "INSERT INTO sent_messages (piece_id, chat_id, message_id, sent_at, locale)"
                " SELECT p.id, s.chat_id, 1000 + s.chat_id % 9973, CAST(p.published_at AS INTEGER),"
                " s.locale FROM pieces p CROSS JOIN subscribers s"
                " WHERE p.source_hash LIKE 'history:%' AND p.published_at > ?"
                " ORDER BY p.id, s.chat_id",
                (now - window * DAY,),
            )
        else:
            await conn.execute(
                "INSERT INTO broadcasts (piece_id, total, created_at, finished_at, reported)"
                " SELECT id, ?, published_at, published_at + 3600, 1 FROM pieces"
                " WHERE source_hash LIKE 'history:%'",
                (subscribers,),
            )
            await conn.execute(
                "INSERT INTO deliveries (piece_id, chat_id, locale, state, attempts, message_id,"
                " done_at) SELECT p.id, s.chat_id, s.locale, 'sent', 1, 1000 + s.chat_id % 9973,"
                " p.published_at + 60 FROM pieces p CROSS JOIN subscribers s"
                " WHERE p.source_hash LIKE 'history:%' ORDER BY p.id, s.chat_id"
            )


async def archive_size() -> float:
    """MiB a piece of the archive takes (text, turns, quotes, search index), from the bundled
    interviews published into an empty database."""
    with tempfile.TemporaryDirectory() as folder:
        repo = await Repository.open(Path(folder) / "archive.sqlite3")
        try:
            empty, _ = await sizes(repo)
            for path in PIECES:
                await store(repo, prepare(path.read_bytes()))
            full, _ = await sizes(repo)
        finally:
            await repo.close()
    return (full - empty) / len(PIECES)


async def fresh(folder: str, name: str, subscribers: int) -> tuple[Repository, Timed]:
    repo = await Repository.open(Path(folder) / name)
    await repo._conn.execute("PRAGMA wal_autocheckpoint = 0")
    async with repo.transaction() as conn:
        await conn.executemany(
            "INSERT INTO subscribers (chat_id, state, locale, subscribed_at, changed_at)"
            " VALUES (?, 'active', 'ru', 0, 0)",
            [(100_000_000 + 37 * i,) for i in range(subscribers)],
        )
    return repo, Timed(repo)


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


async def main(subscribers: int, history: int, old: int) -> None:
    time_deliveries()
    per_piece = await archive_size()
    print(
        f"{subscribers:,} subscribers; archive {per_piece * 1024:.0f} KiB a piece"
        f" (bundled interviews), so {per_piece * history:.0f} MiB for {history:,} pieces;"
        f" edit window {EDIT_WINDOW_S / DAY:.0f} days; {load()}"
    )
    print(
        "| layout | past pieces | rows in deliveries before | publish: write lock (of it, writing"
        " the deliveries) | WAL appended"
        " | compaction: total / longest transaction | DB size | outbox tables |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        repo, timed = await fresh(folder, "new.sqlite3", subscribers)
        try:
            n = 0
            for past, label in ((0, "0"), (history, f"{history:,}")):
                if past:
                    started = time.perf_counter()
                    await add_history(repo, past, subscribers, compacted=True)
                    print(
                        f"(history of {past:,} compacted pieces inserted in {time.perf_counter() - started:.0f} s)"
                    )
                for _ in range(3):
                    rows = await one(repo, "SELECT count(*) FROM deliveries")
                    _, lock, wal, compaction, longest = await publish(repo, timed, n)
                    n += 1
                    db, outbox = await sizes(repo)
                    print(
                        f"| compacted | {label} | {rows:,} | {lock:.2f} s ({WRITING[0]:.2f} s)"
                        f" | {wal:.1f} MiB"
                        f" | {compaction:.2f} s / {longest:.3f} s | {db:.0f} MiB | {outbox:.1f} MiB |"
                    )
            db, outbox = await sizes(repo)
            live = db - outbox
            print(
                f"compacted layout at {history + n:,} pieces: outbox {outbox:.1f} MiB (counters and"
                f" the edit targets of {EDIT_WINDOW_S / DAY:.0f} days); archive would be"
                f" {per_piece * (history + n):.0f} MiB; {load()}"
            )
            del live
        finally:
            await repo.close()
        if old:
            repo, timed = await fresh(folder, "old.sqlite3", subscribers)
            try:
                started = time.perf_counter()
                await add_history(repo, old, subscribers, compacted=False)
                print(
                    f"(old layout: {old * subscribers:,} finished rows inserted in {time.perf_counter() - started:.0f} s)"
                )
                rows = await one(repo, "SELECT count(*) FROM deliveries")
                db_before, outbox_before = await sizes(repo)
                # the same publish, the finished rows kept (what schema 10 did)
                prepared = variant(n)
                await checkpoint(repo)
                timed.held.clear()
                WRITING.clear()
                await store(repo, prepared)
                lock = max(timed.held)
                wal = Path(f"{repo.path}-wal").stat().st_size / MIB
                db, outbox = await sizes(repo)
                print(
                    f"| old (rows kept) | {old:,} | {rows:,} | {lock:.2f} s ({WRITING[0]:.2f} s)"
                    f" | {wal:.1f} MiB | – |"
                    f" {db:.0f} MiB | {outbox:.1f} MiB ({outbox_before * MIB / rows:.0f} B a row) |"
                )
                # what migration 0011 does once: fold them all in
                timed.held.clear()
                started = time.perf_counter()
                await repo.compact_deliveries(older_than=0)
                took = time.perf_counter() - started
                db, outbox = await sizes(repo)
                print(
                    f"compacting the old layout's {rows:,} rows: {took:.1f} s, longest transaction"
                    f" {max(timed.held):.3f} s; outbox {outbox_before:.0f} → {outbox:.1f} MiB"
                    f" (DB {db_before:.0f} → {db:.0f} MiB before VACUUM); {load()}"
                )
            finally:
                await repo.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=SUBSCRIBERS)
    parser.add_argument("--history", type=int, default=HISTORY)
    parser.add_argument("--old", type=int, default=OLD, help="past broadcasts in the old layout")
    args = parser.parse_args()
    asyncio.run(main(args.subscribers, args.history, args.old))
