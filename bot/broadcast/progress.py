"""The editor's view of a broadcast: its progress message, and ``on_progress`` for callers.

While a broadcast runs, the reporter counts its deliveries every ``progress_interval`` (sooner
when woken), keeps one message in the editor's chat up to date (speed, time left, a 429 pause)
and marks the broadcast finished when nothing remains. A finished broadcast is marked reported
once the editor's message shows its final numbers; without an editor's chat, once it is
``REPORT_GRACE_S`` old (the editor's chat is attached just after publishing).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.utils.i18n import I18n
from aiohttp import ClientError

from bot.broadcast.config import BroadcastConfig
from bot.broadcast.pacing import Pacing, nap
from bot.domain.outbox import Broadcast
from bot.views.editor import progress_text

if TYPE_CHECKING:
    from storage import Repository

logger = logging.getLogger(__name__)

REPORT_GRACE_S = 30.0  # how long a finished broadcast waits for an editor's progress message


@dataclass(frozen=True, slots=True)
class Progress:
    broadcast: Broadcast
    rate: float  # deliveries finished per second, recently
    eta: float | None  # seconds left
    paused_for: float = 0.0  # a 429 pause still running

    @property
    def finished(self) -> bool:
        return self.broadcast.counts.remaining == 0


ProgressCallback = Callable[[Progress], Awaitable[None]]


class ProgressReporter:
    """Reports every open broadcast; its messages share the notifications' pacing."""

    def __init__(
        self,
        repo: Repository,
        config: BroadcastConfig,
        i18n: I18n,
        pacing: Pacing,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.repo = repo
        self.config = config
        self.i18n = i18n
        self.on_progress = on_progress
        self._pacing = pacing
        self._wake = asyncio.Event()
        self._stopping = False
        self._bot: Bot | None = None
        self._shown: dict[int, str] = {}  # piece → the text its progress message shows
        self._samples: dict[int, tuple[float, int, float | None]] = {}  # piece → time, done, rate

    def open(self, bot: Bot) -> None:
        """Send with ``bot``'s token and API server over a small session of its own."""
        session = AiohttpSession(api=bot.session.api, limit=4)
        self._bot = Bot(bot.token, session=session, default=bot.default)
        self._stopping = False

    async def close(self) -> None:
        if self._bot is not None:
            await self._bot.session.close()
            self._bot = None

    def poke(self) -> None:
        """Report soon: deliveries were claimed or all committed, or a piece was published."""
        self._wake.set()

    def halt(self) -> None:
        """``run`` returns once the report under way is done."""
        self._stopping = True
        self._wake.set()

    async def run(self, ready: asyncio.Event) -> None:
        """Report until halted, from the moment ``ready`` is set."""
        while not ready.is_set():
            await nap(self._wake, 0.5)
            self._wake.clear()
            if self._stopping:
                return
        while not self._stopping:
            self._wake.clear()
            try:
                await self._report()
            except Exception:
                logger.exception("Could not report broadcast progress")
            await nap(self._wake, self.config.progress_interval)
            if not self._stopping:
                await asyncio.sleep(0.25)  # wake-ups come in bursts; counting costs a scan

    async def _report(self) -> None:
        for item in await self.repo.open_broadcasts():
            now = time.time()
            counts = item.counts
            previous = self._samples.get(item.piece_id)
            if previous is None and counts.remaining:
                logger.info(
                    "Broadcasting piece %d: %d of %d notifications to send",
                    item.piece_id,
                    counts.remaining,
                    item.total,
                )
            rate: float | None = None
            if previous is not None:
                then, done_then, rate_then = previous
                if now - then > 0.2:
                    current = (counts.done - done_then) / (now - then)
                    rate = current if rate_then is None else 0.5 * rate_then + 0.5 * current
                else:
                    rate = rate_then
            if previous is None or now - previous[0] > 0.2:
                self._samples[item.piece_id] = (now, counts.done, rate)
            finished = counts.remaining == 0
            if finished and item.finished_at is None:
                item = replace(item, finished_at=await self.repo.finish_broadcast(item.piece_id))
            speed = rate or 0.0
            eta = counts.remaining / (speed if speed > 0 else self.config.rate)
            progress = Progress(item, speed, None if finished else eta, self._pacing.paused_for())
            shown = await self._show(progress)
            if self.on_progress is not None:
                await self.on_progress(progress)
            if finished and (
                (item.report_chat is not None and shown)
                or (item.report_chat is None and now - item.created_at > REPORT_GRACE_S)
            ):
                await self.repo.update_broadcast(item.piece_id, reported=1)
                self._samples.pop(item.piece_id, None)
                self._shown.pop(item.piece_id, None)
                if item.report_chat is None:
                    c = item.counts
                    logger.info(
                        "Broadcast of piece %d finished: %d sent, %d failed, %d unreachable",
                        item.piece_id,
                        c.sent,
                        c.failed,
                        c.unreachable,
                    )

    async def _show(self, progress: Progress) -> bool:
        """Send or update the editor's progress message; True once it shows ``progress``."""
        item = progress.broadcast
        if item.report_chat is None or self._bot is None:
            return False
        with self.i18n.context(), self.i18n.use_locale(item.report_locale or "ru"):
            text = progress_text(
                item, rate=progress.rate, eta=progress.eta, paused_for=progress.paused_for
            )
        if self._shown.get(item.piece_id) == text and item.report_message is not None:
            return True
        try:
            async with self._pacing.turn(item.report_chat), self._pacing.slot(item.report_chat):
                if item.report_message is None:
                    message = await self._bot.send_message(item.report_chat, text)
                    await self.repo.update_broadcast(
                        item.piece_id, report_message=message.message_id
                    )
                else:
                    await self._bot.edit_message_text(
                        text=text, chat_id=item.report_chat, message_id=item.report_message
                    )
        except TelegramRetryAfter as error:
            self._pacing.pause(error.retry_after)
            return False
        except TelegramBadRequest as error:
            if "not modified" not in error.message:
                logger.info("Progress message of piece %d is gone: %s", item.piece_id, error)
                await self.repo.update_broadcast(item.piece_id, report_message=None)
                return False
        except TelegramForbiddenError:
            return True  # the editor blocked the bot: nobody to show it to
        except (TelegramAPIError, ClientError, OSError) as error:
            logger.info("Could not update progress of piece %d: %s", item.piece_id, error)
            return False
        self._shown[item.piece_id] = text
        return True
