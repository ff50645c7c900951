"""``kill -9`` in the middle of a broadcast, then a restart: nobody is missed, and only the sends
that were in flight at the kill may reach a reader twice.

The bot runs as a real process (``python -m bot run``) against the emulator, which lives in the
test process and so keeps counting across the crash.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

from bot.publishing import prepare, store
from storage import Repository
from tests.conftest import DATA
from tests.fakegram import BotAPIEmulator

READERS = 400
FIRST = 700_000
RATE = 200  # paid broadcast: a 2-second broadcast, killed a third of the way in


def _env(emu: BotAPIEmulator, db: Path) -> dict[str, str]:
    return {
        **os.environ,
        "BOT_TOKEN": emu.token,
        "BOT_API_URL": emu.base_url,
        "DATABASE_PATH": str(db),
        "BROADCAST_RATE": str(RATE),
        "BROADCAST_PAID": "1",
        "LOG_LEVEL": "INFO",
        "ADMIN_IDS": "",
        "WEBHOOK_URL": "",
    }


async def _start(emu: BotAPIEmulator, db: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=_env(emu, db),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
            cwd=Path(__file__).resolve().parent.parent,
        )


async def _started(emu: BotAPIEmulator, calls: int) -> None:
    """Until the bot process polls (its broadcaster runs by then): importing aiogram alone
    takes 2.5 s, and far longer on a loaded machine, which the send windows must not count."""
    await emu.wait_until(
        lambda: any(c.method == "getUpdates" for c in emu.calls[calls:]), timeout=120
    )


def _delivered(emu: BotAPIEmulator) -> list[int]:
    return [
        int(c.params["chat_id"])
        for c in emu.calls
        if c.method == "sendMessage" and c.ok and FIRST <= c.params.get("chat_id", 0) < 2 * FIRST
    ]


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


async def test_kill_9_mid_broadcast_and_restart(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    log = tmp_path / "bot.log"
    async with BotAPIEmulator() as emu:
        repo = await Repository.open(db)
        try:
            now = time.time()
            async with repo.transaction() as conn:
                await conn.executemany(
                    "INSERT INTO subscribers (chat_id, locale, subscribed_at, changed_at)"
                    " VALUES (?, 'ru', ?, ?)",
                    [(FIRST + i, now, now) for i in range(READERS)],
                )
            for i in range(READERS):
                emu.add_chat(FIRST + i)
            # published while the bot is down (as `python -m bot publish` would)
            source = (DATA / "interviews" / "flu-season-epidemiologist.txt").read_bytes()
            piece_id = await store(repo, prepare(source))
        finally:
            await repo.close()

        bot = await _start(emu, db, log)
        try:
            await _started(emu, 0)
            await emu.wait_until(lambda: len(_delivered(emu)) >= READERS // 3, timeout=30)
            bot.send_signal(signal.SIGKILL)
            await bot.wait()
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
        before = Counter(_delivered(emu))
        assert 0 < len(before) < READERS, "the kill came too late to test anything"

        # what the database says at the crash: 'sent' rows were delivered exactly once so far;
        # only 'sending' rows may have been delivered without the outcome being committed
        states = dict(
            _rows(db, f"SELECT chat_id, state FROM deliveries WHERE piece_id = {piece_id}")
        )
        committed = {chat for chat, state in states.items() if state == "sent"}
        in_doubt = {chat for chat, state in states.items() if state == "sending"}
        assert all(before[chat] == 1 for chat in committed)
        assert set(before) <= committed | in_doubt
        window = len(set(before) & in_doubt)  # sent, outcome not yet committed

        restarted = time.monotonic()
        calls = len(emu.calls)
        bot = await _start(emu, db, log)
        try:
            await _started(emu, calls)
            await emu.wait_until(lambda: len(set(_delivered(emu))) == READERS, timeout=30)
            resumed = time.monotonic() - restarted
            deadline = time.monotonic() + 10
            while _rows(
                db,
                f"SELECT count(*) FROM deliveries WHERE piece_id = {piece_id} AND state != 'sent'",
            )[0][0]:
                assert time.monotonic() < deadline, "outcomes were not committed"
                await asyncio.sleep(0.05)
            bot.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.wait(), 15) == 0
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()

    after = Counter(_delivered(emu))
    duplicates = sum(after.values()) - READERS
    print(
        f"\nkill -9 after {sum(before.values())} of {READERS} sends; {window} sent but not "
        f"committed; resumed and finished in {resumed:.1f} s; duplicates: {duplicates}"
    )
    assert set(after) == {FIRST + i for i in range(READERS)}  # nobody missed
    assert duplicates <= window  # only sends in flight at the kill were repeated
    assert all(n == 1 for chat, n in after.items() if chat not in in_doubt)
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert _rows(db, "SELECT count(*) FROM deliveries WHERE state = 'sending'") == [(0,)]
    broadcast = _rows(db, f"SELECT finished_at, total FROM broadcasts WHERE piece_id = {piece_id}")
    assert broadcast[0][1] == READERS
