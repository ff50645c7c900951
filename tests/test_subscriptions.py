"""Subscriptions and publishing from Telegram: the repository, then the real bot end to end."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from bot.domain.follows import FollowSpec, ReaderSettings, parse_follow
from bot.domain.outbox import DeliveryState, Outcome, SubscriberState
from bot.domain.parsing import decode_source, parse_interview
from bot.publishing import prepare, store
from bot.views.callbacks import DraftAction
from storage import Repository
from tests.conftest import DATA
from tests.fakegram import SentMessage
from tests.harness import Harness, running_bot

EDITOR = 77
READERS = (501, 502, 503)
SOURCE = (DATA / "interviews" / "bus-network-reform.txt").read_bytes()
TITLE = parse_interview(decode_source(SOURCE)).title


async def _states(repo: Repository) -> dict[int, str]:
    rows = await repo._fetchall("SELECT chat_id, state FROM deliveries")
    return {int(r[0]): str(r[1]) for r in rows}


# -- the repository -----------------------------------------------------------------------------


async def test_subscribing_is_idempotent_and_unsubscribing_undoes_it(repo: Repository) -> None:
    assert await repo.subscribe(1, "ru") is True
    first = await repo.get_subscriber(1)
    assert await repo.subscribe(1, "en") is False  # twice is one subscription
    again = await repo.get_subscriber(1)
    assert first and again and again.subscribed_at == first.subscribed_at and again.locale == "en"
    assert (await repo.subscriber_counts()).active == 1
    assert await repo.unsubscribe(1) is True
    assert await repo.unsubscribe(1) is False
    assert not await repo.is_subscribed(1)
    assert await repo.unsubscribe(2) is False  # never subscribed
    assert await repo.subscribe(1, "ru") is True
    assert await repo.is_subscribed(1)


async def test_a_blocked_reader_is_inactive_until_they_subscribe_again(repo: Repository) -> None:
    await repo.subscribe(1, "ru")
    assert await repo.mark_inactive(1, "Forbidden: bot was blocked by the user")
    subscriber = await repo.get_subscriber(1)
    assert subscriber and subscriber.state is SubscriberState.BLOCKED
    assert "blocked" in (subscriber.reason or "")
    counts = await repo.subscriber_counts()
    assert (counts.active, counts.inactive) == (0, 1)
    assert await repo.subscribe(1, "ru")
    assert await repo.is_subscribed(1)


async def test_publishing_creates_one_delivery_per_active_subscriber(repo: Repository) -> None:
    for chat in (1, 2, 3, 4):
        await repo.subscribe(chat, "en" if chat == 4 else "ru")
    await repo.unsubscribe(2)
    await repo.mark_inactive(3, "blocked")
    piece_id = await store(repo, prepare(SOURCE))
    assert await _states(repo) == {1: "pending", 4: "pending"}
    locales = await repo._fetchall("SELECT chat_id, locale FROM deliveries ORDER BY chat_id")
    assert [(r[0], r[1]) for r in locales] == [(1, "ru"), (4, "en")]
    broadcast = await repo.get_broadcast(piece_id)
    assert broadcast and broadcast.total == 2 and broadcast.title == TITLE
    assert broadcast.counts.pending == 2 and broadcast.finished_at is None


async def test_a_piece_with_no_subscribers_has_no_broadcast(repo: Repository) -> None:
    piece_id = await store(repo, prepare(SOURCE))
    assert await repo.get_broadcast(piece_id) is None
    assert await repo.open_broadcasts() == []


async def test_claims_outcomes_and_recovery(repo: Repository) -> None:
    for chat in (1, 2, 3):
        await repo.subscribe(chat, "ru")
    first = await store(repo, prepare(SOURCE))
    other = await store(
        repo, prepare((DATA / "interviews" / "grain-harvest-farmer.txt").read_bytes())
    )
    claims = await repo.claim_deliveries(3, lease=60)
    assert [(c.piece_id, c.chat_id) for c in claims] == [(first, 1), (first, 2), (first, 3)]
    assert await repo.claim_deliveries(0, lease=60) == []
    assert (await repo.delivery_counts(first)).sending == 3
    # a crashed broadcaster's claims come back (all of them for the lock holder)
    assert await repo.release_expired_claims() == 0
    assert await repo.release_expired_claims(everything=True) == 3
    claims = await repo.claim_deliveries(10, lease=60)
    assert len(claims) == 6
    by_chat = {(c.piece_id, c.chat_id): c for c in claims}
    await repo.record_outcomes(
        [
            Outcome(by_chat[first, 1], DeliveryState.SENT, 1, message_id=10),
            Outcome(by_chat[first, 2], DeliveryState.UNREACHABLE, 1, error="Forbidden: blocked"),
            Outcome(by_chat[first, 3], DeliveryState.PENDING, 1, error="500", next_attempt=1e12),
        ]
    )
    # the other piece's claims are released unsent, like a clean shutdown does
    await repo.release_claims([by_chat[other, chat].id for chat in (1, 2, 3)])
    counts = await repo.delivery_counts(first)
    assert (counts.sent, counts.unreachable, counts.pending) == (1, 1, 1)
    assert (await repo.delivery_counts(other)).pending == 3
    assert not await repo.is_subscribed(2)
    # chat 2 is gone: its released claim is cancelled when claimed again, not handed out
    again = await repo.claim_deliveries(10, lease=60)
    assert [(c.piece_id, c.chat_id) for c in again] == [(other, 1), (other, 3)]
    later = await repo.delivery_counts(other)
    assert (later.sending, later.cancelled) == (2, 1)
    assert not await repo.has_due_deliveries()  # the retry is not due yet


async def test_drafts_are_keyed_by_update(repo: Repository) -> None:
    draft, created = await repo.save_draft(
        update_key="5:10", admin_id=5, chat_id=5, file_name="a.txt", source=b"x", source_hash="h"
    )
    twin, created_again = await repo.save_draft(
        update_key="5:10", admin_id=5, chat_id=5, file_name="a.txt", source=b"x", source_hash="h"
    )
    assert created and not created_again and twin.id == draft.id
    assert len(DraftAction(draft=draft.id, publish=True).pack().encode()) <= 64
    assert await repo.close_draft(draft.id, "cancelled")
    assert not await repo.close_draft(draft.id, "published", 1)
    closed = await repo.get_draft(draft.id)
    assert closed and closed.state == "cancelled"


# -- readers, end to end ------------------------------------------------------------------------


async def test_subscribe_and_unsubscribe_from_commands_and_buttons(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        reader = READERS[0]
        [greeting] = await h.say(reader, "/start")
        assert "Подпишитесь" in greeting.text
        assert "🔔 Подписаться на новые материалы" in greeting.button_texts()

        await h.tap(reader, greeting, "Подписаться")
        assert await h.repo.is_subscribed(reader)
        await h.emu.wait_until(lambda: h.emu.messages(reader)[0].edited > 0)
        redrawn = h.emu.messages(reader)[0]
        assert "Вы подписаны" in redrawn.text
        assert "🔕 Отписаться" in redrawn.button_texts()

        [again] = await h.say(reader, "/subscribe")
        assert "уже подписаны" in again.text
        assert (await h.repo.subscriber_counts()).active == 1

        [done] = await h.say(reader, "/unsubscribe")
        assert "отписались" in done.text and not await h.repo.is_subscribed(reader)
        await h.tap(reader, done, "Подписаться")
        assert await h.repo.is_subscribed(reader)
        await h.emu.wait_until(lambda: h.emu.messages(reader)[-1].edited > 0)
        assert "Готово: вы подписаны" in h.emu.messages(reader)[-1].text

        english = READERS[1]
        [hello] = await h.say(english, "/start", language_code="en")
        assert "Subscribe, and I will send you" in hello.text
        [reply] = await h.say(english, "/subscribe", language_code="en")
        assert reply.text.startswith("Done: you are subscribed")
        subscriber = await h.repo.get_subscriber(english)
        assert subscriber and subscriber.locale == "en"


async def test_blocking_the_bot_marks_the_reader_inactive(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        reader = READERS[0]
        await h.say(reader, "/subscribe")
        await h.emu.chat_member_update(reader, "kicked")
        await h.emu.wait_until(
            lambda: any(c.method == "getUpdates" for c in h.emu.calls[-3:]), timeout=5
        )
        deadline = time.monotonic() + 5
        while await h.repo.is_subscribed(reader):
            assert time.monotonic() < deadline, "my_chat_member was not handled"
            await asyncio.sleep(0.02)
        subscriber = await h.repo.get_subscriber(reader)
        assert subscriber and subscriber.state is SubscriberState.BLOCKED
        await h.emu.chat_member_update(reader, "member")  # unblocking alone does not subscribe
        [reply] = await h.say(reader, "/subscribe")
        assert reply.text.startswith("Готово: вы подписаны")
        assert await h.repo.is_subscribed(reader)


# -- editors, end to end ------------------------------------------------------------------------


async def _send_file(
    h: Harness, user: int, data: bytes, caption: str | None = "/publish", **kwargs: object
) -> dict[str, object]:
    document = h.emu.upload_file(data, "interview.txt")
    return await h.emu.send_message(user, document=document, caption=caption, **kwargs)  # type: ignore[arg-type]


async def _preview(h: Harness, data: bytes = SOURCE) -> SentMessage:
    before = len(h.emu.messages(EDITOR))
    await _send_file(h, EDITOR, data)
    info, notification = (await h.emu.wait_for_messages(EDITOR, before + 2))[before:]
    assert "Предпросмотр" in info.text and TITLE in info.text
    return notification


async def test_an_editor_publishes_a_file_and_readers_are_notified(tmp_path: Path) -> None:
    async with running_bot(tmp_path, admin_ids=frozenset({EDITOR})) as h:
        for reader in READERS:
            h.emu.add_chat(reader)
            await h.repo.subscribe(reader, "ru")
        await h.repo.subscribe(READERS[2] + 1, "ru")
        await h.repo.unsubscribe(READERS[2] + 1)

        before = len(h.emu.messages(EDITOR))
        await _send_file(h, EDITOR, SOURCE)
        info, preview = (await h.emu.wait_for_messages(EDITOR, before + 2))[before:]
        turns = len(parse_interview(decode_source(SOURCE)).turns)
        assert f"Вопросов: {turns}" in info.text and "Получат подписчиков: 3" in info.text
        assert preview.text.startswith("🆕 " + TITLE)
        assert preview.button_texts() == ["✅ Опубликовать и разослать (3)", "✖ Отмена"]
        assert not h.emu.messages(READERS[0])  # nothing before the editor confirms

        await h.tap(EDITOR, preview, "Опубликовать")
        for reader in READERS:
            [note] = await h.emu.wait_for_messages(reader, 1)
            assert note.text == preview.text  # exactly what the editor saw
            assert note.button_texts() == [
                f"Вопросы ({turns})",
                "➕ Следить: Олег Петров",
                "🔕 Отписаться",
            ]
        await h.emu.wait_until(lambda: not h.emu.messages(EDITOR)[1].buttons())  # buttons gone

        # one progress message, updated to the final numbers
        await h.emu.wait_until(
            lambda: any("Доставлено: 3 из 3" in m.text for m in h.emu.messages(EDITOR)), 10
        )
        progress = [m for m in h.emu.messages(EDITOR) if "Доставлено" in m.text]
        assert len(progress) == 1 and "Разослано" in progress[0].text

        # the notification's buttons work
        reader = READERS[0]
        [note] = h.emu.messages(reader)
        await h.tap(reader, note, "Вопросы")
        await h.emu.wait_until(lambda: h.emu.messages(reader)[0].edited > 0)
        assert "1." in h.emu.messages(reader)[0].text
        other = READERS[1]
        await h.tap(other, h.emu.messages(other)[0], "Отписаться")
        assert not await h.repo.is_subscribed(other)
        await h.emu.wait_until(lambda: h.emu.messages(other)[0].edited > 0)
        assert h.emu.messages(other)[0].button_texts() == [
            f"Вопросы ({turns})",
            "➕ Следить: Олег Петров",
            "🔔 Подписаться на новые материалы",
        ]

        [stats] = await h.say(EDITOR, "/stats")
        assert "Активных: 2" in stats.text and "отписались: 2" in stats.text
        assert "доставлено 3 из 3" in stats.text


async def test_one_piece_and_one_broadcast_however_often_it_is_sent(tmp_path: Path) -> None:
    async with running_bot(tmp_path, admin_ids=frozenset({EDITOR})) as h:
        h.emu.add_chat(READERS[0])
        await h.repo.subscribe(READERS[0], "ru")
        pieces = await h.repo.count_pieces()

        # the file first, then /publish in reply to it
        document = h.emu.upload_file(SOURCE, "interview.txt")
        upload = await h.emu.send_message(EDITOR, document=document)
        [hint] = await h.emu.wait_for_messages(EDITOR, 1)
        assert "/publish" in hint.text
        command = await h.emu.send_message(
            EDITOR, "/publish", reply_to_message_id=int(upload["message_id"])
        )
        _info, preview = (await h.emu.wait_for_messages(EDITOR, 3))[1:]
        # Telegram delivers the same update again (e.g. after a restart before the offset
        # was confirmed): no second preview
        h.emu._enqueue("message", command)
        await asyncio.sleep(0.5)
        assert len(h.emu.messages(EDITOR)) == 3

        # Publish pressed twice before the first press is handled
        first = await h.emu.press_button(EDITOR, preview.message_id, "Опубликовать")
        second = await h.emu.press_button(EDITOR, preview.message_id, "Опубликовать")
        await h.emu.wait_until(
            lambda: first in h.emu.callback_answers and second in h.emu.callback_answers
        )
        await h.emu.wait_for_messages(READERS[0], 1)
        await asyncio.sleep(0.3)
        assert await h.repo.count_pieces() == pieces + 1
        assert len(await h.repo.recent_broadcasts()) == 1
        assert len(h.emu.messages(READERS[0])) == 1

        # the same text again, in a new message: refused before any draft
        before = len(h.emu.messages(EDITOR))
        await _send_file(h, EDITOR, SOURCE)
        [refusal] = (await h.emu.wait_for_messages(EDITOR, before + 1))[before:]
        assert "уже опубликован" in refusal.text


async def test_cancel_publishes_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path, admin_ids=frozenset({EDITOR})) as h:
        pieces = await h.repo.count_pieces()
        preview = await _preview(h)
        await h.tap(EDITOR, preview, "Отмена")
        assert await h.repo.count_pieces() == pieces
        await h.emu.wait_until(lambda: not h.emu.messages(EDITOR)[1].buttons())
        assert h.emu.callback_answers[max(h.emu.callback_answers)]["text"].startswith("Отменено")


async def test_readers_cannot_publish_or_see_stats(tmp_path: Path) -> None:
    async with running_bot(tmp_path, admin_ids=frozenset({EDITOR})) as h:
        reader = READERS[0]
        pieces = await h.repo.count_pieces()
        await _send_file(h, reader, SOURCE)
        [no] = await h.emu.wait_for_messages(reader, 1)
        assert "только редакторы" in no.text
        [no_stats] = await h.say(reader, "/stats")
        assert "только редакторы" in no_stats.text
        # a forged Publish button for a real draft: the sender is checked again
        preview = await _preview(h)
        data = preview.buttons()[0]["callback_data"]
        h.emu._enqueue(
            "callback_query",
            {
                "id": "1",
                "from": {"id": reader, "is_bot": False, "first_name": "R", "language_code": "ru"},
                "chat_instance": "1",
                "data": data,
            },
        )
        h.emu._open_callback_queries.add("1")
        await h.emu.wait_until(lambda: "1" in h.emu.callback_answers)
        assert "только редакторы" in h.emu.callback_answers["1"]["text"]
        assert await h.repo.count_pieces() == pieces
        assert (await h.repo.get_draft(DraftAction.unpack(data).draft)).state == "open"  # type: ignore[union-attr]


async def test_a_bad_file_gets_the_reason_in_the_editors_language(tmp_path: Path) -> None:
    async with running_bot(tmp_path, admin_ids=frozenset({EDITOR})) as h:
        not_an_interview = "Просто заметка без вопросов и ответов.\n\nВторой абзац.".encode()
        await _send_file(h, EDITOR, not_an_interview)
        [reason] = await h.emu.wait_for_messages(EDITOR, 1)
        assert reason.text.startswith("Не нашёл вопросов и ответов")
        assert "Подробности:" in reason.text
        await _send_file(h, EDITOR, b"\x00\x01binary", language_code="en")
        reason = (await h.emu.wait_for_messages(EDITOR, 2))[-1]
        assert reason.text.startswith("This file cannot be read as an interview.")
        assert all(kind in reason.text for kind in (".docx", ".html", ".md", ".txt"))
        [usage] = await h.say(EDITOR, "/publish")
        assert all(kind in usage.text for kind in (".docx", ".html", ".md", ".txt"))
        assert await h.repo.count_pieces() == 1


async def test_a_word_file_named_txt_is_previewed_as_word(tmp_path: Path) -> None:
    """Editors rename files; the bot goes by what the file is (the upload is "interview.txt")."""
    word = DATA / "ingest" / "interview.docx"
    title = json.loads(word.with_name(f"{word.name}.truth.json").read_text("utf-8"))["title"]
    async with running_bot(tmp_path, admin_ids=frozenset({EDITOR})) as h:
        await _send_file(h, EDITOR, word.read_bytes())
        info, _notification = await h.emu.wait_for_messages(EDITOR, 2)
        assert "Предпросмотр" in info.text and title in info.text


# -- operator commands ----------------------------------------------------------------------------


def test_cli_stats_and_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    db = tmp_path / "bot.sqlite3"

    async def fill() -> None:
        repo = await Repository.open(db)
        try:
            for chat in (11, 12, 13):
                await repo.subscribe(chat, "ru")
            await repo.unsubscribe(12)
            tariffs = parse_follow("тарифы")
            assert isinstance(tariffs, FollowSpec)
            await repo.add_follow(13, "ru", tariffs)
            await repo.add_follow(14, "en", tariffs)  # follows, not subscribed
            await repo.save_reader_settings(14, "en", ReaderSettings(digest_hour=9))
        finally:
            await repo.close()

    asyncio.run(fill())
    monkeypatch.setenv("DATABASE_PATH", str(db))
    monkeypatch.setenv("BOT_TOKEN", "")
    source = tmp_path / "piece.txt"
    source.write_bytes(SOURCE)
    assert main(["publish", str(source)]) == 0
    assert "2 subscribers to notify" in capsys.readouterr().err

    assert main(["stats"]) == 0
    out = capsys.readouterr().out
    assert "2 active, 1 unsubscribed, 0 blocked" in out
    assert "0/2 sent" in out and "2 pending" in out and "in progress" in out

    assert main(["export-subscribers"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("chat_id,state,locale,subscribed_at,changed_at,reason,mode,")
    assert [r.split(",")[:2] for r in rows[1:]] == [
        ["11", "active"],
        ["13", "active"],
        ["14", "follows"],
    ]
    assert rows[2].endswith(",topic:тарифы") and ",9,topic:тарифы" in rows[3]
    assert main(["export-subscribers", "--all"]) == 0
    assert "12,unsubscribed" in capsys.readouterr().out
