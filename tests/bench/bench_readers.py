"""Readers first: a reader's /answer latency idle, during a paid broadcast and during /stats.

Run: ``.venv/bin/python -m tests.bench.bench_readers`` (``make bench-readers``); about two
minutes with the defaults (20,000 subscribers at 1,000/s: a 20-second broadcast).

The real dispatcher (``build_dispatcher``: middlewares, throttling, i18n, handlers, per-update
log line) polls the Bot API emulator, which runs in a child process as Telegram would be
elsewhere. The emulator also plays the readers: it queues ``/answer N`` updates at a steady
rate from many readers (each with at most one question outstanding) and times each one from
the moment the update is queued to the moment the bot's reply arrives — both clocks in the
emulator, so the bot's own stalls count. Three phases, readers at the same rate in each:

* **idle** — nothing else happens;
* **broadcast** — a paid broadcast (``BROADCAST_RATE`` 1000, ``BROADCAST_PAID=1``) to every
  subscriber, readers measured while it runs. The broadcast goes to a lean stand-in for
  Telegram in a third process (``_sink``): Telegram is not slowed down by our broadcast, while
  the emulator, serving readers and a thousand sends a second on one core, would be, and its
  queue would be measured instead of the bot;
* **stats** — an admin sends ``/stats`` again once the previous one is answered (at most
  twice a second: production throttling allows three updates a second).

The database is given a history so that statistics have something to count: past pieces'
deliveries (``--history`` broadcasts to every subscriber) and follows (``--follows``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import math
import multiprocessing
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from aiogram import Bot

from bot.app import build_bot, build_dispatcher
from bot.broadcast import BroadcastConfig, Broadcaster, Progress
from bot.config import Settings
from bot.i18n import build_i18n
from bot.publishing import SEED_TITLE, prepare, seed_bytes, store
from storage import Repository, outbox

FIRST_SUBSCRIBER = 10_000_000
FIRST_READER = 500_000
ADMIN = 42
READERS = 300
READER_RATE = 20.0  # /answer updates per second, all readers together


# -- the emulator and the readers, in their own process --------------------------------------------


def _serve(conn: Connection, subscribers: int) -> None:
    asyncio.run(_serve_async(conn, subscribers))


async def _serve_async(conn: Connection, subscribers: int) -> None:
    from tests.fakegram import BotAPIEmulator
    from tests.fakegram.state import Chat, SentMessage

    loop = asyncio.get_running_loop()
    async with BotAPIEmulator() as emu:
        for i in range(subscribers):
            emu.add_chat(FIRST_SUBSCRIBER + i)
        for i in range(READERS):
            emu.add_chat(FIRST_READER + i)
        emu.add_chat(ADMIN)
        waiting: dict[int, float] = {}  # chat → when its update was queued
        latencies: dict[int, list[float]] = {}  # chat kind (reader/admin) → seconds
        record = emu._record
        sends = [0]
        phase = [0.0]  # when the phase began
        moments: list[tuple[float, float]] = []  # (seconds into the phase, latency) of readers

        def timed(chat: Chat, sent: SentMessage, reply_to: int | None) -> dict[str, Any]:
            started = waiting.pop(chat.user_id, None)
            if started is not None:
                kind = ADMIN if chat.user_id == ADMIN else FIRST_READER
                latencies.setdefault(kind, []).append(time.perf_counter() - started)
                if kind == FIRST_READER:
                    moments.append((started - phase[0], time.perf_counter() - started))
            elif chat.user_id >= FIRST_SUBSCRIBER:
                sends[0] += 1
            return record(chat, sent, reply_to)

        emu._record = timed  # type: ignore[method-assign]
        gc.freeze()  # as in bench_broadcast: the emulator's collections are not the bot's
        gc.disable()
        conn.send((emu.base_url, emu.token))
        while True:
            command, arg = await loop.run_in_executor(None, conn.recv)
            if command == "readers":
                seconds, with_stats = arg
                latencies.clear()
                waiting.clear()
                moments.clear()
                sends[0] = 0
                phase[0] = time.perf_counter()
                skipped = await _drive(emu, waiting, seconds, with_stats)
                await asyncio.sleep(2.0)  # the last replies
                conn.send(
                    {
                        "reader": latencies.get(FIRST_READER, []),
                        "admin": latencies.get(ADMIN, []),
                        "unanswered": len(waiting),
                        "skipped": skipped,
                        "broadcast_sends": sends[0],
                        "slowest": sorted(moments, key=lambda m: -m[1])[:8],
                    }
                )
            elif command == "stop":
                conn.send(True)
                return


async def _drive(emu: Any, waiting: dict[int, float], seconds: float, with_stats: bool) -> int:
    """Readers ask at ``READER_RATE`` for ``seconds`` (and the admin asks /stats back to back);
    returns how many turns found their reader still waiting."""
    rng = random.Random(7)
    started = time.perf_counter()
    step = 1.0 / READER_RATE
    count = skipped = 0
    asked = 0.0
    while (now := time.perf_counter()) - started < seconds:
        # the admin asks again once answered, at most twice a second (throttling allows 3)
        if with_stats and ADMIN not in waiting and now - asked >= 0.5:
            asked = waiting[ADMIN] = time.perf_counter()
            await emu.send_message(ADMIN, "/stats")
        due = started + count * step
        if now >= due:
            reader = FIRST_READER + count % READERS
            count += 1
            if reader in waiting:
                skipped += 1
            else:
                waiting[reader] = time.perf_counter()
                await emu.send_message(reader, f"/answer {rng.randint(1, 6)}")
        await asyncio.sleep(min(0.005, max(0.0, due + step - time.perf_counter())))
    return skipped


# -- where the broadcast goes: a lean stand-in for Telegram, in a process of its own ----------------


def _sink(conn: Connection) -> None:
    asyncio.run(_sink_async(conn))


async def _sink_async(conn: Connection) -> None:
    """Answers ``sendMessage`` (and ``getMe``) at once, counting the sends: Telegram's servers
    take a paid broadcast in their stride, and the emulator's own CPU would otherwise stand in
    the readers' way (it serves them too)."""
    import json

    from aiohttp import web

    sent = [0]

    async def handle(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "getMe":
            result: dict[str, Any] = {
                "id": 123456,
                "is_bot": True,
                "first_name": "Interview Test Bot",
                "username": "interview_test_bot",
            }
        else:
            body = json.loads(await request.read() or b"{}")
            sent[0] += 1
            chat = int(body.get("chat_id", 0))
            result = {
                "message_id": sent[0],
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "text": "ok",
            }
        return web.json_response({"ok": True, "result": result})

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    gc.freeze()
    gc.disable()
    conn.send(f"http://127.0.0.1:{port}")
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    conn.send(sent[0])
    await runner.cleanup()


# -- the bot side ----------------------------------------------------------------------------------


class _Elsewhere(Broadcaster):
    """The broadcaster as the bot builds it, sending to the stand-in instead of the emulator."""

    def __init__(self, target: Bot, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target = target

    async def start(self, bot: Bot) -> None:
        await super().start(self.target)

    async def stop(self, grace: float = 5.0) -> None:
        await super().stop(grace)
        await self.target.session.close()


@dataclass
class Phase:
    name: str
    reader: list[float]
    admin: list[float]
    unanswered: int
    skipped: int
    note: str = ""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _row(phase: Phase, idle: Phase | None) -> str:
    values = [1000 * v for v in phase.reader]
    if not values:
        return f"| {phase.name} | 0 | – | – | – | – | – | {phase.note} |"
    p50, p90, p99 = (_percentile(values, q) for q in (0.5, 0.9, 0.99))
    ratio = ""
    if idle is not None and idle.reader and idle is not phase:
        base = [1000 * v for v in idle.reader]
        ratio = f"{p50 / _percentile(base, 0.5):.2f}× / {p99 / _percentile(base, 0.99):.2f}×"
    note = phase.note
    if phase.admin:
        note += f" /stats: {len(phase.admin)} answered, median {statistics.median(phase.admin) * 1000:.0f} ms"
    if phase.unanswered or phase.skipped:
        note += f" ({phase.unanswered} unanswered, {phase.skipped} turns skipped)"
    return (
        f"| {phase.name} | {len(values)} | {p50:.1f} | {p90:.1f} | {p99:.1f} | {max(values):.1f} "
        f"| {ratio} | {note.strip()} |"
    )


async def _history(repo: Repository, subscribers: int, pieces: int, follows: int) -> int:
    """Subscribers, past pieces sent to all of them, follows; returns the piece to broadcast."""
    now = time.time()
    words = ("тариф", "Токаев", "вода", "налог", "метро", "зерно", "станция", "инфляция")
    async with repo.transaction() as tx:
        await tx.executemany(
            "INSERT INTO subscribers (chat_id, state, locale, subscribed_at, changed_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (FIRST_SUBSCRIBER + i, "active" if i % 50 else "unsubscribed", "ru", now, now)
                for i in range(subscribers)
            ],
        )
        await tx.executemany(
            "INSERT INTO follows (chat_id, kind, phrase, norm, words, created_at)"
            " VALUES (?, 'topic', ?, ?, 1, ?)",
            [
                (
                    FIRST_SUBSCRIBER + i // 5,
                    f"{words[i % 8]}{i % 97}",
                    f"{words[i % 8]}{i % 97}",
                    now,
                )
                for i in range(follows)
            ],
        )
    piece_id = await store(repo, prepare(seed_bytes(), title=SEED_TITLE))
    for n in range(pieces):  # past broadcasts, sent: what /stats and progress count over
        past = await store(
            repo, prepare(seed_bytes() + f"\n\nВыпуск {n}.".encode(), title=f"{SEED_TITLE} {n}")
        )
        async with repo.transaction() as tx:
            await tx.execute(
                "UPDATE deliveries SET state = 'sent', done_at = ?, message_id = 1"
                " WHERE piece_id = ?",
                (now, past),
            )
            await tx.execute(
                "UPDATE broadcasts SET finished_at = ?, reported = 1 WHERE piece_id = ?",
                (now, past),
            )
    async with repo.transaction() as tx:  # the piece to broadcast has not been sent yet
        await tx.execute("DELETE FROM deliveries WHERE piece_id = ?", (piece_id,))
        await tx.execute("DELETE FROM broadcasts WHERE piece_id = ?", (piece_id,))
    return piece_id


def _ask(emulator: Connection, seconds: float, with_stats: bool = False) -> dict[str, Any]:
    emulator.send(("readers", (seconds, with_stats)))
    return emulator.recv()  # type: ignore[no-any-return]


async def bench(args: argparse.Namespace) -> list[Phase]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(child, args.subscribers), daemon=True)
    process.start()
    base_url, token = parent.recv()
    sink_parent, sink_child = ctx.Pipe()
    sink = ctx.Process(target=_sink, args=(sink_child,), daemon=True)
    sink.start()
    sink_url = sink_parent.recv()
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(
            Settings(),
            bot_token=token,
            bot_api_url=base_url,
            database_path=Path(tmp) / "readers.sqlite3",
            admin_ids=frozenset({ADMIN}),
            broadcast_rate=args.rate,
            broadcast_paid=args.rate > 30,
            ask_embeddings=False,
        )
        repo = await Repository.open(settings.database_path)
        done = asyncio.Event()

        async def on_progress(progress: Progress) -> None:
            if progress.finished:
                done.set()

        try:
            setup = time.perf_counter()
            piece_id = await _history(repo, args.subscribers, args.history, args.follows)
            print(f"history written in {time.perf_counter() - setup:.0f} s", flush=True)
            dp = build_dispatcher(repo, settings)
            broadcaster = _Elsewhere(
                build_bot(replace(settings, bot_api_url=sink_url)),
                repo,
                BroadcastConfig.from_settings(settings),
                build_i18n(),
                on_progress=on_progress,
                # (a checkout from before the priority scheme has no such argument)
                **(
                    {"priority": dp["priority"]}
                    if args.priority and "priority" in dp.workflow_data
                    else {}
                ),
            )
            dp["broadcaster"] = broadcaster
            bot = build_bot(settings)
            gc.collect()
            gc.freeze()  # as prepare_to_serve does
            polling = asyncio.create_task(
                dp.start_polling(bot, handle_signals=False, close_bot_session=False)
            )
            await broadcaster.wait_ready(30)
            await asyncio.to_thread(_ask, parent, 3.0)  # warm up: caches, first replies

            result = await asyncio.to_thread(_ask, parent, args.seconds)
            phases.append(
                Phase("idle", result["reader"], [], result["unanswered"], result["skipped"])
            )
            print(_row(phases[0], None), flush=True)

            async with repo.transaction() as tx:  # what `publish` does, for a stored piece
                total = await outbox.create_deliveries(tx, piece_id, time.time())
            started = time.perf_counter()
            broadcaster.wake()
            asking = asyncio.create_task(asyncio.to_thread(_ask, parent, total / args.rate - 2))
            result = await asking
            if args.verbose:
                print(
                    "slowest (s into the phase, ms):",
                    [(round(at, 1), round(1000 * ms)) for at, ms in result["slowest"]],
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 120)
            wall = time.perf_counter() - started
            counts = await repo.delivery_counts(piece_id)
            note = f"{counts.sent} sent in {wall:.1f} s ({counts.sent / wall:.0f}/s)"
            priority = dp.workflow_data.get("priority") if args.priority else None
            if priority is not None:
                note += (
                    f"; sends that waited for an update: {priority.yielded},"
                    f" loop found behind: {priority.held}"
                )
            phases.append(
                Phase(
                    "broadcast", result["reader"], [], result["unanswered"], result["skipped"], note
                )
            )
            print(_row(phases[-1], phases[0]), flush=True)

            result = await asyncio.to_thread(_ask, parent, args.seconds, True)
            phases.append(
                Phase(
                    "/stats",
                    result["reader"],
                    result["admin"],
                    result["unanswered"],
                    result["skipped"],
                )
            )
            print(_row(phases[-1], phases[0]), flush=True)

            await dp.stop_polling()
            await polling
            await bot.session.close()
        finally:
            await repo.close()
            parent.send(("stop", None))
            parent.recv()
            process.join(5)
            sink_parent.send("stop")
            sink_parent.recv()
            sink.join(5)
    return phases


HEADER = (
    "| phase | /answer replies | p50 ms | p90 ms | p99 ms | max ms | p50 / p99 vs idle | |\n"
    "|---|---:|---:|---:|---:|---:|---:|---|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--history", type=int, default=5, help="past broadcasts to everyone")
    parser.add_argument("--follows", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=15.0, help="idle and /stats phases")
    parser.add_argument(
        "--no-priority",
        dest="priority",
        action="store_false",
        help="the broadcaster does not step aside for readers' updates",
    )
    parser.add_argument("--verbose", action="store_true", help="when the slowest replies came")
    parser.add_argument("--log", default=os.devnull, help="where the bot's log goes")
    args = parser.parse_args()
    # production logs one line per update at INFO; written, but not into this table
    logging.basicConfig(
        level=logging.INFO, filename=args.log, format="%(asctime)s %(name)s %(message)s"
    )
    print(
        f"{args.subscribers:,} subscribers, {args.history} past broadcasts, {args.follows:,}"
        f" follows; readers: {READER_RATE:g} /answer a second from {READERS} chats; broadcast"
        f" at {args.rate:g}/s; emulator in a child process; load average"
        f" {os.getloadavg()[0]:.1f}\n"
    )
    print(HEADER, flush=True)
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
