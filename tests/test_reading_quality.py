"""Issue 13: summaries chosen for information and repaired for reading, gists that answer their
question — on held-out pieces written before the summarizer ran on them (tests/data/heldout)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.domain.language import is_english, split_sentences
from bot.domain.models import Interview
from bot.domain.parsing import parse_interview
from bot.domain.readable import (
    Kind,
    answers_kind,
    connective,
    depends,
    facts,
    information,
    question_kinds,
    repair,
)
from bot.domain.summarizer import asked_terms, content_terms, sentences_of, summarize

HELDOUT = Path(__file__).parent / "data" / "heldout"
PIECES = sorted(p for p in HELDOUT.glob("*.txt") if not p.name.endswith(".summary.txt"))


def piece(name: str) -> Interview:
    return parse_interview((HELDOUT / f"{name}.txt").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def summaries() -> dict[str, tuple[Interview, object]]:
    return {p.stem: (piece(p.stem), summarize(piece(p.stem))) for p in PIECES}


# -- repair ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "repaired"),
    [
        ("Поэтому вторым этапом мы строим накопители.", "Вторым этапом мы строим накопители."),
        (
            "То есть, чтобы покупка долларов не давила на курс, мы проводим её равномерно.",
            "Чтобы покупка долларов не давила на курс, мы проводим её равномерно.",
        ),
        (
            "Кроме того, подстанцию KEGOC пришлось расширять.",
            "Подстанцию KEGOC пришлось расширять.",
        ),
        ("So the financing is closed, which was new.", "The financing is closed, which was new."),
        ("That is why the line goes to the airport.", "The line goes to the airport."),
        ("Но, конечно, цены на жильё вырастут ещё.", "Цены на жильё вырастут ещё."),
        ("Да, придётся.", "Да, придётся."),  # nothing would be left: unchanged
        (
            "Потому что внутренний рынок маленький, а венчурных денег мало.",
            "Внутренний рынок маленький, а венчурных денег мало.",
        ),
        ("Да, компенсации получили 5,8 тысячи семей.", "Компенсации получили 5,8 тысячи семей."),
        ("Нет данных о том, сколько семей уехало.", "Нет данных о том, сколько семей уехало."),
        ("No one knows when the line opens.", "No one knows when the line opens."),
        ("That's why the line goes to the airport.", "The line goes to the airport."),
        ("К тому же, цены на жильё вырастут ещё.", "Цены на жильё вырастут ещё."),
        ("Правда в том, что цены вырастут.", "Правда в том, что цены вырастут."),
        (
            "Because the old turnstiles cannot read bank cards.",
            "The old turnstiles cannot read bank cards.",
        ),
        ("Ипотечный портфель вырос на 22%.", "Ипотечный портфель вырос на 22%."),
    ],
)
def test_a_leading_connective_is_dropped_and_the_sentence_recapitalised(sentence, repaired):
    assert repair(sentence) == repaired
    assert connective(sentence) == (sentence != repaired)


@pytest.mark.parametrize(
    ("sentence", "dependent"),
    [
        ("Это примерно столько, сколько выбрасывают 40 тысяч автомобилей.", True),
        ("That has largely been fixed since.", True),
        ("Раньше таких пациентов везли в Алматы.", True),
        ("Поэтому вторым этапом мы строим накопители.", False),  # repaired, it stands alone
        ("В этом году инфляция замедлилась до 9,1%.", False),
        ("Сам проект обошёлся примерно в 90 миллионов долларов.", False),
        ("После запуска новых кранов в 2027 году мы сократим её до 12 часов.", True),
        ("Среди них — прямые рейсы в Стамбул, Дубай и Сеул.", True),
        ("For them the proton beam is much gentler than radiation.", True),
        ("The old turnstiles were bought in 2011 and their readers fail.", False),
        ("Растёт число иностранцев: в 2026 году их было около 180 тысяч.", False),
        ("Чтобы это не повторилось, в Петропавловске наращивают дамбу.", True),
        ("Центральная Азия — это почти 80 миллионов человек.", False),
    ],
)
def test_dependent_sentences_are_told_apart(sentence, dependent):
    assert depends(sentence) is dependent


def test_facts_weigh_amounts_most():
    cost = "Сам проект обошёлся примерно в 90 миллионов долларов."
    tariff = "Тариф зафиксирован на 15 лет, и это главное условие."
    rubric = "Большое итоговое интервью."
    assert information(cost) > information(tariff) > information(rubric) == 0
    assert {"ебрр", "kegoc"} <= {f.lower() for f in facts("Кредит ЕБРР и подстанция KEGOC.")}


def test_question_kinds_and_answers_of_that_kind():
    assert question_kinds("Сколько стоил проект и кто его финансировал?")[:1] == (Kind.AMOUNT,)
    assert Kind.PERSON in question_kinds("Сколько стоил проект и кто его финансировал?")
    assert question_kinds("Когда заработают накопители?") == (Kind.TIME,)
    assert question_kinds("Почему вы снизили ставку?") == (Kind.REASON,)
    assert question_kinds("Будет ли лечение бесплатным?") == (Kind.YES_NO,)
    assert question_kinds("Что будет ночью?") == (Kind.OTHER,)
    assert answers_kind(Kind.AMOUNT, "Проект обошёлся в 90 миллионов долларов.") == 1.0
    assert answers_kind(Kind.AMOUNT, "Тариф зафиксирован на 15 лет.") < 1.0
    assert answers_kind(Kind.TIME, "Накопители заработают в конце 2027 года.") == 1.0
    assert answers_kind(Kind.REASON, "Потому что ставка смотрит вперёд.") == 1.0
    # "сколько стоит" asks for money, not for any number; "скольким" counts
    assert question_kinds("Сколько стоит расширение порта?") == (Kind.AMOUNT,)
    both = question_kinds("Кто строит новые школы и сколько это стоит?")
    assert both == (Kind.AMOUNT, Kind.PERSON)
    assert question_kinds("Скольким детям не хватает мест?") == (Kind.NUMBER,)
    assert Kind.PERSON in question_kinds("How much will the line cost, and who pays?")
    # a group of people answers "кто" as names do
    assert answers_kind(Kind.PERSON, "Почти половина пострадавших — люди от 25 до 45 лет.") >= 0.5


def test_the_address_is_not_part_of_what_is_asked():
    assert asked_terms("Гульнара Ахметовна, скольким детям не хватает мест?") == {
        "ребенок",
        "хватать",
        "место",
    }
    assert "взгляд" in asked_terms("Почему, на ваш взгляд, так вышло?")
    assert asked_terms("Aliya, why the delay?") == {"delay"}


def test_english_is_told_from_russian_and_stemmed():
    assert is_english("That has largely been fixed since.")
    assert not is_english("Компания Hyundai Rotem выиграла тендер.")
    assert content_terms("The stations were financed") == ("station", "financ")


# -- summaries on pieces nobody tuned for ------------------------------------------------------


def test_no_summary_sentence_starts_mid_thought(summaries):
    """A sentence opening on a connective or a pronoun is shown only right after the sentence
    it follows in the piece."""
    for name, (interview, summary) in summaries.items():
        order = [s.text for s in sentences_of(interview)]
        for version in (summary.text, summary.short, summary.long):
            for i, sentence in enumerate(version):
                if connective(sentence) or depends(sentence):
                    assert i > 0 and sentence in order, (name, sentence)
                    assert repair(order[order.index(sentence) - 1]) in (
                        version[i - 1],
                        repair(version[i - 1]),
                    ), (name, sentence)


def test_every_summary_opens_with_a_lead_statement_carrying_a_figure(summaries):
    """The first sentence is the news: a statement of the lead with a figure in it, never the
    talk's announcement ("X рассказал, …") nor a rubric ("Большой разговор об образовании.")."""
    for name, (interview, summary) in summaries.items():
        lead = [s.text for s in sentences_of(interview) if s.section == "lead"]
        assert summary.text[0] in lead, name
        assert re.search(r"\d", summary.text[0]), name
        assert not re.search(r"рассказал|ответил|explained|talked", summary.text[0]), name


