"""Update-level middlewares: a log line per update with its timing, and per-user throttling."""

from __future__ import annotations

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

from bot.i18n import N_, reader_locale

logger = logging.getLogger("bot.updates")

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
# what a person types or taps; a block/unblock (my_chat_member) must never be dropped
THROTTLED_UPDATES = frozenset({"message", "edited_message", "callback_query", "inline_query"})
SLOW_DOWN = N_("You are sending too much too fast; please wait a few seconds.")


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
    """

    def __init__(
        self,
        i18n: I18n,
        *,
        rate: float = 3.0,
        burst: float = 12.0,
        max_users: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.i18n = i18n
        self.rate = rate
        self.burst = burst
        self.max_users = max_users
        self.clock = clock
        self._buckets: OrderedDict[int, _Bucket] = OrderedDict()
        self.dropped = 0

    def allow(self, user_id: int) -> tuple[bool, bool]:
        """(allowed, first refusal of this episode) for one update from ``user_id``."""
        now = self.clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = _Bucket(self.burst, now)
            if len(self._buckets) > self.max_users:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(user_id)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            if bucket.tokens >= self.burst / 2:
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
        allowed, notify = self.allow(user.id)
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
