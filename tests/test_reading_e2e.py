"""A reader reads the interview through the Bot API: the real dispatcher against the emulator."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.domain.parsing import decode_source, parse_interview
from bot.publishing import SEED_TITLE, seed_bytes
from bot.views.callbacks import AnswerView
from tests.conftest import DATA
from tests.harness import running_bot

READER = 501
SEED = parse_interview(decode_source(seed_bytes()))


async def publish_cli(db: Path, path: Path, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "publish",
        str(path),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "DATABASE_PATH": str(db), "BOT_TOKEN": ""},
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_start_summary_and_command_menus(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        [greeting] = await h.say(READER, "/start")
        assert "Здравствуйте" in greeting.text and SEED_TITLE in greeting.text
        assert any("Вопросы (7)" in b for b in greeting.button_texts())

        [summary] = await h.say(READER, "/summary")
        assert summary.text.startswith(SEED_TITLE)
        assert "Байкадам Курамаев" in summary.text
        assert "Фото" not in summary.text
        assert "?" not in summary.text.split("\n", 2)[-1]  # no question in the summary

        menus = {key: [c["command"] for c in cmds] for key, cmds in h.emu.commands.items()}
        assert {lang for _scope, lang in menus} == {"", "en"}
        for commands in menus.values():
            assert {"start", "summary", "questions", "answer", "help"} <= set(commands)


async def test_every_answer_opens_from_its_button(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        [listing] = await h.say(READER, "/questions")
        for turn in SEED.turns:
            assert f"{turn.number}. {turn.question_text[:40]}" in listing.text
        for turn in SEED.turns:
            await h.tap(READER, listing, f"{turn.number}. ")
            shown = h.emu.last_message(READER)
            assert f"вопрос {turn.number} из 7" in shown.text
            assert turn.question_text in shown.text
            assert turn.answer_text in shown.text
            await h.tap(READER, shown, "Все вопросы")
            listing = h.emu.last_message(READER)
        assert len(h.emu.callback_answers) == 14  # every press answered


async def test_prev_next_walk_through_answers(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        [first] = await h.say(READER, "/answer 1")
        assert "◀" not in " ".join(first.button_texts())
        current = first
        for number in range(2, 8):
            await h.tap(READER, current, f"{number} ▶")
            current = h.emu.last_message(READER)
            assert SEED.turns[number - 1].answer_text in current.text
        assert "▶" not in " ".join(b for b in current.button_texts() if b != "Все вопросы")


async def test_answer_by_number_and_bad_numbers(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        [seventh] = await h.say(READER, "/answer 7")
        assert SEED.turns[6].answer_text in seventh.text
        for bad in ("/answer 0", "/answer 8", "/answer 99999999999999999999"):
            [reply] = await h.say(READER, bad)
            assert "ответы с 1 по 7" in reply.text
        for junk in ("/answer", "/answer abc", "/answer <b>1</b>", "/answer 1 2"):
            [reply] = await h.say(READER, junk)
            assert "/answer 2" in reply.text


async def test_english_reader_gets_english_interface(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        [greeting] = await h.say(READER, "/start", language_code="en")
        assert greeting.text.startswith("Hello")
        [reply] = await h.say(READER, "/answer 12", language_code="en-GB")
        assert reply.text == "There is no answer 12: this piece has answers 1 to 7."
        [hint] = await h.say(READER, "/nonsense", language_code="en")
        assert "/help" in hint.text


async def test_deep_link_opens_one_answer(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        piece_id = await h.repo.latest_piece_id()
        [answer] = await h.say(READER, f"/start {piece_id}_3")
        assert SEED.turns[2].answer_text in answer.text
        [missing] = await h.say(READER, "/start 999_1")
        assert "нет" in missing.text.lower()
        [greeting] = await h.say(READER, "/start garbage<>&")
        assert "Здравствуйте" in greeting.text


async def test_published_piece_becomes_newest_and_long_answer_arrives_whole(tmp_path: Path) -> None:
    source = DATA / "interviews" / "technopark-rnd-interview.txt"
    piece = parse_interview(decode_source(source.read_bytes()))
    long_turn = max(piece.turns, key=lambda t: len(t.answer_text))
    assert len(long_turn.answer_text) > 4000
    async with running_bot(tmp_path) as h:
        code, out, err = await publish_cli(h.settings.database_path, source)
        assert code == 0, err
        new_id = int(out.strip())
        [summary] = await h.say(READER, "/summary")
        assert summary.text.startswith(piece.title)

        messages = await h.say(READER, f"/answer {long_turn.number}", expect=2)
        assert all(len(m.text) <= 4096 for m in messages)
        joined = "\n\n".join(m.text for m in messages)
        for paragraph in long_turn.answer:
            assert paragraph in joined or paragraph in joined.replace("\n\n", " ")
        assert messages[-1].buttons() and not messages[0].buttons()
        assert "<5%" in joined or "R&D" in joined  # symbols from the text survive escaping

        # the archive lists both; choosing the older one switches /answer to it
        [archive] = await h.say(READER, "/pieces")
        assert archive.text.index(piece.title[:30]) < archive.text.index(SEED_TITLE[:30])
        await h.tap(READER, archive, SEED_TITLE[:20])
        [seventh] = await h.say(READER, "/answer 7")
        assert SEED.turns[6].answer_text in seventh.text
        assert new_id != await h.repo.current_piece_id(READER)


async def test_bad_files_are_refused_and_change_nothing(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    async with running_bot(tmp_path) as h:
        before = await h.repo.count_pieces()
        cases = {
            "empty.txt": b"",
            "binary.txt": bytes(range(256)),
            "no-turns.txt": "Просто заметка без интервью.".encode(),
        }
        for name, content in cases.items():
            path = tmp_path / name
            path.write_bytes(content)
            code, out, err = await publish_cli(db, path)
            assert code != 0 and out == ""
            assert err.startswith("error:") and err.count("\n") == 1 and "Traceback" not in err
        code, _out, err = await publish_cli(db, tmp_path / "missing.txt")
        assert code != 0 and "cannot read" in err
        code, _out, err = await publish_cli(
            db, Path(str(DATA / "interviews" / "c5-summit-kuramaev-interview.txt"))
        )
        assert code != 0 and "already published" in err
        assert await h.repo.count_pieces() == before


async def test_forged_and_stale_buttons_are_answered(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        [listing] = await h.say(READER, "/questions")
        # a button for a piece that does not exist, and callback data nobody produced
        for data in (AnswerView(piece=999, n=1).pack(), "a:1:x", "zzz", "v:1:nope:0"):
            listing.reply_markup["inline_keyboard"].append([{"text": data, "callback_data": data}])
            query_id = await h.emu.press(READER, listing.message_id, data)
            await h.emu.wait_until(lambda q=query_id: q in h.emu.callback_answers)
            assert h.emu.callback_answers[query_id].get("text")
        assert all(call.ok for call in h.emu.calls if call.method != "getUpdates")
