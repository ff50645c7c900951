"""The message a subscriber gets when a piece is published."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.domain.language import shorten
from bot.domain.models import Piece, Turn
from bot.domain.summarizer import attributable
from bot.views.callbacks import PieceView, View, Where
from bot.views.keyboards import button, markup
from bot.views.newsroom import corrected_mark
from bot.views.render import Block, render
from bot.views.subscription import with_subscription_button
from bot.views.summary import summary_blocks

NOTIFICATION_SUMMARY_CHARS = 900


def notification_text(
    title: str,
    speaker: str | None,
    when: datetime,
    sentences: Sequence[str],
    turns: Sequence[Turn] = (),
    corrected: datetime | None = None,
) -> str:
    """One message: the title, the byline and the summary, the expert's words attributed as in
    /summary; whole sentences, as many as fit a notification. A corrected piece says so."""
    byline = " · ".join(part for part in (speaker, when.strftime("%d.%m.%Y")) if part)
    blocks = [Block("🆕 " + title, "b"), Block(byline, "i", gap=False)]
    if corrected is not None:
        blocks.append(Block(corrected_mark(corrected), "i", gap=False))
    kept: list[str] = []
    for sentence in sentences:
        if kept and sum(map(len, kept)) + len(sentence) > NOTIFICATION_SUMMARY_CHARS:
            break
        kept.append(shorten(sentence, NOTIFICATION_SUMMARY_CHARS))
    # summary sentences may be repaired ("Поэтому…" dropped): look them up in that form too
    blocks += summary_blocks(kept, attributable(turns), speaker)
    return render(blocks)[0]


def notification_sentences(summary: Sequence[str], lead: Sequence[str]) -> Sequence[str]:
    return summary or lead


def notification(piece: Piece) -> tuple[str, InlineKeyboardMarkup]:
    """The message a subscriber gets when ``piece`` is published, with its buttons."""
    text = notification_text(
        piece.title,
        piece.speaker,
        piece.published_at,
        notification_sentences(piece.summary.text, piece.lead),
        piece.turns,
        corrected=piece.corrected_at,
    )
    questions = button(
        _("Questions ({count})").format(count=len(piece.turns)),
        PieceView(piece=piece.id, view=View.QUESTIONS),
    )
    return text, with_subscription_button(markup([questions]), True, Where.NOTIFICATION)
