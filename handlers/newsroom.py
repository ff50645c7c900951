"""Editors (``ADMIN_IDS``) after publishing: /withdraw N reason, /restore N, /purge N,
/correct N (with the corrected file), and for scheduled pieces /scheduled, /release N (publish
now) and /cancel N, each shown first and done on Confirm.

Thin: ``bot.newsroom`` does the work, ``bot/views/newsroom_editor.py`` renders. A request is
held server-side (``storage/requests.py``) until Confirm; the press is checked against
``ADMIN_IDS`` again and the piece's state is checked again in the transaction that changes it.
"""

from __future__ import annotations

import logging
import re

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot import newsroom
from bot.broadcast import Broadcaster
from bot.config import Settings
from bot.domain.lifecycle import EditorAction, EditorRequest, EditRefused, Refusal
from bot.domain.parsing import ParseError
from bot.views.callbacks import RequestAction
from bot.views.editor import parse_error_text
from bot.views.newsroom_editor import (
    confirm_screen,
    correction_screen,
    done_text,
    refusal_text,
    request_cancelled_text,
    request_gone_text,
    scheduled_list_text,
    usage_text,
)
from handlers.admin import IsEditor, download_source, is_editor
from handlers.screens import editable
from storage import Repository
from storage.editing import Change

logger = logging.getLogger(__name__)

PIECE_ARGS = re.compile(r"^\s*#?(\d{1,9})(?:\s+(.*))?$", re.S)
ACTIONS = {
    "withdraw": EditorAction.WITHDRAW,
    "restore": EditorAction.RESTORE,
    "purge": EditorAction.PURGE,
    "cancel": EditorAction.CANCEL,
    "release": EditorAction.RELEASE,
}


async def ask(message: Message, command: CommandObject, repo: Repository) -> None:
    """/withdraw N reason, /restore N, /purge N: the question with Confirm/Cancel."""
    action = ACTIONS[command.command]
    args = PIECE_ARGS.match(command.args or "")
    if args is None:
        await message.answer(usage_text(action))
        return
    try:
        piece = await newsroom.stored_piece(repo, int(args[1]), action)
    except EditRefused as error:
        await message.answer(refusal_text(error.refusal, error.piece_id))
        return
    reason = newsroom.clean_reason(args[2]) if action is EditorAction.WITHDRAW else None
    assert message.from_user is not None  # IsEditor passed
    request = await repo.save_request(
        admin_id=message.from_user.id,
        chat_id=message.chat.id,
        action=action,
        piece_id=piece.id,
        revision=piece.revision,
        reason=reason,
    )
    text, keyboard = confirm_screen(action, piece, reason, request.id)
    await message.answer(text, reply_markup=keyboard)


async def correct(message: Message, command: CommandObject, bot: Bot, repo: Repository) -> None:
    """/correct N with the corrected file (attached, or the message replied to): the preview."""
    args = PIECE_ARGS.match(command.args or "")
    document = message.document or (
        message.reply_to_message.document if message.reply_to_message else None
    )
    if args is None or document is None:
        await message.answer(usage_text(EditorAction.CORRECT))
        return
    data = await download_source(bot, message, document)
    if data is None:
        return
    try:
        correction = await newsroom.prepare_correction(
            repo, int(args[1]), data, name=document.file_name
        )
    except EditRefused as error:
        await message.answer(refusal_text(error.refusal, error.piece_id))
        return
    except ParseError as error:
        await message.answer(parse_error_text(error))
        return
    assert message.from_user is not None
    request = await repo.save_request(
        admin_id=message.from_user.id,
        chat_id=message.chat.id,
        action=EditorAction.CORRECT,
        piece_id=correction.piece.id,
        revision=correction.piece.revision,
        file_name=document.file_name,
        source=data,
    )
    sent = (await repo.delivery_counts(correction.piece.id)).sent
    text, keyboard = correction_screen(correction, sent, request.id)
    await message.answer(text, reply_markup=keyboard)


async def _drop_buttons(callback: CallbackQuery) -> None:
    message = editable(callback)
    if message is not None:
        try:
            await message.edit_reply_markup(reply_markup=None)
        except TelegramBadRequest as error:
            logger.info("Could not remove the request buttons: %s", error.message)


