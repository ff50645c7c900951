"""Withdraw, restore and purge: the state table, the repository, the command line, and an
editor's /withdraw end to end through the emulator (sent notifications deleted or replaced)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from bot.domain.lifecycle import ALLOWED, EditorAction, EditRefused, Refusal, refusal
from bot.domain.models import PieceStatus
from bot.domain.parsing import decode_source, parse_interview
from bot.publishing import prepare, store
from storage import Repository
from tests.conftest import DATA
from tests.harness import Harness, running_bot

EDITOR = 77
READERS = (701, 702, 703)
SOURCE = (DATA / "interviews" / "bus-network-reform.txt").read_bytes()
TITLE = parse_interview(decode_source(SOURCE)).title


def test_every_action_in_every_state_is_allowed_or_refused_with_a_reason() -> None:
    for action in EditorAction:
        assert refusal(action, None) is Refusal.UNKNOWN_PIECE
        for status in PieceStatus:
            problem = refusal(action, status)
            assert (problem is None) == (status in ALLOWED[action]), (action, status)
    assert refusal(EditorAction.WITHDRAW, PieceStatus.WITHDRAWN) is Refusal.WITHDRAWN
    assert refusal(EditorAction.CORRECT, PieceStatus.WITHDRAWN) is Refusal.WITHDRAWN
    assert refusal(EditorAction.RESTORE, PieceStatus.LIVE) is Refusal.NOT_WITHDRAWN
    assert refusal(EditorAction.PURGE, PieceStatus.LIVE) is Refusal.NOT_WITHDRAWN
    assert refusal(EditorAction.RESTORE, PieceStatus.PURGED) is Refusal.PURGED
    assert refusal(EditorAction.WITHDRAW, PieceStatus.SCHEDULED) is Refusal.SCHEDULED


async def test_withdrawn_is_hidden_everywhere_and_restore_brings_it_back(
    seeded_repo: Repository,
) -> None:
    repo = seeded_repo
    for chat in READERS:
        await repo.subscribe(chat, "ru")
    piece_id = await store(repo, prepare(SOURCE))
    await repo.set_chat_piece(READERS[0], piece_id)
    assert await repo.search_quotes("автобус", limit=5)
    change = await repo.withdraw_piece(piece_id, reason="по просьбе эксперта", actor=5)
    assert change.cancelled == 3 and change.followups == 0  # nothing was sent yet
    assert await repo.get_piece(piece_id) is None
    assert await repo.piece_status(piece_id) == (PieceStatus.WITHDRAWN, "по просьбе эксперта")
    assert piece_id not in [p.id for p in await repo.list_pieces()]
    assert await repo.count_pieces() == 1 and await repo.latest_piece_id() != piece_id
    assert all(hit.piece_id != piece_id for hit in await repo.search_quotes("автобус", limit=50))
    assert await repo.current_piece_id(READERS[0]) == await repo.latest_piece_id()
    assert (await repo.delivery_counts(piece_id)).cancelled == 3
    with pytest.raises(EditRefused) as twice:
        await repo.withdraw_piece(piece_id, reason=None, actor=5)
    assert twice.value.refusal is Refusal.WITHDRAWN

    await repo.restore_piece(piece_id, actor=5)
    assert (await repo.get_piece(piece_id)) is not None
    assert any(hit.piece_id == piece_id for hit in await repo.search_quotes("автобус", limit=50))
    assert (await repo.delivery_counts(piece_id)).pending == 3  # sent after all
    [entry, *_] = await repo.recent_audit()
    assert (entry.action, entry.actor, entry.piece_id) == ("restore", 5, piece_id)


async def test_purge_removes_the_text_for_good(seeded_repo: Repository) -> None:
    repo = seeded_repo
    piece_id = await store(repo, prepare(SOURCE))
    with pytest.raises(EditRefused):
        await repo.purge_piece(piece_id, actor=0)  # withdraw first
    await repo.withdraw_piece(piece_id, reason="суд", actor=0)
    await repo.purge_piece(piece_id, actor=0)
    for table in ("turns", "quotes", "piece_versions"):
        rows = await repo._fetchall(f"SELECT count(*) FROM {table} WHERE piece_id = ?", (piece_id,))
        assert rows[0][0] == 0, table
    [row] = await repo._fetchall(
        "SELECT title, lead, summary FROM pieces WHERE id = ?", (piece_id,)
    )
    assert tuple(row) == ("", "[]", "{}")
    assert await repo.piece_status(piece_id) == (PieceStatus.PURGED, "суд")
    with pytest.raises(EditRefused) as restore:
        await repo.restore_piece(piece_id, actor=0)
    assert restore.value.refusal is Refusal.PURGED
    # the same text can be published again as a new piece
    assert await store(repo, prepare(SOURCE)) != piece_id


def test_cli_withdraw_restore_purge_and_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(db))
    monkeypatch.setenv("BOT_TOKEN", "")
    source = tmp_path / "piece.txt"
    source.write_bytes(SOURCE)
    assert main(["publish", str(source)]) == 0
    piece = capsys.readouterr().out.strip()

    def run(*argv: str) -> tuple[int, str]:
        code = main(list(argv))
        return code, capsys.readouterr().err.strip()

    assert run("withdraw", "99") == (2, "error: there is no piece 99")
    assert run("restore", piece) == (2, f"error: piece {piece} is not withdrawn")
    assert run("purge", piece) == (2, f"error: piece {piece} is not withdrawn")
    code, line = run("withdraw", piece, "--reason", "по требованию <b>суда</b>")
    assert code == 0 and line.startswith(f"withdrew piece {piece}")
    assert run("withdraw", piece) == (2, f"error: piece {piece} is withdrawn (restore it first)")
    assert run("restore", piece)[0] == 0
    assert run("withdraw", piece)[0] == 0
    assert run("purge", piece)[0] == 0
    assert run("restore", piece) == (2, f"error: piece {piece} was purged: its text is gone")

    async def audit() -> list[str]:
        repo = await Repository.open(db)
        try:
            return [e.action for e in reversed(await repo.recent_audit())]
        finally:
            await repo.close()

    assert asyncio.run(audit()) == ["publish", "withdraw", "restore", "withdraw", "purge"]


async def _publish_to_readers(h: Harness) -> int:
    for reader in READERS:
        h.emu.add_chat(reader)
        await h.repo.subscribe(reader, "ru")
    piece_id = await store(h.repo, prepare(SOURCE))
    h.dp["broadcaster"].wake()
    for reader in READERS:
        await h.emu.wait_for_messages(reader, 1)
    await h.emu.wait_until(lambda: True)
    deadline = asyncio.get_running_loop().time() + 10
    while (await h.repo.delivery_counts(piece_id)).sent < len(READERS):
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    return piece_id


async def test_an_editor_withdraws_a_piece_readers_had(tmp_path: Path) -> None:
    async with running_bot(tmp_path, admin_ids=frozenset({EDITOR})) as h:
        piece_id = await _publish_to_readers(h)
        reader, other, old = READERS
        [questions] = await h.say(reader, f"/start {piece_id}")  # its summary, with buttons
        # reader 3's notification is older than Telegram's 48 hours for deleting
        [note] = h.emu.messages(old)
        h.emu.age_message(old, note.message_id, 49 * 3600)
        async with h.repo.transaction() as conn:
            await conn.execute(
                "UPDATE deliveries SET done_at = done_at - 49 * 3600 WHERE chat_id = ?", (old,)
            )

        [usage] = await h.say(EDITOR, "/withdraw")
        assert "/withdraw N" in usage.text
        [unknown] = await h.say(EDITOR, "/withdraw 999")
        assert "Материала 999 нет" in unknown.text
        [no] = await h.say(reader, f"/withdraw {piece_id}")
        assert "только редакторы" in no.text

        [ask] = await h.say(EDITOR, f"/withdraw {piece_id} По просьбе <эксперта>")
        assert "Снять материал" in ask.text and "По просьбе <эксперта>" in ask.text
        assert await h.repo.get_piece(piece_id) is not None  # nothing before Confirm
        await h.tap(EDITOR, ask, "Снять")
        [done] = (await h.emu.wait_for_messages(EDITOR, 4))[3:]
        assert f"Материал {piece_id} снят" in done.text

        # sent notifications: deleted within 48 hours, the older one replaced by the note
        await h.emu.wait_until(lambda: not h.emu.messages(other), timeout=10)
        await h.emu.wait_until(lambda: h.emu.messages(old)[0].edited > 0, timeout=10)
        assert h.emu.messages(old)[0].text.startswith("🚫 Этот материал снят редакцией")
        assert "По просьбе <эксперта>" in h.emu.messages(old)[0].text
        assert not h.emu.messages(old)[0].buttons()
        assert all("🆕" not in m.text for m in h.emu.messages(reader))

        # nothing of it is readable or findable
        [pieces] = await h.say(reader, "/pieces")
        assert TITLE[:40] not in pieces.text and len(pieces.buttons()) == 1
        [link] = await h.say(reader, f"/start {piece_id}_1")
        assert "снят редакцией" in link.text and "Причина: По просьбе <эксперта>" in link.text
        [summary] = await h.say(reader, "/summary")  # the reader's piece falls back
        assert summary.text.startswith((await h.repo.get_piece(1)).title)  # type: ignore[union-attr]
        [search] = await h.say(reader, "/search автобусы маршрут")
        assert TITLE[:40] not in search.text
        query_id = await h.emu.inline_query(reader, "автобусы")
        await h.emu.wait_until(lambda: query_id in h.emu.inline_answers)
        assert all(
            TITLE[:40] not in r["description"] for r in h.emu.inline_answers[query_id]["results"]
        )
        # a stale button of the piece answers with the withdrawal
        answer_id = await h.tap(reader, questions, "Вопросы")
        assert "снят редакцией" in h.emu.callback_answers[answer_id]["text"]

        # the press is checked again: a non-editor cannot confirm a held request
        [ask_again] = await h.say(EDITOR, f"/restore {piece_id}")
        data = ask_again.buttons()[0]["callback_data"]
        h.emu._enqueue(
            "callback_query",
            {
                "id": "9",
                "from": {"id": reader, "is_bot": False, "first_name": "R", "language_code": "ru"},
                "chat_instance": "1",
                "data": data,
            },
        )
        h.emu._open_callback_queries.add("9")
        await h.emu.wait_until(lambda: "9" in h.emu.callback_answers)
        assert "только редакторы" in h.emu.callback_answers["9"]["text"]
        assert await h.repo.get_piece(piece_id) is None
