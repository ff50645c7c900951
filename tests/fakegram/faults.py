"""Fault injection: users who blocked the bot or left, failing and slow methods, flood
limits."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from tests.fakegram.errors import ApiError
from tests.fakegram.state import Delay, EmulatorState, Fault


class FaultInjection(EmulatorState):
    """``block``/``deactivate``/``fail_next``/``delay``, and the flood limits."""

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sends to this chat get 403."""
        self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        """Undo ``block``."""
        self._blocked.discard(user_id)

    def deactivate(self, user_id: int) -> None:
        """The user deletes the account: calls for this chat get 403 "user is deactivated"."""
        self._deactivated.add(user_id)

    def fail_next(
        self,
        method: str,
        *,
        times: int = 1,
        status: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (optionally for one chat) fail."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = {
                400: "Bad Request",
                401: "Unauthorized",
                403: "Forbidden",
                404: "Not Found",
                409: "Conflict",
                429: f"Too Many Requests: retry after {retry_after}",
                500: "Internal Server Error",
                502: "Bad Gateway",
                503: "Service Unavailable",
                504: "Gateway Timeout",
            }.get(status, "Internal Server Error")
        self._faults.append(Fault(method.lower(), times, status, description, retry_after, chat_id))

    def delay(self, method: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` hang ``seconds`` before being processed."""
        self._delays.append(Delay(method.lower(), seconds, times))

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self._faults:
            if fault.method != method:
                continue
            if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            return fault
        return None

    def _take_delay(self, method: str) -> float:
        for item in self._delays:
            if item.method == method:
                item.times -= 1
                if item.times <= 0:
                    self._delays.remove(item)
                return item.seconds
        return 0.0

    def _check_flood(self, chat_id: int) -> None:
        """429 for a message that would make some one-second window (sliding, as the server
        sees it) hold more than the limit: the limit's whole part, not a message more."""
        if self.flood_limits is None or chat_id in self.flood_exempt:
            return
        global_rate, chat_rate = self.flood_limits
        now = self.clock()
        window = self._chat_send_times.setdefault(chat_id, deque())
        for times in (self._send_times, window):
            while times and now - times[0] >= 1.0:
                times.popleft()
        for times, rate in ((self._send_times, global_rate), (window, chat_rate)):
            limit = max(1, math.floor(rate))
            if rate > 0 and len(times) >= limit:
                # the oldest send in the window must age out before another fits
                index = len(times) - limit
                wait = 1.0 - (now - times[index])
                retry_after = max(1, math.ceil(wait))
                self.flood_rejected += 1
                raise ApiError(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after},
                )
        self._send_times.append(now)
        window.append(now)

    def reset_flood(self) -> None:
        """Forget the sends counted so far and the rejections (a new measurement)."""
        self._send_times.clear()
        self._chat_send_times.clear()
        self.flood_rejected = 0
