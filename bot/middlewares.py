"""Update-level middlewares: a log line per update with its timing, readers before the
broadcaster, and per-user throttling."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update, User
from aiogram.utils.i18n import I18n

from bot.broadcast.priority import ReaderPriority
from bot.i18n import N_, reader_locale

logger = logging.getLogger("bot.updates")

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
# what a person types or taps; a block/unblock (my_chat_member) must never be dropped
THROTTLED_UPDATES = frozenset({"message", "edited_message", "callback_query", "inline_query"})
SLOW_DOWN = N_("You are sending too much too fast; please wait a few seconds.")
# Telegram sends an inline query on nearly every keystroke: a reader typing fast sends 8-10 a
# second for as long as they type. Inline queries get their own bucket at a rate no human
# reaches, so only a script is slowed down; a typist's stale queries are let go instead
# (``LatestInlineQuery``).
INLINE_RATE = 25.0
INLINE_BURST = 50.0


class UpdateLogMiddleware(BaseMiddleware):
    """One line per update: id, type, user, outcome and time taken."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await handler(event, data)
            outcome = "unhandled" if result is UNHANDLED else "ok"
            return result
        finally:
            user: User | None = data.get("event_from_user")
            update = event if isinstance(event, Update) else None
            logger.info(
                "update=%s type=%s user=%s outcome=%s ms=%.1f",
                update.update_id if update else "-",
                update.event_type if update else type(event).__name__,
                user.id if user else "-",
                outcome,
                (time.perf_counter() - started) * 1000,
            )


class ReaderPriorityMiddleware(BaseMiddleware):
    """Marks each update as being served, so that the broadcaster's sends wait for it
    (``bot/broadcast/priority.py``)."""

    def __init__(self, priority: ReaderPriority) -> None:
        self.priority = priority

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        with self.priority.serving():
            return await handler(event, data)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float
    warned: bool = False


class ThrottlingMiddleware(BaseMiddleware):
    """A token bucket per user over every kind of update (messages, buttons, inline queries).

    A user who exceeds ``rate`` updates per second (after a ``burst``) has further updates
    dropped until the bucket refills, and gets one polite notice per episode. Other users are
    unaffected: nothing here waits, and state is per user (bounded, least recently seen first out).
    Inline queries fill a bucket of their own, at ``inline_rate``/``inline_burst``.
    """

    def __init__(
        self,
        i18n: I18n,
        *,
        rate: float = 3.0,
        burst: float = 12.0,
        max_users: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
        inline_rate: float = INLINE_RATE,
        inline_burst: float = INLINE_BURST,
    ) -> None:
        self.i18n = i18n
        self.rate = rate
        self.burst = burst
        self.inline_rate = max(rate, inline_rate)
        self.inline_burst = max(burst, inline_burst)
        self.max_users = max_users
        self.clock = clock
        self._buckets: OrderedDict[tuple[int, bool], _Bucket] = OrderedDict()
        self.dropped = 0

    def allow(self, user_id: int, *, inline: bool = False) -> tuple[bool, bool]:
        """(allowed, first refusal of this episode) for one update from ``user_id``."""
        now = self.clock()
        rate, burst = (self.inline_rate, self.inline_burst) if inline else (self.rate, self.burst)
        key = (user_id, inline)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(burst, now)
            if len(self._buckets) > self.max_users:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            if bucket.tokens >= burst / 2:
                bucket.warned = False
            return True, False
        first = not bucket.warned
        bucket.warned = True
        return False, first

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if (
            user is None
            or user.is_bot
            or (isinstance(event, Update) and event.event_type not in THROTTLED_UPDATES)
        ):
            return await handler(event, data)
        inline = isinstance(event, Update) and event.inline_query is not None
        allowed, notify = self.allow(user.id, inline=inline)
        if allowed:
            return await handler(event, data)
        self.dropped += 1
        if isinstance(event, Update):
            if notify:
                logger.warning("Throttling user %s (update %s)", user.id, event.update_id)
            await self._notice(event, user, notify)
        return UNHANDLED

    async def _notice(self, update: Update, user: User, notify: bool) -> None:
        """The one polite notice; dropped button presses are still answered (no spinner)."""
        text = self.i18n.gettext(SLOW_DOWN, locale=reader_locale(self.i18n, user.language_code))
        if update.callback_query is not None:
            await update.callback_query.answer(text if notify else None)
        elif not notify:
            return
        elif update.message is not None:
            await update.message.answer(text)
        elif update.inline_query is not None:
            await update.inline_query.answer([], cache_time=1, is_personal=True)


class LatestInlineQuery(BaseMiddleware):
    """Serve a user's latest inline query; let the older ones still waiting go unanswered.

    Telegram shows only the answer to the query the reader's text now holds, so an answer to an
    older one is wasted work (and with polling in tasks, a late old answer could arrive after
    the new one). Each query takes a ticket; before its handler runs, a query whose user has
    sent a newer one since is dropped. The first yield lets the updates of one poll, which run
    as tasks, all take their tickets first.
    """

    def __init__(self, max_users: int = 100_000) -> None:
        self._latest: OrderedDict[int, int] = OrderedDict()
        self._tickets = 0
        self.max_users = max_users
        self.superseded = 0

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        self._tickets += 1
        ticket = self._tickets
        self._latest[user.id] = ticket
        self._latest.move_to_end(user.id)
        if len(self._latest) > self.max_users:
            self._latest.popitem(last=False)
        await asyncio.sleep(0)
        if self._latest.get(user.id, ticket) != ticket:
            self.superseded += 1
            return UNHANDLED
        return await handler(event, data)
