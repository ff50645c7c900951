"""English pieces read as English: sentences split where English ends them, quotes set in
English quotation marks in the summary, inline results and the /search listing (Russian pieces
keep «…»)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from aiogram.utils.i18n import I18n

from bot.domain.language import split_sentences
from bot.domain.models import QuoteHit, Turn
from bot.i18n import build_i18n
from bot.views.quotes import quote_message, search_screen
from bot.views.summary import summary_blocks
from tests.fakegram import parse_html


def hit(text: str, speaker: str) -> QuoteHit:
    return QuoteHit(1, 1, "Title", speaker, 2, text, datetime(2025, 1, 1, tzinfo=UTC))


@pytest.fixture
def i18n() -> Iterator[None]:
    token = I18n.set_current(build_i18n())
    try:
        yield
    finally:
        I18n.reset_current(token)


def test_english_sentences_run_past_titles_and_abbreviations() -> None:
    text = (
        "I met Prof. A. B. Smith and Dr. Jones on Jan. 5 in Almaty. "
        "They build plants, e.g. Ekibastuz No. 2 and others. It was Jan. Then came Feb."
    )
    assert split_sentences(text) == [
        "I met Prof. A. B. Smith and Dr. Jones on Jan. 5 in Almaty.",
        "They build plants, e.g. Ekibastuz No. 2 and others.",
        "It was Jan.",
        "Then came Feb.",
    ]
    # Russian text is razdel's as before
    assert split_sentences("Проф. Иванов пришёл. Потом ушёл.") == [
        "Проф. Иванов пришёл.",
        "Потом ушёл.",
    ]


def test_summary_quotes_the_expert_in_the_marks_of_the_language() -> None:
    english = Turn(1, ("Is it realistic?",), ("It is realistic on paper. The grid is “tight”.",))
    [block] = summary_blocks(["It is realistic on paper."], [english], "Timur Abenov")
    assert block.text == "Timur Abenov: “It is realistic on paper.”"
    [block] = summary_blocks(["The grid is “tight”."], [english], "Timur Abenov")
    assert block.text == "Timur Abenov: “The grid is ‘tight’.”"
    russian = Turn(1, ("Кто строит?",), ("Мы строим «Ветер» сами.",), speakers=("Олег Ким",))
    [block] = summary_blocks(["Мы строим «Ветер» сами."], [russian], "Айгерим Сатпаева")
    assert block.text == "Олег Ким: «Мы строим „Ветер“ сами»."


def test_inline_and_search_listing_use_english_marks_for_english_quotes(i18n: None) -> None:
    english = hit("We work with ExxonMobil & partners.", "Timur Abenov")
    assert parse_html(quote_message(english))[0] == (
        "“We work with ExxonMobil & partners.” — Timur Abenov, Title"
    )
    russian = hit("Мы работаем с ExxonMobil и Chevron.", "Олег Ким")
    assert parse_html(quote_message(russian))[0].startswith("«Мы работаем с ExxonMobil")
    listing = parse_html(search_screen("exxon", [english, russian]).messages[0])[0]
    assert "1. “We work with ExxonMobil & partners.”" in listing
    assert "2. «Мы работаем с ExxonMobil и Chevron.»" in listing
