"""The broadcaster: sends the notification outbox (``deliveries``) at a steady rate, safely.

Pipeline, all in the bot's event loop::

    pickup ──claim (commit 'sending')──▶ queue ──▶ N workers ──send──▶ outcomes ──▶ writer
      ▲ every poll_interval, or wake()                                   (group commit)

* **pickup** claims due deliveries in batches (one ``UPDATE … RETURNING`` per batch) so that
  about one second of work is buffered; it polls every ``poll_interval`` and is woken at once
  by ``wake()`` after an in-process publish.
* **workers** send concurrently, so the rate is reached whatever the API's latency; each claim
  goes through the ``Courier`` (``delivery.py``), paced by a global ``RateLimiter`` and by
  ``ChatSpacing`` (``pacing.py``), and comes back as an outcome: sent, retry later, or final
  with its reason (``sender.classify`` rules on each error). Nothing is dropped silently.
* **writer** commits outcomes as soon as they arrive, in one short transaction per group: what
  finished while the previous commit ran goes into the next (no waiting for a batch to fill).
  No transaction is ever held across a send.
* the **progress reporter** (``progress.py``) keeps the editor's message up to date.
* the **compactor** keeps the outbox small: every ``compact_interval`` it folds deliveries that
  finished ``compact_after`` ago into their broadcast's counters and edit targets
  (``Outbox.compact_deliveries``, a few thousand rows per short transaction) and forgets the
  edit targets of pieces older than ``edit_window``.

Crash safety: only one broadcaster per database sends (``lock.py``: an exclusive ``flock``
beside the database, released by the kernel when the process dies). On start it returns every
``sending`` row to ``pending``: claimed rows that were never sent are simply sent now, and the
only ones that can reach a reader twice are those whose request was in flight (or whose outcome
waited for the writer, ``commit_linger``) when the process died.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.utils.i18n import I18n

from bot.broadcast.config import BroadcastConfig
from bot.broadcast.delivery import Courier, Notifications
from bot.broadcast.digest import DigestWorker
from bot.broadcast.followup import FollowupWorker
from bot.broadcast.lock import BroadcastLock
from bot.broadcast.pacing import Pacing, nap
from bot.broadcast.progress import ProgressCallback, ProgressReporter
from bot.domain.outbox import Claim, Outcome

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
        self.counters: Counter[str] = Counter()
        self._lock = BroadcastLock(repo.path, enabled=lock)
        pacing = Pacing(config.rate, config.per_chat_interval)
        self._queue: asyncio.Queue[Claim | None] = asyncio.Queue()
        self._outcomes: asyncio.Queue[Outcome | None] = asyncio.Queue()
        self._in_hand: set[Claim] = set()
        self._outstanding = 0  # claimed, outcome not yet committed
        self._wake = asyncio.Event()
        self._wake_followups = asyncio.Event()
        self._wake_compactor = asyncio.Event()
        self._ready = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._workers: list[asyncio.Task[None]] = []
        self._writer: asyncio.Task[None] | None = None
        notifications = Notifications(repo, i18n, paid=config.paid)
        self._notifications = notifications
        self._courier = Courier(notifications, config, pacing, self.counters)
        self._reporter = ProgressReporter(repo, config, i18n, pacing, on_progress)
        self._followups = FollowupWorker(repo, config, notifications, pacing, self.counters)
        self.digests = DigestWorker(repo, config, i18n, pacing, self.counters)

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    @property
    def ready(self) -> bool:
        """Holds the broadcast lock and sends (a running broadcaster without it stands by)."""
        return self._ready.is_set()

    async def start(self, bot: Bot) -> None:
        """Start sending with ``bot``'s token and API server over a session of its own (a
        broadcast never takes the connections replies to readers need)."""
        if self.running:
            return
        self._queue, self._outcomes = asyncio.Queue(), asyncio.Queue()  # fresh after a stop
        self._outstanding = 0
        self._reporter.open(bot)
        self._courier.open(bot)
        self._followups.bot = bot
        self._notifications.bot_username = (await bot.me()).username or ""
        self._writer = asyncio.create_task(self._write_loop(), name="broadcast-writer")
        self._workers = [
            asyncio.create_task(self._work_loop(), name=f"broadcast-worker-{i}")
            for i in range(self.config.workers)
        ]
        self._tasks = [
            asyncio.create_task(self._pickup_loop(), name="broadcast-pickup"),
            asyncio.create_task(self._reporter.run(self._ready), name="broadcast-progress"),
            asyncio.create_task(
                self._followups.run(self._ready, self._wake_followups, lambda: self._stopping),
                name="broadcast-followups",
            ),
            asyncio.create_task(self._compact_loop(), name="broadcast-compactor"),
        ]
        self.digests.open(bot)
        self._tasks.append(
            asyncio.create_task(
                self.digests.run(self._ready, lambda: self._stopping), name="broadcast-digests"
            )
        )
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
        self._wake_followups.set()
        self._reporter.poke()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop claiming, let sends in flight finish (up to ``grace`` seconds), commit every
        outcome and return unsent claims to the outbox."""
        if not self.running:
            return
        self._stopping = True  # the loops finish what they are doing (no query cut short)
        self._wake.set()
        self._wake_followups.set()
        self._wake_compactor.set()
        self._reporter.halt()
        self.digests.wake()
        if not self._ready.is_set():
            # standing by (another process holds the lock): once pickup has seen the stop,
            # the loops still waiting for the lock have nothing in hand and end at once
            await asyncio.wait(self._tasks[:1], timeout=grace)
            if not self._ready.is_set():
                for task in self._tasks[1:]:
                    task.cancel()
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
        await self._courier.close()
        await self.digests.close()
        self._lock.release()
        self._ready.clear()
        self._stopping = False
        logger.info("Broadcaster stopped (%s)", dict(self.counters))

    # -- pickup -------------------------------------------------------------------------------

    async def _pickup_loop(self) -> None:
        warned = False
        while not self._lock.acquire(note=f"pid {os.getpid()}"):
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
        self._notifications.channel = await self.repo.get_channel()
        released = await self.repo.release_expired_claims(everything=exclusive)
        if released:
            logger.warning("Resuming: %d interrupted deliveries are queued again", released)
        released = await self.repo.release_followups(everything=exclusive)
        if released:
            logger.warning("Resuming: %d interrupted follow-ups are queued again", released)
        self._ready.set()
        capacity = self.config.capacity
        refill = self.config.refill
        while not self._stopping:
            self._wake.clear()
            await self._release_due()
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
                    await self.repo.release_followups()
            await nap(self._wake, self.config.poll_interval)

    async def _release_due(self) -> None:
        """Scheduled pieces whose time has come are published (at start-up: every one that came
        due while the bot was down); their notifications join the outbox."""
        try:
            released = await self.repo.release_due_pieces()
        except Exception:
            logger.exception("Could not publish the scheduled pieces that are due; retrying")
            return
        if released:
            logger.info("Published scheduled pieces %s", released)
            self._reporter.poke()

    # -- keeping the outbox small --------------------------------------------------------------

    async def _compact_loop(self) -> None:
        await self._ready.wait()
        while not self._stopping:
            try:
                compacted = await self.repo.compact_deliveries(older_than=self.config.compact_after)
                pruned = await self.repo.prune_edit_targets(older_than=self.config.edit_window)
            except Exception:
                logger.exception("Could not compact the outbox; trying again later")
            else:
                if compacted or pruned:
                    logger.info(
                        "Outbox compacted: %d finished deliveries folded into counters,"
                        " %d edit targets past the edit window dropped",
                        compacted,
                        pruned,
                    )
            await nap(self._wake_compactor, self.config.compact_interval)

    # -- sending ------------------------------------------------------------------------------

    async def _work_loop(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            self._in_hand.add(item)
            outcome = await self._courier.deliver(item)
            self._in_hand.discard(item)
            self._outcomes.put_nowait(outcome)

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
            if self._outstanding <= self.config.capacity - self.config.refill:
                self._wake.set()
            if self._outstanding == 0:
                self._reporter.poke()  # the queue ran dry: show the final numbers now
