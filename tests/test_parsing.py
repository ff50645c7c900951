"""Ingest: every layout a newsroom sends, and every way a file can be wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.parsing import (
    MAX_SOURCE_BYTES,
    ParseError,
    decode_source,
    extract_quotes,
    parse_interview,
    source_hash,
)
from bot.publishing import seed_bytes

DATA = Path(__file__).parent / "data" / "interviews"


def seed():
    return parse_interview(decode_source(seed_bytes()))


def test_seed_structure() -> None:
    piece = seed()
    assert len(piece.turns) == 7
    assert len(piece.lead) == 2 and piece.lead[1].startswith("О значении встречи")
    assert piece.turns[0].question_text.startswith("Байкадам, как вы оцениваете")
    assert piece.turns[6].answer_text.startswith("Его политика — пример")
    assert [c[:20] for c in piece.closing] == ["Визит американской д", "В преддверии саммита"]
    assert piece.credits == ("Фото из открытых источников",)
    assert piece.speaker == "Байкадам Курамаев"


def test_seed_dash_inside_sentence_is_not_a_turn() -> None:
    piece = seed()
    # "Центральная Азия — это почти 80 миллионов…" stays inside answer 1
    assert "Центральная Азия — это почти 80 миллионов" in piece.turns[0].answer_text
    assert all(not t.answer_text.startswith("—") for t in piece.turns)


def test_credits_and_trailing_whitespace_stay_out_of_text() -> None:
    piece = seed()
    everything = [*piece.lead, *piece.closing] + [
        p for t in piece.turns for p in (*t.question, *t.answer)
    ]
    assert not any("Фото" in p for p in everything)
    assert all(p == p.strip() and p for p in everything)
    assert not any("Фото" in q.text for q in extract_quotes(piece))


def test_quotes_are_answer_sentences_tied_to_turns() -> None:
    piece = seed()
    quotes = extract_quotes(piece)
    assert quotes[0].turn_number == 1 and quotes[0].text == "Это очень важное событие."
    assert {q.turn_number for q in quotes} == set(range(1, 8))
    questions = {t.question_text for t in piece.turns}
    assert not any(q.text in questions for q in quotes)
    # every quote is a whole sentence of its own answer
    for quote in quotes:
        assert quote.text in piece.turns[quote.turn_number - 1].answer_text


BLANK_SEPARATED = """Заголовок: как R&D меняет завод

Вступление о заводе, где доля брака <5%.

– Иван, как всё начиналось?

– Сначала было трудно.
Потом мы наладили процесс.

Второй абзац ответа после пустой строки.

- Что дальше?

- Дальше — экспорт.

Заключительный абзац редакции.

Беседовал Пётр Сидоров
"""


def test_blank_line_layout_with_multi_paragraph_answers() -> None:
    piece = parse_interview(BLANK_SEPARATED)
    assert piece.title == "Заголовок: как R&D меняет завод"
    assert piece.lead == ("Вступление о заводе, где доля брака <5%.",)
    assert [t.question_text for t in piece.turns] == ["Иван, как всё начиналось?", "Что дальше?"]
    assert piece.turns[0].answer == (
        "Сначала было трудно.",
        "Потом мы наладили процесс.",
        "Второй абзац ответа после пустой строки.",
    )
    assert piece.turns[1].answer == ("Дальше — экспорт.",)
    assert piece.closing == ("Заключительный абзац редакции.",)
    assert piece.credits == ("Беседовал Пётр Сидоров",)


@pytest.mark.parametrize(
    ("q", "a"),
    [("Вопрос:", "Ответ:"), ("Q:", "A:"), ("Корр.:", "Иванов:"), ("В:", "О:")],
)
def test_labelled_layouts(q: str, a: str) -> None:
    text = (
        "Лид о событии. Эксперт Сергей Иванов рассказал о нём.\n"
        f"{q} Первый вопрос?\n{a} Первый ответ. Ещё предложение.\n"
        f"{q} Второй вопрос?\n{a} Второй ответ.\nПродолжение второго ответа.\n"
        f"{q} Третий вопрос?\n{a} Третий ответ.\n"
    )
    piece = parse_interview(text)
    assert [t.question_text for t in piece.turns] == [
        "Первый вопрос?",
        "Второй вопрос?",
        "Третий вопрос?",
    ]
    assert piece.turns[1].answer == ("Второй ответ.", "Продолжение второго ответа.")
    if a == "Иванов:":
        assert piece.speaker == "Сергей Иванов"


def test_nbsp_and_windows_line_ends_are_normalised() -> None:
    text = "Лид\u00a0новости.\r\n—\u00a0Вопрос?\r\n—\u00a0Ответ\u00a0здесь.\r\n"
    piece = parse_interview(text)
    assert piece.turns[0].question == ("Вопрос?",)
    assert piece.turns[0].answer == ("Ответ здесь.",)


def test_speaker_option_wins_and_unknown_speaker_is_none() -> None:
    text = "Лид новости.\n— Как дела?\n— Хорошо.\n"
    assert parse_interview(text).speaker is None
    assert parse_interview(text, speaker="Анна Петрова").speaker == "Анна Петрова"
    assert parse_interview(text, title="Мой заголовок").title == "Мой заголовок"


@pytest.mark.parametrize("path", sorted(DATA.glob("*.txt")), ids=lambda p: p.stem)
def test_bundled_test_interviews_parse(path: Path) -> None:
    piece = parse_interview(decode_source(path.read_bytes()))
    assert len(piece.turns) >= 2
    assert piece.title and piece.speaker
    for turn in piece.turns:
        assert turn.question and turn.answer


def test_windows_1251_is_decoded() -> None:
    text = "Лид новости.\n— Как дела?\n— Хорошо, спасибо.\n"
    assert decode_source(text.encode("cp1251")) == text


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"   \n\n  ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (bytes(range(256)) * 4, "binary"),
        (b"Just English text with no turns.", None),
        ("Текст без вопросов и ответов.".encode("utf-16"), None),
        (b"\xff\xfe\xfa" * 100 + b"abc", "encoding"),
        (b"x" * (MAX_SOURCE_BYTES + 1), "too_large"),
    ],
)
def test_bad_files_are_refused_clearly(data: bytes, code: str | None) -> None:
    with pytest.raises(ParseError) as error:
        parse_interview(decode_source(data))
    if code:
        assert error.value.code == code
    assert str(error.value) and "\n" not in str(error.value)


def test_text_without_turns_is_refused() -> None:
    with pytest.raises(ParseError, match="no question/answer turns"):
        parse_interview("Просто новость. Без интервью.\nЕщё абзац.")


def test_unanswered_question_is_refused() -> None:
    with pytest.raises(ParseError, match="no answer"):
        parse_interview("Лид.\n— Вопрос?\n— Ответ.\n— Ещё вопрос?\n")


def test_source_hash_ignores_layout_noise() -> None:
    assert source_hash("Лид.\n— В?\n— О.\n") == source_hash("Лид.\r\n—\u00a0В?\r\n— О.  \n\n")
