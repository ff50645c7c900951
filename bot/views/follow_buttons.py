"""The "Follow …" buttons under notifications, answers and searches, and the "because you
follow" line (no import of the screens, which use them)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _

from bot.domain.follows import FollowProblem, answering_speakers, parse_follow
from bot.domain.language import shorten
from bot.domain.models import Piece
from bot.views.callbacks import FollowSpeaker, FollowWords
from bot.views.keyboards import button

BUTTON_NAME_CHARS = 40
MAX_SPEAKER_BUTTONS = 3


def follow_speaker_buttons(
    piece: Piece, names: Sequence[str] | None = None
) -> list[InlineKeyboardButton]:
    """ "Follow X" for each person who answers in the piece (or the ``names`` among them)."""
    speakers = answering_speakers(piece.speaker, piece.turns)
    return [
        button(
            _("➕ Follow {name}").format(name=shorten(name, BUTTON_NAME_CHARS)),
            FollowSpeaker(piece=piece.id, i=i),
        )
        for i, name in enumerate(speakers)
        if names is None or name in names
    ][:MAX_SPEAKER_BUTTONS]


def follow_words_button(query: str) -> InlineKeyboardButton | None:
    """ "Follow these words" under a search, when the words can be followed and fit a button."""
    spec = parse_follow(query)
    if isinstance(spec, FollowProblem):
        return None
    data = FollowWords(w=spec.phrase)
    if len(data.pack().encode()) > 64:
        return None
    return button(_("➕ Follow these words"), data)


def because_text(follow: str) -> str:
    return _("Because you follow «{phrase}»").format(phrase=follow)
