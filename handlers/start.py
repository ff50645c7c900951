"""/start (with deep links into one answer) and /help."""

from __future__ import annotations

import re

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message
from aiogram.utils.i18n import I18n

from bot.views.channel import SUBSCRIBE_PAYLOAD
from bot.views.newsroom import removed_answer_text
from bot.views.reader import (
    answer_screen,
    help_screen,
    questions_screen,
    start_screen,
    summary_screen,
    unknown_answer_text,
)
from bot.views.subscription import subscribe_reply
from handlers.screens import send_screen, unavailable_text
from storage import Repository

# t.me/<bot>?start=<piece>_<n> opens answer n of a piece (n: the turn's link), <piece>_q its
# questions, start=<piece> its summary; start=subscribe subscribes (the channel post's buttons)
DEEP_LINK = re.compile(r"^(?P<piece>\d{1,9})(?:_(?:(?P<n>\d{1,4})|(?P<q>q)))?$")


async def start(
    message: Message, command: CommandObject, bot: Bot, repo: Repository, i18n: I18n
) -> None:
    payload = (command.args or "").strip()
    if payload == SUBSCRIBE_PAYLOAD:
        changed = await repo.subscribe(message.chat.id, i18n.current_locale)
        text, keyboard = subscribe_reply(changed)
        await message.answer(text, reply_markup=keyboard)
        return
    link = DEEP_LINK.match(payload)
    if link:
        piece = await repo.get_piece(int(link["piece"]))
        if piece is None:
            await message.answer(await unavailable_text(repo, int(link["piece"])))
            return
        await repo.set_chat_piece(message.chat.id, piece.id)
        if link["q"]:
            await send_screen(bot, message.chat.id, questions_screen(piece))
            return
        if not link["n"]:
            await send_screen(bot, message.chat.id, summary_screen(piece))
            return
        number = piece.number_of(int(link["n"]))  # links survive corrections
        screen = answer_screen(piece, number) if number is not None else None
        if screen is None:
            await message.answer(
                removed_answer_text()
                if piece.links
                else unknown_answer_text(link["n"], len(piece.turns))
            )
        else:
            await send_screen(bot, message.chat.id, screen)
        return
    piece_id = await repo.current_piece_id(message.chat.id)
    piece = await repo.get_piece(piece_id) if piece_id else None
    first_name = message.from_user.first_name if message.from_user else ""
    subscribed = await repo.is_subscribed(message.chat.id)
    await send_screen(bot, message.chat.id, start_screen(first_name, piece, subscribed=subscribed))


async def help_(message: Message, bot: Bot) -> None:
    me = await bot.me()
    await send_screen(bot, message.chat.id, help_screen(me.username or ""))


def create_router() -> Router:
    router = Router(name="start")
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help"))
    return router
