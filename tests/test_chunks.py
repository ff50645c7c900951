"""Long texts arrive whole, split where a reader would split them, with markup intact."""

from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.language import shorten
from bot.views.render import MESSAGE_LIMIT, Block, render, utf16_len

TAG = re.compile(r"</?(?:b|i|a)(?: [^>]*)?>")


def visible(message: str) -> str:
    return html.unescape(TAG.sub("", message))


def test_short_content_is_one_message_and_escaped() -> None:
    messages = render([Block("R&D <5% рост", "b"), Block("a < b > c & d")])
    assert messages == ["<b>R&amp;D &lt;5% рост</b>\n\na &lt; b &gt; c &amp; d"]


def test_long_answer_splits_at_sentences_not_words() -> None:
    sentence = "Это предложение из длинного ответа эксперта про R&D и <5% брака. "
    paragraph = (sentence * 150).strip()  # ~9,800 characters, one paragraph
    messages = render([Block("Вопрос?", "b"), Block(paragraph)])
    assert len(messages) == 3
    for message in messages:
        assert utf16_len(visible(message)) <= MESSAGE_LIMIT
    text = " ".join(visible(m).replace("\n\n", " ") for m in messages)
    assert text == "Вопрос? " + paragraph
    for message in messages[1:]:
        assert visible(message).startswith("Это предложение")
    for message in messages:
        assert visible(message).rstrip().endswith(("?", "."))


def test_paragraphs_are_kept_whole_when_they_fit() -> None:
    paragraphs = [f"Абзац {i}. " + "слово " * 300 for i in range(8)]
    messages = render([Block(p.strip()) for p in paragraphs])
    assert len(messages) > 1
    for message in messages:
        for part in visible(message).split("\n\n"):
            assert part.startswith("Абзац")


def test_styled_block_split_keeps_tags_balanced() -> None:
    long_bold = " ".join(["Жирное предложение номер один."] * 300)
    for message in render([Block(long_bold, "b")]):
        assert message.startswith("<b>") and message.endswith("</b>")
        assert message.count("<b>") == message.count("</b>")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=3000), min_size=1, max_size=6))
def test_any_text_fits_and_nothing_is_lost(texts: list[str]) -> None:
    blocks = [Block(t) for t in texts]
    messages = render(blocks)
    for message in messages:
        assert utf16_len(visible(message)) <= MESSAGE_LIMIT
    words = [w for t in texts if t.strip() for w in t.split()]
    assert [w for m in messages for w in visible(m).split()] == words


def test_shorten_cuts_at_a_word() -> None:
    assert shorten("Короткий текст", 50) == "Короткий текст"
    cut = shorten("Казахстан давно проявил себя как площадка для переговоров", 30)
    assert cut.endswith("…") and len(cut) <= 30
    assert "Казахстан давно проявил себя как площадка для переговоров".startswith(cut[:-1])
