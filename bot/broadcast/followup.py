"""Follow-ups of sent notifications: edit each to its piece's current form, or remove it when
the piece is withdrawn (deleted while Telegram allows, else edited to the withdrawal note).

Run by the ``Broadcaster`` beside the sends, under the same ``Pacing`` (the global rate and each
chat's spacing count edits and deletions like sends). Claims commit ``sending`` before the
request and each outcome commits after it (``storage/followups.py``), so a crash repeats only
the follow-ups in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, ReplyParameters

from bot.broadcast.config import BroadcastConfig
from bot.broadcast.delivery import Notifications
from bot.broadcast.pacing import Pacing, nap
from bot.broadcast.sender import Verdict, classify
from bot.domain.followups import Followup, FollowupAction, FollowupOutcome, FollowupResult
from bot.domain.followups import FollowupState as State
from bot.domain.models import Piece, PieceStatus
from bot.views.newsroom import correction_notice, withdrawn_note

if TYPE_CHECKING:
    from storage import Repository

logger = logging.getLogger(__name__)

NOT_MODIFIED = "message is not modified"
GONE = ("message to edit not found", "message to delete not found", "message_id_invalid")
UNDELETABLE = "message can't be deleted"


class FollowupWorker:
    """Claims due follow-ups and carries them out; ``run`` until ``stopping()``."""

    def __init__(
        self,
        repo: Repository,
        config: BroadcastConfig,
        notifications: Notifications,
        pacing: Pacing,
        counters: Counter[str],
    ) -> None:
        self.repo = repo
        self.config = config
        self.notifications = notifications
        self.i18n = notifications.i18n
        self.pacing = pacing
        self.counters = counters
        self.bot: Bot | None = None
        self._done: list[FollowupOutcome] = []
        self._rendered: dict[tuple[int, int, str, bool], tuple[str, InlineKeyboardMarkup]] = {}

    async def run(
        self, ready: asyncio.Event, wake: asyncio.Event, stopping: Callable[[], bool]
    ) -> None:
        """Keep up to ``workers`` follow-ups in flight, claiming more as each one finishes."""
        await ready.wait()
        running: set[asyncio.Task[None]] = set()
        try:
            while not stopping():
                free = self.config.workers - len(running)
                claims: list[Followup] = []
                if free >= max(1, self.config.workers // 4):
                    try:
                        claims = await self.repo.claim_followups(free, lease=self.config.lease)
                    except Exception:
                        logger.exception("Could not claim follow-ups; retrying")
                for followup in claims:
                    running.add(asyncio.create_task(self._one(followup)))
                await self._flush()
                if running:
                    wake.clear()
                    waker = asyncio.create_task(wake.wait())
                    done, _ = await asyncio.wait(
                        [*running, waker],
                        timeout=self.config.poll_interval,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    waker.cancel()
                    running -= done
                else:
                    await nap(wake, self.config.poll_interval)
                    wake.clear()
        finally:
            if running:  # stopping: let requests in flight finish and record their outcomes
                await asyncio.wait(running)
            await self._flush()

    async def _one(self, followup: Followup) -> None:
        outcome = await self.carry(followup)
        self._done.append(outcome)  # the list as it is now (_flush swaps it)

    async def _flush(self) -> None:
        """Commit the outcomes gathered so far in one transaction (retried until it works: an
        uncommitted outcome leaves its row 'sending', done again after a restart)."""
        delay = 0.05
        while self._done:
            outcomes, self._done = self._done, []
            try:
                await self.repo.record_followups(outcomes)
            except Exception:
                logger.exception("Could not record %d follow-ups; retrying", len(outcomes))
                self._done = outcomes + self._done
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def carry(self, f: Followup) -> FollowupOutcome:
        """One follow-up, to its outcome (never raises)."""
        try:
            piece = await self.repo.get_stored_piece(f.piece_id)
        except Exception as error:
            logger.exception("Cannot load piece %d for a follow-up", f.piece_id)
            return FollowupOutcome(
                f, State.PENDING, error=repr(error), next_attempt=time.time() + 5
            )
        while True:
            try:
                result = await self._request(f, piece)
            except TelegramBadRequest as error:
                text = error.message.lower()
                if NOT_MODIFIED in text:
                    result = FollowupResult.EDITED
                elif any(mark in text for mark in GONE):
                    result = FollowupResult.GONE
                else:
                    outcome = self._failed(f, error)
                    if outcome is None:
                        continue
                    return outcome
            except Exception as error:
                outcome = self._failed(f, error)
                if outcome is None:
                    continue
                return outcome
            self.counters[f"followup_{result.value}"] += 1
            return FollowupOutcome(f, State.DONE, result)

    @contextlib.asynccontextmanager
    async def _paced(self, chat_id: int) -> AsyncIterator[None]:
        """Each request in the chat's turn and a sending slot (an edit and its notice are two
        messages to the chat, spaced like two sends)."""
        async with self.pacing.turn(chat_id), self.pacing.slot(chat_id):
            yield

    def _failed(self, f: Followup, error: Exception) -> FollowupOutcome | None:
        """None: Telegram asked to wait (every sender pauses; the same request goes again)."""
        ruling = classify(error)
        if ruling.verdict is Verdict.PAUSE:
            self.pacing.pause(ruling.retry_after)
            return None
        if ruling.verdict is Verdict.UNREACHABLE:
            return FollowupOutcome(f, State.DONE, FollowupResult.GONE, error=ruling.reason)
        retry = self.config.retry
        if ruling.verdict is Verdict.RETRY and not retry.gives_up(f.attempts + 1):
            later = time.time() + retry.delay(f.attempts + 1)
            return FollowupOutcome(f, State.PENDING, error=ruling.reason, next_attempt=later)
        logger.warning("Follow-up %d (chat %d) failed: %s", f.id, f.chat_id, ruling.reason)
        return FollowupOutcome(f, State.FAILED, error=ruling.reason)

    async def _request(self, f: Followup, piece: Piece | None) -> FollowupResult:
        with self.i18n.context(), self.i18n.use_locale(f.locale):
            live = piece is not None and piece.status is PieceStatus.LIVE
            if f.action is FollowupAction.EDIT and piece is not None and live:
                return await self._edit(f, piece)
            return await self._remove(f, piece.withdrawn_reason if piece else None)

    async def _edit(self, f: Followup, piece: Piece) -> FollowupResult:
        """The notification shows the piece's current form (and, with ``notice``, a reply says
        it was corrected)."""
        bot = self.bot
        assert bot is not None
        key = (piece.id, piece.revision, f.locale, self.notifications.is_channel(f.chat_id))
        if key not in self._rendered:
            if len(self._rendered) > 64:
                self._rendered.clear()
            text, markup, _thread = await self.notifications.message(piece, f.chat_id, f.locale)
            self._rendered[key] = text, markup
        text, markup = self._rendered[key]
        async with self._paced(f.chat_id):
            try:
                await bot.edit_message_text(
                    text=text, chat_id=f.chat_id, message_id=f.message_id, reply_markup=markup
                )
            except TelegramBadRequest as error:
                if NOT_MODIFIED not in error.message.lower() or not f.notice:
                    raise  # "not modified" alone means done; with a notice, send it too
        if f.notice and not self.notifications.is_channel(f.chat_id):
            async with self._paced(f.chat_id):
                await bot.send_message(
                    f.chat_id,
                    correction_notice(piece.title),
                    reply_parameters=ReplyParameters(
                        message_id=f.message_id, allow_sending_without_reply=True
                    ),
                )
        return FollowupResult.EDITED

    async def _remove(self, f: Followup, reason: str | None) -> FollowupResult:
        """Deleted while Telegram allows it (48 hours), else edited to the withdrawal note."""
        bot = self.bot
        assert bot is not None
        if f.deletable(time.time()):
            try:
                async with self._paced(f.chat_id):
                    await bot.delete_message(f.chat_id, f.message_id)
                return FollowupResult.DELETED
            except TelegramBadRequest as error:
                if UNDELETABLE not in error.message.lower():
                    raise
        async with self._paced(f.chat_id):
            await bot.edit_message_text(
                text=withdrawn_note(reason), chat_id=f.chat_id, message_id=f.message_id
            )
        return FollowupResult.EDITED
