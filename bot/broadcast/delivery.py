"""One delivery, from claim to outcome: render the notification, wait for the chat's turn and a
sending slot, send, and ``settle`` what a failed send makes of the delivery."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, assert_never

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.broadcast.config import BroadcastConfig, RetryPolicy
from bot.broadcast.pacing import Pacing
from bot.broadcast.sender import NotificationSender, Ruling, Verdict, classify
from bot.domain.models import Piece
from bot.domain.outbox import Claim, DeliveryState, Outcome
from bot.views.channel import channel_post
from bot.views.notification import notification

if TYPE_CHECKING:
    from storage import Repository
    from storage.channel import ChannelState

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
    """What a delivery sends: a subscriber's notification, or the channel's post (URL buttons
    into the bot, in its forum topic), rendered once per piece revision (a small cache): a piece
    corrected while its broadcast runs is sent in its corrected form."""

    def __init__(self, repo: Repository, i18n: I18n, *, paid: bool) -> None:
        self.repo = repo
        self.i18n = i18n
        self.paid = paid
        self.channel: ChannelState | None = None  # set by the broadcaster at start
        self.bot_username = ""
        self._bodies: dict[tuple[int, int, str, bool, str | None, int | None, bool], bytes] = {}

    def is_channel(self, chat_id: int) -> bool:
        return self.channel is not None and chat_id == self.channel.chat_id

    async def message(
        self,
        piece: Piece,
        chat_id: int,
        locale: str,
        follow: str | None = None,
        turn: int | None = None,
    ) -> tuple[str, InlineKeyboardMarkup, int | None]:
        """Text, keyboard and forum topic of the message ``chat_id`` gets for ``piece`` (a
        follower's says why it came and shows the matching answer ``turn`` first)."""
        with self.i18n.context(), self.i18n.use_locale(locale):
            if self.channel is not None and self.is_channel(chat_id):
                top = await self.repo.top_quotes(piece.id, 12)
                text, markup = channel_post(
                    piece, self.bot_username, [hit.turn_number for hit in top]
                )
                return text, markup, self.channel.thread_id
            text, markup = notification(piece, follow, turn)
            return text, markup, None

    async def body(
        self, piece_id: int, chat_id: int, locale: str, claim: Claim | None = None
    ) -> tuple[bytes, int] | None:
        """``NotificationSender.encode``'s body and the piece's revision, or None if readers
        can no longer see the piece (withdrawn, or gone). A ``claim`` made for a follow gets its
        own (why it came, the matching answer first), a silent one ``disable_notification``."""
        piece = await self.repo.get_piece(piece_id)
        if piece is None:
            return None
        follow, turn, silent = (
            (claim.follow, claim.turn, claim.silent) if claim else (None, None, False)
        )
        channel = self.is_channel(chat_id)
        key = (piece_id, piece.revision, locale, channel, follow, turn, silent)
        if key not in self._bodies:
            if len(self._bodies) > 1024:
                self._bodies.clear()
            text, markup, thread = await self.message(piece, chat_id, locale, follow, turn)
            self._bodies[key] = NotificationSender.encode(
                text, markup, paid=self.paid and not channel, thread_id=thread, silent=silent
            )
        return self._bodies[key], piece.revision


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
        # the chat's turn first: a chat's notifications go in claim order, however long each
        # one's rendering waits for the database
        async with self._pacing.turn(claim.chat_id):
            return await self._deliver(claim)

    async def _deliver(self, claim: Claim) -> Outcome:
        try:
            rendered = await self._notifications.body(
                claim.piece_id, claim.chat_id, claim.locale, claim
            )
        except Exception as error:
            logger.exception("Cannot render the notification of piece %d", claim.piece_id)
            reason = f"cannot render: {error!r}"
            return self._final(
                Outcome(claim, DeliveryState.FAILED, claim.attempts + 1, error=reason)
            )
        if rendered is None:
            reason = "withdrawn"  # or gone: readers cannot see the piece any more
            return self._final(
                Outcome(claim, DeliveryState.CANCELLED, claim.attempts, error=reason)
            )
        body, revision = rendered
        notifier = self._notifier
        assert notifier is not None
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
                    message_id = await notifier.send(claim.chat_id, body)
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
                revision=revision,
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
