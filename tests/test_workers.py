"""Several webhook workers (``WEBHOOK_WORKERS``): throttling shared by them (unit), and the real
``python -m bot webhook`` with two workers against the emulator — one port, one ``setWebhook``,
one broadcaster that another worker replaces when it is killed, a flood throttled as by one
process, every subscriber notified exactly once, a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import re
import signal
import socket
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Settings, SettingsError
from bot.i18n import build_i18n
from bot.middlewares import ThrottlingMiddleware
from bot.publishing import ensure_seed, prepare, store
from bot.shared_throttle import SharedBuckets, SharedThrottlingMiddleware
from storage import Repository
from tests.conftest import DATA
from tests.fakegram import BotAPIEmulator

HOOK_SECRET = "hook-secret-workers-1f0c"
FIRST = 910_000
READERS = 40
FLOODER = 905_001

# -- the shared table ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_shared_buckets_decide_as_the_per_process_bucket() -> None:
    """Same rate, burst, inline bucket and one notice per episode as ``ThrottlingMiddleware``."""
    i18n = build_i18n()
    clock = Clock()
    local = ThrottlingMiddleware(i18n, rate=3, burst=12, clock=clock)
    buckets, table = SharedBuckets.create(slots=1 << 10)
    try:
        shared = SharedThrottlingMiddleware(i18n, buckets, rate=3, burst=12, clock=clock)
        draw = random.Random(16)
        for _ in range(5000):
            clock.now += draw.choice((0.0, 0.01, 0.05, 0.2, 0.5, 2.0))
            user = draw.randint(1, 5)
            inline = draw.random() < 0.3
            assert shared.allow(user, inline=inline) == local.allow(user, inline=inline)
    finally:
        buckets.close()
        table.close()


def test_two_workers_sharing_the_table_throttle_as_one() -> None:
    i18n = build_i18n()
    clock = Clock()
    buckets, table = SharedBuckets.create(slots=1 << 10)
    other = SharedBuckets(os.dup(table.fileno()), slots=1 << 10)  # as a second process maps it
    try:
        first = SharedThrottlingMiddleware(i18n, buckets, rate=1, burst=5, clock=clock)
        second = SharedThrottlingMiddleware(i18n, other, rate=1, burst=5, clock=clock)
        verdicts = [(first, second)[i % 2].allow(42) for i in range(20)]
        assert [allowed for allowed, _ in verdicts] == [True] * 5 + [False] * 15
        assert sum(notice for _, notice in verdicts) == 1  # one notice for the episode
        clock.now += 1.0
        assert second.allow(42) == (True, False)
        assert first.allow(42) == (False, False)
    finally:
        buckets.close()
        other.close()
        os.close(other.fd)
        table.close()


def _race(fd: int, count: int, results: Any) -> None:
    buckets = SharedBuckets(fd, slots=1 << 10)
    # a bucket that never refills: whatever the interleaving, exactly BURST are let through
    allowed = sum(buckets.allow(7, 1000.0, 1e9, (RACE_BURST - 1) * 1e9)[0] for _ in range(count))
    results.put(allowed)


RACE_BURST = 80_000


def test_workers_racing_on_one_bucket_let_exactly_the_burst_through() -> None:
    """Two processes (as the workers, sharing one inherited descriptor) decide 60,000 times
    each on one user's bucket at once: no decision is lost between them."""
    context = multiprocessing.get_context("fork")
    buckets, table = SharedBuckets.create(slots=1 << 10)
    buckets.close()
    results = context.Queue()
    try:
        racers = [
            context.Process(target=_race, args=(table.fileno(), 60_000, results)) for _ in range(2)
        ]
        for racer in racers:
            racer.start()
        allowed = sum(results.get(timeout=60) for _ in racers)
        for racer in racers:
            racer.join(10)
    finally:
        table.close()
    assert allowed == RACE_BURST


def test_a_full_window_forgets_the_bucket_closest_to_full() -> None:
    i18n = build_i18n()
    clock = Clock()
    buckets, table = SharedBuckets.create(slots=8)  # one probe window: eight users at most
    try:
        throttle = SharedThrottlingMiddleware(i18n, buckets, rate=1, burst=2, clock=clock)
        for user in range(1, 9):
            clock.now += 0.01
            assert throttle.allow(user) == (True, False)
        clock.now += 0.01
        assert throttle.allow(9) == (True, False)  # took user 1's slot, the oldest
        assert throttle.allow(1) == (True, False)  # user 1 starts afresh (took user 2's)
        assert throttle.allow(8) == (True, False)
        assert throttle.allow(8)[0] is False  # user 8's own bucket was kept
    finally:
        buckets.close()
        table.close()


