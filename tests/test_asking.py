"""Asking in your own words: the text side (bot.domain.asking) and the answer index on a real
database file (storage/answer_index.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.domain.asking import blend, looks_like_question, match_expression, passage, query_keys
from bot.publishing import ensure_seed, prepare, store
from storage import Repository

HELDOUT = Path(__file__).parent / "data" / "heldout"


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("Сколько стоила станция?", True),
        ("почему так дорого стоит ипотека", True),
        ("Будет ли лечение бесплатным", True),
        ("Who is paying for the new metro line?", True),
        ("Токаев", False),
        ("углеродный налог", False),
        ("Курамаев Токаев Трамп", False),
        ("?", False),
    ],
)
def test_questions_are_told_from_quote_lookups(text, question):
    assert looks_like_question(text) is question


def test_query_keys_leave_question_words_out_and_match_is_quoted():
    assert query_keys("Сколько стоила станция?") == ["стоить", "станция"]
    assert match_expression(['a"b', "c"]) == '"ab" OR "c"'


def test_blend_lets_lexical_evidence_decide_between_close_cosines():
    semantic = {1: 0.85, 2: 0.849, 3: 0.70}
    assert [doc for doc, _ in blend(semantic, {})] == [1, 2, 3]
    assert [doc for doc, _ in blend(semantic, {2: 5.0})][:2] == [2, 1]
    assert next(doc for doc, _ in blend(semantic, {3: 5.0})) == 1  # not against the model
    many = {doc: 0.9 - doc / 100 for doc in range(1, 10)}
    assert [doc for doc, _ in blend(many, {8: 5.0})][:3] == [1, 2, 8]  # lemmas get a place
    assert [doc for doc, _ in blend({}, {3: 5.0, 2: 2.0})] == [3, 2]  # lemmas only
    assert next(doc for doc, _ in blend(semantic, {9: 5.0})) == 9  # not embedded yet: findable


def test_the_passage_answers_the_question_and_keeps_a_dependent_sentence_with_its_own():
    answer = (
        "Тариф зафиксирован на 15 лет, и это главное условие. Сам проект обошёлся примерно в "
        "90 миллионов долларов. Кредит выдан в тенге.",
    )
    assert passage("Сколько стоила станция?", answer)[0].startswith("Сам проект обошёлся")
    leaning = ("Первое предложение о весе. Поэтому Астана важна для переговоров по Сирии.",)
    assert passage("Почему переговоры по Сирии в Астане?", leaning) == (
        "Астана важна для переговоров по Сирии.",
    ) or passage("Почему переговоры по Сирии в Астане?", leaning)[0].startswith("Астана")


async def test_ask_finds_the_answer_across_the_archive(tmp_path: Path) -> None:
    repo = await Repository.open(tmp_path / "bot.sqlite3")
    try:
        await ensure_seed(repo)
        for name in ("solar-plant-zhanatas", "metro-almaty-english"):
            path = HELDOUT / f"{name}.txt"
            await store(repo, prepare(path.read_bytes(), name=path.name))
        [best, *_] = await repo.ask("Сколько стоила станция?")
        assert best.piece_id == 2 and best.turn_number == 1
        assert "90 миллионов долларов" in best.passage[0]
        assert best.turn_count == 6
        [best, *_] = await repo.ask("Who is paying for the new metro line?")
        assert (best.piece_id, best.turn_number) == (3, 2)
        assert await repo.ask("Сколько") == []  # nothing but a question word
        assert await repo.ask('" OR * NEAR(') == []  # FTS5 syntax is never passed through

        # embeddings blend in: a fake model that knows only the seed's turn 6
        await repo.index_answers()
        batch = await repo.turns_to_embed(100)
        assert len(batch) == 7 + 6 + 6
        vectors = []
        for doc, _question, text in batch:
            vector = np.zeros(384, dtype=np.float32)
            vector[0 if "площадка для переговоров" in text else 1] = 1.0
            vectors.append((doc, vector))
        await repo.store_vectors(vectors)
        assert await repo.turns_to_embed(100) == []
        query = np.zeros(384, dtype=np.float32)
        query[0] = 1.0
        [best, *_] = await repo.ask("Почему переговоры по Сирии проводили в Астане?", query)
        assert (best.piece_id, best.turn_number) == (1, 6)
        assert (await repo.answer_index_stats()) == {"turns": 19, "embedded": 19}
    finally:
        await repo.close()


async def test_an_archive_older_than_the_index_is_indexed_on_first_question(tmp_path):
    repo = await Repository.open(tmp_path / "bot.sqlite3")
    await ensure_seed(repo)
    await repo._conn.execute("DROP TABLE answer_docs")  # as before this index existed
    await repo._conn.execute("DROP TABLE answer_fts")
    await repo.close()
    repo = await Repository.open(tmp_path / "bot.sqlite3")
    try:
        hits = await repo.ask("Почему Казахстан площадка для переговоров?")
        assert hits and hits[0].turn_number == 6
    finally:
        await repo.close()


async def test_in_a_round_table_the_answer_is_attributed_to_who_said_it(tmp_path: Path) -> None:
    repo = await Repository.open(tmp_path / "bot.sqlite3")
    try:
        path = Path(__file__).parent / "data" / "ingest" / "two-experts.txt"
        await store(repo, prepare(path.read_bytes(), name=path.name))
        [best, *_] = await repo.ask("Сколько компаний станут плательщиками НДС в области?")
        assert best.turn_number == 2
        assert best.speaker == "Олег Пак"
    finally:
        await repo.close()
