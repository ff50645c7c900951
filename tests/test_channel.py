"""The newsroom's channel: each piece published while CHANNEL_ID is set is posted there once
(through the outbox), with URL buttons into the bot; corrections edit the post, withdrawal
deletes it; a forum topic gets it in its thread; a bot that may not post there says so, and
subscribers are served anyway."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot import newsroom
from bot.publishing import prepare, store
from tests.conftest import DATA
from tests.fakegram import BotAPIEmulator
from tests.harness import Harness, running_bot
from tests.test_corrections import SOURCE, corrected

EDITOR = 77
READER = 931
CHANNEL = -1001234567890
GROUP = -1009876543210
OTHER = (DATA / "interviews" / "grain-harvest-farmer.txt").read_bytes()


def channel(emu: BotAPIEmulator) -> None:
    emu.add_channel(CHANNEL, "newsroom_test")


async def _publish(h: Harness, source: bytes = SOURCE) -> int:
    h.emu.add_chat(READER)
    await h.repo.subscribe(READER, "ru")
    piece_id = await store(h.repo, prepare(source))
    h.dp["broadcaster"].wake()
    await _settled(h, piece_id)
    return piece_id


async def _settled(h: Harness, piece_id: int) -> None:
    deadline = time.monotonic() + 15
    while (await h.repo.delivery_counts(piece_id)).remaining or not (
        await h.repo.delivery_counts(piece_id)
    ).total:
        assert time.monotonic() < deadline, "the outbox did not settle"
        await asyncio.sleep(0.05)


async def test_posted_once_with_links_edited_on_correction_deleted_on_withdrawal(
    tmp_path: Path,
) -> None:
    settings = {"channel_id": "@newsroom_test", "admin_ids": frozenset({EDITOR})}
    async with running_bot(tmp_path, prepare_emulator=channel, **settings) as h:  # type: ignore[arg-type]
        state = await h.repo.get_channel()
        assert state is not None and state.chat_id == CHANNEL and state.problem is None
        assert not h.emu.messages(CHANNEL)  # the archive is not posted, only new pieces
        piece_id = await _publish(h)
        [post] = h.emu.messages(CHANNEL)
        assert post.text.startswith("🆕 ")
        urls = [b["url"] for b in post.buttons()]
        bot = h.emu.username
        assert urls[0] == f"https://t.me/{bot}?start={piece_id}_q"
        assert 1 <= len(urls) - 2 <= 3  # the most quoted answers
        assert all(f"?start={piece_id}_" in u for u in urls[1:-1])
        assert urls[-1] == f"https://t.me/{bot}?start=subscribe"
        assert all("callback_data" not in b for b in post.buttons())
        # the buttons work for someone reading the channel
        reader = 932
        [questions] = await h.say(reader, f"/start {piece_id}_q")
        assert "1." in questions.text and questions.buttons()
        [answer] = await h.say(reader, "/start " + urls[1].split("start=")[1])
        assert "вопрос" in answer.text
        [subscribed] = await h.say(reader, "/start subscribe")
        assert await h.repo.is_subscribed(reader) and "подписаны" in subscribed.text
        [stats] = await h.say(EDITOR, "/stats")
        assert "@newsroom_test: каждый новый материал" in stats.text

        # a correction edits the post in place (no correction notice in the channel)
        correction = await newsroom.prepare_correction(h.repo, piece_id, corrected())
        await newsroom.apply_correction(h.repo, correction, notify=True, actor=EDITOR)
        h.dp["broadcaster"].wake()
        await h.emu.wait_until(lambda: h.emu.messages(CHANNEL)[0].edited == 1, timeout=15)
        assert "✏️ исправлено" in h.emu.messages(CHANNEL)[0].text
        await h.emu.wait_for_messages(READER, 2, timeout=15)  # the reader's notice
        assert len(h.emu.messages(CHANNEL)) == 1

        # a withdrawal deletes it
        await newsroom.withdraw(h.repo, piece_id, "суд", actor=EDITOR)
        h.dp["broadcaster"].wake()
        await h.emu.wait_until(lambda: not h.emu.messages(CHANNEL), timeout=15)

        second = await _publish(h, OTHER)
        assert len(h.emu.messages(CHANNEL)) == 1
    # a restart does not post it again
    async with running_bot(tmp_path, prepare_emulator=channel, **settings) as h:  # type: ignore[arg-type]
        await asyncio.sleep(1.5)
        assert not h.emu.messages(CHANNEL)
        assert (await h.repo.delivery_counts(second)).sent == 3  # two readers, the channel


async def test_a_forum_topic_gets_the_post_in_its_thread(tmp_path: Path) -> None:
    def group(emu: BotAPIEmulator) -> None:
        emu.add_channel(GROUP, kind="supergroup", bot_status="member", topics=frozenset({7}))

    async with running_bot(
        tmp_path, prepare_emulator=group, channel_id=str(GROUP), channel_thread_id=7
    ) as h:
        await _publish(h)
        [post] = h.emu.messages(GROUP)
        assert post.thread_id == 7
    async with running_bot(
        tmp_path, prepare_emulator=group, channel_id=str(GROUP), channel_thread_id=8
    ) as h:
        piece_id = await _publish(h, OTHER)  # a topic that does not exist: the post fails
        rows = await h.repo._fetchall(
            "SELECT state, last_error FROM deliveries WHERE piece_id = ? AND chat_id = ?",
            (piece_id, GROUP),
        )
        assert [tuple(r) for r in rows] == [("failed", "Bad Request: message thread not found")]
        assert len(h.emu.messages(READER)) == 1  # subscribers are served anyway


async def test_a_bot_that_may_not_post_says_so_and_subscribers_are_served(
    tmp_path: Path,
) -> None:
    def not_admin(emu: BotAPIEmulator) -> None:
        emu.add_channel(CHANNEL, "newsroom_test", bot_status="member")

    async with running_bot(
        tmp_path,
        prepare_emulator=not_admin,
        channel_id="@newsroom_test",
        admin_ids=frozenset({EDITOR}),
    ) as h:
        state = await h.repo.get_channel()
        assert state is not None and state.problem and "not an admin" in state.problem
        await _publish(h)
        assert len(h.emu.messages(READER)) == 1 and not h.emu.messages(CHANNEL)
        [stats] = await h.say(EDITOR, "/stats")
        assert "⚠️ @newsroom_test" in stats.text and "не публикуются" in stats.text
