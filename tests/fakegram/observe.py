"""Observing the bot: its messages in each chat, and waiting for messages and calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from tests.fakegram.state import Call, EmulatorState, SentMessage


class Observation(EmulatorState):
    """The bot's messages as users see them, and waits for messages and calls."""

    def messages(self, chat_id: int) -> list[SentMessage]:
        """Bot messages in the chat, in order, in their current state."""
        return list(self._sent.get(chat_id, []))

    def last_message(self, chat_id: int) -> SentMessage:
        """The latest bot message in the chat (AssertionError if none)."""
        sent = self._sent.get(chat_id)
        if not sent:
            raise AssertionError(f"the bot sent nothing to chat {chat_id}")
        return sent[-1]

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - public interface
    ) -> None:
        """Poll ``predicate`` until it holds; TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            await asyncio.sleep(0.005)

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109 - public interface
    ) -> list[SentMessage]:
        """Wait until the chat has at least ``count`` bot messages; returns them all."""
        try:
            await self.wait_until(lambda: len(self._sent.get(chat_id, [])) >= count, timeout)
        except TimeoutError:
            have = [m.text for m in self._sent.get(chat_id, [])]
            raise TimeoutError(
                f"chat {chat_id}: expected {count} bot messages within {timeout} s, got "
                f"{len(have)}: {have!r}; failed calls: "
                f"{[(c.method, c.error) for c in self.calls if c.answered and not c.ok]!r}; "
                f"updates dropped by allowed_updates: {self.dropped_updates!r}"
            ) from None
        return self.messages(chat_id)

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], bool] = lambda call: True,
        *,
        since: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109 - public interface
    ) -> Call:
        """First call of ``method`` at index >= ``since`` matching ``predicate``.

        Returns once the call has been processed (its effects applied; a long poll counts
        as soon as it is waiting), so ``ok``/``error`` may still be pending for getUpdates.
        """
        wanted = method.lower()
        found: list[Call] = []

        def check() -> bool:
            for call in self.calls[since:]:
                if call.processed and call.method.lower() == wanted and predicate(call):
                    found.append(call)
                    return True
            return False

        try:
            await self.wait_until(check, timeout)
        except TimeoutError:
            raise TimeoutError(f"no matching {method} call within {timeout} s") from None
        return found[0]
