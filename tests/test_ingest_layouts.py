"""Plain-text layouts newsrooms paste, against truth written without seeing the parser
(tests/data/ingest/README.md): turn boundaries exact, furniture never inside the text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.domain.parsing import decode_source, parse_interview
from bot.publishing import prepare

INGEST = Path(__file__).parent / "data" / "ingest"
# every plain-text interview with its truth (tests/data/ingest/README.md), the blind-written
# ``blind-*`` ones included
LAYOUTS = sorted(p.name for p in INGEST.glob("*.txt") if (INGEST / f"{p.name}.truth.json").exists())
# Word files, saved web pages and Markdown, read by their readers (bot/domain/readers)
FORMATS = sorted(
    p.name
    for p in INGEST.iterdir()
    if p.suffix in {".docx", ".html", ".md"} and (INGEST / f"{p.name}.truth.json").exists()
)


@pytest.mark.parametrize("name", LAYOUTS)
def test_turns_and_answers_match_the_truth(name: str) -> None:
    truth = json.loads((INGEST / f"{name}.truth.json").read_text(encoding="utf-8"))
    interview = parse_interview(decode_source((INGEST / name).read_bytes()))
    assert [turn.question_text[:30] for turn in interview.turns] == [
        turn["question"][:30] for turn in truth["turns"]
    ]
    for turn, expected in zip(interview.turns, truth["turns"], strict=True):
        answer = turn.answer_text
        segments = expected["segments"]
        assert answer.startswith(segments[0]["starts"]), (turn.number, answer[:60])
        assert answer.endswith(segments[-1]["ends"]), (turn.number, answer[-60:])


@pytest.mark.parametrize("name", LAYOUTS)
def test_every_answer_segment_is_attributed_to_its_speaker(name: str) -> None:
    truth = json.loads((INGEST / f"{name}.truth.json").read_text(encoding="utf-8"))
    interview = parse_interview(decode_source((INGEST / name).read_bytes()))
    assert [p.name for p in interview.experts] == [s["name"] for s in truth["speakers"]]
    for turn, expected in zip(interview.turns, truth["turns"], strict=True):
        segments = turn.segments
        assert [s.speaker or interview.speaker for s in segments] == [
            s["speaker"] for s in expected["segments"]
        ], turn.number
        for segment, truth_segment in zip(segments, expected["segments"], strict=True):
            assert segment.paragraphs[0].startswith(truth_segment["starts"]), turn.number


@pytest.mark.parametrize("name", LAYOUTS)
def test_furniture_never_reaches_the_text(name: str) -> None:
    truth = json.loads((INGEST / f"{name}.truth.json").read_text(encoding="utf-8"))
    interview = parse_interview(decode_source((INGEST / name).read_bytes()))
    text = "\n".join(
        [interview.title, *interview.lead, *interview.closing]
        + [p for turn in interview.turns for p in (*turn.question, *turn.answer)]
    )
    for line in truth["furniture"]:
        assert line not in text


def test_a_question_the_expert_asks_back_stays_in_the_answer() -> None:
    text = (
        "Заголовок интервью\n\nВводный абзац о том, кто такой эксперт и о чём разговор.\n\n"
        "Сколько стоит проект?\n\nСто миллиардов тенге.\n\n"
        "Но меня волнует другое. Каналы нужно обслуживать каждый год. А кто будет платить?\n\n"
        "Ответа пока нет ни у министерства, ни у акимата.\n\n"
        "Расскажите о планах на 2027 год.\n\nВторая очередь, ещё 160 километров.\n"
    )
    interview = parse_interview(text)
    assert [turn.question_text for turn in interview.turns] == [
        "Сколько стоит проект?",
        "Расскажите о планах на 2027 год.",
    ]
    assert "А кто будет платить?" in interview.turns[0].answer_text
    assert interview.turns[0].answer_text.endswith("ни у акимата.")


@pytest.mark.parametrize("name", FORMATS)
def test_word_web_and_markdown_files_publish_with_bold_questions(name: str) -> None:
    truth = json.loads((INGEST / f"{name}.truth.json").read_text(encoding="utf-8"))
    interview = prepare((INGEST / name).read_bytes(), name=name).interview
    assert interview.title == truth["title"]
    assert [turn.question_text[:30] for turn in interview.turns] == [
        turn["question"][:30] for turn in truth["turns"]
    ]
    for turn, expected in zip(interview.turns, truth["turns"], strict=True):
        assert turn.answer_text.startswith(expected["segments"][0]["starts"])
        assert turn.answer_text.endswith(expected["segments"][-1]["ends"])
        for line in truth["furniture"]:
            assert line not in turn.answer_text
        speakers = [s.speaker or interview.speaker for s in turn.segments]
        assert speakers == [s["speaker"] for s in expected["segments"]], turn.number


def test_a_word_file_renamed_to_txt_is_read_as_word() -> None:
    data = (INGEST / "interview.docx").read_bytes()
    renamed = prepare(data, name="interview.txt").interview
    assert len(renamed.turns) == len(prepare(data, name="interview.docx").interview.turns)