def test_summaries_keep_the_references_figures(summaries):
    """At least two of the figures an editor put in the reference summary are in ours."""
    for name, (_interview, summary) in summaries.items():
        reference = (HELDOUT / f"{name}.summary.txt").read_text(encoding="utf-8")
        wanted = set(re.findall(r"\d+(?:[.,]\d+)?", reference))
        kept = wanted & set(re.findall(r"\d+(?:[.,]\d+)?", " ".join(summary.text)))
        assert len(kept) >= 2, (name, sorted(wanted), summary.text)


def test_a_how_many_question_gets_a_number(summaries):
    """Under "сколько"/"how many"/"how much" the gist holds a figure whenever the answer has one."""
    for name, (interview, summary) in summaries.items():
        for turn, gist in zip(interview.turns, summary.gists, strict=True):
            kinds = question_kinds(turn.question_text)
            asks_number = Kind.NUMBER in kinds or Kind.AMOUNT in kinds
            if asks_number and re.search(r"\d", turn.answer_text):
                assert re.search(r"\d", gist), (name, turn.question_text, gist)


def test_new_pieces_carry_their_key_figure(summaries):
    """What each piece is about, as its editor would forward it (held-out set of 2026-12-02)."""
    key = {
        "bank-fraud-labels": "4 миллиардов",
        "burabay-tourism-vo": "45 тысяч тенге",
        "copper-mine-english": "1.7 billion",
        "desalination-aktau-vo": "25 тысяч кубометров",
        "ebus-karaganda": "21 миллиард",
        "flood-petropavl-dam": "23 миллиарда",
        "it-export-astana-hub": "38 тысяч",
        "khorgos-transit-endash": "85 миллиардов",
        "opera-theatre-renovation": "27 миллиардов",
        "proton-therapy-english": "38 billion",
        "schools-almaty-labels": "38 тысяч",
    }
    for name, figure in key.items():
        assert figure in " ".join(summaries[name][1].text), name


