"""The end-to-end rig: the real bot (dispatcher, handlers, aiogram's HTTP session) polling the
strict Bot API emulator on loopback, with a real database file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher

from bot.app import build_bot, build_dispatcher
from bot.config import Settings
from bot.publishing import ensure_seed
from storage import Repository
from tests.fakegram import BotAPIEmulator, SentMessage


async def start_bot_process(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    """``python -m bot *args`` as a child process with ``env`` over this environment."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **env},
    )


@dataclass
class Harness:
    emu: BotAPIEmulator
    repo: Repository
    bot: Bot
    dp: Dispatcher
    settings: Settings

    async def say(
        self, user_id: int, text: str, *, expect: int = 1, **kwargs: Any
    ) -> list[SentMessage]:
        """Send ``text`` as a reader and return the ``expect`` bot messages that follow."""
        before = len(self.emu.messages(user_id))
        await self.emu.send_message(user_id, text, **kwargs)
        messages = await self.emu.wait_for_messages(user_id, before + expect)
        return messages[before:]

    async def tap(self, user_id: int, message: SentMessage, text: str, **kwargs: Any) -> str:
        """Press the button whose text contains ``text``; waits until the press is answered."""
        query_id = await self.emu.press_button(user_id, message.message_id, text, **kwargs)
        await self.emu.wait_until(lambda: query_id in self.emu.callback_answers)
        return query_id


def emulator_settings(emu: BotAPIEmulator, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings pointing the bot at ``emu`` with a database file in ``tmp_path``."""
    return replace(
        Settings(),
        bot_token=emu.token,
        bot_api_url=emu.base_url,
        database_path=tmp_path / "bot.sqlite3",
        **overrides,
    )


@contextlib.asynccontextmanager
async def running_bot(
    tmp_path: Path,
    *,
    seed: bool = True,
    prepare_emulator: Callable[[BotAPIEmulator], None] | None = None,
    chats: tuple[int, ...] = (),
    **overrides: Any,
) -> AsyncIterator[Harness]:
    """The bot polling a fresh emulator (``prepare_emulator`` sets it up before the bot starts,
    e.g. a channel; ``chats`` are known to it before the bot starts: a restarted bot may send
    to readers first). Throttling is off unless a test turns it on, since tests act faster
    than any reader."""
    overrides.setdefault("throttle_rate", 0.0)
    async with BotAPIEmulator() as emu:
        if prepare_emulator is not None:
            prepare_emulator(emu)
        for chat_id in chats:
            emu.add_chat(chat_id, "ru")
        settings = emulator_settings(emu, tmp_path, **overrides)
        repo = await Repository.open(settings.database_path)
        if seed:
            await ensure_seed(repo)
        bot = build_bot(settings)
        dp = build_dispatcher(repo, settings)
        polling = asyncio.create_task(
            dp.start_polling(bot, handle_signals=False, close_bot_session=False)
        )
        try:
            await emu.wait_for_call("getUpdates", timeout=10)
            yield Harness(emu, repo, bot, dp, settings)
        finally:
            with contextlib.suppress(RuntimeError):
                await dp.stop_polling()
            await asyncio.wait_for(polling, 10)
            await bot.session.close()
            await repo.close()
