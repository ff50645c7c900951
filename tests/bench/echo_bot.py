"""The floor ``bench_updates`` compares the bot with: a bare aiogram echo bot.

Served the way ``python -m bot run`` serves: its own process, INFO logging to stderr (so
aiogram's own line per handled update is formatted and written, as in any aiogram bot run at
INFO), HTML parse mode, long polling with signal handling. Nothing of the bot's own: aiogram's
stock HTTP session (not ``bot/session.py``), no middlewares, no i18n, no database.

    BOT_TOKEN=… BOT_API_URL=… .venv/bin/python -m tests.bench.echo_bot
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import Message

from bot.config import Settings


async def main() -> None:
    settings = Settings.load()
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "-")

    bot = Bot(
        settings.require_token(),
        session=AiohttpSession(api=TelegramAPIServer.from_base(settings.bot_api_url)),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
    await dp.start_polling(bot, handle_signals=True)


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    asyncio.run(main())
