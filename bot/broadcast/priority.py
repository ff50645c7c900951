"""Readers first: background sending steps aside while a reader's update is being handled.

The broadcaster and the handlers share one event loop (and one interpreter lock with the
database threads). At a paid broadcast's 1,000 messages a second the sends take most of the
loop, and a reader's update waits behind them at every ``await``. ``ReaderPriority`` counts
the updates in progress (``serving``, entered by ``ReaderPriorityMiddleware`` around each
update); each send of the broadcaster, once it holds its rate slot, waits while any are in
progress (``yield_to_readers``) — but never longer than ``max_wait`` at a time, so a flood of
updates slows a broadcast down and cannot stop it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

MAX_WAIT_S = 0.05


class ReaderPriority:
    """Updates in progress, and a way for background work to wait for them to finish."""

    def __init__(self, max_wait: float = MAX_WAIT_S) -> None:
        self.max_wait = max_wait
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
