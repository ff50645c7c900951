"""One delivery, from claim to outcome: render the notification, wait for the chat's turn and a
sending slot, send, and ``settle`` what a failed send makes of the delivery."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, assert_never

from aiogram import Bot
from aiogram.utils.i18n import I18n

from bot.broadcast.config import BroadcastConfig, RetryPolicy
from bot.broadcast.pacing import Pacing
from bot.broadcast.sender import NotificationSender, Ruling, Verdict, classify
from bot.domain.outbox import Claim, DeliveryState, Outcome
from bot.views.notification import notification

if TYPE_CHECKING:
    from storage import Repository

logger = logging.getLogger(__name__)


def settle(claim: Claim, ruling: Ruling, retry: RetryPolicy, now: float) -> Outcome | None:
    """What a failed send makes of its delivery; None for a pause: the same send goes again
    once sending resumes, and it does not count as an attempt."""
    failures = claim.attempts + 1
    match ruling.verdict:
        case Verdict.PAUSE:
            return None
        case Verdict.UNREACHABLE:
            return Outcome(claim, DeliveryState.UNREACHABLE, failures, error=ruling.reason)
        case Verdict.FAILED:
            return Outcome(claim, DeliveryState.FAILED, failures, error=ruling.reason)
        case Verdict.RETRY if retry.gives_up(failures):
            reason = f"gave up after {failures} attempts: {ruling.reason}"
            return Outcome(claim, DeliveryState.FAILED, failures, error=reason)
        case Verdict.RETRY:
            next_attempt = now + retry.delay(failures)
            return Outcome(
                claim,
                DeliveryState.PENDING,
                failures,
                error=ruling.reason,
                next_attempt=next_attempt,
            )
        case _:
            assert_never(ruling.verdict)


class Notifications:
    """The encoded notification of a piece in a language, rendered once (a small cache)."""

    def __init__(self, repo: Repository, i18n: I18n, *, paid: bool) -> None:
        self.repo = repo
        self.i18n = i18n
        self.paid = paid
        self._bodies: dict[tuple[int, str, str | None, int | None, bool], bytes | None] = {}

    async def body(self, piece_id: int, locale: str, claim: Claim | None = None) -> bytes | None:
        """``NotificationSender.encode``'s body, or None if the piece no longer exists; a
        ``claim`` made for a follow gets its own (why it came, the matching answer first), and
        a silent one ``disable_notification``."""
        follow, turn, silent = (
            (claim.follow, claim.turn, claim.silent) if claim else (None, None, False)
        )
        key = (piece_id, locale, follow, turn, silent)
        if key not in self._bodies:
            piece = await self.repo.get_piece(piece_id)
            if len(self._bodies) > 1024:
                self._bodies.clear()
            if piece is None:
                self._bodies[key] = None
            else:
                with self.i18n.context(), self.i18n.use_locale(locale):
                    text, markup = notification(piece, follow, turn)
                self._bodies[key] = NotificationSender.encode(
                    text, markup, paid=self.paid, silent=silent
                )
        return self._bodies[key]


class Courier:
    """Takes claims to their chats. ``deliver`` never raises: every claim comes back as an
    outcome, with its reason when it was not sent; ``counters`` counts them."""

    def __init__(
        self,
        notifications: Notifications,
        config: BroadcastConfig,
        pacing: Pacing,
        counters: Counter[str],
    ) -> None:
        self.config = config
        self.counters = counters
        self._notifications = notifications
        self._pacing = pacing
        self._notifier: NotificationSender | None = None
        self._gone: set[int] = set()  # chats found unreachable since ``open``

    def open(self, bot: Bot) -> None:
        """Send with ``bot``'s token and API server over a connection pool of its own."""
        self._gone.clear()
        self._notifier = NotificationSender(bot, self.config.workers)

    async def close(self) -> None:
        if self._notifier is not None:
            await self._notifier.close()
            self._notifier = None

    async def deliver(self, claim: Claim) -> Outcome:
        try:
            rendered = await self._notifications.body(claim.piece_id, claim.locale, claim)
        except Exception as error:
            logger.exception("Cannot render the notification of piece %d", claim.piece_id)
            reason = f"cannot render: {error!r}"
            return self._final(
                Outcome(claim, DeliveryState.FAILED, claim.attempts + 1, error=reason)
            )
        if rendered is None:
            reason = "the piece no longer exists"
            return self._final(
                Outcome(claim, DeliveryState.FAILED, claim.attempts + 1, error=reason)
            )
        notifier = self._notifier
        assert notifier is not None
        async with self._pacing.turn(claim.chat_id):
            if claim.chat_id in self._gone:  # found unreachable while this one waited
                reason = "unreachable (an earlier send failed)"
                return self._final(
                    Outcome(claim, DeliveryState.CANCELLED, claim.attempts, error=reason)
                )
            while True:
                try:
                    async with (
                        self._pacing.slot(claim.chat_id),
                        asyncio.timeout(self.config.request_timeout),
                    ):
                        message_id = await notifier.send(claim.chat_id, rendered)
                except Exception as error:
                    ruling = classify(error)
                    if not ruling.expected:  # a bug, not the network: still never drop it
                        logger.exception("Unexpected error sending to chat %d", claim.chat_id)
                    now = time.time()
                    outcome = settle(claim, ruling, self.config.retry, now)
                    if outcome is None:
                        self.counters["retry_after"] += 1
                        self._pacing.pause(ruling.retry_after)
                        logger.warning("Telegram asked to wait %d s: pausing", ruling.retry_after)
                        continue
                    if outcome.state is DeliveryState.PENDING:
                        return self._retrying(outcome, outcome.next_attempt - now)
                    return self._final(outcome)
                self.counters["sent"] += 1
                return Outcome(
                    claim,
                    DeliveryState.SENT,
                    claim.attempts + 1,
                    message_id=message_id,
                )

    def _final(self, outcome: Outcome) -> Outcome:
        """Count and log a delivery that ends unsent, and remember an unreachable chat."""
        claim, state = outcome.claim, outcome.state
        self.counters[state.value] += 1
        if state is DeliveryState.UNREACHABLE:
            self._gone.add(claim.chat_id)
        level = logging.INFO if state is DeliveryState.UNREACHABLE else logging.WARNING
        logger.log(
            level,
            "Delivery %d (piece %d → chat %d) %s: %s",
            claim.id,
            claim.piece_id,
            claim.chat_id,
            state.value,
            outcome.error,
        )
        return outcome

    def _retrying(self, outcome: Outcome, delay: float) -> Outcome:
        claim = outcome.claim
        self.counters["retried"] += 1
        logger.info(
            "Delivery %d → chat %d failed (%s); retry %d in %.1f s",
            claim.id,
            claim.chat_id,
            outcome.error,
            outcome.attempts,
            delay,
        )
        return outcome
