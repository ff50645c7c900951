"""The one way views build inline keyboards: rows of buttons in, a markup out.

Not aiogram's ``InlineKeyboardBuilder``: it deep-copies the whole keyboard on every
``button()`` call, which on the question list was 7 ms of a 9 ms update (``bench_updates``).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def url_button(text: str, url: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, url=url)


def markup(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    """A keyboard of ``rows``; empty rows are dropped."""
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def grid(buttons: Sequence[InlineKeyboardButton], per_row: int) -> InlineKeyboardMarkup:
    """``buttons`` in rows of ``per_row``."""
    return markup(*(list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)))
