"""The summaries a reader sees: whole sentences of the lead and the answers, never a question."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.domain.language import shorten, split_sentences
from bot.domain.models import Interview, Summary, Turn
from bot.domain.parsing import parse_interview
from bot.domain.readable import repair
from bot.domain.summarizer import (
    GIST_MAX_CHARS,
    SHORT_MAX_CHARS,
    SUMMARY_MAX_CHARS,
    content_terms,
    lexrank,
    summarize,
    tfidf_vectors,
)

DATA = Path(__file__).parent / "data" / "interviews"
SEED = Path(__file__).parent.parent / "bot" / "data" / "c5-summit-kuramaev-interview.txt"
PIECES = sorted(DATA.glob("*.txt"))


def seed() -> Interview:
    """The seed, built by hand from its lines (two lead paragraphs, 7 turns, closing, credit)."""
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    dashed = [i for i, line in enumerate(lines) if line.startswith("— ")]
    turns = tuple(
        Turn(n + 1, (lines[q][2:],), (lines[q + 1][2:],)) for n, q in enumerate(dashed[::2])
    )
    after = lines[dashed[-1] + 1 :]
    return Interview(
        title="C5+1",
        lead=tuple(lines[: dashed[0]]),
        turns=turns,
        closing=tuple(after[:-1]),
        credits=(after[-1],),
        speaker="Байкадам Курамаев",
    )


def interviews() -> list[Interview]:
    return [seed()] + [parse_interview(p.read_text(encoding="utf-8")) for p in PIECES]


@pytest.fixture(scope="module")
def summarized() -> list[tuple[Interview, Summary]]:
    return [(interview, summarize(interview)) for interview in interviews()]


def versions(summary: Summary) -> list[tuple[str, ...]]:
    return [summary.text, summary.short, summary.long]


def source_sentences(interview: Interview) -> list[str]:
    """Every sentence a summary may quote, in reading order: the lead's and the answers'."""
    paragraphs = [*interview.lead, *(p for turn in interview.turns for p in turn.answer)]
    return [s.strip() for paragraph in paragraphs for s in split_sentences(paragraph)]


def position(source: list[str], sentence: str) -> int:
    """Where a summary sentence comes from: as written, or repaired (a leading connective
    dropped and the first letter capitalised)."""
    for index, original in enumerate(source):
        if sentence in (original, repair(original)):
            return index
    raise ValueError(f"not in the source: {sentence!r}")


def in_source(sentences: list[str], sentence: str) -> bool:
    return any(sentence in (s, repair(s)) for s in sentences)


def test_summaries_never_quote_a_question_or_a_credit(summarized):
    for interview, summary in summarized:
        questions = " ".join(turn.question_text for turn in interview.turns)
        for version in versions(summary):
            for sentence in version:
                assert not sentence.rstrip('»")').endswith("?"), sentence
                assert sentence not in questions
                assert all(sentence not in credit for credit in interview.credits)
                assert not sentence.lower().startswith(("фото", "беседовал", "текст:"))


def test_summary_is_three_to_five_sentences_within_800_characters(summarized):
    for _, summary in summarized:
        assert 3 <= len(summary.text) <= 5, summary.text
        assert len(" ".join(summary.text)) <= SUMMARY_MAX_CHARS


def test_short_and_long_versions(summarized):
    for _, summary in summarized:
        assert 1 <= len(summary.short) <= 2
        assert len(" ".join(summary.short)) <= SHORT_MAX_CHARS
        assert len(summary.text) <= len(summary.long) <= 8
        assert set(summary.text) <= set(summary.long)


def test_sentences_are_whole_and_in_document_order(summarized):
    for interview, summary in summarized:
        source = source_sentences(interview)
        for version in versions(summary):
            positions = [position(source, sentence) for sentence in version]  # whole sentences
            assert positions == sorted(positions)
            assert len(set(positions)) == len(positions)


def test_summary_tells_what_happened_and_what_the_expert_said(summarized):
    for interview, summary in summarized:
        lead = source_sentences(Interview(interview.title, interview.lead, ()))
        answers = [s for s in source_sentences(interview) if s not in lead]
        assert in_source(lead, summary.text[0])  # the news first
        assert sum(in_source(answers, s) for s in summary.text) >= 2
        assert sum(in_source(answers, s) for s in summary.short) == 1


def test_one_gist_per_turn_short_and_ending_cleanly(summarized):
    for interview, summary in summarized:
        assert len(summary.gists) == len(interview.turns)
        for gist, turn in zip(summary.gists, interview.turns, strict=True):
            assert 0 < len(gist) <= GIST_MAX_CHARS
            assert re.search(r"(?:[.!…»\")]|\w…)$", gist), gist
            assert not re.search(r"[\s,;:—–-]…$", gist), gist
            assert not gist.endswith("?")
            answer = turn.answer_text.replace("\n", " ")
            repaired = " ".join(repair(s) for s in split_sentences(answer))
            assert gist.rstrip("…") in answer or gist.rstrip("…") in repaired


def test_filler_first_sentences_are_not_gists_on_the_seed():
    interview = seed()
    gists = summarize(interview).gists
    fillers = {
        "Это очень важное событие.",
        "Здесь речь идет о выстраивании баланса.",
        "Да, и это видно невооруженным глазом.",
        "Это неизбежно отразится на регионе.",
    }
    assert not fillers & set(gists)
    firsts = [split_sentences(turn.answer[0])[0] for turn in interview.turns]
    assert sum(g == f for g, f in zip(gists, firsts, strict=True)) <= 2


def test_the_seed_summary_quotes_no_question_though_questions_are_central():
    interview = seed()
    text = summarize(interview).text
    assert not any(s in turn.question_text for s in text for turn in interview.turns)


def test_a_two_turn_piece_gets_a_short_sensible_summary():
    interview = Interview(
        title="Паводок",
        lead=(
            "Уровень воды в реке у города за сутки поднялся на 46 сантиметров. "
            "В трех селах объявлена готовность к эвакуации.",
        ),
        turns=(
            Turn(
                1,
                ("Насколько серьезна ситуация?",),
                (
                    "Ситуация напряженная. Пик паводка придется на 12–14 апреля, вода может "
                    "превысить опасную отметку на 30 сантиметров.",
                ),
            ),
            Turn(
                2,
                ("Что делать жителям?",),
                (
                    "Поднять документы и ценные вещи наверх. Если "
                    "объявят эвакуацию, уходить сразу, не дожидаясь воды.",
                ),
            ),
        ),
        credits=("Фото: ДЧС",),
    )
    summary = summarize(interview)
    assert 2 <= len(summary.text) <= 3
    assert not any(s.endswith("?") for s in summary.text + summary.long)
    assert summary.text[0].startswith("Уровень воды")
    assert len(summary.gists) == 2


def test_answers_of_one_word_do_not_break_anything():
    interview = Interview(
        title="Блиц",
        lead=("Министр ответил на три вопроса блица.",),
        turns=(
            Turn(1, ("Вы довольны годом?",), ("Да.",)),
            Turn(2, ("Уйдете в отставку?",), ("Нет!",)),
            Turn(3, ("А что дальше?",), ("Посмотрим?",)),
        ),
    )
    summary = summarize(interview)
    assert summary.gists == ("Да.", "Нет!", "Посмотрим?")
    assert not any(s.endswith("?") for s in summary.text)
    assert 1 <= len(summary.short) <= 2


def test_no_lead_summarizes_the_answers():
    interview = seed()
    bare = Interview(interview.title, (), interview.turns)
    summary = summarize(bare)
    assert 3 <= len(summary.text) <= 5
    answers = [s for turn in bare.turns for p in turn.answer for s in split_sentences(p)]
    assert all(in_source(answers, s) for s in summary.text)


def test_html_like_characters_are_kept_verbatim():
    interview = Interview(
        title="R&D",
        lead=("Доля расходов на R&D у компаний региона осталась <5% выручки, сообщил фонд.",),
        turns=(
            Turn(1, ("Почему так мало?",), ("Бизнес не видит отдачи от R&D в горизонте <3 лет.",)),
            Turn(2, ("Что изменить?",), ("Нужны гранты с участием заказчика и понятный вычет.",)),
        ),
    )
    summary = summarize(interview)
    assert summary.text[0] == interview.lead[0]
    assert "<3 лет" in summary.gists[0]


def test_a_twenty_thousand_word_piece_is_summarized():
    interview = seed()
    sentences = source_sentences(interview)
    turns = []
    for n in range(210):
        # vary the words so that sentences are not identical copies
        answer = " ".join(
            f"{sentences[(n * 7 + i) % len(sentences)][:-1]} в {1900 + n + i} году."
            for i in range(6)
        )
        turns.append(Turn(n + 1, (f"Вопрос номер {n}?",), (answer,)))
    big = Interview("Большое интервью", interview.lead, tuple(turns))
    assert sum(len(t.answer_text.split()) for t in big.turns) > 20_000
    summary = summarize(big)
    assert 3 <= len(summary.text) <= 5
    assert len(set(summary.text)) == len(summary.text)
    assert len(summary.gists) == 210


def test_shorten_cuts_at_a_clause_and_leaves_no_dangling_word():
    text = (
        "Поддержка со стороны Казахстана демонстрирует, что Астана стремится к выстраиванию "
        "отношений, основанных на взаимной выгоде и прозрачных интересах, особенно в контексте "
        "инвестиций и энергетического партнёрства."
    )
    short = shorten(text, GIST_MAX_CHARS, at_clause=True)
    assert short.endswith("интересах…")
    assert (
        shorten("Короткое предложение.", GIST_MAX_CHARS, at_clause=True) == "Короткое предложение."
    )
    words_only = shorten(
        "слово " * 20 + "в «кавычках и дальше " + "текст " * 30, 140, at_clause=True
    )
    assert len(words_only) <= 140
    assert words_only.count("«") == words_only.count("»")
    assert not re.search(r"\s(?:в|и|на)…$", words_only)


def test_factorized_lexrank_equals_the_dense_computation():
    texts = [
        "Казахстан укрепляет партнерство с США в энергетике.",
        "США возвращаются в Центральную Азию с экономикой и энергетикой.",
        "Центральная Азия стала единым регионом для мировых держав.",
        "Погода сегодня солнечная.",
        "Казахстан и США обсуждают энергетику и инвестиции.",
    ]

    class _S:
        def __init__(self, text: str) -> None:
            self.terms = content_terms(text)

    vectors = tfidf_vectors([_S(t) for t in texts])  # type: ignore[misc]
    fast = lexrank(vectors, damping=0.85, iterations=500)
    n = len(vectors)
    sim = [
        [
            sum(w * b.get(t, 0.0) for t, w in a.items()) if i != j else 0.0
            for j, b in enumerate(vectors)
        ]
        for i, a in enumerate(vectors)
    ]
    degree = [sum(row) for row in sim]
    rank = [1 / n] * n
    for _ in range(500):
        dangling = sum(p for p, d in zip(rank, degree, strict=True) if d == 0)
        rank = [
            0.15 / n
            + 0.85 * dangling / n
            + 0.85 * sum(rank[i] * sim[i][j] / degree[i] for i in range(n) if degree[i])
            for j in range(n)
        ]
        total = sum(rank)
        rank = [r / total for r in rank]
    assert fast == pytest.approx(rank, abs=1e-4)


def test_a_heading_left_in_the_lead_is_not_quoted():
    interview = seed()
    headed = Interview(interview.title, ("Интервью недели", *interview.lead), interview.turns)
    summary = summarize(headed)
    assert "Интервью недели" not in summary.text + summary.short + summary.long
    assert summary.text[0] == split_sentences(interview.lead[0])[0]
