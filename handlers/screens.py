"""Sending a ``Screen``, and the shapes every button handler shares.

A pressed button's message may be inaccessible (Telegram sends ``InaccessibleMessage`` for old
messages): ``chat_of`` and ``editable`` are the one place that decides what to do then.
"""

from __future__ import annotations

import html
import logging
import re

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.domain.models import Piece, PieceStatus
from bot.views.newsroom import withdrawn_text
from bot.views.reader import Screen, missing_piece_text
from storage import Repository

logger = logging.getLogger(__name__)

_TAG = re.compile(r"<[^>]+>")


def chat_of(callback: CallbackQuery) -> int:
    """The chat the button was pressed in (the presser's private chat if Telegram hid it)."""
    return callback.message.chat.id if callback.message is not None else callback.from_user.id


def editable(callback: CallbackQuery) -> Message | None:
    """The pressed message, if the bot can still edit it."""
    return callback.message if isinstance(callback.message, Message) else None


async def unavailable_text(repo: Repository, piece_id: int) -> str:
    """Why readers cannot open a piece: withdrawn by the editors (with their reason), or
    missing (never existed, or not published yet)."""
    status = await repo.piece_status(piece_id)
    if status is not None and status[0] in (PieceStatus.WITHDRAWN, PieceStatus.PURGED):
        return withdrawn_text(status[1])
    return missing_piece_text()


async def piece_or_alert(callback: CallbackQuery, repo: Repository, piece_id: int) -> Piece | None:
    """The piece a button points at, or None after telling the reader it is gone."""
    piece = await repo.get_piece(piece_id)
    if piece is None:
        await callback.answer(await unavailable_text(repo, piece_id), show_alert=True)
    return piece


async def send_screen(bot: Bot, chat_id: int, screen: Screen) -> None:
    last = len(screen.messages) - 1
    for i, text in enumerate(screen.messages):
        await bot.send_message(chat_id, text, reply_markup=screen.keyboard if i == last else None)


def shows(message: Message, text: str, keyboard: InlineKeyboardMarkup | None) -> bool:
    """Whether the message already reads ``text`` (our HTML) under ``keyboard``: Telegram
    refuses an edit that changes nothing, so a button pressed twice must not send one."""
    plain = html.unescape(_TAG.sub("", text)).strip()
    return (message.text or "").strip() == plain and message.reply_markup == keyboard


async def redraw(message: Message, text: str, keyboard: InlineKeyboardMarkup | None) -> bool:
    """Edit the message to ``text`` under ``keyboard`` unless it already shows them; False if
    Telegram refused the edit (too old, deleted)."""
    if shows(message, text, keyboard):
        return True
    try:
        await message.edit_text(text, reply_markup=keyboard)
    except TelegramBadRequest as error:
        if "message is not modified" in error.message:
            return True
        logger.info("Could not edit message %s: %s", message.message_id, error.message)
        return False
    return True


async def show_screen(bot: Bot, callback: CallbackQuery, screen: Screen) -> None:
    """Edit the pressed message when the screen fits one message; otherwise send it anew."""
    message = editable(callback)
    if (
        message is not None
        and len(screen.messages) == 1
        and await redraw(message, screen.messages[0], screen.keyboard)
    ):
        return
    await send_screen(bot, chat_of(callback), screen)
