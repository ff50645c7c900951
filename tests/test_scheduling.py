"""Scheduled publishing: reading the time, the repository (invisible until due, released with
its notifications), the command line, and end to end: notified once when due, also when the bot
was down at that moment, and from Telegram (/publish with a time, /scheduled, /release)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.domain.lifecycle import EditRefused, Refusal
from bot.domain.schedule import parse_when
from bot.publishing import ensure_seed, prepare, store
from storage import Repository
from tests.conftest import DATA
from tests.harness import running_bot

EDITOR = 77
READER = 811
SOURCE = (DATA / "interviews" / "bus-network-reform.txt").read_bytes()
ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_times_are_read_in_the_newsrooms_zone_and_an_offset_wins() -> None:
    assert parse_when("2026-12-03 09:00", ALMATY, NOW) == datetime(2026, 12, 3, 4, 0, tzinfo=UTC)
    assert parse_when(" 2026-12-03T09:00:30 ", ALMATY, NOW).second == 30
    assert parse_when("2026-12-03 09:00+03:00", ALMATY, NOW).hour == 6
    assert parse_when("2026-12-03 09:00Z", ALMATY, NOW).hour == 9
    for bad, why in (
        ("завтра утром", Refusal.BAD_TIME),
        ("2026-12-03", Refusal.BAD_TIME),  # a date is not a time of publication
        ("2026-13-03 09:00", Refusal.BAD_TIME),
        ("2030-01-01 09:00", Refusal.BAD_TIME),  # more than a year ahead: a typo
        ("2026-12-02 16:59", Refusal.TIME_IN_PAST),  # 11:59 UTC
        ("", Refusal.BAD_TIME),
    ):
        with pytest.raises(EditRefused) as refused:
            parse_when(bad, ALMATY, NOW)
        assert refused.value.refusal is why, bad


async def test_a_scheduled_piece_is_invisible_until_released(seeded_repo: Repository) -> None:
    repo = seeded_repo
    await repo.subscribe(READER, "ru")
    seed = await repo.latest_piece_id()
    await repo.set_chat_piece(READER, seed)  # type: ignore[arg-type]
    due = datetime.now(UTC) + timedelta(hours=1)
    piece_id = await store(repo, prepare(SOURCE), at=due)
    assert await repo.get_piece(piece_id) is None
    assert await repo.latest_piece_id() == seed and await repo.count_pieces() == 1
    assert await repo.current_piece_id(READER) == seed  # not bumped by a future piece
    assert not await repo.search_quotes("автобусных маршрутов", limit=5)
    assert await repo.get_broadcast(piece_id) is None and not await repo.has_due_deliveries()
    assert [p.id for p in await repo.scheduled_pieces()] == [piece_id]
    assert await repo.release_due_pieces() == []  # not due yet

    assert await repo.release_due_pieces(now=due.timestamp() + 1) == [piece_id]
    assert await repo.release_due_pieces(now=due.timestamp() + 2) == []  # once
    piece = await repo.get_piece(piece_id)
    assert piece is not None and piece.published_at == due
    assert await repo.search_quotes("автобусных маршрутов", limit=5)
    assert (await repo.delivery_counts(piece_id)).pending == 1
    assert await repo.scheduled_pieces() == []


async def test_cancel_and_release_now(seeded_repo: Repository) -> None:
    repo = seeded_repo
    later = datetime.now(UTC) + timedelta(days=1)
    piece_id = await store(repo, prepare(SOURCE), at=later)
    await repo.cancel_scheduled(piece_id, actor=1)
    assert await repo.piece_status(piece_id) is None
    with pytest.raises(EditRefused) as again:
        await repo.cancel_scheduled(piece_id, actor=1)
    assert again.value.refusal is Refusal.UNKNOWN_PIECE
    piece_id = await store(repo, prepare(SOURCE), at=later)  # the same text, scheduled again
    await repo.release_now(piece_id, actor=1)
    assert (await repo.get_piece(piece_id)) is not None
    with pytest.raises(EditRefused) as live:
        await repo.release_now(piece_id, actor=1)
    assert live.value.refusal is Refusal.NOT_SCHEDULED


def test_cli_schedule_list_cancel_and_bad_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "bot.sqlite3"))
    monkeypatch.setenv("BOT_TOKEN", "")
    monkeypatch.setenv("TIMEZONE", "Asia/Almaty")
    source = tmp_path / "piece.txt"
    source.write_bytes(SOURCE)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out.strip(), err.strip()

    assert run("publish", str(source), "--at", "вчера") == (
        2,
        "",
        "error: the time is not understood: 'вчера'",
    )
    assert run("publish", str(source), "--at", "2020-01-01 09:00")[::2] == (
        2,
        "error: the time is in the past: '2020-01-01 09:00'",
    )
    assert run("pieces") == (0, "", "")  # nothing was stored
    when = (datetime.now(ALMATY) + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    code, piece, err = run("publish", str(source), "--at", when)
    assert code == 0 and f"goes out {when[8:10]}.{when[5:7]}.{when[:4]}" in err
    code, listing, _ = run("pieces")
    assert listing.splitlines()[0].startswith(f"{piece}\t{when}") and listing.endswith("scheduled")
    assert run("publish", str(source), "--at", when)[0] == 3  # the same text again
    assert run("release", "999")[2] == "error: there is no piece 999"
    assert run("cancel", piece)[0] == 0
    assert run("cancel", piece)[2] == f"error: there is no piece {piece}"
    monkeypatch.setenv("TIMEZONE", "Mars/Olympus")
    assert run("pieces")[0] == 2


async def test_notified_once_when_due(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        h.emu.add_chat(READER)
        await h.repo.subscribe(READER, "ru")
        due = datetime.now(UTC) + timedelta(seconds=2)
        piece_id = await store(h.repo, prepare(SOURCE), at=due)
        [link] = await h.say(READER, f"/start {piece_id}_1")
        assert "Такого материала нет" in link.text  # invisible until due
        [pieces] = await h.say(READER, "/pieces")
        assert len(pieces.buttons()) == 1
        await h.emu.wait_until(
            lambda: any("🆕" in m.text for m in h.emu.messages(READER)), timeout=15
        )
        assert time.time() >= due.timestamp()
        await asyncio.sleep(1.5)  # several polls later: still one notification
        assert sum("🆕" in m.text for m in h.emu.messages(READER)) == 1
        [opened] = await h.say(READER, f"/start {piece_id}_1")
        assert "вопрос 1 из" in opened.text


async def test_a_piece_due_while_the_bot_was_down_goes_out_at_start(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    repo = await Repository.open(db)
    try:
        await ensure_seed(repo)
        await repo.subscribe(READER, "ru")
        await store(repo, prepare(SOURCE), at=datetime.now(UTC) + timedelta(seconds=1))
    finally:
        await repo.close()
    await asyncio.sleep(1.2)  # due while nothing runs
    async with running_bot(tmp_path) as h:  # catches up at start
        h.emu.add_chat(READER)
        [note] = await h.emu.wait_for_messages(READER, 1, timeout=15)
        assert "🆕" in note.text
        await asyncio.sleep(1.0)
        assert len(h.emu.messages(READER)) == 1
    async with running_bot(tmp_path) as h:  # and the next start finds nothing left to send
        h.emu.add_chat(READER)
        await asyncio.sleep(1.5)
        assert not h.emu.messages(READER)


async def test_an_editor_schedules_lists_and_releases_from_telegram(tmp_path: Path) -> None:
    async with running_bot(tmp_path, admin_ids=frozenset({EDITOR})) as h:
        h.emu.add_chat(READER)
        await h.repo.subscribe(READER, "ru")
        document = h.emu.upload_file(SOURCE, "bus.txt")
        await h.emu.send_message(EDITOR, document=document, caption="/publish вчера")
        [bad] = await h.emu.wait_for_messages(EDITOR, 1)
        assert "Не понимаю это время" in bad.text
        when = (datetime.now(ALMATY) + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
        document = h.emu.upload_file(SOURCE, "bus.txt")
        await h.emu.send_message(EDITOR, document=document, caption=f"/publish {when}")
        info, preview = (await h.emu.wait_for_messages(EDITOR, 3))[1:]
        assert "Запланировано на" in info.text and "Asia/Almaty" in info.text
        assert preview.button_texts()[0] == "🕘 Запланировать"
        await h.tap(EDITOR, preview, "Запланировать")
        [scheduled] = (await h.emu.wait_for_messages(EDITOR, 4))[3:]
        assert "невидим" in scheduled.text or "не видят" in scheduled.text
        [piece] = await h.repo.scheduled_pieces()
        [listing] = await h.say(EDITOR, "/scheduled")
        assert f"{piece.id} · " in listing.text
        await asyncio.sleep(1.0)
        assert not h.emu.messages(READER)  # nobody notified before its time
        [ask] = await h.say(EDITOR, f"/release {piece.id}")
        await h.tap(EDITOR, ask, "Опубликовать сейчас")
        [note] = await h.emu.wait_for_messages(READER, 1, timeout=15)
        assert "🆕" in note.text
        [entry, *_] = await h.repo.recent_audit()
        assert (entry.action, entry.actor) == ("release", EDITOR)
