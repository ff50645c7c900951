"""The message a subscriber gets when a piece is published."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.domain.follows import matching_paragraph
from bot.domain.language import shorten
from bot.domain.models import Piece, Turn
from bot.domain.summarizer import attributable
from bot.views.callbacks import AnswerView, PieceView, Setting, SettingChoice, View, Where
from bot.views.follow_buttons import because_text, follow_speaker_buttons
from bot.views.keyboards import button, markup
from bot.views.newsroom import corrected_mark
from bot.views.render import Block, render
from bot.views.subscription import with_subscription_button
from bot.views.summary import summary_blocks

NOTIFICATION_SUMMARY_CHARS = 900
MATCH_QUESTION_CHARS = 200
MATCH_ANSWER_CHARS = 450


def notification_text(
    title: str,
    speaker: str | None,
    when: datetime,
    sentences: Sequence[str],
    turns: Sequence[Turn] = (),
    corrected: datetime | None = None,
    *,
    follow: str | None = None,
    turn: Turn | None = None,
) -> str:
    """One message: the title, the byline and the summary, the expert's words attributed as in
    /summary; whole sentences, as many as fit a notification. A corrected piece says so; a
    piece sent because of a follow says so first and shows the matching answer before the
    summary."""
    byline = " · ".join(part for part in (speaker, when.strftime("%d.%m.%Y")) if part)
    blocks = [Block("🆕 " + title, "b"), Block(byline, "i", gap=False)]
    if corrected is not None:
        blocks.append(Block(corrected_mark(corrected), "i", gap=False))
    budget = NOTIFICATION_SUMMARY_CHARS
    if follow is not None:
        blocks.insert(0, Block("🔎 " + because_text(follow), "i"))
    if follow is not None and turn is not None:
        index = matching_paragraph(turn, follow)
        by = turn.speaker_at(index) or speaker
        answer = shorten(turn.answer[index], MATCH_ANSWER_CHARS)
        blocks.append(
            Block(f"{turn.number}. {shorten(turn.question_text, MATCH_QUESTION_CHARS)}", "b")
        )
        blocks.append(Block(f"{by}: «{answer}»" if by else f"— {answer}", gap=False))
        budget = NOTIFICATION_SUMMARY_CHARS // 2
    kept: list[str] = []
    for sentence in sentences:
        if kept and sum(map(len, kept)) + len(sentence) > budget:
            break
        kept.append(shorten(sentence, budget))
    # summary sentences may be repaired ("Поэтому…" dropped): look them up in that form too
    blocks += summary_blocks(kept, attributable(turns), speaker)
    return render(blocks)[0]


def notification_sentences(summary: Sequence[str], lead: Sequence[str]) -> Sequence[str]:
    return summary or lead


def notification(
    piece: Piece, follow: str | None = None, turn: int | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    """The message a reader gets when ``piece`` is published, with its buttons: a subscriber's,
    or (``follow``) a follower's, with the answer ``turn`` that matched first."""
    matched = piece.turn(turn) if turn is not None else None
    text = notification_text(
        piece.title,
        piece.speaker,
        piece.published_at,
        notification_sentences(piece.summary.text, piece.lead),
        piece.turns,
        corrected=piece.corrected_at,
        follow=follow,
        turn=matched,
    )
    questions = button(
        _("Questions ({count})").format(count=len(piece.turns)),
        PieceView(piece=piece.id, view=View.QUESTIONS),
    )
    first = [questions]
    if matched is not None:
        first.insert(
            0,
            button(
                _("Answer {n}").format(n=matched.number),
                AnswerView(piece=piece.id, n=matched.number),
            ),
        )
    follows = follow_speaker_buttons(piece)
    if follow is not None:  # a follower may not be subscribed: settings, not a toggle
        settings = button(_("⚙ Settings"), SettingChoice(field=Setting.MENU))
        return text, markup(first, follows, [settings])
    return text, with_subscription_button(markup(first, follows), True, Where.NOTIFICATION)
