"""Updates per second of ``python -m bot run`` against a bare aiogram echo bot, alternating.

Both bots are real processes served the production way: the bot is ``python -m bot run``
itself (INFO logging to stderr, per-user throttling at its defaults, every middleware, the
broadcaster and the answer finder running, the bundled interview in a fresh database); the
floor is ``tests/bench/echo_bot.py`` (a bare aiogram echo bot, INFO logging, same HTTP
session). Each polls its own Bot API emulator in a third process. After a warm-up, rounds
alternate which bot goes first (bot/echo, echo/bot, ...), so load on the shared machine falls
on both alike; each round sends the same mix of reader messages (``/answer 3``,
``/questions``, a search word, ``/summary``) from many readers, few enough each that the
throttle never refuses one, and waits for every reply.

Printed: per round the rate of each (updates over the time from the first update queued to the
last reply received) and the bot's CPU per update (``/proc``), then the min and median of the
ratios. Then inline queries: the bot's CPU per answer and the size of each ``answerInlineQuery``
request as sent.

    .venv/bin/python -m tests.bench.bench_updates [--rounds 3] [--updates 1500] [--inline 200]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = ("/answer 3", "/questions", "Токаев", "/summary")
INLINE_QUERIES = (
    "",
    "Токаев",
    "саммит",
    "Казахстан",
    "Вашингтон",
    "в",
    "C5+1",
    "Курамаев",
    "инвестиции",
    "США",
)
ARCHIVE = [
    path
    for folder in ("interviews", "acceptance", "heldout")
    for path in sorted((ROOT / "tests" / "data" / folder).glob("*.txt"))
    if not path.name.endswith(".summary.txt")
]
TOKENS = {"bot": "123456:BENCH-bot", "echo": "654321:BENCH-echo"}
PER_USER = 5  # messages per reader and round: well inside the throttle's burst of 12
FIRST_USER = 100_000


def serve_emulators(replies: Any, commands: Any) -> None:
    """The emulator process: one emulator per bot; runs the commands the bench sends."""
    from aiohttp import web

    from tests.fakegram import BotAPIEmulator

    async def main() -> None:
        emulators: dict[str, BotAPIEmulator] = {}
        finished: dict[str, list[tuple[str, int, float]]] = {}
        for name, token in TOKENS.items():
            emu = BotAPIEmulator(token, username=f"bench_{name}_bot")
            log = finished[name] = []

            @web.middleware
            async def record(request: web.Request, handler: Any, log: Any = log) -> Any:
                response = await handler(request)
                method = request.match_info.get("method", "").lower()
                if method != "getupdates":
                    log.append((method, request.content_length or 0, time.perf_counter()))
                return response

            emu.app.middlewares.append(record)
            await emu.start()
            emulators[name] = emu
        replies.put({name: emu.base_url for name, emu in emulators.items()})
        while True:
            command = await asyncio.to_thread(commands.get)
            if command is None:
                break
            kind, name, *args = command
            emu = emulators[name]
            if kind == "polling":
                polling = any(c.method.lower() == "getupdates" for c in emu.calls)
                replies.put(polling)
            elif kind == "messages":
                replies.put(await send_messages(emu, finished[name], *args))
            elif kind == "inline":
                replies.put(await send_inline(emu, finished[name], *args))
        for emu in emulators.values():
            await emu.stop()

    asyncio.run(main())


async def quiet(log: list[tuple[str, int, float]], seconds: float = 0.5) -> None:
    """Until the bot has made no call but getUpdates for ``seconds``."""
    seen = len(log)
    while True:
        await asyncio.sleep(seconds)
        if len(log) == seen:
            return
        seen = len(log)


async def send_messages(
    emu: Any, log: list[tuple[str, int, float]], count: int, first_user: int
) -> dict[str, Any]:
    users = [first_user + i for i in range(max(1, count // PER_USER))]
    before = {u: len(emu.messages(u)) for u in users}
    sent: dict[int, int] = dict.fromkeys(users, 0)
    mark, calls_mark = len(log), len(emu.calls)
    started = time.perf_counter()
    for i in range(count):
        user = users[i % len(users)]
        await emu.send_message(user, MESSAGES[i // len(users) % len(MESSAGES)])
        sent[user] += 1
        if i % 100 == 99:
            await asyncio.sleep(0)

    def answered() -> bool:
        return all(len(emu.messages(u)) - before[u] >= sent[u] for u in users)

    await emu.wait_until(answered, timeout=600)
    await quiet(log)
    calls = log[mark:]
    failed = [c for c in emu.calls[calls_mark:] if not c.ok and c.method != "getUpdates"]
    return {
        "seconds": max(at for _, _, at in calls) - started,
        "calls": len(calls),
        "failed": len(failed),
    }


async def send_inline(
    emu: Any, log: list[tuple[str, int, float]], count: int, first_user: int
) -> dict[str, Any]:
    mark = len(log)
    ids = []
    started = time.perf_counter()
    for i in range(count):
        ids.append(await emu.inline_query(first_user + i, INLINE_QUERIES[i % len(INLINE_QUERIES)]))
    await emu.wait_until(lambda: all(q in emu.inline_answers for q in ids), timeout=600)
    await quiet(log)
    calls = [c for c in log[mark:] if c[0] == "answerinlinequery"]
    answers = [emu.inline_answers[q] for q in ids]
    pages = [len(a["results"]) for a in answers]
    full = max(pages)
    return {
        "seconds": max(at for _, _, at in calls) - started,
        "sizes": sorted(size for _, size, _ in calls),
        "results": pages,
        "full_page_bytes": max(
            (size for (_, size, _), n in zip(calls, pages, strict=False) if n == full), default=0
        ),
        "paged": sum(1 for a in answers if a.get("next_offset")),
    }


async def publish_archive(database: Path) -> int:
    """The test interviews published into the bot's database, the bundled one last (the
    current piece): enough quotes that popular words fill whole inline pages."""
    from bot.publishing import prepare, publish, seed_bytes
    from storage import Repository

    repo = await Repository.open(database)
    try:
        for path in ARCHIVE:
            await publish(repo, prepare(path.read_bytes(), name=path.name))
        await publish(repo, prepare(seed_bytes()))
        return len(await repo.list_pieces(limit=1000))
    finally:
        await repo.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.replies: Any = multiprocessing.Queue()
        self.commands: Any = multiprocessing.Queue()
        self.emulators = multiprocessing.Process(
            target=serve_emulators, args=(self.replies, self.commands), daemon=True
        )
        self.emulators.start()
        self.urls: dict[str, str] = self.replies.get(timeout=60)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.next_user = FIRST_USER

    def ask(self, *command: Any) -> Any:
        self.commands.put(command)
        return self.replies.get(timeout=900)

    def start(self, name: str, argv: list[str]) -> None:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TOKENS[name],
            "BOT_API_URL": self.urls[name],
            "DATABASE_PATH": str(self.tmp / f"{name}.sqlite3"),
            "LOG_LEVEL": "INFO",
        }
        log = (self.tmp / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [sys.executable, *argv], env=env, cwd=self.tmp, stdout=log, stderr=log
        )

    def settle(self, name: str, timeout: float = 300.0) -> None:
        """Until the process polls and has been idle (< 3 % CPU) for a second: start-up work
        (the search index, the embedding model loading in the background) is over."""
        pid = self.processes[name].pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                log = (self.tmp / f"{name}.log").read_text(errors="replace")
                raise RuntimeError(f"{name} exited:\n{log[-3000:]}")
            before = cpu_seconds(pid)
            time.sleep(1.0)
            if cpu_seconds(pid) - before < 0.03 and self.ask("polling", name):
                return
        raise TimeoutError(f"{name} did not settle in {timeout:.0f} s")

    def users(self, count: int) -> int:
        first = self.next_user
        self.next_user += count
        return first

    def messages(self, name: str, count: int) -> tuple[float, float, float]:
        """(updates/s, the bot's CPU ms per update, the emulator's) of one run."""
        pid, server = self.processes[name].pid, self.emulators.pid
        assert server is not None
        cpu, server_cpu = cpu_seconds(pid), cpu_seconds(server)
        result = self.ask("messages", name, count, self.users(count))
        cpu, server_cpu = cpu_seconds(pid) - cpu, cpu_seconds(server) - server_cpu
        if result["failed"]:
            raise RuntimeError(f"{name}: {result['failed']} API calls failed")
        return count / result["seconds"], cpu / count * 1000, server_cpu / count * 1000

    def inline(self, count: int) -> dict[str, Any]:
        pid = self.processes["bot"].pid
        cpu = cpu_seconds(pid)
        result: dict[str, Any] = self.ask("inline", "bot", count, self.users(count))
        result["cpu_ms"] = (cpu_seconds(pid) - cpu) / count * 1000
        return result

    def close(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.commands.put(None)
        self.emulators.join(10)


def run(rounds: int, count: int, inline: int, profile_to: str = "") -> None:
    load = os.getloadavg()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start"
    )
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(Path(tmp))
        try:
            pieces = asyncio.run(publish_archive(Path(tmp) / "bot.sqlite3"))
            print(f"archive: {pieces} pieces (tests/data interviews, acceptance, held-out)")
            profiled = ["-m", "tests.bench.profiled", str(Path(profile_to).resolve())]
            bench.start("bot", [*(profiled if profile_to else ["-m"]), "bot", "run"])
            bench.start("echo", ["-m", "tests.bench.echo_bot"])
            bench.settle("bot")
            bench.settle("echo")
            for name in ("bot", "echo"):  # warm-up: caches, connections, first allocations
                bench.messages(name, min(count, 400))
            if profile_to:
                bench.processes["bot"].send_signal(signal.SIGUSR1)
            print(
                f"{count} messages a round from {count // PER_USER} readers "
                f"({', '.join(MESSAGES)}); rounds alternate which bot goes first"
            )
            print(
                "| round | bot updates/s | echo updates/s | ratio | bot CPU ms/update "
                "| echo CPU ms/update | emulator CPU ms/update (bot, echo) |"
            )
            print("|---|---|---|---|---|---|---|")
            ratios, cpus, echo_cpus, rates, echo_rates = [], [], [], [], []
            for r in range(rounds):
                order = ("bot", "echo") if r % 2 == 0 else ("echo", "bot")
                measured = {name: bench.messages(name, count) for name in order}
                (rate, cpu, server), (echo_rate, echo_cpu, echo_server) = (
                    measured["bot"],
                    measured["echo"],
                )
                ratios.append(rate / echo_rate)
                cpus.append(cpu)
                echo_cpus.append(echo_cpu)
                rates.append(rate)
                echo_rates.append(echo_rate)
                print(
                    f"| {r + 1} | {rate:.0f} | {echo_rate:.0f} | {rate / echo_rate:.2f} "
                    f"| {cpu:.2f} | {echo_cpu:.2f} | {server:.2f}, {echo_server:.2f} |",
                    flush=True,
                )
            print(
                f"bot/echo ratio: min {min(ratios):.2f}, median {statistics.median(ratios):.2f}; "
                f"bot {min(rates):.0f}–{max(rates):.0f}/s, echo "
                f"{min(echo_rates):.0f}–{max(echo_rates):.0f}/s; CPU per update: bot "
                f"{statistics.median(cpus):.2f} ms, echo {statistics.median(echo_cpus):.2f} ms "
                f"(medians; echo/bot {statistics.median(echo_cpus) / statistics.median(cpus):.2f}, "
                f"the ratio a CPU-bound bot reaches when both get the same share of a core)"
            )
            if inline:
                bench.inline(min(inline, 50))  # warm-up
                result = bench.inline(inline)
                sizes = result["sizes"]
                print(
                    f"inline: {inline} queries ({', '.join(repr(q) for q in INLINE_QUERIES)}), "
                    f"{inline / result['seconds']:.0f}/s, bot CPU {result['cpu_ms']:.1f} ms per "
                    f"answer; results per answer up to {max(result['results'])}, "
                    f"{result['paged']} with next_offset; request size median "
                    f"{statistics.median(sizes) / 1024:.1f} KB, max {max(sizes) / 1024:.1f} KB, "
                    f"a full page {result['full_page_bytes'] / 1024:.1f} KB"
                )
            if profile_to:
                bench.processes["bot"].send_signal(signal.SIGUSR2)
                time.sleep(2)
            size = (Path(tmp) / "bot.log").stat().st_size
            print(f"bot log written: {size / 1024:.0f} KB")
        finally:
            bench.close()
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--updates", type=int, default=1500, help="messages per bot and round")
    parser.add_argument("--inline", type=int, default=200, help="inline queries (0: none)")
    parser.add_argument("--profile", default="", help="write the bot's cProfile stats here")
    args = parser.parse_args()
    run(args.rounds, args.updates, args.inline, args.profile)


if __name__ == "__main__":
    main()
