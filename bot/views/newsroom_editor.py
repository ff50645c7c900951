"""What the editor sees when changing a published piece: the confirmation of a withdrawal,
restore or purge, the preview of a correction (what changed), results and refusals.

Plain functions returning escaped HTML and keyboards, translated with gettext."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, assert_never

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.domain.language import shorten
from bot.domain.lifecycle import EditorAction, Refusal
from bot.domain.models import Piece, PieceInfo
from bot.domain.schedule import local
from bot.views.callbacks import RequestAction
from bot.views.keyboards import button, markup
from bot.views.render import escape

if TYPE_CHECKING:
    from bot.newsroom import Correction
    from storage.channel import ChannelState
    from storage.editing import AuditEntry

TITLE_CHARS = 80
SNIPPET_CHARS = 160
SHOWN_CHANGES = 3


def refusal_text(refusal: Refusal, piece_id: int | None) -> str:
    """Why an editor's request changed nothing, in the editor's language."""
    n = piece_id if piece_id is not None else "?"
    match refusal:
        case Refusal.UNKNOWN_PIECE:
            return _("There is no piece {id}. See /pieces.").format(id=n)
        case Refusal.WITHDRAWN:
            return _("Piece {id} is withdrawn. Restore it first: /restore {id}").format(id=n)
        case Refusal.PURGED:
            return _("Piece {id} was purged: its text is gone for good.").format(id=n)
        case Refusal.NOT_WITHDRAWN:
            return _("Piece {id} is not withdrawn.").format(id=n)
        case Refusal.SCHEDULED:
            return _("Piece {id} is scheduled and not published yet: cancel it instead.").format(
                id=n
            )
        case Refusal.NOT_SCHEDULED:
            return _("Piece {id} is not scheduled.").format(id=n)
        case Refusal.NOTHING_TO_CORRECT:
            return _("Nothing to correct: the text of piece {id} is the same.").format(id=n)
        case Refusal.DUPLICATE:
            return _("This text is already published as piece {id}.").format(id=n)
        case Refusal.STALE:
            return _("Piece {id} changed since this preview. Send the request again.").format(id=n)
        case Refusal.TIME_IN_PAST:
            return _("That time is in the past.")
        case Refusal.BAD_TIME:
            return _("I do not understand that time. Example: 2026-12-03 09:00")
        case Refusal.NOT_AN_EDITOR:
            return _("Sorry, only the editors can do that.")
    assert_never(refusal)


def usage_text(action: EditorAction) -> str:
    match action:
        case EditorAction.WITHDRAW:
            return _("Usage: /withdraw N reason (the reason is shown to readers; optional)")
        case EditorAction.RESTORE:
            return _("Usage: /restore N")
        case EditorAction.PURGE:
            return _("Usage: /purge N (a withdrawn piece; its text is removed for good)")
        case EditorAction.CORRECT:
            return _("Usage: send the corrected file with /correct N in the caption.")
        case EditorAction.CANCEL:
            return _("Usage: /cancel N (a scheduled piece; see /scheduled)")
        case EditorAction.RELEASE:
            return _("Usage: /release N (publishes a scheduled piece now; see /scheduled)")
        case _:
            return _("Usage: /pieces")


def _title(piece: Piece) -> str:
    return escape(shorten(piece.title, TITLE_CHARS))


def _keyboard(request_id: str, label: str, notify_label: str = "") -> InlineKeyboardMarkup:
    confirm = [button(label, RequestAction(request=request_id, confirm=True))]
    if notify_label:
        confirm.append(
            button(notify_label, RequestAction(request=request_id, confirm=True, notify=True))
        )
    return markup(
        confirm, [button(_("✖ Cancel"), RequestAction(request=request_id, confirm=False))]
    )


def confirm_screen(
    action: EditorAction, piece: Piece, reason: str | None, request_id: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The question before a withdrawal, restore or purge, with Confirm/Cancel."""
    title = _title(piece)
    if action is EditorAction.WITHDRAW:
        text = _(
            "Withdraw piece {id} «{title}»? It disappears from the archive, search and inline "
            "results at once; notifications already sent are deleted (or, after 48 hours, "
            "replaced by a note). It can be restored until purged."
        ).format(id=piece.id, title=title)
        if reason:
            text += "\n" + _("Reason for readers: {reason}").format(reason=escape(reason))
        label = _("🚫 Withdraw")
    elif action is EditorAction.CANCEL:
        text = _("Cancel scheduled piece {id} «{title}»? It will not be published.").format(
            id=piece.id, title=title
        )
        label = _("✖ Drop it")
    elif action is EditorAction.RELEASE:
        text = _("Publish scheduled piece {id} «{title}» now?").format(id=piece.id, title=title)
        label = _("✅ Publish now")
    elif action is EditorAction.RESTORE:
        text = _("Restore piece {id} «{title}»? Readers will see it again.").format(
            id=piece.id, title=title
        )
        label = _("↩ Restore")
    else:
        text = _(
            "Purge piece {id} «{title}»? Its text is removed for good and cannot be restored."
        ).format(id=piece.id, title=title)
        label = _("🗑 Purge for good")
    return text, _keyboard(request_id, label)


