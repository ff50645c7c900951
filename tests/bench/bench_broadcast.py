"""Broadcast benchmark: the running bot — dispatcher, broadcaster, readers — against a strict Bot
API emulator in another process.

Run: ``.venv/bin/python -m tests.bench.bench_broadcast`` (``--seconds``: how long each rate sends,
10 by default; ``--rates``; ``--latency``).

Per rate (30/s, 200/s and 1000/s paid) the bot is built as ``python -m bot run`` builds it
(``build_dispatcher`` with its broadcaster, polling, INFO logging to a file), then:

1. **idle** — readers send ``/answer 3`` every 100 ms (round robin over ten chats, open loop:
   a slow answer does not delay the next question) for ``--idle-seconds``;
2. **broadcast** — a piece is published to ``rate × seconds`` subscribers (so every rate sends
   at least ``--seconds`` worth) while the readers go on, until the emulator has accepted every
   notification. Halfway, the emulator answers one message with 429 "retry after 1" (not
   counted among the flood 429s; ``--no-pause`` leaves it out): the bot must pause, and not
   burst over the limit when it resumes.

The emulator is as strict as Telegram could be: any message that would put more than the limit
(exactly the limit, no tolerance) into some sliding one-second window, as the emulator counts
them, gets 429 — and one message per second per chat. Every request takes 50–150 ms (uniform,
``--latency``), and the emulator processes it — counts it against the limit — at a uniformly
random point of that time, so requests sent evenly arrive unevenly. Replies to the readers are not
counted against the broadcast's limit (``flood_exempt``: the bench checks the broadcaster's pacing;
the default ``BROADCAST_RATE`` of 25 leaves Telegram's 30/s headroom for replies).

Printed per rate: the rate the emulator saw before the pause (first to last accepted message);
the busiest one-second window, sliding, of the messages it accepted and of all it was sent; the
longest silence (the pause, as the server saw it, less messages already in flight); flood 429s;
messages that reached a chat twice; bot CPU; rows changed and commits per delivery; the
emulator's CPU (it must not be the bottleneck); the bot's event-loop lag; reader latency.

Reader latency is the time from an update being offered to the bot until the bot's reply reaches
the API (the API's own 50–150 ms is not the bot's: it is left out; getUpdates answers without
added latency). Bot CPU is this process's; "net" CPU per message subtracts the idle phase's CPU
rate (the readers) from the broadcast phase's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import logging
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict, deque
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bot.app import build_bot, build_dispatcher, prepare_to_serve
from bot.broadcast import Broadcaster
from bot.config import Settings
from bot.i18n import build_i18n
from bot.logs import setup_logging
from bot.publishing import SEED_TITLE, prepare, publish, seed_bytes
from storage import Repository

FIRST_CHAT = 10_000_000
READERS = tuple(range(5_000_001, 5_000_011))  # ten readers, one question a second each
READER_INTERVAL = 0.1  # a question every 100 ms, all readers together
READER_TEXT = "/answer 3"
RATES = (30.0, 200.0, 1000.0)
LATENCY = (0.05, 0.15)


# -- the emulator, in its own process --------------------------------------------------------------


def _serve(conn: Connection, chats: int) -> None:
    asyncio.run(_serve_async(conn, chats))


async def _serve_async(conn: Connection, chats: int) -> None:
    from tests.fakegram import BotAPIEmulator
    from tests.fakegram.errors import ApiError

    class BenchEmulator(BotAPIEmulator):
        """Records when the broadcast's messages were counted (accepted or not) and when the
        bot's replies to the readers arrive; answers one 429 (retry after 1 s) once
        ``pause_after`` messages were accepted, as Telegram may at any time."""

        def __init__(self) -> None:
            super().__init__()
            self.accepted: list[float] = []
            self.rejected: list[float] = []
            self.waiters: dict[int, deque[asyncio.Future[float]]] = defaultdict(deque)
            self.pause_after: int | None = None
            self.paused = False

        def _check_flood(self, chat_id: int) -> None:
            if self.flood_limits is None or chat_id in self.flood_exempt:
                return
            at = self.clock()
            if not self.paused and len(self.accepted) == self.pause_after:
                self.paused = True  # not a flood rejection: counted apart, takes no place
                raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
            try:
                super()._check_flood(chat_id)
            except ApiError:
                self.rejected.append(at)
                raise
            self.accepted.append(at)

        def _latency_for(self, method: str, params: dict[str, Any]) -> tuple[float, float]:
            if method == "sendmessage":
                waiting = self.waiters.get(_int(params.get("chat_id")))
                if waiting:
                    future = waiting.popleft()
                    if not future.done():
                        future.set_result(time.perf_counter())
            return super()._latency_for(method, params)

    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    missed = 0
    probes: set[asyncio.Task[None]] = set()
    readers: asyncio.Task[None] | None = None
    stop_readers = asyncio.Event()

    async with BenchEmulator() as emu:
        for i in range(chats):
            emu.add_chat(FIRST_CHAT + i)
        for chat in READERS:
            emu.add_chat(chat)
        emu.flood_exempt.update(READERS)

        async def probe(chat: int) -> None:
            nonlocal missed
            future: asyncio.Future[float] = loop.create_future()
            emu.waiters[chat].append(future)
            started = time.perf_counter()
            await emu.send_message(chat, READER_TEXT)
            try:
                answered = await asyncio.wait_for(future, 10.0)
            except TimeoutError:
                missed += 1
                return
            latencies.append(answered - started)

        async def ask_questions() -> None:
            due = time.perf_counter()
            for i in range(1_000_000):
                if stop_readers.is_set():
                    return
                task = asyncio.create_task(probe(READERS[i % len(READERS)]))
                probes.add(task)
                task.add_done_callback(probes.discard)
                due += READER_INTERVAL
                await asyncio.sleep(max(0.0, due - time.perf_counter()))

        # Telegram does not stop for our garbage collector: a full collection over the
        # emulator's record of every message would stall it and skew the windows it counts
        gc.freeze()
        gc.disable()
        conn.send((emu.base_url, emu.token))
        while True:
            command, arg = await loop.run_in_executor(None, conn.recv)
            if command == "configure":
                emu.flood_limits, emu.latency, emu.pause_after = arg
                emu.paused = False
                emu.calls.clear()
                emu.reset_flood()
                emu.accepted.clear()
                emu.rejected.clear()
                conn.send(True)
            elif command == "readers_start":
                latencies.clear()
                missed = 0
                stop_readers.clear()
                readers = asyncio.create_task(ask_questions())
                conn.send(True)
            elif command == "readers_stop":
                stop_readers.set()
                if readers is not None:
                    await readers
                if probes:
                    await asyncio.wait(set(probes), timeout=11.0)
                conn.send((list(latencies), missed))
            elif command == "wait_sent":
                count, timeout = arg
                with contextlib.suppress(TimeoutError):
                    await emu.wait_until(lambda count=count: len(emu.accepted) >= count, timeout)
                conn.send(len(emu.accepted) >= count)
            elif command == "stats":
                ok = emu.accepted
                half = ok[: emu.pause_after] if emu.paused else ok
                hit = [
                    _int(c.params.get("chat_id"))
                    for c in emu.calls
                    if c.ok and c.method.lower() == "sendmessage"
                ]
                hit = [chat for chat in hit if chat >= FIRST_CHAT]
                conn.send(
                    {
                        "ok": len(ok),
                        "429": emu.flood_rejected,
                        "rate": (len(half) - 1) / (half[-1] - half[0]) if len(half) > 1 else 0,
                        "gap": max((b - a for a, b in itertools.pairwise(ok)), default=0.0),
                        "busiest": _max_window(ok),
                        "busiest_tried": _max_window(sorted(ok + emu.rejected)),
                        "duplicates": len(hit) - len(set(hit)),
                    }
                )
            elif command == "cpu":
                conn.send(time.process_time())
            elif command == "stop":
                conn.send(True)
                return


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _max_window(times: list[float], width: float = 1.0) -> int:
    """Most events within any ``width`` seconds (a sliding window over sorted times)."""
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= width:
            start += 1
        best = max(best, end - start + 1)
    return best


class Emulator:
    """The child process, asked one thing at a time without blocking the bot's event loop."""

    def __init__(self, subscribers: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, subscribers), daemon=True)
        self._process.start()
        self.base_url, self.token = self._conn.recv()

    async def ask(self, command: str, arg: object = None) -> Any:
        self._conn.send((command, arg))
        return await asyncio.to_thread(self._conn.recv)

    async def close(self) -> None:
        await self.ask("stop")
        self._process.join(5)


