"""Readers first: background sending steps aside while a reader's update is being handled.

The broadcaster and the handlers share one event loop (and one interpreter lock with the
database threads). At a paid broadcast's 1,000 messages a second the sends take most of the
loop, and a reader's update waits behind them at every ``await``. ``ReaderPriority`` counts
the updates in progress (``serving``, entered by ``ReaderPriorityMiddleware`` around each
update); each send of the broadcaster, once it holds its rate slot, waits while any are in
progress (``yield_to_readers``) — but never longer than ``max_wait`` at a time, so a flood of
updates slows a broadcast down and cannot stop it.

Updates also wait before they reach a handler: in the loop's queue, while the poll that
fetches them (or the webhook request) takes its turn, and — on a busy host — while the process
waits for a core. So the broadcaster also watches the loop (``watch``): when a short sleep
wakes more than ``lag_limit`` late, the loop is behind, and new sends are held for ``hold_for``
(the rate limiter spaces them evenly after it, without a burst). The broadcast then runs below
its rate on a host that cannot give it and its readers the CPU both need; readers keep theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator

MAX_WAIT_S = 0.05
TICK_S = 0.01  # how often the loop's lateness is looked at
LAG_LIMIT_S = 0.02  # a tick this late: the loop is behind
HOLD_S = 0.1  # new sends held this long when it is


class ReaderPriority:
    """Updates in progress, and a way for background work to wait for them to finish."""

    def __init__(
        self,
        max_wait: float = MAX_WAIT_S,
        *,
        lag_limit: float = LAG_LIMIT_S,
        hold_for: float = HOLD_S,
    ) -> None:
        self.max_wait = max_wait
        self.lag_limit = lag_limit
        self.hold_for = hold_for
        self.held = 0  # times the loop was found behind
        self._serving = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.yielded = 0  # sends that waited for readers (for benchmarks and tests)

    @property
    def serving_now(self) -> int:
        return self._serving

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """An update is being handled inside this block."""
        self._serving += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._serving -= 1
            if self._serving == 0:
                self._idle.set()

    async def yield_to_readers(self) -> None:
        """Return once no update is being handled, or after ``max_wait``."""
        if self._serving == 0:
            return
        self.yielded += 1
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.max_wait):
                await self._idle.wait()

    async def watch(self, hold: Callable[[float], None], stopping: Callable[[], bool]) -> None:
        """Until ``stopping()``: call ``hold(hold_for)`` whenever the loop is behind."""
        while not stopping():
            started = time.monotonic()
            await asyncio.sleep(TICK_S)
            if time.monotonic() - started - TICK_S > self.lag_limit:
                self.held += 1
                hold(self.hold_for)
