"""Broadcast benchmark: the real broadcaster against the Bot API emulator, 10,000 subscribers.

Run: ``.venv/bin/python -m tests.bench.bench_broadcast`` (``--full`` sends all 10,000 at 30/s
too, which takes 5.5 minutes; by default that run stops after ``--slow-seconds``).

The emulator runs in a child process (as Telegram would be elsewhere), so the CPU time reported
is the bot's alone: broadcaster, aiogram, aiohttp and SQLite. The emulator enforces flood limits
a little above the configured rate (Telegram tolerates short bursts; the emulator's one-second
window is strict) and one message per second per chat; 429s are counted.

Per limit it prints: the rate achieved as the emulator saw it (first to last accepted send), the
bot's CPU time, and database writes per delivery — rows changed (sqlite3 ``total_changes``),
commits, and WAL pages written (``wal_checkpoint`` frame count with auto-checkpoints off).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import math
import multiprocessing
import tempfile
import time
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bot.app import build_bot
from bot.broadcast import BroadcastConfig, Broadcaster, Progress
from bot.config import Settings
from bot.i18n import build_i18n
from bot.publishing import SEED_TITLE, prepare, seed_bytes, store
from storage import Repository, outbox

SUBSCRIBERS = 10_000
FIRST_CHAT = 10_000_000
RATES = (30.0, 200.0, 1000.0)
# The emulator counts sends when it processes them: when the OS deschedules it for 0.1 s on a
# busy two-core host, it then sees 10 % more in a one-second window than the bot sent. Telegram
# is not that strict; this slack keeps the 429s in the table about the bot, not the host.
FLOOD_SLACK = 1.25


# -- the emulator, in its own process --------------------------------------------------------------


def _serve(conn: Connection, chats: int) -> None:
    asyncio.run(_serve_async(conn, chats))


async def _serve_async(conn: Connection, chats: int) -> None:
    from tests.fakegram import BotAPIEmulator

    loop = asyncio.get_running_loop()
    cpu = time.process_time()
    async with BotAPIEmulator() as emu:
        for i in range(chats):
            emu.add_chat(FIRST_CHAT + i)
        # Telegram does not stop for our garbage collector: a full collection over the
        # emulator's record of every message stalls it, then it counts the queued requests
        # as a burst and answers 429
        gc.freeze()
        gc.disable()
        conn.send((emu.base_url, emu.token))
        while True:
            command, arg = await loop.run_in_executor(None, conn.recv)
            if command == "limits":
                emu.flood_limits = arg
                emu.calls.clear()
                emu._send_times.clear()  # a new run: forget the previous run's sends
                emu._chat_send_times.clear()
                cpu = time.process_time()
                conn.send(True)
            elif command == "stats":
                sends = [c for c in emu.calls if c.method == "sendMessage"]
                ok = [c for c in sends if c.ok]
                chats_hit = [c.params["chat_id"] for c in ok]
                conn.send(
                    {
                        "ok": len(ok),
                        "429": sum(1 for c in sends if (c.error or "").startswith("Too Many")),
                        "span": ok[-1].at - ok[0].at if len(ok) > 1 else 0.0,
                        "duplicates": len(chats_hit) - len(set(chats_hit)),
                        "cpu": time.process_time() - cpu,
                        "max_window": _max_window([c.at for c in ok]),
                    }
                )
            elif command == "stop":
                conn.send(True)
                return


def _max_window(times: list[float], width: float = 1.0) -> int:
    """Most sends within any ``width`` seconds."""
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= width:
            start += 1
        best = max(best, end - start + 1)
    return best


# -- the bot side ----------------------------------------------------------------------------------


@dataclass
class Result:
    limit: float
    delivered: int
    wall: float
    server_rate: float
    too_many: int
    max_window: int
    duplicates: int
    cpu: float
    rows: float
    commits: float
    pages: float


async def _run_one(
    repo: Repository,
    settings: Settings,
    emulator: Connection,
    piece_id: int,
    rate: float,
    max_seconds: float | None,
) -> Result:
    conn = repo._conn  # bench-only: WAL accounting needs the repository's own connection
    async with repo.transaction() as tx:
        await tx.execute("DELETE FROM deliveries")
        await tx.execute("DELETE FROM broadcasts")
    await conn.execute("PRAGMA wal_autocheckpoint = 0")
    await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    emulator.send(("limits", (math.ceil(rate * FLOOD_SLACK) + 1, 1)))
    emulator.recv()

    done = asyncio.Event()

    async def on_progress(progress: Progress) -> None:
        if progress.finished:
            done.set()

    config = BroadcastConfig.from_settings(
        replace(settings, broadcast_rate=rate, broadcast_paid=rate > 30)
    )
    broadcaster = Broadcaster(repo, config, build_i18n(), on_progress=on_progress)
    bot = build_bot(settings)
    await broadcaster.start(bot)
    await broadcaster.wait_ready()

    cpu0, wall0 = time.process_time(), time.perf_counter()
    async with repo.transaction() as tx:  # what `publish` does, for an already stored piece
        await outbox.create_deliveries(tx, piece_id, time.time())
    changes0 = repo.total_changes  # creating a delivery is one row; counted as such below
    broadcaster.wake()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), max_seconds)
    await broadcaster.stop()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    rows = repo.total_changes - changes0
    async with conn.execute("PRAGMA wal_checkpoint(PASSIVE)") as cursor:
        row = await cursor.fetchone()
    pages = int(row[1]) if row else 0
    await bot.session.close()
    emulator.send(("stats", None))
    stats: dict[str, Any] = emulator.recv()
    counts = await repo.delivery_counts(piece_id)
    delivered = counts.sent
    assert delivered == stats["ok"], (delivered, stats)
    return Result(
        limit=rate,
        delivered=delivered,
        wall=wall,
        server_rate=(stats["ok"] - 1) / stats["span"] if stats["span"] else 0.0,
        too_many=stats["429"],
        max_window=stats["max_window"],
        duplicates=stats["duplicates"],
        cpu=cpu,
        rows=1 + rows / max(delivered, 1),
        commits=broadcaster.counters["commits"] / max(delivered, 1),
        pages=pages / max(delivered, 1),
    )


async def bench(full: bool, slow_seconds: float, subscribers: int) -> list[Result]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(child, subscribers), daemon=True)
    process.start()
    base_url, token = parent.recv()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(
            Settings(), bot_token=token, bot_api_url=base_url, database_path=Path(tmp) / "b.db"
        )
        repo = await Repository.open(settings.database_path)
        try:
            piece_id = await store(repo, prepare(seed_bytes(), title=SEED_TITLE))
            now = time.time()
            async with repo.transaction() as tx:
                await tx.executemany(
                    "INSERT INTO subscribers (chat_id, state, locale, subscribed_at, changed_at)"
                    " VALUES (?, 'active', ?, ?, ?)",
                    [
                        (FIRST_CHAT + i, "ru" if i % 4 else "en", now, now)
                        for i in range(subscribers)
                    ],
                )
            for rate in RATES:
                limit = None if full or rate > 30 else slow_seconds
                results.append(await _run_one(repo, settings, parent, piece_id, rate, limit))
                print(_row(results[-1]), flush=True)
        finally:
            await repo.close()
            parent.send(("stop", None))
            parent.recv()
            process.join(5)
    return results


HEADER = (
    "| limit/s | delivered | wall s | achieved/s | of limit | busiest second | 429s | dups "
    "| bot CPU s | CPU % | CPU ms/msg | rows/msg | commits/msg | WAL pages/msg |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def _row(r: Result) -> str:
    return (
        f"| {r.limit:g} | {r.delivered} | {r.wall:.1f} | {r.server_rate:.1f} | "
        f"{r.server_rate / r.limit:.1%} | {r.max_window} | {r.too_many} | {r.duplicates} | "
        f"{r.cpu:.2f} | "
        f"{r.cpu / r.wall:.0%} | "
        f"{1000 * r.cpu / max(r.delivered, 1):.3f} | {r.rows:.2f} | {r.commits:.3f} | "
        f"{r.pages:.3f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="send all subscribers at 30/s too")
    parser.add_argument("--slow-seconds", type=float, default=20.0)
    parser.add_argument("--subscribers", type=int, default=SUBSCRIBERS)
    args = parser.parse_args()
    print(f"{args.subscribers} subscribers; emulator in a child process\n")
    print(HEADER, flush=True)
    asyncio.run(bench(args.full, args.slow_seconds, args.subscribers))


if __name__ == "__main__":
    main()
