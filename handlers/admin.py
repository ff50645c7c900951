"""Editors (``ADMIN_IDS``): /publish a .txt file — preview, then Publish/Cancel — and /stats.

Everything here sits behind a router-level filter; button presses check the sender again. Other
readers who try these commands or buttons get a polite no and nothing happens.

A /publish message is held as a draft keyed by its chat and message id, so the same update
delivered twice shows one preview; Publish stores the piece (one piece per text: the source
hash is unique) and its deliveries in one transaction, so a second press sends nothing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import CallbackQuery, Document, Message, TelegramObject, User
from aiogram.utils.i18n import I18n
from aiohttp import ClientError

from bot import publishing
from bot.broadcast import Broadcaster
from bot.config import Settings
from bot.domain.drafts import DraftState
from bot.domain.lifecycle import EditRefused
from bot.domain.parsing import MAX_SOURCE_BYTES, ParseError
from bot.domain.schedule import local, parse_when
from bot.publishing import prepare
from bot.views.callbacks import DraftAction
from bot.views.editor import (
    already_published_text,
    document_hint_text,
    download_failed_text,
    draft_cancelled_text,
    draft_gone_text,
    file_too_large_text,
    not_an_editor_text,
    parse_error_text,
    preview,
    publish_usage_text,
    published_alert,
    published_text,
    scheduled_text,
    stats_text,
)
from bot.views.newsroom_editor import newsroom_stats_text, refusal_text
from handlers.screens import chat_of, editable
from storage import Repository

logger = logging.getLogger(__name__)

DEFAULT_FILE_NAME = "interview.txt"


def is_editor(user: User | None, settings: Settings) -> bool:
    return user is not None and user.id in settings.admin_ids


class IsEditor(Filter):
    async def __call__(
        self, event: TelegramObject, settings: Settings, event_from_user: User | None = None
    ) -> bool:
        return is_editor(event_from_user, settings)


# -- editors --------------------------------------------------------------------------------------


def _attached(message: Message) -> Document | None:
    if message.document is not None:
        return message.document
    replied = message.reply_to_message
    return replied.document if replied is not None else None


async def publish(
    message: Message, command: CommandObject, bot: Bot, repo: Repository, settings: Settings
) -> None:
    document = _attached(message)
    if document is None:
        await message.answer(publish_usage_text())
        return
    when = None
    if (command.args or "").strip():  # /publish 2026-12-03 09:00: scheduled
        try:
            when = parse_when(command.args or "", settings.zone, datetime.now(UTC))
        except EditRefused as error:
            await message.answer(refusal_text(error.refusal, None))
            return
    key = f"{message.chat.id}:{message.message_id}"
    known = await repo.get_draft_by_key(key)
    if known is not None and known.preview_message is not None:
        logger.info("Ignoring a repeated /publish update (%s, draft %s)", key, known.id)
        return
    data = await download_source(bot, message, document)
    if data is None:
        return
    try:
        prepared = await asyncio.to_thread(prepare, data, name=document.file_name)
    except ParseError as error:
        await message.answer(parse_error_text(error))
        return
    existing = await repo.piece_id_by_hash(prepared.source_hash)
    if existing is not None:
        await message.answer(already_published_text(existing, prepared.interview.title))
        return
    assert message.from_user is not None  # IsEditor passed
    draft, created = await repo.save_draft(
        update_key=key,
        admin_id=message.from_user.id,
        chat_id=message.chat.id,
        file_name=document.file_name or DEFAULT_FILE_NAME,
        source=data,
        source_hash=prepared.source_hash,
        publish_at=when.timestamp() if when else None,
    )
    if not created and draft.preview_message is not None:
        return  # the twin of this update got here first
    counts = await repo.subscriber_counts()
    scheduled = f"{local(when, settings.zone)} ({settings.timezone})" if when else None
    info, text, keyboard = preview(prepared, draft.file_name, counts.active, draft.id, scheduled)
    await message.answer(info)
    shown = await message.answer(text, reply_markup=keyboard)
    await repo.set_draft_preview(draft.id, shown.message_id)


async def _drop_buttons(callback: CallbackQuery) -> None:
    message = editable(callback)
    if message is not None:
        try:
            await message.edit_reply_markup(reply_markup=None)
        except TelegramBadRequest as error:
            logger.info("Could not remove the preview buttons: %s", error.message)


async def confirm(
    callback: CallbackQuery,
    callback_data: DraftAction,
    bot: Bot,
    repo: Repository,
    settings: Settings,
    i18n: I18n,
    broadcaster: Broadcaster | None = None,
) -> None:
    if not is_editor(callback.from_user, settings):  # never trust the router alone
        await callback.answer(not_an_editor_text(), show_alert=True)
        return
    draft = await repo.get_draft(callback_data.draft)
    if draft is None or draft.state is DraftState.CANCELLED:
        await callback.answer(draft_gone_text(), show_alert=True)
        await _drop_buttons(callback)
        return
    if draft.state is DraftState.PUBLISHED and draft.piece_id is not None:
        await callback.answer(published_alert(draft.piece_id), show_alert=True)
        await _drop_buttons(callback)
        return
    try:
        prepared = await asyncio.to_thread(prepare, draft.source, name=draft.file_name)
    except ParseError as error:  # it parsed for the preview; only a changed parser gets here
        await callback.answer()
        await bot.send_message(draft.chat_id, parse_error_text(error))
        return
    at = datetime.fromtimestamp(draft.publish_at, UTC) if draft.publish_at else None
    published = await publishing.publish(repo, prepared, at=at, actor=callback.from_user.id)
    piece_id, new = published.piece_id, published.new
    await repo.close_draft(draft.id, DraftState.PUBLISHED, piece_id)
    chat_id = chat_of(callback)
    broadcast = None
    if new and at is not None:
        await callback.answer(published_alert(piece_id))
        await _drop_buttons(callback)
        when = f"{local(at, settings.zone)} ({settings.timezone})"
        await bot.send_message(chat_id, scheduled_text(piece_id, when))
        return
    if new:
        await repo.update_broadcast(
            piece_id, report_chat=chat_id, report_locale=i18n.current_locale
        )
        broadcast = await repo.get_broadcast(piece_id)
        if broadcaster is not None:
            broadcaster.wake()
        logger.info(
            "Editor %d published piece %d (%d recipients)",
            callback.from_user.id,
            piece_id,
            broadcast.total if broadcast else 0,
        )
    await callback.answer(published_alert(piece_id))
    await _drop_buttons(callback)
    if not new:
        await bot.send_message(chat_id, already_published_text(piece_id, prepared.interview.title))
    elif broadcast is None:
        await bot.send_message(chat_id, published_text(piece_id))


async def cancel(
    callback: CallbackQuery, callback_data: DraftAction, repo: Repository, settings: Settings
) -> None:
    if not is_editor(callback.from_user, settings):
        await callback.answer(not_an_editor_text(), show_alert=True)
        return
    if await repo.close_draft(callback_data.draft, DraftState.CANCELLED):
        await callback.answer(draft_cancelled_text())
    else:
        draft = await repo.get_draft(callback_data.draft)
        if draft is not None and draft.state is DraftState.PUBLISHED and draft.piece_id is not None:
            await callback.answer(published_alert(draft.piece_id), show_alert=True)
        else:
            await callback.answer(draft_gone_text(), show_alert=True)
    await _drop_buttons(callback)


async def stats(message: Message, repo: Repository, settings: Settings) -> None:
    counts = await repo.subscriber_counts()
    newsroom = newsroom_stats_text(
        await repo.get_channel(), settings.channel_id, await repo.recent_audit(5), settings.zone
    )
    text = stats_text(
        counts,
        await repo.recent_broadcasts(5),
        await repo.follow_counts(),
        await repo.most_followed(10),
    )
    await message.answer(text + "\n\n" + newsroom)


async def document_without_command(message: Message) -> None:
    await message.answer(document_hint_text())


# -- everyone else --------------------------------------------------------------------------------


async def refuse(message: Message) -> None:
    await message.answer(not_an_editor_text())


async def refuse_button(callback: CallbackQuery) -> None:
    await callback.answer(not_an_editor_text(), show_alert=True)


async def download_source(bot: Bot, message: Message, document: Document) -> bytes | None:
    """The uploaded file's bytes, or ``None`` after telling the editor it is too large or could
    not be downloaded (for /publish and /correct)."""
    if document.file_size and document.file_size > MAX_SOURCE_BYTES:
        await message.answer(file_too_large_text())
        return None
    try:
        downloaded = await bot.download(document)
        data = downloaded.read() if downloaded is not None else None
    except (TelegramAPIError, ClientError, OSError) as error:
        logger.warning("Could not download %s: %s", document.file_id, error)
        data = None
    if data is None:
        await message.answer(download_failed_text())
    return data


def create_router() -> Router:
    """Editors' handlers behind ``IsEditor``, then the refusals for everyone else."""
    editors = Router(name="admin.editors")
    editors.message.filter(IsEditor())
    editors.callback_query.filter(IsEditor())
    editors.message.register(publish, Command("publish"))
    editors.message.register(stats, Command("stats"))
    editors.message.register(document_without_command, F.document)
    editors.callback_query.register(confirm, DraftAction.filter(F.publish))
    editors.callback_query.register(cancel, DraftAction.filter(~F.publish))
    others = Router(name="admin.others")
    others.message.register(refuse, Command("publish", "stats"))
    others.callback_query.register(refuse_button, DraftAction.filter())
    router = Router(name="admin")
    router.include_routers(editors, others)
    return router
