"""Routers, one per feature, in the order they must be tried (catch-all last).

Each module builds its router in ``create_router()`` so that every dispatcher (the bot, the
console preview, each test) gets its own routers.
"""

from __future__ import annotations

from aiogram import Router

from handlers import (
    admin,
    asking,
    errors,
    fallback,
    follows,
    newsroom,
    reading,
    search,
    start,
    subscriptions,
)


def get_routers() -> list[Router]:
    return [
        errors.create_router(),
        start.create_router(),
        reading.create_router(),
        search.create_router(),
        asking.create_router(),
        subscriptions.create_router(),
        newsroom.create_router(),  # before admin: /correct comes with a document
        follows.create_router(),
        admin.create_router(),
        fallback.create_router(),
    ]
