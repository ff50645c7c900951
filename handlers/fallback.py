"""What nothing else handled: free text, unknown commands, stale or forged buttons."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message

from bot.answers import AnswerFinder
from bot.domain.asking import looks_like_question
from bot.views.reader import free_text_hint, stale_button_text, unknown_command_text
from handlers.asking import answer_question
from handlers.search import answer_search
from storage import Repository


async def unknown_command(message: Message) -> None:
    await message.answer(unknown_command_text())


async def free_text(message: Message, bot: Bot, repo: Repository, answers: AnswerFinder) -> None:
    """A question in plain words gets its answer; other plain words are a quote search; what
    finds nothing (or is not text) gets a hint."""
    text = message.text
    if text and looks_like_question(text) and await answer_question(message, bot, answers, text):
        return
    if text and await answer_search(message, bot, repo, text, quiet_if_empty=True):
        return
    await message.answer(free_text_hint())


async def stale_button(callback: CallbackQuery) -> None:
    await callback.answer(stale_button_text(), show_alert=True)


def create_router() -> Router:
    router = Router(name="fallback")
    # in groups the bot stays quiet about what was not addressed to it
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.register(unknown_command, F.text.startswith("/"))
    router.message.register(free_text)
    router.callback_query.register(stale_button)
    return router
