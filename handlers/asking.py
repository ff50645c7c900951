"""Asking in your own words: ``/ask …`` and plain-text questions in the bot's chat.

Thin: ``AnswerFinder`` (bot/answers.py) finds the answers, ``bot/views/asking.py`` shows them.
Plain text reaches here from the fallback router when it reads as a question
(``bot.domain.asking.looks_like_question``); a few words without a question stay a quote search.
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.answers import AnswerFinder
from bot.views.asking import ask_screen, ask_usage_text, no_answer_text
from handlers.screens import send_screen

MAX_QUESTION_CHARS = 500  # a question, not an essay: the rest is not read


async def ask_command(
    message: Message, command: CommandObject, bot: Bot, answers: AnswerFinder
) -> None:
    question = (command.args or "").strip()
    if not question:
        await message.answer(ask_usage_text())
        return
    if not await answer_question(message, bot, answers, question):
        await message.answer(no_answer_text())


async def answer_question(message: Message, bot: Bot, answers: AnswerFinder, question: str) -> bool:
    """Reply with the answers to ``question``; returns whether any was found."""
    hits = await answers.ask(question[:MAX_QUESTION_CHARS])
    if not hits:
        return False
    await send_screen(bot, message.chat.id, ask_screen(hits))
    return True


def create_router() -> Router:
    router = Router(name="asking")
    router.message.register(ask_command, Command("ask"))
    return router
