"""The broadcaster: sends the notification outbox (``deliveries``) at a steady rate, safely.

Pipeline, all in the bot's event loop::

    pickup ──claim (commit 'sending')──▶ queue ──▶ N workers ──send──▶ outcomes ──▶ writer
      ▲ every poll_interval, or wake()                                   (group commit)

* **pickup** claims due deliveries in batches (one ``UPDATE … RETURNING`` per batch) so that
  about one second of work is buffered; it polls every ``poll_interval`` and is woken at once
  by ``wake()`` after an in-process publish.
* **workers** send concurrently, so the rate is reached whatever the API's latency. A global
  ``RateLimiter`` hands out evenly spaced slots (``rate`` per second) and ``ChatSpacing`` keeps
  one message per second per chat.
* **writer** commits outcomes as soon as they arrive, in one short transaction per group: what
  finished while the previous commit ran goes into the next (no waiting for a batch to fill).
  No transaction is ever held across a send.

Errors: a 429 pauses *all* sending for ``retry_after`` and the same delivery is retried (not a
failed attempt); 403 (blocked, deactivated, kicked) and 400 "chat not found" make the subscriber
inactive, no retry; 5xx, timeouts and network errors are retried with exponential backoff up to
``RetryPolicy.max_attempts``, then the delivery is ``failed`` with the reason. Every delivery
ends in a final state with its reason, and is logged: nothing is dropped silently.

Crash safety: only one broadcaster per database sends (an exclusive ``flock`` next to the
database, released by the kernel when the process dies). On start it returns every ``sending``
row to ``pending``: claimed rows that were never sent are simply sent now, and the only ones that
can reach a reader twice are those whose request was in flight (or whose outcome was not yet
committed, a millisecond or two) when the process died.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, assert_never

from aiogram import Bot
from aiogram.utils.i18n import I18n

from bot.broadcast.config import BroadcastConfig
from bot.broadcast.lock import BroadcastLock
from bot.broadcast.pacing import ChatSpacing, RateLimiter, nap
from bot.broadcast.progress import ProgressCallback, ProgressReporter
from bot.broadcast.sender import NotificationSender, Verdict, classify
from bot.domain.outbox import Claim, DeliveryState, Outcome
from bot.views.notification import notification

if TYPE_CHECKING:
    from storage import Repository

logger = logging.getLogger(__name__)


class Broadcaster:
    """Sends pending deliveries; ``start(bot)`` at bot start-up, ``stop()`` at shutdown."""

    def __init__(
        self,
        repo: Repository,
        config: BroadcastConfig,
        i18n: I18n,
        *,
        on_progress: ProgressCallback | None = None,
        lock: bool = True,
    ) -> None:
        self.repo = repo
        self.config = config
        self.i18n = i18n
        self.counters: Counter[str] = Counter()
        self._lock = BroadcastLock(repo.path, enabled=lock)
        self._limiter = RateLimiter(config.rate)
        self._chats = ChatSpacing(config.per_chat_interval)
        self._queue: asyncio.Queue[Claim | None] = asyncio.Queue()
        self._outcomes: asyncio.Queue[Outcome | None] = asyncio.Queue()
        self._in_hand: set[Claim] = set()
        self._gone: set[int] = set()  # chats found unreachable by this broadcaster
        self._outstanding = 0  # claimed, outcome not yet committed
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._workers: list[asyncio.Task[None]] = []
        self._writer: asyncio.Task[None] | None = None
        self._notifier: NotificationSender | None = None  # notifications
        self._rendered: dict[tuple[int, str], bytes | None] = {}
        self._reporter = ProgressReporter(
            repo, config, i18n, self._limiter, self._chats, on_progress
        )

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    async def start(self, bot: Bot) -> None:
        """Start sending with ``bot``'s token and API server over a session of its own (a
        broadcast never takes the connections replies to readers need)."""
        if self.running:
            return
        self._queue, self._outcomes = asyncio.Queue(), asyncio.Queue()  # fresh after a stop
        self._outstanding = 0
        self._gone.clear()
        self._reporter.open(bot)
        self._notifier = NotificationSender(bot, self.config.workers)
        self._writer = asyncio.create_task(self._write_loop(), name="broadcast-writer")
        self._workers = [
            asyncio.create_task(self._work_loop(), name=f"broadcast-worker-{i}")
            for i in range(self.config.workers)
        ]
        self._tasks = [
            asyncio.create_task(self._pickup_loop(), name="broadcast-pickup"),
            asyncio.create_task(self._reporter.run(self._ready), name="broadcast-progress"),
        ]
        logger.info(
            "Broadcaster started: %g messages/s%s, %d concurrent sends",
            self.config.rate,
            " (paid broadcast)" if self.config.paid else "",
            self.config.workers,
        )

    async def wait_ready(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Until the broadcaster holds the lock and has recovered interrupted claims."""
        async with asyncio.timeout(timeout):
            await self._ready.wait()

    def wake(self) -> None:
        """Look at the outbox now (something was just published)."""
        self._wake.set()
        self._reporter.poke()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop claiming, let sends in flight finish (up to ``grace`` seconds), commit every
        outcome and return unsent claims to the queue."""
        if not self.running:
            return
        self._stopping = True  # the loops finish what they are doing (no query cut short)
        self._wake.set()
        self._reporter.halt()
        _done, late = await asyncio.wait(self._tasks, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        unsent: list[Claim] = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None:
                unsent.append(item)
        for _ in self._workers:
            self._queue.put_nowait(None)
        _done, late = await asyncio.wait(self._workers, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        unsent.extend(self._in_hand)  # interrupted mid-send: in flight, may be repeated
        self._in_hand.clear()
        self._outcomes.put_nowait(None)
        if self._writer is not None:
            await self._writer
            self._writer = None
        try:
            await self.repo.release_claims([c.id for c in unsent])
        except Exception:
            logger.exception("Could not release %d claims; they resume at next start", len(unsent))
        await self._reporter.close()
        if self._notifier is not None:
            await self._notifier.close()
            self._notifier = None
        self._lock.release()
        self._ready.clear()
        self._stopping = False
        logger.info("Broadcaster stopped (%s)", dict(self.counters))

    # -- pickup -------------------------------------------------------------------------------

    async def _pickup_loop(self) -> None:
        warned = False
        while not self._lock.acquire():
            if not warned:
                logger.warning(
                    "Another process is broadcasting from %s; waiting for it to stop",
                    self.repo.path,
                )
                warned = True
            await nap(self._wake, self.config.poll_interval * 4)
            if self._stopping:
                return
        exclusive = self._lock.exclusive
        released = await self.repo.release_expired_claims(everything=exclusive)
        if released:
            logger.warning("Resuming: %d interrupted deliveries are queued again", released)
        self._ready.set()
        capacity = self.config.capacity
        refill = max(1, capacity // 4)
        while not self._stopping:
            self._wake.clear()
            free = capacity - self._outstanding
            if free >= refill:
                try:
                    claims = await self.repo.claim_deliveries(free, lease=self.config.lease)
                except Exception:
                    logger.exception("Could not claim deliveries; retrying")
                    claims = []
                    await asyncio.sleep(self.config.poll_interval)
                if claims:
                    self.counters["claims"] += 1
                    self._outstanding += len(claims)
                    for item in claims:
                        self._queue.put_nowait(item)
                    self._reporter.poke()
                if not exclusive:
                    await self.repo.release_expired_claims()
            await nap(self._wake, self.config.poll_interval)

    # -- sending ------------------------------------------------------------------------------

    async def _work_loop(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            self._in_hand.add(item)
            outcome = await self._deliver(item)
            self._in_hand.discard(item)
            self._outcomes.put_nowait(outcome)

    async def _render(self, piece_id: int, locale: str) -> bytes | None:
        """The encoded notification of a piece in a language (cached)."""
        key = (piece_id, locale)
        if key not in self._rendered:
            piece = await self.repo.get_piece(piece_id)
            if len(self._rendered) > 64:
                self._rendered.clear()
            if piece is None:
                self._rendered[key] = None
            else:
                with self.i18n.context(), self.i18n.use_locale(locale):
                    text, markup = notification(piece)
                self._rendered[key] = NotificationSender.encode(text, markup, paid=self.config.paid)
        return self._rendered[key]

    async def _deliver(self, claim: Claim) -> Outcome:
        try:
            rendered = await self._render(claim.piece_id, claim.locale)
        except Exception as error:
            logger.exception("Cannot render the notification of piece %d", claim.piece_id)
            return self._final(claim, DeliveryState.FAILED, f"cannot render: {error!r}")
        if rendered is None:
            return self._final(claim, DeliveryState.FAILED, "the piece no longer exists")
        notifier = self._notifier
        assert notifier is not None
        async with self._chats.turn(claim.chat_id):
            if claim.chat_id in self._gone:  # found unreachable while this one waited
                return self._final(
                    claim,
                    DeliveryState.CANCELLED,
                    "unreachable (an earlier send failed)",
                    tried=False,
                )
            while True:
                await self._limiter.acquire()
                try:
                    async with asyncio.timeout(self.config.request_timeout):
                        message_id = await notifier.send(claim.chat_id, rendered)
                except Exception as error:
                    ruling = classify(error)
                    if not ruling.expected:  # a bug, not the network: still never drop it
                        logger.exception("Unexpected error sending to chat %d", claim.chat_id)
                    match ruling.verdict:
                        case Verdict.PAUSE:
                            self.counters["retry_after"] += 1
                            self._limiter.pause(ruling.retry_after)
                            logger.warning(
                                "Telegram asked to wait %d s: pausing", ruling.retry_after
                            )
                            continue
                        case Verdict.UNREACHABLE:
                            return self._final(claim, DeliveryState.UNREACHABLE, ruling.reason)
                        case Verdict.FAILED:
                            return self._final(claim, DeliveryState.FAILED, ruling.reason)
                        case Verdict.RETRY:
                            return self._retry_or_fail(claim, ruling.reason)
                        case _:
                            assert_never(ruling.verdict)
                finally:
                    # spacing counts from the answer: the server saw this send before it
                    self._chats.mark(claim.chat_id)
                self.counters["sent"] += 1
                return Outcome(
                    claim,
                    DeliveryState.SENT,
                    claim.attempts + 1,
                    message_id=message_id,
                )

    def _final(
        self, claim: Claim, state: DeliveryState, reason: str, *, tried: bool = True
    ) -> Outcome:
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
            reason,
        )
        return Outcome(claim, state, claim.attempts + int(tried), error=reason)

    def _retry_or_fail(self, claim: Claim, reason: str) -> Outcome:
        failures = claim.attempts + 1
        policy = self.config.retry
        if policy.gives_up(failures):
            return self._final(
                claim, DeliveryState.FAILED, f"gave up after {failures} attempts: {reason}"
            )
        delay = policy.delay(failures)
        self.counters["retried"] += 1
        logger.info(
            "Delivery %d → chat %d failed (%s); retry %d in %.1f s",
            claim.id,
            claim.chat_id,
            reason,
            failures,
            delay,
        )
        return Outcome(
            claim,
            DeliveryState.PENDING,
            failures,
            error=reason,
            next_attempt=time.time() + delay,
        )

    # -- committing outcomes ------------------------------------------------------------------

    async def _write_loop(self) -> None:
        stopping = False
        while not stopping:
            first = await self._outcomes.get()
            if self.config.commit_linger > 0 and first is not None:
                await asyncio.sleep(self.config.commit_linger)
            batch = [first]
            while not self._outcomes.empty():
                batch.append(self._outcomes.get_nowait())
            outcomes = [o for o in batch if o is not None]
            stopping = len(outcomes) < len(batch)
            delay = 0.05
            while outcomes:
                try:
                    await self.repo.record_outcomes(outcomes)
                except Exception:
                    # the rows stay 'sending': never lost, at worst sent again after a crash
                    logger.exception("Could not record %d outcomes; retrying", len(outcomes))
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                self.counters["commits"] += 1
                self.counters["committed"] += len(outcomes)
                break
            self._outstanding -= len(outcomes)
            if self._outstanding <= self.config.capacity - max(1, self.config.capacity // 4):
                self._wake.set()
            if self._outstanding == 0:
                self._reporter.poke()  # the queue ran dry: show the final numbers now