# -- the bot side ----------------------------------------------------------------------------------


@dataclass
class Latency:
    p50: float
    p99: float
    worst: float
    count: int
    missed: int

    @classmethod
    def of(cls, samples: list[float], missed: int) -> Latency:
        if len(samples) < 2:
            return cls(math.nan, math.nan, max(samples, default=math.nan), len(samples), missed)
        cuts = statistics.quantiles(samples, n=100, method="inclusive")
        return cls(cuts[49], cuts[98], max(samples), len(samples), missed)

    def __str__(self) -> str:
        missed = f", {self.missed} unanswered" if self.missed else ""
        return f"{1000 * self.p50:.0f} / {1000 * self.p99:.0f} ms (n={self.count}{missed})"


@dataclass
class Result:
    limit: float
    workers: int
    delivered: int
    wall: float
    server_rate: float
    gap: float
    too_many: int
    busiest: int
    busiest_tried: int
    duplicates: int
    cpu: float
    idle_cpu_rate: float
    emulator_cpu: float
    loop_lag: Latency
    rows: float
    commits: float
    idle: Latency
    busy: Latency

    @property
    def net_cpu_per_message(self) -> float:
        return (self.cpu - self.idle_cpu_rate * self.wall) / max(self.delivered, 1)


async def _watch_loop(lags: list[float], tick: float = 0.01) -> None:
    """How late the bot's event loop wakes a 10 ms sleep: its lag, for every task on it."""
    while True:
        started = time.perf_counter()
        await asyncio.sleep(tick)
        lags.append(time.perf_counter() - started - tick)