def test_webhook_workers_setting() -> None:
    assert Settings.load({}).webhook_workers == 1
    assert Settings.load({"WEBHOOK_WORKERS": "4"}).webhook_workers == 4
    for bad in ("0", "1.5", "many", "65"):
        with pytest.raises(SettingsError, match="WEBHOOK_WORKERS"):
            Settings.load({"WEBHOOK_WORKERS": bad})


# -- two real workers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(emu: BotAPIEmulator, db: Path, port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "BOT_TOKEN": emu.token,
        "BOT_API_URL": emu.base_url,
        "DATABASE_PATH": str(db),
        "LOG_LEVEL": "INFO",
        "ADMIN_IDS": "",
        "WEBHOOK_URL": "https://bot.example.org/tg/hook",
        "WEBHOOK_SECRET": HOOK_SECRET,
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_WORKERS": "2",
        "BROADCAST_RATE": "25",
        "THROTTLE_RATE": "0.1",
        "THROTTLE_BURST": "5",
        "ASK_EMBEDDINGS": "0",
        "START_TIMEOUT": "30",
        **extra,
    }


def _update(update_id: int, user: int, text: str) -> dict[str, Any]:
    command = text.split()[0]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "R", "language_code": "en"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }


async def _post(port: int, update: dict[str, Any]) -> None:
    """One update on a connection of its own, so that updates spread over the workers."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET}
    connector = aiohttp.TCPConnector(force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.post(f"http://127.0.0.1:{port}/tg/hook", json=update, headers=headers) as response,
    ):
        assert response.status == 200


def _sent_to_readers(emu: BotAPIEmulator) -> Counter[int]:
    return Counter(
        int(c.params["chat_id"])
        for c in emu.calls
        if c.method == "sendMessage" and c.ok and int(c.params.get("chat_id", 0)) >= FIRST
    )


def _holder(db: Path) -> int:
    text = Path(f"{db}.broadcast-lock").read_text() if Path(f"{db}.broadcast-lock").exists() else ""
    found = re.fullmatch(r"pid (\d+)", text.strip())
    return int(found.group(1)) if found else 0


def _workers(log: Path) -> dict[int, int]:
    """Worker index → pid of its latest start, from the supervisor's log."""
    found = re.findall(r"Started webhook worker (\d+) \(pid (\d+)\)", log.read_text())
    return {int(index): int(pid) for index, pid in found}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in _proc_state(pid)


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return ""


async def _publish(db: Path, name: str) -> int:
    repo = await Repository.open(db)
    try:
        return await store(repo, prepare((DATA / "interviews" / name).read_bytes()))
    finally:
        await repo.close()


