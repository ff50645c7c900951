"""What readers see of the editors' work after publishing: a withdrawn piece, a corrected
answer, the edited notification and the correction notice. Escaped HTML, translated."""

from __future__ import annotations

from datetime import datetime

from aiogram.utils.i18n import gettext as _

from bot.domain.language import shorten
from bot.views.render import escape

REASON_CHARS = 300


def day(moment: datetime) -> str:
    return moment.strftime("%d.%m.%Y")


def withdrawn_text(reason: str | None) -> str:
    """The reply to a link or button of a withdrawn piece."""
    text = _("This piece was withdrawn by the editors.")
    if reason:
        text += "\n" + _("Reason: {reason}").format(reason=escape(shorten(reason, REASON_CHARS)))
    return text


def withdrawn_note(reason: str | None) -> str:
    """What a sent notification becomes when Telegram no longer lets the bot delete it."""
    return "🚫 " + withdrawn_text(reason)


def corrected_mark(moment: datetime) -> str:
    """Under a corrected answer, and in an edited notification (plain text, no markup)."""
    return _("✏️ corrected {date}").format(date=day(moment))


def correction_notice(title: str) -> str:
    """The short message sent with ``--notify`` in reply to the corrected notification."""
    return _("✏️ The editors corrected «{title}». The message above shows the new text.").format(
        title=escape(shorten(title, 120))
    )


def removed_answer_text() -> str:
    """A deep link or button to an answer that a correction removed."""
    return _("This answer is no longer in the piece: the editors corrected it. See /questions.")