async def _activate(repo: Repository, count: int) -> None:
    """Exactly the first ``count`` bench subscribers active."""
    async with repo.transaction() as tx:
        await tx.execute(
            "UPDATE subscribers SET state = CASE WHEN chat_id < ? THEN 'active'"
            " ELSE 'unsubscribed' END WHERE chat_id >= ?",
            (FIRST_CHAT + count, FIRST_CHAT),
        )


async def _run_one(
    repo: Repository,
    settings: Settings,
    emulator: Emulator,
    rate: float,
    seconds: float,
    idle_seconds: float,
    latency: tuple[float, float],
    pause: bool,
) -> Result:
    count = math.ceil(rate * seconds)
    await _activate(repo, count)
    pause_after = count // 2 if pause else None
    await emulator.ask("configure", ((rate, 1), latency, pause_after))
    settings = replace(settings, broadcast_rate=rate, broadcast_paid=rate > 30)
    dp = build_dispatcher(repo, settings, build_i18n())
    broadcaster: Broadcaster = dp["broadcaster"]
    started = asyncio.Event()

    async def on_startup() -> None:  # after the dispatcher's own, the broadcaster's among them
        started.set()

    dp.startup.register(on_startup)
    bot = build_bot(settings)
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False)
    )
    async with asyncio.timeout(60):
        await started.wait()
    await broadcaster.wait_ready()
    # a piece to publish, prepared (parsed, summarised) before anything is measured
    text = seed_bytes() + f"\n\nКонец записи (прогон {rate:g}/с).\n".encode()
    prepared = prepare(text, title=f"{SEED_TITLE} ({rate:g}/с)")

    await emulator.ask("readers_start")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(idle_seconds)
    idle_cpu_rate = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    idle = Latency.of(*await emulator.ask("readers_stop"))

    await emulator.ask("readers_start")
    lags: list[float] = []
    monitor = asyncio.create_task(_watch_loop(lags))
    emulator_cpu0 = await emulator.ask("cpu")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    commits0 = broadcaster.counters["commits"]
    published = await publish(repo, prepared)
    changes0 = repo.total_changes  # creating a delivery is one row; counted as such below
    broadcaster.wake()
    sent_all = await emulator.ask("wait_sent", (count, 10 * seconds + 60))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    rows = repo.total_changes - changes0
    emulator_cpu = await emulator.ask("cpu") - emulator_cpu0
    monitor.cancel()
    busy = Latency.of(*await emulator.ask("readers_stop"))
    commits = broadcaster.counters["commits"] - commits0
    await dp.stop_polling()
    await polling
    # the handlers polling started as tasks still answering the last questions
    handling = asyncio.all_tasks() - {asyncio.current_task()}
    if handling:
        await asyncio.wait(handling, timeout=latency[1] + 5)
    await bot.session.close()

    stats: dict[str, Any] = await emulator.ask("stats")
    counts = await repo.delivery_counts(published.piece_id)
    assert sent_all and counts.sent == stats["ok"] == count, (count, counts, stats)
    return Result(
        limit=rate,
        workers=broadcaster.config.workers,
        delivered=counts.sent,
        wall=wall,
        server_rate=stats["rate"],
        gap=stats["gap"],
        too_many=stats["429"],
        busiest=stats["busiest"],
        busiest_tried=stats["busiest_tried"],
        duplicates=stats["duplicates"],
        cpu=cpu,
        idle_cpu_rate=idle_cpu_rate,
        emulator_cpu=emulator_cpu,
        loop_lag=Latency.of(lags, 0),
        rows=1 + rows / max(counts.sent, 1),
        commits=commits / max(counts.sent, 1),
        idle=idle,
        busy=busy,
    )