async def decide(
    callback: CallbackQuery,
    callback_data: RequestAction,
    bot: Bot,
    repo: Repository,
    settings: Settings,
    broadcaster: Broadcaster | None = None,
) -> None:
    """Confirm or Cancel of a held request; the presser must be an editor now."""
    if not is_editor(callback.from_user, settings):
        await callback.answer(refusal_text_not_editor(), show_alert=True)
        return
    if not callback_data.confirm:
        cancelled = await repo.cancel_request(callback_data.request)
        await callback.answer(request_cancelled_text() if cancelled else request_gone_text())
        await _drop_buttons(callback)
        return
    request = await repo.take_request(callback_data.request)
    if request is None:
        await callback.answer(request_gone_text(), show_alert=True)
        await _drop_buttons(callback)
        return
    actor = callback.from_user.id
    try:
        change = await _carry_out(repo, request, actor, notify=callback_data.notify)
    except EditRefused as error:
        await callback.answer(refusal_text(error.refusal, error.piece_id), show_alert=True)
        await _drop_buttons(callback)
        return
    except ParseError as error:  # it parsed for the preview; only a changed parser gets here
        await callback.answer()
        await bot.send_message(request.chat_id, parse_error_text(error))
        return
    if broadcaster is not None:
        broadcaster.wake()
    logger.info("Editor %d: %s piece %d", actor, request.action.value, request.piece_id)
    await callback.answer(done_text(request.action, request.piece_id, change.followups))
    await _drop_buttons(callback)
    await bot.send_message(
        request.chat_id, done_text(request.action, request.piece_id, change.followups)
    )


async def _carry_out(
    repo: Repository, request: EditorRequest, actor: int, *, notify: bool
) -> Change:
    match request.action:
        case EditorAction.WITHDRAW:
            return await newsroom.withdraw(repo, request.piece_id, request.reason, actor=actor)
        case EditorAction.RESTORE:
            return await newsroom.restore(repo, request.piece_id, actor=actor)
        case EditorAction.PURGE:
            return await newsroom.purge(repo, request.piece_id, actor=actor)
        case EditorAction.CANCEL:
            return await newsroom.cancel(repo, request.piece_id, actor=actor)
        case EditorAction.RELEASE:
            return await newsroom.release(repo, request.piece_id, actor=actor)
        case EditorAction.CORRECT:
            assert request.source is not None
            correction = await newsroom.prepare_correction(
                repo, request.piece_id, request.source, name=request.file_name
            )
            if correction.piece.revision != request.revision:
                raise EditRefused(Refusal.STALE, request.piece_id)
            return await newsroom.apply_correction(repo, correction, notify=notify, actor=actor)
        case _:
            raise EditRefused(Refusal.UNKNOWN_PIECE, request.piece_id)


async def scheduled(message: Message, repo: Repository, settings: Settings) -> None:
    """/scheduled: the pieces waiting for their time, soonest first."""
    await message.answer(scheduled_list_text(await repo.scheduled_pieces(), settings.zone))


def refusal_text_not_editor() -> str:
    return refusal_text(Refusal.NOT_AN_EDITOR, None)


async def refuse(message: Message) -> None:
    await message.answer(refusal_text_not_editor())


async def refuse_button(callback: CallbackQuery) -> None:
    await callback.answer(refusal_text_not_editor(), show_alert=True)


def create_router() -> Router:
    """Editors' commands behind ``IsEditor``, then the refusals for everyone else."""
    editors = Router(name="newsroom.editors")
    editors.message.filter(IsEditor())
    editors.callback_query.filter(IsEditor())
    editors.message.register(ask, Command(*ACTIONS))
    editors.message.register(correct, Command("correct"))
    editors.message.register(scheduled, Command("scheduled"))
    editors.callback_query.register(decide, RequestAction.filter())
    others = Router(name="newsroom.others")
    others.message.register(refuse, Command(*ACTIONS, "correct", "scheduled"))
    others.callback_query.register(refuse_button, RequestAction.filter())
    router = Router(name="newsroom")
    router.include_routers(editors, others)
    return router