async def test_two_webhook_workers_one_port_one_broadcaster_shared_throttling(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bot.sqlite3"
    log = tmp_path / "bot.log"
    port = free_port()
    async with BotAPIEmulator() as emu:
        repo = await Repository.open(db)
        try:
            await ensure_seed(repo)  # before the readers: they are notified of new pieces only
            now = time.time()
            async with repo.transaction() as conn:
                await conn.executemany(
                    "INSERT INTO subscribers (chat_id, locale, subscribed_at, changed_at)"
                    " VALUES (?, 'ru', ?, ?)",
                    [(FIRST + i, now, now) for i in range(READERS)],
                )
        finally:
            await repo.close()
        for i in range(READERS):
            emu.add_chat(FIRST + i)
        emu.add_chat(FLOODER, "en")
        with log.open("wb") as err:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "webhook",
                env=_env(emu, db, port),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=err,
            )
        try:
            await emu.wait_for_call("setWebhook", timeout=120)
            workers = _workers(log)
            assert sorted(workers) == [1, 2], log.read_text()
            await emu.wait_until(lambda: _holder(db) in workers.values(), timeout=30)
            broadcaster = _holder(db)
            states = set()
            for _ in range(12):  # a connection each: both workers answer, one stands by
                connector = aiohttp.TCPConnector(force_close=True)
                async with (
                    aiohttp.ClientSession(connector=connector) as http,
                    http.get(f"http://127.0.0.1:{port}/healthz") as response,
                ):
                    assert response.status == 200
                    states.add((await response.json())["broadcaster"])
            assert states <= {"running", "standby"} and states, states

            # a flood from one reader over both workers: the burst of 5, then one notice
            await asyncio.gather(
                *(_post(port, _update(100 + i, FLOODER, "/answer 1")) for i in range(30))
            )
            await emu.wait_until(lambda: len(emu.messages(FLOODER)) >= 6, timeout=30)
            await asyncio.sleep(1.0)
            texts = [m.text for m in emu.messages(FLOODER)]
            notices = [t for t in texts if "too much too fast" in t]
            assert len(notices) == 1, texts
            assert 5 <= len(texts) - 1 <= 6, texts  # 5, and one more if 10 s passed
            served_by = set(
                re.findall(rf"\[worker (\d)\] bot.updates: .*user={FLOODER}", log.read_text())
            )
            assert served_by == {"1", "2"}, "the flood did not reach both workers"

            # a publish reaches every subscriber exactly once, from the one broadcaster
            await _publish(db, "flu-season-epidemiologist.txt")
            await emu.wait_until(lambda: len(_sent_to_readers(emu)) == READERS, timeout=60)
            await asyncio.sleep(1.0)
            twice = [c for c, n in _sent_to_readers(emu).items() if n != 1]
            assert not twice, [m.text[:80] for m in emu.messages(twice[0])]
            text = log.read_text()
            assert text.count("Another process is broadcasting") == 1, text

            # the broadcasting worker dies: the other takes over, the supervisor starts another
            os.kill(broadcaster, signal.SIGKILL)
            await emu.wait_until(
                lambda: _holder(db) not in (0, broadcaster) and _alive(_holder(db)), timeout=30
            )
            await _publish(db, "grain-harvest-farmer.txt")
            await emu.wait_until(lambda: set(_sent_to_readers(emu).values()) == {2}, timeout=60)
            await emu.wait_until(
                lambda: len(_workers(log)) == 2 and broadcaster not in _workers(log).values(),
                timeout=60,
            )
            await asyncio.sleep(1.0)
            assert set(_sent_to_readers(emu).values()) == {2}
            assert "Webhook worker" in log.read_text() and "starting another" in log.read_text()
            assert [c.method for c in emu.calls].count("setWebhook") == 1
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 60)
        assert emu.webhook is None  # removed once, by the supervisor
    text = log.read_text()
    assert process.returncode == 0, text
    assert "Traceback" not in text and "error:" not in text, text
    assert [c.method for c in emu.calls].count("deleteWebhook") == 1
    assert not any(_alive(pid) for pid in _workers(log).values())


async def test_a_port_in_use_is_one_line_with_several_workers(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        async with BotAPIEmulator() as emu:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "webhook",
                env=_env(emu, tmp_path / "bot.sqlite3", port),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            _out, err = await asyncio.wait_for(process.communicate(), 60)
            assert not [c for c in emu.calls if c.method == "setWebhook"]
    lines = err.decode().strip().splitlines()
    assert process.returncode == 2, lines
    assert (
        lines[-1].startswith("error: WEBHOOK_HOST:WEBHOOK_PORT=127.0.0.1:")
        and "in use" in lines[-1]
    )
    assert "Traceback" not in err.decode()


async def test_a_worker_that_fails_to_start_is_one_line_and_its_status(tmp_path: Path) -> None:
    """The supervisor's getMe passes; the worker's is refused (401): the worker's line, its
    status, no webhook registered, no second worker started."""
    async with BotAPIEmulator() as emu:
        log = tmp_path / "bot.log"
        with log.open("wb") as err:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "webhook",
                env=_env(emu, tmp_path / "bot.sqlite3", free_port()),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=err,
            )
        await emu.wait_for_call("getMe", timeout=120)
        emu.fail_next("getMe", status=401, description="Unauthorized")
        await asyncio.wait_for(process.wait(), 120)
        assert not [c for c in emu.calls if c.method == "setWebhook"]
    text = log.read_text()
    lines = text.strip().splitlines()
    assert process.returncode == 2, text
    assert [line for line in lines if "error:" in line] == [lines[-1]], text
    assert lines[-1].startswith("error: ") and "Traceback" not in text
    assert "Started webhook worker 2" not in text