def _snippet(paragraphs: tuple[str, ...]) -> str:
    return escape(shorten(" ".join(paragraphs), SNIPPET_CHARS))


def correction_screen(
    correction: Correction, sent: int, request_id: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The preview of a correction: what changed (answer by answer), what happens to the
    notifications already sent, and Confirm/Cancel."""
    piece, plan = correction.piece, correction.plan
    new = correction.prepared.interview
    lines = [
        _("<b>Correction of piece {id}</b> «{title}»").format(id=piece.id, title=_title(piece))
    ]
    if plan.title_changed:
        lines.append(_("Title: «{old}» → «{new}»").format(old=_title(piece), new=escape(new.title)))
    if plan.lead_changed:
        lines.append(_("The lead changed."))
    if plan.closing_changed:
        lines.append(_("The closing changed."))
    if plan.edited:
        lines.append(
            _("Changed answers: {numbers}").format(numbers=", ".join(map(str, plan.edited)))
        )
    if plan.added:
        lines.append(_("New questions: {numbers}").format(numbers=", ".join(map(str, plan.added))))
    if plan.removed:
        lines.append(
            _("Removed questions (old numbers): {numbers}").format(
                numbers=", ".join(map(str, plan.removed))
            )
        )
    for number in plan.edited[:SHOWN_CHANGES]:
        old_number = plan.previous[number - 1]
        assert old_number is not None
        old, turn = piece.turns[old_number - 1], new.turns[number - 1]
        lines += [
            "",
            _("<b>Answer {n}</b>, was:").format(n=number),
            f"<i>{_snippet(old.answer)}</i>",
            _("now:"),
            f"<i>{_snippet(turn.answer)}</i>",
        ]
    lines += [
        "",
        _(
            "Links and buttons keep opening the same answers. Notifications already sent "
            "({count}) are edited in place; nobody is notified again unless you choose "
            "“tell readers” (a short reply under each notification)."
        ).format(count=sent),
    ]
    return "\n".join(lines), _keyboard(
        request_id, _("✅ Correct"), _("✅ Correct and tell readers")
    )


def done_text(action: EditorAction, piece_id: int, followups: int) -> str:
    match action:
        case EditorAction.WITHDRAW:
            return _(
                "Piece {id} is withdrawn. Sent notifications to delete or replace: {count}."
            ).format(id=piece_id, count=followups)
        case EditorAction.RESTORE:
            return _("Piece {id} is restored.").format(id=piece_id)
        case EditorAction.PURGE:
            return _("Piece {id} is purged.").format(id=piece_id)
        case EditorAction.CORRECT:
            return _("Piece {id} is corrected. Sent notifications to edit: {count}.").format(
                id=piece_id, count=followups
            )
        case EditorAction.CANCEL:
            return _("Scheduled piece {id} is cancelled.").format(id=piece_id)
        case EditorAction.RELEASE:
            return _("Piece {id} is published now.").format(id=piece_id)
        case _:
            return _("Done.")


def request_gone_text() -> str:
    return _("This request is no longer open. Send the command again.")


def request_cancelled_text() -> str:
    return _("Cancelled: nothing changed.")


def scheduled_list_text(pieces: Sequence[PieceInfo], zone: tzinfo) -> str:
    """/scheduled: the waiting pieces with their times and what the editor can do."""
    if not pieces:
        return _("Nothing is scheduled.")
    lines = [_("<b>Scheduled pieces</b>")]
    for info in pieces:
        lines.append(
            f"{info.id} · {local(info.published_at, zone)} · "
            f"{escape(shorten(info.title, TITLE_CHARS))}"
        )
    lines += ["", _("/release N publishes one now, /cancel N drops it.")]
    return "\n".join(lines)


def newsroom_stats_text(
    channel: ChannelState | None,
    channel_id: str,
    audit: Sequence[AuditEntry],
    zone: tzinfo,
) -> str:
    """The channel's state and the editors' latest actions, under /stats."""
    lines = [_("<b>Channel</b>")]
    if not channel_id:
        lines.append(_("No channel is set (CHANNEL_ID)."))
    elif channel is None or channel.problem:
        problem = channel.problem if channel else _("not checked yet")
        lines.append(
            _("⚠️ {channel}: {problem}. Pieces are not posted there.").format(
                channel=escape(channel_id), problem=escape(problem or "")
            )
        )
    else:
        lines.append(
            _("{channel}: each new piece is posted there.").format(channel=escape(channel_id))
        )
    lines += ["", _("<b>Editors' latest actions</b>")]
    if not audit:
        lines.append(_("None yet."))
    for entry in audit:
        when = local(datetime.fromtimestamp(entry.at, UTC), zone)
        who = _("command line") if entry.actor == 0 else str(entry.actor)
        piece = f" · {entry.piece_id}" if entry.piece_id is not None else ""
        detail = f" · {escape(shorten(entry.detail, 80))}" if entry.detail else ""
        lines.append(f"{when} · {escape(who)} · {entry.action}{piece}{detail}")
    return "\n".join(lines)
