"""The daily digest worker: schedules due digests and sends them, one message per reader and day.

Runs beside the delivery pipeline in the broadcaster (same lock, same pacing, same sender and
the same ``settle`` of failed sends); the digests' own outbox is ``storage/digests.py``. After a
crash, claimed digests go back to pending when the worker starts (a digest in flight at the
crash may arrive twice, as a delivery may); a digest due while the bot was down is scheduled at
start, once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.utils.i18n import I18n

from bot.broadcast.config import BroadcastConfig
from bot.broadcast.delivery import settle
from bot.broadcast.pacing import Pacing, nap
from bot.broadcast.sender import NotificationSender, classify
from bot.domain.outbox import Claim, DeliveryState, Outcome
from bot.views.follows import digest_message

if TYPE_CHECKING:
    from storage import Repository

logger = logging.getLogger(__name__)

BATCH = 20
SCHEDULE_EVERY = 20.0  # seconds between looks for digests that came due


class DigestWorker:
    def __init__(
        self,
        repo: Repository,
        config: BroadcastConfig,
        i18n: I18n,
        pacing: Pacing,
        counters: Counter[str],
        *,
        schedule_every: float = SCHEDULE_EVERY,
    ) -> None:
        self.repo = repo
        self.config = config
        self.i18n = i18n
        self.counters = counters
        self.schedule_every = schedule_every
        self._pacing = pacing
        self._notifier: NotificationSender | None = None
        self._wake = asyncio.Event()

    def open(self, bot: Bot) -> None:
        self._notifier = NotificationSender(bot, 2)

    async def close(self) -> None:
        if self._notifier is not None:
            await self._notifier.close()
            self._notifier = None

    def wake(self) -> None:
        self._wake.set()

    async def run(self, ready: asyncio.Event, stopping: Callable[[], bool]) -> None:
        await ready.wait()  # the broadcaster holds the lock: claims left by a crash are ours
        released = await self.repo.release_digests(everything=True)
        if released:
            logger.warning("Resuming: %d interrupted digests are queued again", released)
        last_schedule = 0.0
        while not stopping():
            self._wake.clear()
            try:
                if time.monotonic() - last_schedule >= self.schedule_every:
                    last_schedule = time.monotonic()
                    created = await self.repo.schedule_digests()
                    if created:
                        logger.info("%d daily digests are due", created)
                claims = await self.repo.claim_digests(BATCH, lease=self.config.lease)
            except Exception:
                logger.exception("Could not schedule or claim digests; retrying")
                claims = []
            for index, claim in enumerate(claims):
                if stopping():
                    await self.repo.release_digests([c.id for c in claims[index:]])
                    return
                outcome = await self._deliver(claim)
                await self.repo.record_digests([outcome])
            if not claims:
                await nap(self._wake, min(self.schedule_every, self.config.poll_interval * 4))

    async def _deliver(self, claim: Claim) -> Outcome:
        entries = await self.repo.digest_entries(claim.id)
        if not entries:
            return Outcome(claim, DeliveryState.CANCELLED, claim.attempts, error="nothing left")
        with self.i18n.context(), self.i18n.use_locale(claim.locale):
            text, markup = digest_message(
                [(e.piece_id, e.title, e.speaker, e.first_line, e.follow, e.turn) for e in entries]
            )
        body = NotificationSender.encode(text, markup, paid=self.config.paid, silent=claim.silent)
        notifier = self._notifier
        assert notifier is not None
        async with self._pacing.turn(claim.chat_id):
            while True:
                try:
                    async with (
                        self._pacing.slot(claim.chat_id),
                        asyncio.timeout(self.config.request_timeout),
                    ):
                        message_id = await notifier.send(claim.chat_id, body)
                except Exception as error:
                    ruling = classify(error)
                    outcome = settle(claim, ruling, self.config.retry, time.time())
                    if outcome is None:
                        self._pacing.pause(ruling.retry_after)
                        continue
                    logger.warning(
                        "Digest %d → chat %d: %s", claim.id, claim.chat_id, ruling.reason
                    )
                    return outcome
                self.counters["digests"] += 1
                return Outcome(claim, DeliveryState.SENT, claim.attempts + 1, message_id=message_id)
