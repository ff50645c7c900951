"""The post in the newsroom's channel: the title, the summary, and URL buttons that open the bot
(deep links: the questions, the three most quoted answers, subscribe). Channel readers are not
in a chat with the bot, so every button is a link, never a callback."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.domain.language import shorten
from bot.domain.models import Piece
from bot.views.keyboards import markup, url_button
from bot.views.notification import notification_sentences, notification_text

ANSWER_BUTTON_CHARS = 48
SUBSCRIBE_PAYLOAD = "subscribe"


def start_link(bot_username: str, payload: str) -> str:
    return f"https://t.me/{bot_username}?start={payload}"


def channel_post(
    piece: Piece, bot_username: str, top_links: Sequence[int]
) -> tuple[str, InlineKeyboardMarkup]:
    """The post of ``piece``; ``top_links`` are the links of its most quoted answers (≤ 3)."""
    text = notification_text(
        piece.title,
        piece.speaker,
        piece.published_at,
        notification_sentences(piece.summary.text, piece.lead),
        piece.turns,
        corrected=piece.corrected_at,
    )
    rows = [
        [
            url_button(
                _("Questions ({count})").format(count=len(piece.turns)),
                start_link(bot_username, f"{piece.id}_q"),
            )
        ]
    ]
    for link in list(dict.fromkeys(top_links))[:3]:
        number = piece.number_of(link)
        turn = piece.turn(number) if number is not None else None
        if turn is None:
            continue
        label = shorten(f"{number}. {turn.question_text}", ANSWER_BUTTON_CHARS)
        rows.append([url_button(label, start_link(bot_username, f"{piece.id}_{link}"))])
    rows.append(
        [url_button(_("🔔 Subscribe to new pieces"), start_link(bot_username, SUBSCRIBE_PAYLOAD))]
    )
    return text, markup(*rows)
