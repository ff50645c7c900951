"""Callback data factories: every button the bot shows is one of these (≤ 64 bytes)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class View(StrEnum):
    SUMMARY = "s"
    SUMMARY_SHORT = "ss"
    SUMMARY_LONG = "sl"
    QUESTIONS = "q"


class PieceView(CallbackData, prefix="v"):
    """Show a view of a piece; ``page`` pages the question list."""

    piece: int
    view: View
    page: int = 0


class AnswerView(CallbackData, prefix="a"):
    """Open answer ``n`` of a piece."""

    piece: int
    n: int


class ArchivePage(CallbackData, prefix="p"):
    page: int


class ChoosePiece(CallbackData, prefix="c"):
    piece: int


class Where(StrEnum):
    """The message a subscription button sits under (what to redraw after a press)."""

    START = "s"
    NOTIFICATION = "n"
    REPLY = "r"


class SubscriptionToggle(CallbackData, prefix="sub"):
    """Subscribe (``on``) or unsubscribe the chat."""

    on: bool
    where: Where = Where.NOTIFICATION


class DraftAction(CallbackData, prefix="draft"):
    """Publish (``publish``) or cancel an uploaded draft, held server-side under ``draft``."""

    draft: str
    publish: bool


class RequestAction(CallbackData, prefix="rq"):
    """Confirm (``confirm``) or cancel an editor's held request (withdraw, restore, purge,
    correct), held server-side under ``request``."""

    request: str
    confirm: bool
    notify: bool = False  # a correction: also send readers a short notice


class FollowSpeaker(CallbackData, prefix="fs"):
    """Follow speaker number ``i`` (in order of first answer) of a piece."""

    piece: int
    i: int


class FollowWords(CallbackData, prefix="fw"):
    """Follow the words of a search (only offered when they fit in 64 bytes)."""

    w: str


class Unfollow(CallbackData, prefix="uf"):
    """Stop following one follow (its id)."""

    id: int


class Setting(StrEnum):
    MODE = "m"
    SILENCE = "s"
    ZONE = "z"
    DIGEST = "d"
    MENU = "o"  # open the settings (from a notification)


class SettingChoice(CallbackData, prefix="set"):
    """Set one of the reader's settings to ``value`` (its enum value or a number)."""

    field: Setting
    value: str = ""
