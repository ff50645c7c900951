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
