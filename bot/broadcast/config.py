"""How a broadcast is paced and how often a failed send is tried again."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from bot.domain.followups import EDIT_WINDOW_S

if TYPE_CHECKING:
    from bot.config import Settings


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff for 5xx, timeouts and network errors."""

    max_attempts: int = 6
    base_delay: float = 2.0
    max_delay: float = 300.0
    jitter: float = 0.2

    def gives_up(self, failures: int) -> bool:
        """True once a delivery has failed ``failures`` times: no more retries."""
        return failures >= self.max_attempts

    def delay(self, failures: int) -> float:
        raw = min(self.max_delay, self.base_delay * 2.0 ** max(failures - 1, 0))
        return raw * (1 + random.uniform(-self.jitter, self.jitter))


@dataclass(frozen=True, slots=True)
class BroadcastConfig:
    rate: float = 25.0  # messages per second, all chats together
    paid: bool = False  # send with allow_paid_broadcast (lets Telegram go up to 1000/s)
    per_chat_interval: float = 1.0  # at most one message per chat per this many seconds
    concurrency: int = 0  # sends in flight at most; 0: derived from the rate
    request_timeout: float = 20.0
    poll_interval: float = 0.5
    lease: float = 300.0  # a claim's lease (only matters without the lock file)
    buffer_seconds: float = 1.0  # claimed work kept in memory, in seconds of sending
    progress_interval: float = 2.0
    commit_linger: float = 0.01  # gather outcomes this long into one commit
    # finished deliveries are compacted this long after they finished, looked for this often;
    # sent notifications stay editable (corrections, withdrawals) for edit_window seconds
    compact_after: float = 600.0
    compact_interval: float = 60.0
    edit_window: float = EDIT_WINDOW_S
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> BroadcastConfig:
        config = cls(rate=settings.broadcast_rate, paid=settings.broadcast_paid)
        return replace(config, **overrides)  # type: ignore[arg-type]

    @property
    def workers(self) -> int:
        """Enough concurrent sends to reach the rate at ~0.5 s of API latency."""
        return self.concurrency or max(4, min(500, math.ceil(self.rate / 2)))

    @property
    def capacity(self) -> int:
        """Claimed deliveries held in memory at most."""
        return self.workers + math.ceil(self.rate * self.buffer_seconds)

    @property
    def refill(self) -> int:
        """Free places in memory that make the pickup claim again (a quarter of the capacity)."""
        return max(1, self.capacity // 4)
