"""Pacing: the global sending rate, the spacing of messages to one chat, and naps between
looks at the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator

from bot.broadcast.priority import ReaderPriority


class RateLimiter:
    """Evenly spaced sending slots, ``rate`` per second, shared by all workers; ``pause`` holds
    every sender until the pause is over (a 429's retry_after).

    Slots are reserved ahead, so late wake-ups do not accumulate into a lower rate. The server
    counts a request when it arrives, somewhere between our ``acquire`` and the answer (an
    event-loop stall can hold written requests and release them together), so the sliding
    window counts each request from ``acquire`` until one second after its ``release``: then no
    second, as the server sees it, carries more than ``rate`` requests.

    Senders that find the window full wait in line, and only the first watches the clock: an
    answer frees no place (its request only moves from in flight to answered), a second after
    it does. Waking every waiting sender at each answer cost ~0.6 ms of CPU per message at
    1000/s with 500 senders, more than the rest of the broadcaster.
    """

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.limit = max(1, math.floor(rate))
        self._next = 0.0
        self._paused_until = 0.0
        self._held_until = 0.0  # readers first: no new sends while the event loop is behind
        self._in_flight = 0
        self._answered: deque[float] = deque()  # when requests of the last second were answered
        self._line: deque[asyncio.Future[None]] = deque()  # senders waiting for a place
        self._released = asyncio.Event()  # for the first in line while nothing was answered

    async def acquire(self) -> None:
        while True:
            now = time.monotonic()
            slot = max(self._next, now, self._paused_until, self._held_until)
            self._next = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)
            if await self._take_place():
                return
            # a pause began while this sender waited: take a slot after it

    async def _take_place(self) -> bool:
        """A place in the window, in the order senders came; False if a pause began."""
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._line.append(turn)
        try:
            if self._line[0] is not turn:
                await turn  # the one before hands over once it has its place
            while True:
                now = time.monotonic()
                if now < self._paused_until or now < self._held_until:
                    return False
                answered = self._answered
                while answered and now - answered[0] >= 1.0:
                    answered.popleft()
                if self._in_flight + len(answered) < self.limit:
                    self._in_flight += 1
                    return True
                if answered:
                    await asyncio.sleep(answered[0] + 1.0 - now)
                else:  # all in flight: the first answer starts the clock
                    self._released.clear()
                    await self._released.wait()
        finally:
            self._line.remove(turn)
            if self._line and not self._line[0].done():
                self._line[0].set_result(None)

    def release(self) -> None:
        """The request of an ``acquire`` was answered (or failed): it leaves the window a second
        from now."""
        self._in_flight -= 1
        self._answered.append(time.monotonic())
        self._released.set()

    def pause(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        if until > self._paused_until:
            self._paused_until = until
            self._next = max(self._next, until)

    def paused_for(self) -> float:
        return max(0.0, self._paused_until - time.monotonic())

    def hold(self, seconds: float) -> None:
        """No new request for ``seconds`` (the slots move on evenly after it, no burst)."""
        until = time.monotonic() + seconds
        if until > self._held_until:
            self._held_until = until
            self._next = max(self._next, until)


class ChatSpacing:
    """One delivery per chat at a time, at least ``interval`` seconds after the previous send."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: OrderedDict[int, float] = OrderedDict()  # oldest send first
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, chat_id: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(chat_id) or (asyncio.Lock(), 0)
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                last = self._last.get(chat_id)
                if last is not None:
                    wait = last + self.interval - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users <= 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, users - 1)

    def mark(self, chat_id: int) -> None:
        """The API just answered a message to ``chat_id``: the next one waits ``interval`` from
        now (so the server sees at least that much between them)."""
        now = time.monotonic()
        self._last[chat_id] = now
        self._last.move_to_end(chat_id)
        while self._last:
            oldest_chat, oldest = next(iter(self._last.items()))
            if now - oldest < self.interval:
                break
            del self._last[oldest_chat]


class Pacing:
    """The limits every message of a broadcast keeps, notifications and progress messages alike:
    the global rate, shared by all senders, and the spacing of each chat's messages; with a
    ``priority``, a sender holding its slot lets the readers' updates in progress go first."""

    def __init__(
        self, rate: float, per_chat_interval: float, priority: ReaderPriority | None = None
    ) -> None:
        self.limiter = RateLimiter(rate)
        self.chats = ChatSpacing(per_chat_interval)
        self.priority = priority

    def turn(self, chat_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        """The chat's turn: its messages go one at a time, ``per_chat_interval`` apart."""
        return self.chats.turn(chat_id)

    @contextlib.asynccontextmanager
    async def slot(self, chat_id: int) -> AsyncIterator[None]:
        """A sending slot, within the chat's turn; the chat's spacing counts from the end of the
        block, when the API has answered (the server saw the message before that)."""
        await self.limiter.acquire()
        try:
            if self.priority is not None:
                await self.priority.yield_to_readers()
            yield
        finally:
            self.limiter.release()
            self.chats.mark(chat_id)

    def pause(self, seconds: float) -> None:
        """Hold every sender for ``seconds`` (a 429's retry_after)."""
        self.limiter.pause(seconds)

    def paused_for(self) -> float:
        return self.limiter.paused_for()

    def hold(self, seconds: float) -> None:
        """No new sends for ``seconds``: readers first (``ReaderPriority.watch``)."""
        self.limiter.hold(seconds)


async def nap(event: asyncio.Event, seconds: float) -> None:
    """Until ``event`` is set or ``seconds`` pass."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
