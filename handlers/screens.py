"""Sending a ``Screen``: as new messages, or in place of the message whose button was pressed."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message

from bot.views.reader import Screen

logger = logging.getLogger(__name__)


async def send_screen(bot: Bot, chat_id: int, screen: Screen) -> None:
    last = len(screen.messages) - 1
    for i, text in enumerate(screen.messages):
        await bot.send_message(chat_id, text, reply_markup=screen.keyboard if i == last else None)


async def reply_screen(message: Message, screen: Screen) -> None:
    await send_screen(message.bot, message.chat.id, screen)  # type: ignore[arg-type]


async def show_screen(callback: CallbackQuery, screen: Screen) -> None:
    """Edit the pressed message when the screen fits one message; otherwise send it anew."""
    message = callback.message
    if isinstance(message, Message) and len(screen.messages) == 1:
        try:
            await message.edit_text(screen.messages[0], reply_markup=screen.keyboard)
            return
        except TelegramBadRequest as error:
            if "message is not modified" in error.message:
                return
            logger.info("Could not edit message %s, sending anew: %s", message.message_id, error)
    chat_id = message.chat.id if message is not None else callback.from_user.id
    await send_screen(callback.bot, chat_id, screen)  # type: ignore[arg-type]
