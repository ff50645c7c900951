"""``kill -9`` in the middle of the edits a correction makes, then a restart: nobody is left with
the old text, and only the edits in flight at the kill are made again (Telegram answers "not
modified" to those, so no reader sees a message change twice).

The bot runs as a real process (``python -m bot run``) against the emulator in the test process.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

from bot import newsroom
from bot.publishing import prepare, store
from storage import Repository
from tests.fakegram import BotAPIEmulator
from tests.test_broadcast_crash import _start
from tests.test_corrections import FARE_NEW, SOURCE, corrected

READERS = 400
FIRST = 700_000


def _edits(emu: BotAPIEmulator) -> list[tuple[int, bool]]:
    return [
        (int(c.params["chat_id"]), c.ok)
        for c in emu.calls
        if c.method == "editMessageText" and FIRST <= c.params.get("chat_id", 0) < 2 * FIRST
    ]


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


async def _wait_sent(db: Path, piece_id: int, count: int) -> None:
    deadline = time.monotonic() + 30
    sql = f"SELECT count(*) FROM deliveries WHERE piece_id = {piece_id} AND state = 'sent'"
    while _rows(db, sql)[0][0] < count:
        assert time.monotonic() < deadline, "the broadcast did not finish"
        await asyncio.sleep(0.05)


async def test_kill_9_mid_correction_and_restart(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    log = tmp_path / "bot.log"
    readers = [FIRST + i for i in range(READERS)]
    async with BotAPIEmulator() as emu:
        repo = await Repository.open(db)
        try:
            now = time.time()
            async with repo.transaction() as conn:
                await conn.executemany(
                    "INSERT INTO subscribers (chat_id, locale, subscribed_at, changed_at)"
                    " VALUES (?, 'ru', ?, ?)",
                    [(chat, now, now) for chat in readers],
                )
            for chat in readers:
                emu.add_chat(chat)
            piece_id = await store(repo, prepare(SOURCE))
        finally:
            await repo.close()

        bot = await _start(emu, db, log)
        try:
            await _wait_sent(db, piece_id, READERS)
            # corrected from the command line while the bot runs (another process's commit)
            repo = await Repository.open(db)
            try:
                correction = await newsroom.prepare_correction(repo, piece_id, corrected())
                await newsroom.apply_correction(repo, correction, notify=False, actor=0)
            finally:
                await repo.close()
            await emu.wait_until(
                lambda: sum(ok for _chat, ok in _edits(emu)) >= READERS // 3, timeout=30
            )
            bot.send_signal(signal.SIGKILL)
            await bot.wait()
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
        before = Counter(chat for chat, ok in _edits(emu) if ok)
        assert 0 < len(before) < READERS, "the kill came too late to test anything"
        states = dict(_rows(db, "SELECT chat_id, state FROM followups"))
        in_doubt = {chat for chat, state in states.items() if state == "sending"}
        window = len(set(before) & in_doubt)

        bot = await _start(emu, db, log)
        try:
            deadline = time.monotonic() + 30
            while _rows(db, "SELECT count(*) FROM followups WHERE state != 'done'")[0][0]:
                assert time.monotonic() < deadline, "the edits did not resume"
                await asyncio.sleep(0.05)
            bot.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.wait(), 15) == 0
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()

    calls = Counter(chat for chat, _ok in _edits(emu))
    repeated = sum(calls.values()) - READERS
    print(
        f"\nkill -9 after {sum(before.values())} of {READERS} edits; {window} edited but not "
        f"committed; repeated after restart: {repeated}"
    )
    # nobody is left with the old text, and every message changed exactly once
    for chat in readers:
        [message] = emu.messages(chat)
        assert FARE_NEW in message.text or "✏️ исправлено" in message.text
        assert message.edited == 1
    assert repeated <= window and all(n == 1 for c, n in calls.items() if c not in in_doubt)
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]
