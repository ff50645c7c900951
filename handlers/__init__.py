"""Routers, one per feature, in the order they must be tried (catch-all last)."""

from __future__ import annotations

from aiogram import Router

from handlers import fallback, reading, start


def get_routers() -> list[Router]:
    return [start.router, reading.router, fallback.router]
