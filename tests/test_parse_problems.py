"""Every reason a file is refused has its own reply, in both interface languages."""

from __future__ import annotations

import pytest

from bot.domain.parsing import ParseError, ParseProblem, decode_source, parse_interview
from bot.i18n import build_i18n
from bot.views.editor import parse_error_text, parse_problem_text


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_every_problem_has_its_own_reply(locale: str) -> None:
    i18n = build_i18n()
    with i18n.context(), i18n.use_locale(locale):
        replies = {problem: parse_problem_text(problem) for problem in ParseProblem}
    assert all(replies.values())
    assert len(set(replies.values())) == len(ParseProblem), "two problems share one reply"


@pytest.mark.parametrize(
    ("data", "problem", "words"),
    [
        (b"{\\rtf1\\ansi \\par - Question?\\par - Answer.}", ParseProblem.RTF, "RTF"),
        (
            b"<!DOCTYPE html><html><body><p>- Question?</p><p>- Answer.</p></body></html>",
            ParseProblem.HTML,
            "HTML",
        ),
    ],
)
def test_rtf_and_html_get_a_reply_that_names_them(
    data: bytes, problem: ParseProblem, words: str
) -> None:
    with pytest.raises(ParseError) as error:
        decode_source(data)
    assert error.value.code is problem
    i18n = build_i18n()
    with i18n.context(), i18n.use_locale("en"):
        text = parse_error_text(error.value)
    assert words in text.splitlines()[0]


def test_questions_only_gets_the_no_answers_reply() -> None:
    text = (
        "Заголовок\n\n— Первый вопрос?\n— Второй вопрос?\n— Третий вопрос?\n— Четвёртый вопрос?\n"
    )
    with pytest.raises(ParseError) as error:
        parse_interview(text)
    assert error.value.code is ParseProblem.NO_ANSWERS
    i18n = build_i18n()
    with i18n.context(), i18n.use_locale("en"):
        assert "questions only" in parse_error_text(error.value)


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_an_unreadable_file_gets_the_formats_that_are_read(locale: str) -> None:
    """Not "send .txt": Word, web pages and Markdown are published too."""
    with pytest.raises(ParseError) as error:
        decode_source(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert error.value.code is ParseProblem.BINARY
    i18n = build_i18n()
    with i18n.context(), i18n.use_locale(locale):
        first_line = parse_error_text(error.value).splitlines()[0]
    assert all(kind in first_line for kind in (".docx", ".html", ".md", ".txt")), first_line
