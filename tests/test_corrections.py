"""Corrections in place: the plan (turns matched old→new), the repository (same id, history,
index), the command line, and end to end: an editor's /correct with its preview, and 1,000
sent notifications edited once each at the broadcast rate."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import newsroom
from bot.cli import main
from bot.domain.corrections import plan_correction
from bot.domain.lifecycle import EditRefused, Refusal
from bot.domain.models import Piece
from bot.domain.parsing import decode_source, parse_interview
from bot.publishing import prepare, store
from storage import Repository
from tests.conftest import DATA
from tests.harness import Harness, running_bot

EDITOR = 77
SOURCE = (DATA / "interviews" / "bus-network-reform.txt").read_bytes()
TEXT = SOURCE.decode("utf-8")
FARE_OLD, FARE_NEW = "60 рублей", "65 рублей"
BIKE_LANES = "Да, к осени вдоль выделенных полос построят сорок километров велодорожек."
NEW_TURN = (
    "Корр.: Когда жители смогут посмотреть новую схему маршрутов?\n"
    "Петров: Схема уже висит на городском портале, а с февраля появится на остановках.\n"
)


def corrected(*, insert: bool = True) -> bytes:
    """The interview with the fare figure fixed (answer 3) and, with ``insert``, a new turn
    after the first one (so the fare answer becomes number 4)."""
    lines = TEXT.replace(FARE_OLD, FARE_NEW).splitlines(keepends=True)
    if insert:
        lines.insert(4, NEW_TURN)
    return "".join(lines).encode("utf-8")


def test_turns_are_matched_old_to_new_and_keep_their_links() -> None:
    old = parse_interview(decode_source(SOURCE))
    new = parse_interview(decode_source(corrected()))
    piece = Piece(
        id=1,
        title=old.title,
        lead=old.lead,
        turns=old.turns,
        closing=old.closing,
        credits=old.credits,
        speaker=old.speaker,
        published_at=datetime.now(UTC),
    )
    plan = plan_correction(piece, new)
    n = len(old.turns)
    assert plan.previous == (1, None, *range(2, n + 1))
    assert plan.links == (1, n + 1, *range(2, n + 1))  # the new turn gets a fresh link
    assert plan.added == (2,) and plan.edited == (4,) and plan.removed == ()
    assert not plan.empty and plan.renumbered
    same = plan_correction(piece, old)
    assert same.empty
    # a small edit of a question keeps the turn; a turn rewritten whole is a new turn
    lines = TEXT.splitlines(keepends=True)
    lines[12] = "Корр.: Сколько стоит реформа и кто за неё заплатит?\n"
    assert plan_correction(piece, parse_interview("".join(lines))).edited == (n,)
    lines[12:14] = ["Корр.: Вы сами ездите на автобусе?\n", "Петров: Каждый день, по 12-му.\n"]
    plan = plan_correction(piece, parse_interview("".join(lines)))
    assert plan.removed == (n,) and plan.added == (n,)


async def test_a_correction_replaces_the_text_in_place(seeded_repo: Repository) -> None:
    repo = seeded_repo
    piece_id = await store(repo, prepare(SOURCE))
    before = await repo.get_piece(piece_id)
    assert before is not None and FARE_OLD in before.turns[2].answer_text
    assert any(
        FARE_OLD.split()[0] in h.text for h in await repo.search_quotes("60 рублей", limit=5)
    )

    correction = await newsroom.prepare_correction(repo, piece_id, corrected())
    change = await newsroom.apply_correction(repo, correction, notify=False, actor=0)
    after = await repo.get_piece(piece_id)
    assert after is not None and change.revision == after.revision == 2
    assert after.title == before.title  # kept unless given
    assert len(after.turns) == len(before.turns) + 1
    assert after.number_of(3) == 4 and FARE_NEW in after.turns[3].answer_text  # link 3 → 4
    assert after.number_of(1) == 1 and after.number_of(len(before.turns) + 1) == 2
    assert after.corrected(4) is not None and after.corrected(2) is not None
    assert after.corrected(1) is None and after.corrected(3) is None
    hits = await repo.search_quotes("65 рублей", limit=5)
    assert hits and hits[0].piece_id == piece_id and hits[0].turn_number == 3  # the link
    assert all(FARE_OLD not in h.text for h in await repo.search_quotes("60 рублей", limit=50))
    [(revision, _when, content)] = await repo.piece_versions(piece_id)
    assert revision == 1 and FARE_OLD in content
    assert await repo.count_pieces() == 2  # still one piece, not two

    with pytest.raises(EditRefused) as same:
        await newsroom.prepare_correction(repo, piece_id, corrected())
    assert same.value.refusal is Refusal.NOTHING_TO_CORRECT
    # a later correction that removes the inserted turn: its link is never reused
    again = await newsroom.prepare_correction(repo, piece_id, corrected(insert=False))
    await newsroom.apply_correction(repo, again, notify=False, actor=0)
    latest = await repo.get_piece(piece_id)
    assert latest is not None and latest.number_of(3) == 3
    assert latest.number_of(len(before.turns) + 1) is None


async def test_ask_finds_a_corrected_piece_by_its_new_words(seeded_repo: Repository) -> None:
    repo = seeded_repo
    piece_id = await store(repo, prepare(SOURCE))
    question = "Когда в городе построят велодорожки?"
    before = [h for h in await repo.ask(question) if h.piece_id == piece_id]
    assert all("велодорожек" not in " ".join(h.passage) for h in before)
    lines = corrected(insert=False).decode("utf-8").splitlines(keepends=True)
    lines.insert(4, f"Корр.: Появятся ли велодорожки?\nПетров: {BIKE_LANES}\n")
    correction = await newsroom.prepare_correction(repo, piece_id, "".join(lines).encode())
    await newsroom.apply_correction(repo, correction, notify=False, actor=0)
    [best, *_] = await repo.ask(question)
    # the new turn (number 2) is found, shown under its own number with its own words
    assert (best.piece_id, best.turn_number) == (piece_id, 2)
    assert "велодорожек" in " ".join(best.passage)
    [fare, *_] = await repo.ask("Сколько будет стоить проезд?")
    assert fare.piece_id == piece_id and FARE_NEW in " ".join(fare.passage)


def test_cli_correct_and_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "bot.sqlite3"))
    monkeypatch.setenv("BOT_TOKEN", "")
    original, fixed, bad = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    original.write_bytes(SOURCE)
    fixed.write_bytes(corrected())
    bad.write_text("Просто заметка без вопросов.\n\nВторой абзац.\n", encoding="utf-8")
    assert main(["publish", str(original)]) == 0
    piece = capsys.readouterr().out.strip()

    def run(*argv: str) -> tuple[int, str]:
        code = main(list(argv))
        return code, capsys.readouterr().err.strip()

    assert run("correct", "42", str(fixed)) == (2, "error: there is no piece 42")
    code, line = run("correct", piece, str(bad))
    assert code == 2 and line.startswith(f"error: {bad}:")
    assert run("correct", piece, str(tmp_path / "missing.txt"))[0] == 2
    code, line = run("correct", piece, str(original))
    assert (code, line) == (2, f"error: nothing to correct: the text of piece {piece} is the same")
    code, line = run("correct", piece, str(fixed))
    assert code == 0 and "changed 4; added 2" in line and "revision 2" in line
    assert run("correct", piece, str(fixed))[0] == 2  # nothing left to correct
    assert run("withdraw", piece)[0] == 0
    assert run("correct", piece, str(original)) == (
        2,
        f"error: piece {piece} is withdrawn (restore it first)",
    )


async def _subscribe_many(h: Harness, first: int, count: int) -> list[int]:
    chats = list(range(first, first + count))
    now = time.time()
    async with h.repo.transaction() as conn:
        await conn.executemany(
            "INSERT INTO subscribers (chat_id, locale, subscribed_at, changed_at)"
            " VALUES (?, 'ru', ?, ?)",
            [(chat, now, now) for chat in chats],
        )
    for chat in chats:
        h.emu.add_chat(chat)
    return chats


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_an_editor_corrects_a_piece_readers_had(tmp_path: Path) -> None:
    async with running_bot(tmp_path, admin_ids=frozenset({EDITOR})) as h:
        readers = await _subscribe_many(h, 900_001, 3)
        piece_id = await store(h.repo, prepare(SOURCE))
        h.dp["broadcaster"].wake()

        async def sent() -> bool:
            return (await h.repo.delivery_counts(piece_id)).sent == len(readers)

        await _until(sent)
        reader = readers[0]
        [fare] = await h.say(reader, f"/start {piece_id}_3")
        assert FARE_OLD in fare.text

        document = h.emu.upload_file(corrected(), "fixed.txt")
        await h.emu.send_message(EDITOR, document=document, caption=f"/correct {piece_id}")
        [preview] = await h.emu.wait_for_messages(EDITOR, 1)
        assert f"Исправление материала {piece_id}" in preview.text
        assert "Изменённые ответы: 4" in preview.text and "Новые вопросы: 2" in preview.text
        assert FARE_OLD in preview.text and FARE_NEW in preview.text
        assert "(3)" in preview.text  # the notifications to edit
        assert FARE_OLD in (await h.repo.get_piece(piece_id)).turns[2].answer_text  # type: ignore[union-attr]
        assert preview.button_texts() == [
            "✅ Исправить",
            "✅ Исправить и сообщить читателям",
            "✖ Отмена",
        ]
        await h.tap(EDITOR, preview, "✅ Исправить")
        [done] = (await h.emu.wait_for_messages(EDITOR, 2))[1:]
        assert f"Материал {piece_id} исправлен" in done.text

        # the notifications are edited in place, with the mark; nobody got a new message
        for chat in readers:
            await h.emu.wait_until(lambda c=chat: h.emu.messages(c)[0].edited == 1, timeout=10)
            note = h.emu.messages(chat)[0]
            assert "✏️ исправлено" in note.text
        assert len(h.emu.messages(readers[1])) == 1
        # the old deep link opens the same (corrected) answer, marked
        [opened] = await h.say(reader, f"/start {piece_id}_3")
        assert FARE_NEW in opened.text and "вопрос 4 из" in opened.text
        assert "✏️ исправлено" in opened.text
        [search] = await h.say(reader, "/search 65 рублей")
        assert FARE_NEW in search.text
        # the same file again: nothing to correct
        await h.emu.send_message(
            EDITOR, document=h.emu.upload_file(corrected(), "f.txt"), caption=f"/correct {piece_id}"
        )
        [same] = (await h.emu.wait_for_messages(EDITOR, 3))[2:]
        assert "Нечего исправлять" in same.text


async def test_a_thousand_notifications_are_edited_once_at_the_rate(tmp_path: Path) -> None:
    rate = 200
    async with running_bot(tmp_path, broadcast_rate=float(rate), broadcast_paid=True) as h:
        readers = await _subscribe_many(h, 910_000, 1000)
        piece_id = await store(h.repo, prepare(SOURCE))
        sending = time.monotonic()
        h.dp["broadcaster"].wake()

        async def sent() -> bool:
            return (await h.repo.delivery_counts(piece_id)).sent == len(readers)

        await _until(sent, 60)
        print(f"\n1000 sends in {time.monotonic() - sending:.1f} s")
        correction = await newsroom.prepare_correction(h.repo, piece_id, corrected())
        h.emu.flood_limits = (rate * 1.1, 1)  # 429 above the rate (+10 %) or 1/s to a chat
        calls = len(h.emu.calls)
        started = time.monotonic()
        change = await newsroom.apply_correction(h.repo, correction, notify=False, actor=0)
        assert change.followups == len(readers)
        h.dp["broadcaster"].wake()

        async def edited() -> bool:
            return (await h.repo.followup_counts(piece_id)).get("done:edited", 0) == len(readers)

        await _until(edited, 60)
        took = time.monotonic() - started
        edits = [c for c in h.emu.calls if c.method == "editMessageText" and c.ok]
        assert Counter(int(c.params["chat_id"]) for c in edits) == Counter(readers)
        assert all(h.emu.messages(chat)[0].edited == 1 for chat in readers)
        assert all("✏️ исправлено" in h.emu.messages(chat)[0].text for chat in readers)
        assert all(len(h.emu.messages(chat)) == 1 for chat in readers)  # nobody notified again
        # at the broadcast rate: Telegram's limits were never hit
        requests = [c for c in h.emu.calls[calls:] if c.method == "editMessageText"]
        assert len(requests) == len(readers) and all(c.ok for c in requests)
        achieved = (len(requests) - 1) / (requests[-1].at - requests[0].at)
        print(f"\n{len(edits)} edits in {took:.1f} s ({achieved:.0f}/s, limit {rate})")
        assert achieved <= rate * 1.05


async def test_notify_replies_with_a_short_correction_notice(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        readers = await _subscribe_many(h, 920_001, 2)
        piece_id = await store(h.repo, prepare(SOURCE))
        h.dp["broadcaster"].wake()

        async def sent() -> bool:
            return (await h.repo.delivery_counts(piece_id)).sent == len(readers)

        await _until(sent)
        correction = await newsroom.prepare_correction(h.repo, piece_id, corrected(insert=False))
        await newsroom.apply_correction(h.repo, correction, notify=True, actor=0)
        h.dp["broadcaster"].wake()
        for chat in readers:
            [note, notice] = await h.emu.wait_for_messages(chat, 2)
            assert note.edited == 1 and "✏️ исправлено" in note.text
            assert notice.text.startswith("✏️ Редакция исправила материал")
            raw = h.emu._chats[chat].raw[notice.message_id]
            assert raw["reply_to_message"]["message_id"] == note.message_id