def test_the_short_summary_forwards_the_cost(summaries):
    """`/summary short` is the news and the answer's weightiest fact: an amount of money first."""
    assert "90 миллионов долларов" in " ".join(summaries["solar-plant-zhanatas"][1].short)
    assert "96 миллиардов тенге" in " ".join(summaries["hospital-shymkent-labels"][1].short)


def test_a_bare_no_comes_with_its_reason(summaries):
    _interview, summary = summaries["airport-shymkent-terminal"]
    assert summary.gists[4].startswith("Нет. Аэропортовые сборы зафиксированы")


def test_a_two_part_question_gets_both_parts(summaries):
    _interview, summary = summaries["desalination-aktau-vo"]
    assert "110 миллиардов" in summary.gists[1]
    assert "China Energy" in summary.gists[1]


def test_the_opening_is_news_not_a_rubric(summaries):
    interview, summary = summaries["national-bank-year-end"]
    assert summary.text[0] != "Большое итоговое интервью."
    assert "9,1%" in summary.text[0]
    assert summary.text[0] in split_sentences(interview.lead[0])


def test_the_solar_summary_keeps_what_the_piece_is_about(summaries):
    _interview, summary = summaries["solar-plant-zhanatas"]
    text = " ".join(summary.long)
    assert "120 МВт" in summary.text[0]
    assert "90 миллионов" in text or "Европейского банка" in text


def test_an_english_piece_opens_with_its_news(summaries):
    _interview, summary = summaries["metro-almaty-english"]
    assert summary.text[0].startswith("Almaty's metro carried 41 million")
    assert not any(s.startswith("That has") for s in summary.text + summary.long)


def test_short_is_one_or_two_sentences_with_a_figure(summaries):
    for name, (_interview, summary) in summaries.items():
        assert 1 <= len(summary.short) <= 2, name
        assert any(ch.isdigit() for ch in " ".join(summary.short)), name


@pytest.mark.parametrize("path", PIECES, ids=lambda p: p.stem)
def test_gists_answer_their_question(path, summaries):
    """Expectations written before the summarizer ran on the piece (``*.gists.json``); the old
    gists printed the tariff under the cost question and "Надёжность сети — ключевой вопрос."
    under the night question."""
    _interview, summary = summaries[path.stem]
    expected = json.loads(path.with_suffix(".gists.json").read_text(encoding="utf-8"))["turns"]
    answered = 0
    for gist, want in zip(summary.gists, expected, strict=True):
        low = gist.lower()
        assert not any(n.lower() in low for n in want["not"]), gist
        # "also": answers judged right on reading, after the summarizer ran (not in the bench)
        answered += any(a.lower() in low for a in want["any"] + want.get("also", []))
    assert answered >= len(expected) - 1, summary.gists


def test_the_cost_question_gets_the_cost():
    summary = summarize(piece("solar-plant-zhanatas"))
    assert "90 миллионов долларов" in summary.gists[0]
    assert "Ночью" in summary.gists[2] or "50 МВт" in summary.gists[2]
