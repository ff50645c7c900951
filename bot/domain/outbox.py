"""Subscribers and the notification outbox as values: states, claims, outcomes, counts.

Delivery life cycle (``bot.broadcast`` drives it, ``storage`` keeps it)::

    pending ──claim──▶ sending ──▶ sent | failed | unreachable
       ▲                  │
       └──retry/release───┘        pending ──subscriber left──▶ cancelled
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SubscriberState(StrEnum):
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BLOCKED = "blocked"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # gave up: permanent error, or retries exhausted (reason in last_error)
    UNREACHABLE = "unreachable"  # 403 blocked/deactivated/kicked, 400 chat not found
    CANCELLED = "cancelled"  # the subscriber left before their turn, or the piece was withdrawn


FINAL_STATES = frozenset(
    {
        DeliveryState.SENT,
        DeliveryState.FAILED,
        DeliveryState.UNREACHABLE,
        DeliveryState.CANCELLED,
    }
)


@dataclass(frozen=True, slots=True)
class Subscriber:
    chat_id: int
    state: SubscriberState
    locale: str
    subscribed_at: str
    changed_at: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class SubscriberCounts:
    active: int = 0
    unsubscribed: int = 0
    blocked: int = 0

    @property
    def inactive(self) -> int:
        return self.unsubscribed + self.blocked


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery taken for sending (its row is ``sending``)."""

    id: int
    piece_id: int
    chat_id: int
    locale: str
    attempts: int
    follow: str | None = None  # the reader's follow the piece matched (why it came)
    turn: int | None = None  # the matching answer, shown first
    silent: bool = False  # send with disable_notification (quiet hours, or always)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed delivery. ``state`` is final, or ``PENDING`` for a retry."""

    claim: Claim
    state: DeliveryState
    attempts: int
    error: str | None = None
    message_id: int | None = None
    next_attempt: float = 0.0
    revision: int | None = None  # SENT: the piece's revision the message showed


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    pending: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    unreachable: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.done + self.remaining

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.unreachable + self.cancelled

    @property
    def remaining(self) -> int:
        return self.pending + self.sending


@dataclass(frozen=True, slots=True)
class Broadcast:
    piece_id: int
    title: str
    total: int
    created_at: float
    finished_at: float | None
    report_chat: int | None
    report_message: int | None
    report_locale: str | None
    reported: bool
    counts: DeliveryCounts