async def bench(
    rates: list[float],
    seconds: float,
    idle_seconds: float,
    latency: tuple[float, float],
    pause: bool,
) -> list[Result]:
    subscribers = math.ceil(max(rates) * seconds)
    emulator = Emulator(subscribers)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(
            Settings(),
            bot_token=emulator.token,
            bot_api_url=emulator.base_url,
            database_path=Path(tmp) / "b.db",
            log_level="INFO",
        )
        setup_logging(settings.log_level, [emulator.token])  # as `python -m bot run` does...
        log = (Path(tmp) / "bot.log").open("w", encoding="utf-8")
        handler = logging.getLogger().handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(log)  # ...into a file instead of this table
        repo = await Repository.open(settings.database_path)
        try:
            await prepare_to_serve(repo)  # the bundled piece, before anyone is subscribed
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
            for rate in rates:
                result = await _run_one(
                    repo, settings, emulator, rate, seconds, idle_seconds, latency, pause
                )
                results.append(result)
                print(_row(result), flush=True)
        finally:
            await repo.close()
            await emulator.close()
            handler.setStream(sys.stderr)
            log.close()
            warnings = _warnings(Path(tmp) / "bot.log")
    if warnings:
        print(f"\nbot log warnings and errors (the injected 429s log one each): {warnings}")
    return results


def _warnings(path: Path) -> dict[str, int]:
    counted: dict[str, int] = defaultdict(int)
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[1] in ("WARNING", "ERROR", "CRITICAL"):
            counted[f"{parts[1]} {parts[2]}"] += 1
    return dict(counted)


HEADER = (
    "| limit/s | workers | sent | achieved/s | of limit | busiest second (accepted / tried)"
    " | longest silence | 429s | dups | bot CPU | net CPU ms/msg | rows/msg | commits/msg | emulator CPU"
    " | loop lag p99 / max | reader p50 / p99 idle | reader p50 / p99 broadcasting |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|"
)


def _row(r: Result) -> str:
    return (
        f"| {r.limit:g} | {r.workers} | {r.delivered} | {r.server_rate:.1f} | "
        f"{r.server_rate / r.limit:.1%} | {r.busiest} / {r.busiest_tried} | {r.gap:.2f} s | "
        f"{r.too_many} | "
        f"{r.duplicates} | {r.cpu / r.wall:.0%} | {1000 * r.net_cpu_per_message:.2f} | "
        f"{r.rows:.2f} | {r.commits:.3f} | {r.emulator_cpu / r.wall:.0%} | "
        f"{1000 * r.loop_lag.p99:.0f} / {1000 * r.loop_lag.worst:.0f} ms | {r.idle} | {r.busy} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=list(RATES))
    parser.add_argument("--seconds", type=float, default=10.0, help="worth of sending per rate")
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--latency", type=float, nargs=2, default=LATENCY, metavar=("LO", "HI"))
    parser.add_argument("--no-pause", action="store_true", help="no 429 halfway through")
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"{max(args.rates) * args.seconds:.0f} subscribers; {args.seconds:g} s worth per rate; "
        f"API latency {1000 * args.latency[0]:.0f}–{1000 * args.latency[1]:.0f} ms; "
        f"readers every {1000 * READER_INTERVAL:.0f} ms; {os.cpu_count()} CPUs, "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n"
    )
    print(HEADER, flush=True)
    latency = (args.latency[0], args.latency[1])
    asyncio.run(bench(args.rates, args.seconds, args.idle_seconds, latency, not args.no_pause))


if __name__ == "__main__":
    main()
