"""The broadcaster against the Bot API emulator: delivery, limits, errors, restarts."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot

from bot.app import build_bot
from bot.broadcast import BroadcastConfig, Broadcaster, Progress, RetryPolicy
from bot.config import Settings
from bot.domain.outbox import DeliveryState, SubscriberState
from bot.domain.parsing import decode_source, parse_interview
from bot.i18n import build_i18n
from bot.publishing import prepare, store
from bot.views.callbacks import PieceView, SubscriptionToggle, View
from storage import Repository
from tests.conftest import DATA
from tests.fakegram import BotAPIEmulator, Call
from tests.harness import emulator_settings

I18N = build_i18n()
FAST = BroadcastConfig(
    rate=200,
    paid=True,
    poll_interval=0.05,
    progress_interval=0.1,
    request_timeout=2.0,
    retry=RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=0.2),
)
PIECES = sorted((DATA / "interviews").glob("*.txt"))


def piece_source(index: int = 0) -> bytes:
    return PIECES[index].read_bytes()


@dataclass
class Rig:
    emu: BotAPIEmulator
    repo: Repository
    bot: Bot
    settings: Settings
    running: list[Broadcaster] = field(default_factory=list)
    progress: list[Progress] = field(default_factory=list)

    async def start(self, **config: Any) -> Broadcaster:
        async def record(progress: Progress) -> None:
            self.progress.append(progress)

        broadcaster = Broadcaster(self.repo, replace(FAST, **config), I18N, on_progress=record)
        self.running.append(broadcaster)
        await broadcaster.start(self.bot)
        await broadcaster.wait_ready()
        return broadcaster

    async def subscribe(self, *chat_ids: int, locale: str = "ru", known: bool = True) -> None:
        for chat_id in chat_ids:
            if known:
                self.emu.add_chat(chat_id, locale)
            await self.repo.subscribe(chat_id, locale)

    async def publish(self, index: int = 0) -> int:
        return await store(self.repo, prepare(piece_source(index)))

    def sends(self, chat_id: int | None = None, *, ok: bool = True) -> list[Call]:
        return [
            c
            for c in self.emu.calls
            if c.method == "sendMessage"
            and c.ok == ok
            and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    async def until_done(self, piece_id: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while (await self.repo.delivery_counts(piece_id)).remaining:
            if time.monotonic() > deadline:
                counts = await self.repo.delivery_counts(piece_id)
                raise TimeoutError(f"piece {piece_id} not delivered in {timeout} s: {counts}")
            await asyncio.sleep(0.02)

    async def deliveries(self, piece_id: int) -> dict[int, tuple[str, int, str | None]]:
        rows = await self.repo._fetchall(
            "SELECT chat_id, state, attempts, last_error FROM deliveries WHERE piece_id = ?",
            (piece_id,),
        )
        return {int(r[0]): (r[1], int(r[2]), r[3]) for r in rows}


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with BotAPIEmulator() as emu:
        settings = emulator_settings(emu, tmp_path)
        repo = await Repository.open(settings.database_path)
        bot = build_bot(settings)
        rig = Rig(emu, repo, bot, settings)
        try:
            yield rig
        finally:
            for broadcaster in rig.running:
                await broadcaster.stop()
            await bot.session.close()
            assert await repo.integrity_check() == "ok"
            await repo.close()


async def test_every_active_subscriber_gets_one_notification(rig: Rig) -> None:
    readers = list(range(1001, 1031))
    await rig.subscribe(*readers)
    await rig.subscribe(2001, locale="en")
    await rig.subscribe(3001, 3002, 3003)
    await rig.repo.unsubscribe(3001)
    await rig.repo.mark_inactive(3002, "test")
    await rig.start()
    piece_id = await rig.publish()
    await rig.until_done(piece_id)

    piece = parse_interview(decode_source(piece_source()))
    for chat_id in [*readers, 2001, 3003]:
        [message] = rig.emu.messages(chat_id)
        assert piece.title in message.text
        datas = [b["callback_data"] for b in message.buttons()]
        assert PieceView(piece=piece_id, view=View.QUESTIONS).pack() in datas
        assert SubscriptionToggle(on=False).pack() in datas
    assert rig.emu.messages(1001)[0].button_texts() == [
        f"Вопросы ({len(piece.turns)})",
        f"➕ Следить: {piece.speaker}",
        "🔕 Отписаться",
    ]
    assert rig.emu.messages(2001)[0].button_texts() == [
        f"Questions ({len(piece.turns)})",
        f"➕ Follow {piece.speaker}",
        "🔕 Unsubscribe",
    ]
    assert not rig.emu.messages(3001) and not rig.emu.messages(3002)
    states = await rig.deliveries(piece_id)
    assert len(states) == 32
    assert set(states.values()) == {("sent", 1, None)}
    # the progress callback saw the end, with the count of everything
    await rig.emu.wait_until(lambda: any(p.finished for p in rig.progress))
    final = next(p for p in rig.progress if p.finished)
    assert final.broadcast.counts.sent == 32 and final.broadcast.total == 32
    assert all(c.params.get("allow_paid_broadcast") is True for c in rig.sends())


async def test_a_429_pauses_all_sending_and_is_not_a_failed_attempt(rig: Rig) -> None:
    await rig.subscribe(*range(1, 41))
    broadcaster = await rig.start(rate=100)
    rig.emu.fail_next("sendMessage", status=429, retry_after=1)
    piece_id = await rig.publish()
    await rig.until_done(piece_id)

    [refused] = rig.sends(ok=False)
    assert refused.error and refused.error.startswith("Too Many Requests")
    # sends already on the wire when the 429 came back still land; then nothing for 1 s
    after = [c.at - refused.at for c in rig.sends() if c.at > refused.at]
    in_flight = [t for t in after if t < 0.05]
    assert len(in_flight) <= 5
    assert min(t for t in after if t >= 0.05) >= 0.95
    states = await rig.deliveries(piece_id)
    assert set(states.values()) == {("sent", 1, None)}  # the 429 was not counted
    assert all(len(rig.emu.messages(chat)) == 1 for chat in range(1, 41))
    assert broadcaster.counters["retry_after"] == 1


async def test_blocked_deactivated_and_unknown_chats_become_inactive_without_retry(
    rig: Rig,
) -> None:
    await rig.subscribe(1, 2, 3, 4)
    await rig.subscribe(5, known=False)  # Telegram has no such chat: 400 chat not found
    rig.emu.block(2)
    rig.emu.deactivate(3)
    first = await rig.publish(0)
    second = await rig.publish(1)  # also pending for them: must not be tried
    await rig.start()
    await rig.until_done(first)
    await rig.until_done(second)

    states = await rig.deliveries(first)
    assert states[1] == ("sent", 1, None)
    assert states[2][:2] == ("unreachable", 1) and "blocked" in (states[2][2] or "")
    assert states[3][:2] == ("unreachable", 1) and "deactivated" in (states[3][2] or "")
    assert states[5][:2] == ("unreachable", 1) and "chat not found" in (states[5][2] or "")
    later = await rig.deliveries(second)
    assert later[1][0] == "sent" and later[4][0] == "sent"
    for chat in (2, 3, 5):
        assert later[chat][0] == "cancelled"
        assert len(rig.sends(chat, ok=False)) == 1  # one try, for the first piece only
        subscriber = await rig.repo.get_subscriber(chat)
        assert subscriber is not None and subscriber.state is SubscriberState.BLOCKED
    counts = await rig.repo.subscriber_counts()
    assert (counts.active, counts.blocked) == (2, 3)


async def test_server_errors_are_retried_with_backoff_then_failed_with_the_reason(
    rig: Rig,
) -> None:
    await rig.subscribe(1, 2, 3)
    rig.emu.fail_next("sendMessage", status=500, times=2, chat_id=1)
    rig.emu.fail_next("sendMessage", status=502, times=10, chat_id=2)
    await rig.start(per_chat_interval=0.2)  # (retries to one chat also wait for the chat)
    piece_id = await rig.publish()
    await rig.until_done(piece_id)

    states = await rig.deliveries(piece_id)
    assert states[1] == ("sent", 3, None)
    assert states[2][:2] == ("failed", 4)
    assert "gave up after 4 attempts" in (states[2][2] or "")
    assert "Bad Gateway" in (states[2][2] or "")
    assert states[3] == ("sent", 1, None)
    tries = [c.at for c in rig.sends(2, ok=False)]
    assert len(tries) == 4 and not rig.emu.messages(2)
    gaps = [b - a for a, b in itertools.pairwise(tries)]
    assert gaps[0] >= 0.04 and gaps[1] >= 0.08  # 0.05 · 2^(n-1), ±20 % jitter
    assert len(rig.emu.messages(1)) == 1


async def test_a_timed_out_request_is_retried(rig: Rig) -> None:
    await rig.subscribe(1, 2, 3)
    rig.emu.delay("sendMessage", 2.0, times=1)
    await rig.start(request_timeout=0.3)
    piece_id = await rig.publish()
    await rig.until_done(piece_id)

    states = await rig.deliveries(piece_id)
    assert sorted(attempts for _, attempts, _ in states.values()) == [1, 1, 2]
    assert all(state == "sent" for state, _, _ in states.values())
    for chat in (1, 2, 3):
        assert len(rig.emu.messages(chat)) == 1


async def test_rate_limit_is_reached_and_kept(rig: Rig) -> None:
    readers = list(range(1, 301))
    await rig.subscribe(*readers)
    rig.emu.flood_limits = (220, 1)  # the emulator answers 429 above the limit (+10 %)
    await rig.start(rate=200)
    piece_id = await rig.publish()
    await rig.until_done(piece_id)

    sends = rig.sends()
    assert len(sends) == 300 and not rig.sends(ok=False)  # never over the limit (+10 %)
    achieved = (len(sends) - 1) / (sends[-1].at - sends[0].at)
    assert achieved >= 0.9 * 200


async def test_one_message_per_second_per_chat(rig: Rig) -> None:
    readers = [1, 2, 3, 4, 5]
    await rig.subscribe(*readers)
    rig.emu.flood_limits = (1000, 1)
    pieces = [await rig.publish(i) for i in range(3)]
    await rig.start(rate=200)
    for piece_id in pieces:
        await rig.until_done(piece_id)

    assert not rig.sends(ok=False)
    for chat in readers:
        times = [c.at for c in rig.sends(chat)]
        assert len(times) == 3
        assert all(b - a >= 0.98 for a, b in itertools.pairwise(times))
        # oldest piece first
        assert [m.text.split("\n")[0] for m in rig.emu.messages(chat)] == [
            "🆕 " + parse_interview(decode_source(piece_source(i))).title for i in range(3)
        ]


async def test_deliveries_claimed_before_a_crash_are_sent_after_restart(rig: Rig) -> None:
    await rig.subscribe(*range(1, 21))
    piece_id = await rig.publish()
    # a broadcaster died holding claims with a long lease
    async with rig.repo.transaction() as conn:
        await conn.execute(
            "UPDATE deliveries SET state = 'sending', next_attempt = ? WHERE chat_id <= 10",
            (time.time() + 3600,),
        )
    await rig.start()
    await rig.until_done(piece_id)
    assert all(len(rig.emu.messages(chat)) == 1 for chat in range(1, 21))


async def test_a_piece_published_by_another_process_is_picked_up(rig: Rig, tmp_path: Path) -> None:
    await rig.subscribe(1, 2)
    await rig.start(poll_interval=0.5)
    other = await Repository.open(rig.settings.database_path)  # like `python -m bot publish`
    try:
        published = time.monotonic()
        piece_id = await store(other, prepare(piece_source()))
    finally:
        await other.close()
    await rig.emu.wait_for_messages(1, 1, timeout=3)
    await rig.emu.wait_for_messages(2, 1, timeout=3)
    assert time.monotonic() - published < 1.5
    await rig.until_done(piece_id)


async def test_stop_returns_unsent_claims_and_a_restart_finishes(rig: Rig) -> None:
    readers = list(range(1, 31))
    await rig.subscribe(*readers)
    first = await rig.start(rate=20, paid=False)
    piece_id = await rig.publish()
    await rig.emu.wait_until(lambda: len(rig.sends()) >= 5)
    await first.stop()
    counts = await rig.repo.delivery_counts(piece_id)
    assert counts.sending == 0 and 5 <= counts.sent < 30
    await rig.start(rate=200)
    await rig.until_done(piece_id)
    assert all(len(rig.emu.messages(chat)) == 1 for chat in readers)


async def test_only_one_broadcaster_per_database_sends(rig: Rig) -> None:
    await rig.subscribe(1)
    first = await rig.start()
    second = Broadcaster(rig.repo, FAST, I18N)
    await second.start(rig.bot)
    try:
        with pytest.raises(TimeoutError):
            await second.wait_ready(timeout=0.3)
        await first.stop()
        await second.wait_ready(timeout=5)
    finally:
        await second.stop()


async def test_leaving_before_ones_turn_cancels_the_delivery(rig: Rig) -> None:
    await rig.subscribe(1, 2, 3)
    piece_id = await rig.publish()
    await rig.repo.unsubscribe(2)
    await rig.start()
    await rig.until_done(piece_id)
    states = await rig.deliveries(piece_id)
    assert states[2][0] == DeliveryState.CANCELLED
    assert not rig.emu.messages(2)
    assert Counter(s for s, _, _ in states.values()) == {"sent": 2, "cancelled": 1}


async def test_stopping_mid_pause_keeps_every_delivery(rig: Rig) -> None:
    await rig.subscribe(*range(1, 11))
    rig.emu.fail_next("sendMessage", status=429, retry_after=5)
    broadcaster = await rig.start()
    piece_id = await rig.publish()
    await rig.emu.wait_until(lambda: bool(rig.sends(ok=False)))
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(0.2):
            await rig.until_done(piece_id)
    await broadcaster.stop(grace=0.2)
    counts = await rig.repo.delivery_counts(piece_id)
    # the ones in flight when the 429 came back were sent; all others wait for the next start
    assert counts.sending == 0 and counts.pending >= 5
    assert counts.pending + counts.sent == 10
    assert counts.sent == len(rig.sends())


async def test_the_broadcaster_compacts_what_finished_and_counts_stay_exact(rig: Rig) -> None:
    readers = list(range(4001, 4021))
    await rig.subscribe(*readers)
    await rig.subscribe(4100, known=False)  # chat not found: unreachable
    await rig.start(compact_after=0.0, compact_interval=0.05)
    piece_id = await rig.publish()
    await rig.until_done(piece_id)
    await rig.emu.wait_until(lambda: any(p.finished for p in rig.progress))

    async def rows() -> int:
        row = await rig.repo._fetchone("SELECT count(*) FROM deliveries")
        return int(row[0]) if row else -1

    deadline = time.monotonic() + 10
    while await rows():
        assert time.monotonic() < deadline, "the outbox was not compacted"
        await asyncio.sleep(0.05)
    counts = await rig.repo.delivery_counts(piece_id)
    assert (counts.sent, counts.unreachable, counts.remaining) == (20, 1, 0)
    broadcast = await rig.repo.get_broadcast(piece_id)
    assert broadcast is not None and broadcast.counts == counts and broadcast.total == 21
    # each reader's notification is still there to be edited
    targets = await rig.repo._fetchall(
        "SELECT chat_id, message_id FROM sent_messages WHERE piece_id = ?", (piece_id,)
    )
    assert {int(r[0]): int(r[1]) for r in targets} == {
        chat: rig.emu.messages(chat)[0].message_id for chat in readers
    }
