"""Updates per second with 1 and 2 webhook workers (``WEBHOOK_WORKERS``), production settings.

Three kinds of process, as in production: the Bot API emulator (its own process), the bot
(``python -m bot webhook``: with 2 workers a supervisor and two worker processes, INFO logs to
a file, throttling at its defaults), and this driver, which posts readers' updates to the
webhook port over ``--connections`` keep-alive connections (Telegram keeps up to 40 open) and
waits until the emulator has received every answer. The runs alternate (1, 2, 1, 2 … workers)
after a warm-up, and each round's 2-worker run is compared with its 1-worker run (the load of
a shared machine drifts); CPU is the bot's processes' user+system time from /proc.

    .venv/bin/python -m tests.bench.bench_workers [--updates 1500] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

SECRET = "bench-secret"
FIRST_USER = 10_000
TEXTS = ("/answer 3", "/questions", "Токаев", "/summary")


def serve_emulator(
    ready: multiprocessing.Queue, commands: multiprocessing.Queue, users: int
) -> None:  # type: ignore[type-arg]
    from tests.fakegram import BotAPIEmulator

    async def main() -> None:
        async with BotAPIEmulator() as emu:
            for u in range(users):
                emu.add_chat(FIRST_USER + u, "ru")
            ready.put((emu.base_url, emu.token))

            def answered() -> int:
                return sum(len(emu.messages(FIRST_USER + u)) for u in range(users))

            while True:
                command = await asyncio.to_thread(commands.get)
                if command is None:
                    return
                target = answered() + command
                await emu.wait_until(lambda target=target: answered() >= target, timeout=600)
                ready.put(time.perf_counter())

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def update(update_id: int, user: int, text: str) -> dict[str, Any]:
    entities = (
        [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if text.startswith("/")
        else []
    )
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "R", "language_code": "ru"},
            "text": text,
            "entities": entities,
        },
    }


async def post_all(port: int, first_id: int, count: int, users: int, connections: int) -> None:
    url = f"http://127.0.0.1:{port}/hook"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def connection() -> None:
        # one connection each, as Telegram keeps several open
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as http:
            while not queue.empty():
                i = queue.get_nowait()
                body = update(first_id + i, FIRST_USER + i % users, TEXTS[i % len(TEXTS)])
                async with http.post(url, json=body, headers=headers) as response:
                    assert response.status == 200, response.status

    await asyncio.gather(*(connection() for _ in range(connections)))


async def one_run(
    workers: int, args: argparse.Namespace, emulator: tuple[str, str], ready, commands, tmp: Path
) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    base_url, token = emulator
    port = free_port()
    log = tmp / f"bot-{workers}-{time.monotonic_ns()}.log"
    env = {
        **os.environ,
        "BOT_TOKEN": token,
        "BOT_API_URL": base_url,
        "DATABASE_PATH": str(tmp / "bench.sqlite3"),
        "LOG_LEVEL": "INFO",
        "WEBHOOK_URL": "https://bench.example.org/hook",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_WORKERS": str(workers),
        "ASK_EMBEDDINGS": "0",
        "ADMIN_IDS": "",
    }
    with log.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "webhook", env=env, stdout=err, stderr=err
        )
    try:
        while "Webhook registered" not in log.read_text():
            await asyncio.sleep(0.2)
            if process.returncode is not None:
                raise SystemExit(log.read_text())
        pids = [process.pid] + [
            int(pid)
            for pid in re.findall(r"Started webhook worker \d+ \(pid (\d+)\)", log.read_text())
        ]
        # warm-up: every handler once in every worker, outside the measure
        commands.put(args.warmup)
        await post_all(port, 1, args.warmup, args.users, args.connections)
        await asyncio.to_thread(ready.get)
        cpu0 = sum(cpu_seconds(pid) for pid in pids)
        commands.put(args.updates)
        started = time.perf_counter()
        await post_all(port, 1_000_000, args.updates, args.users, args.connections)
        finished = await asyncio.to_thread(ready.get)
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu0
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)
    return args.updates / (finished - started), cpu / args.updates * 1000


async def run(args: argparse.Namespace) -> None:
    ready: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    commands: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(
        target=serve_emulator, args=(ready, commands, args.users), daemon=True
    )
    server.start()
    emulator = ready.get(timeout=60)
    results: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.rounds):
            for workers in (1, 2):
                before = os.getloadavg()[0]
                rate, cpu = await one_run(workers, args, emulator, ready, commands, Path(folder))
                results[workers].append((rate, cpu))
                print(
                    f"  {workers} worker(s): {rate:.0f} updates/s, {cpu:.2f} ms CPU/update "
                    f"(load average {before:.2f} before)"
                )
    commands.put(None)
    server.join(10)
    print(
        f"\n{args.updates} updates per run from {args.users} readers ({', '.join(TEXTS)}), "
        f"{args.connections} connections; {os.cpu_count()} cores; load average before "
        f"{load[0]:.2f}, after {os.getloadavg()[0]:.2f}"
    )
    print(
        "| workers | updates/s (median, min–max) | bot CPU per update | bot's cores busy |\n"
        "|---|---|---|---|"
    )
    for workers, runs in results.items():
        rates = [r for r, _ in runs]
        cpus = [c for _, c in runs]
        busy = statistics.median(r * c / 1000 for r, c in runs)
        print(
            f"| {workers} | {statistics.median(rates):.0f} ({min(rates):.0f}–{max(rates):.0f}) "
            f"| {statistics.median(cpus):.2f} ms | {busy:.2f} |"
        )
    ratios = [two[0] / one[0] for one, two in zip(results[1], results[2], strict=True)]
    print(
        f"2 workers / 1 worker, round by round: {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"median {statistics.median(ratios):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=1500)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--connections", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
