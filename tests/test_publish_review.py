"""The editor sees what the bot understood before readers do: ``publish --dry-run`` prints the
parse and stores nothing, warnings stop a publish unless ``--force`` (CLI) or "Publish anyway"
(Telegram), and the admin preview shows speakers and who answers each question."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import EXIT_WARNINGS, main
from bot.domain.parsing import parse_interview
from bot.domain.review import Concern, review
from storage import Repository
from tests.harness import running_bot
from tests.test_ingest_layouts import INGEST

EDITOR = 77

# a surname label the lead does not introduce: readers would see "ИВАНОВА", not a name
UNKNOWN_LABEL = (
    "Город без пробок: что изменится в 2027 году\n\n"
    "Мы поговорили с руководителем транспортного управления о планах города.\n\n"
    "КОРР.: Когда закончится ремонт проспекта?\n\nИВАНОВА: К сентябрю, если погода позволит.\n\n"
    "КОРР.: Будут ли новые автобусы?\n\nИВАНОВА: Да, сто двадцать машин на газе.\n"
)


def _count_pieces(db: Path) -> int:
    async def count() -> int:
        repo = await Repository.open(db)
        try:
            return await repo.count_pieces()
        finally:
            await repo.close()

    return asyncio.run(count())


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(path))
    monkeypatch.setenv("BOT_TOKEN", "")
    return path


def test_dry_run_prints_turns_with_each_speaker_and_stores_nothing(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["publish", str(INGEST / "two-experts.txt"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Speaker: Айгерим Нурланова (партнёр консалтинговой компании" in out
    assert "Speaker: Олег Пак (председатель Ассоциации малого и среднего бизнеса" in out
    assert "Questions asked by: Модератор" in out
    assert "Turns: 8" in out
    turn_4 = out.split("  4. Q:")[1].split("  5. Q:")[0]
    assert turn_4.index("Олег Пак: Раньше работало") < turn_4.index("Айгерим Нурланова: Согласна")
    assert "Warnings: none" in out and "nothing stored" in out
    assert _count_pieces(db) == 0


def test_dry_run_lists_what_was_dropped_as_page_furniture(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["publish", str(INGEST / "english-names.txt"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    dropped = out.split("Dropped (")[1]
    assert "(SOUNDBITE OF MUSIC)" in dropped and "Copyright ©" in dropped
    assert "That was Saule Karimova" in dropped  # the host's sign-off is nobody's answer
    assert "Questions asked by: Dana Seitova" in out


def test_warnings_stop_a_publish_until_forced(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "roads.txt"
    source.write_text(UNKNOWN_LABEL, encoding="utf-8")
    assert [f.concern for f in review(parse_interview(UNKNOWN_LABEL))] == [Concern.UNKNOWN_SPEAKER]
    assert main(["publish", str(source)]) == EXIT_WARNINGS
    err = capsys.readouterr().err
    assert "'Иванова' is not named in the headline or the lead" in err
    assert "--force" in err and "Traceback" not in err
    assert _count_pieces(db) == 0
    assert main(["publish", str(source), "--force"]) == 0
    assert capsys.readouterr().out.strip().isdigit()
    assert _count_pieces(db) == 1


def test_an_answer_that_swallowed_questions_is_flagged() -> None:
    answers = "\n\n".join(f"Ответ номер {i}: всё идёт по плану, сроки прежние." for i in range(5))
    swallowed = "\n\n".join(
        [
            "Длинный ответ о бюджете программы и её сроках. " * 30,
            "А что с тарифами на следующий год?",
            "Тарифы вырастут на семь процентов. " * 20,
        ]
    )
    text = (
        "Заголовок интервью о воде\n\nВводка: эксперт Сергей Иванов рассказал о планах.\n\n"
        + "\n\n".join(
            f"— Вопрос {i}?\n\n— {a}"
            for i, a in enumerate([swallowed, *answers.split("\n\n")], start=1)
        )
    )
    findings = review(parse_interview(text))
    assert [(f.concern, f.turn) for f in findings] == [(Concern.LONG_ANSWER, 1)]


async def test_the_admin_preview_shows_who_answers_and_asks_before_publishing_anyway(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, admin_ids=frozenset({EDITOR})) as h:
        document = h.emu.upload_file((INGEST / "two-experts-dash.txt").read_bytes(), "smog.txt")
        await h.emu.send_message(EDITOR, document=document, caption="/publish")
        info, preview = await h.emu.wait_for_messages(EDITOR, 2)
        assert "Бахыт Ильясов (главный инженер ТОО «Жетысу Энергосервис»)" in info.text
        assert "Жанна Цой (координатор экологического движения «Таза Ауа»)" in info.text
        assert "Насколько велик вклад автотранспорта? → Жанна Цой" in info.text
        assert "→ Бахыт Ильясов, Жанна Цой" in info.text  # turn 1: both, in order
        assert "Проверьте" not in info.text
        assert preview.button_texts()[0] == "✅ Опубликовать"

        document = h.emu.upload_file(UNKNOWN_LABEL.encode(), "roads.txt")
        await h.emu.send_message(EDITOR, document=document, caption="/publish")
        info, preview = (await h.emu.wait_for_messages(EDITOR, 4))[2:]
        assert "Проверьте перед публикацией" in info.text
        assert "спикер Иванова не назван" in info.text
        assert preview.button_texts() == ["⚠ Опубликовать всё равно", "✖ Отмена"]
        await h.tap(EDITOR, preview, "Опубликовать всё равно")
        await h.emu.wait_until(lambda: h.repo is not None)
        pieces = await h.repo.list_pieces()
        assert any(p.title.startswith("Город без пробок") for p in pieces)
