"""Reading a piece: /summary, /questions, /answer N, /pieces and their buttons."""

from __future__ import annotations

import re

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.domain.models import Piece
from bot.views.callbacks import AnswerView, ArchivePage, ChoosePiece, PieceView, View
from bot.views.newsroom import removed_answer_text
from bot.views.reader import (
    PIECES_PER_PAGE,
    answer_screen,
    answer_usage_text,
    missing_piece_text,
    no_pieces_text,
    pieces_screen,
    questions_screen,
    summary_screen,
    summary_usage_text,
    unknown_answer_text,
)
from handlers.screens import chat_of, piece_or_alert, send_screen, show_screen
from storage import Repository

SUMMARY_VARIANTS = {
    "": View.SUMMARY,
    "short": View.SUMMARY_SHORT,
    "коротко": View.SUMMARY_SHORT,
    "кратко": View.SUMMARY_SHORT,
    "long": View.SUMMARY_LONG,
    "подробно": View.SUMMARY_LONG,
    "длинно": View.SUMMARY_LONG,
}
NUMBER = re.compile(r"^[#№]?\s*(\d{1,6})\.?$")


async def _current_piece(repo: Repository, message: Message) -> Piece | None:
    piece_id = await repo.current_piece_id(message.chat.id)
    piece = await repo.get_piece(piece_id) if piece_id else None
    if piece is None:
        await message.answer(no_pieces_text())
    return piece


async def summary(message: Message, command: CommandObject, bot: Bot, repo: Repository) -> None:
    variant = SUMMARY_VARIANTS.get((command.args or "").strip().lower())
    if variant is None:
        await message.answer(summary_usage_text())
        return
    piece = await _current_piece(repo, message)
    if piece is not None:
        await send_screen(bot, message.chat.id, summary_screen(piece, variant))


async def questions(message: Message, bot: Bot, repo: Repository) -> None:
    piece = await _current_piece(repo, message)
    if piece is not None:
        await send_screen(bot, message.chat.id, questions_screen(piece))


async def answer(message: Message, command: CommandObject, bot: Bot, repo: Repository) -> None:
    piece = await _current_piece(repo, message)
    if piece is None:
        return
    raw = (command.args or "").strip()
    number = NUMBER.match(raw)
    if number is None:
        await message.answer(answer_usage_text(len(piece.turns)))
        return
    screen = answer_screen(piece, int(number[1]))
    if screen is None:
        await message.answer(unknown_answer_text(number[1], len(piece.turns)))
        return
    await send_screen(bot, message.chat.id, screen)


async def pieces(message: Message, bot: Bot, repo: Repository) -> None:
    infos = await repo.list_pieces(limit=PIECES_PER_PAGE)
    await send_screen(bot, message.chat.id, pieces_screen(infos, await repo.count_pieces(), 0))


async def on_piece_view(
    callback: CallbackQuery, callback_data: PieceView, bot: Bot, repo: Repository
) -> None:
    piece = await piece_or_alert(callback, repo, callback_data.piece)
    if piece is None:
        return
    if callback_data.view == View.QUESTIONS:
        screen = questions_screen(piece, callback_data.page)
    else:
        screen = summary_screen(piece, callback_data.view)
    await show_screen(bot, callback, screen)
    await callback.answer()


async def on_answer(
    callback: CallbackQuery, callback_data: AnswerView, bot: Bot, repo: Repository
) -> None:
    piece = await piece_or_alert(callback, repo, callback_data.piece)
    if piece is None:
        return
    number = piece.number_of(callback_data.n)  # buttons carry links, which survive corrections
    screen = answer_screen(piece, number) if number is not None else None
    if screen is None:
        await callback.answer(
            removed_answer_text() if piece.links else missing_piece_text(), show_alert=True
        )
        return
    await show_screen(bot, callback, screen)
    await callback.answer()


async def on_archive_page(
    callback: CallbackQuery, callback_data: ArchivePage, bot: Bot, repo: Repository
) -> None:
    page = max(0, min(callback_data.page, 10_000))
    infos = await repo.list_pieces(limit=PIECES_PER_PAGE, offset=page * PIECES_PER_PAGE)
    await show_screen(bot, callback, pieces_screen(infos, await repo.count_pieces(), page))
    await callback.answer()


async def on_choose_piece(
    callback: CallbackQuery, callback_data: ChoosePiece, bot: Bot, repo: Repository
) -> None:
    piece = await piece_or_alert(callback, repo, callback_data.piece)
    if piece is None:
        return
    await repo.set_chat_piece(chat_of(callback), piece.id)
    await show_screen(bot, callback, summary_screen(piece))
    await callback.answer()


def create_router() -> Router:
    router = Router(name="reading")
    router.message.register(summary, Command("summary"))
    router.message.register(questions, Command("questions"))
    router.message.register(answer, Command("answer"))
    router.message.register(pieces, Command("pieces"))
    router.callback_query.register(on_piece_view, PieceView.filter())
    router.callback_query.register(on_answer, AnswerView.filter())
    router.callback_query.register(on_archive_page, ArchivePage.filter())
    router.callback_query.register(on_choose_piece, ChoosePiece.filter(), F.message)
    return router
