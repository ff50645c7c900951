"""/subscribe, /unsubscribe, their buttons, and readers who block the bot (my_chat_member)."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import KICKED, LEFT, ChatMemberUpdatedFilter, Command
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message
from aiogram.utils.i18n import I18n

from bot.views.callbacks import SubscriptionToggle, Where
from bot.views.reader import start_screen
from bot.views.subscription import (
    subscribe_reply,
    toggled_alert,
    unsubscribe_reply,
    with_subscription_button,
)
from handlers.screens import chat_of, editable, redraw
from storage import Repository

logger = logging.getLogger(__name__)


async def subscribe(message: Message, repo: Repository, i18n: I18n) -> None:
    changed = await repo.subscribe(message.chat.id, i18n.current_locale)
    text, keyboard = subscribe_reply(changed)
    await message.answer(text, reply_markup=keyboard)


async def unsubscribe(message: Message, repo: Repository) -> None:
    changed = await repo.unsubscribe(message.chat.id)
    text, keyboard = unsubscribe_reply(changed)
    await message.answer(text, reply_markup=keyboard)


async def on_toggle(
    callback: CallbackQuery, callback_data: SubscriptionToggle, repo: Repository, i18n: I18n
) -> None:
    chat_id = chat_of(callback)
    if callback_data.on:
        await repo.subscribe(chat_id, i18n.current_locale)
    else:
        await repo.unsubscribe(chat_id)
    subscribed = callback_data.on
    message = editable(callback)
    if message is not None:
        await _redraw_toggle(message, callback_data.where, callback, repo, subscribed)
    await callback.answer(toggled_alert(subscribed))  # once the screen shows it


async def _redraw_toggle(
    message: Message, where: Where, callback: CallbackQuery, repo: Repository, subscribed: bool
) -> None:
    if where is Where.START:
        piece_id = await repo.current_piece_id(message.chat.id)
        piece = await repo.get_piece(piece_id) if piece_id else None
        screen = start_screen(callback.from_user.first_name, piece, subscribed=subscribed)
        await redraw(message, screen.messages[0], screen.keyboard)
    elif where is Where.REPLY:
        await redraw(message, *(subscribe_reply if subscribed else unsubscribe_reply)(True))
    else:
        keyboard = with_subscription_button(message.reply_markup, subscribed, Where.NOTIFICATION)
        if message.reply_markup == keyboard:
            return
        try:
            await message.edit_reply_markup(reply_markup=keyboard)
        except TelegramBadRequest as error:  # the message is too old to edit
            logger.info("Could not redraw the subscription button: %s", error.message)


async def bot_blocked(event: ChatMemberUpdated, repo: Repository) -> None:
    status = event.new_chat_member.status
    if await repo.mark_inactive(event.chat.id, f"my_chat_member: {status}"):
        logger.info("Chat %d is now inactive (%s)", event.chat.id, status)


def create_router() -> Router:
    router = Router(name="subscriptions")
    router.message.register(subscribe, Command("subscribe"))
    router.message.register(unsubscribe, Command("unsubscribe"))
    router.callback_query.register(on_toggle, SubscriptionToggle.filter())
    router.my_chat_member.register(
        bot_blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED | LEFT)
    )
    return router
