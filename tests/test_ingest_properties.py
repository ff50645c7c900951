"""Properties of ingest, over interviews hypothesis writes: any text with N well-formed turns in
any layout a newsroom uses parses to exactly N turns with the questions and answers as written,
and lines of the page around the interview (credits, "read also", sources, calls to subscribe,
ad markers, datelines) inserted anywhere between paragraphs never reach the text readers get.

An interview is drawn as paragraphs with the blank lines between them; a layout writes its
markers (a dash, a label, a number, bold) on the question and answer paragraphs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.models import Interview
from bot.domain.parsing import parse_interview, parse_paragraphs

_WORD_TEXT = """
    рынок цены вода проект город работа люди регион закон бюджет школа дорога завод поле урожай
    ветер станция сеть план тариф кредит фермер канал зерно налог порт склад рейс больница
    врач учитель студент грант экспорт импорт уголь газ свет тепло мост трасса район село
    строить считать выросли снизились будет нужно можно сегодня завтра потом сразу почти
    новый старый большой малый главный местный важный дорогой дешёвый быстро медленно
"""
WORDS = _WORD_TEXT.split()
SURNAMES = ("Иванова", "Сапарова", "Ким", "Нурланов", "Ахметов", "Петренко")
FIRST_NAMES = ("Анна", "Ерлан", "Гульмира", "Олег", "Дана", "Тимур")
CITIES = ("АСТАНА", "АЛМАТЫ", "ШЫМКЕНТ", "УСТЬ-КАМЕНОГОРСК")
MONTHS = ("января", "марта", "мая", "июля", "сентября", "ноября")

words = st.sampled_from(WORDS)


@st.composite
def sentence(draw: st.DrawFn, end: str = ".") -> str:
    body = draw(st.lists(words, min_size=3, max_size=12))
    if draw(st.booleans()):  # a figure inside the sentence, never at its start
        body.insert(draw(st.integers(1, len(body))), str(draw(st.integers(2, 2030))))
    text = " ".join(body)
    return text[0].upper() + text[1:] + end


REQUESTS = ("Расскажите о", "Поясните", "Назовите", "Прокомментируйте", "Оцените")


@st.composite
def question(draw: st.DrawFn) -> str:
    """One or two sentences, the last one asking; or a short request without "?"."""
    if draw(st.integers(0, 5)) == 0:
        return f"{draw(st.sampled_from(REQUESTS))} {' '.join(draw(st.lists(words, min_size=1, max_size=4)))}."
    asked = draw(sentence("?"))
    return f"{draw(sentence())} {asked}" if draw(st.booleans()) else asked


@st.composite
def answer_paragraph(draw: st.DrawFn, bare: bool = False) -> str:
    """Statements, sometimes with a rhetorical question inside: not at the end, and not
    opening the paragraph. Without markers (``bare``) only in a paragraph of four sentences or
    more: a short one with a question inside ("Preamble. Question? Context.") is how a bare
    question is set, and the parser reads it so."""
    sentences = draw(st.lists(sentence(), min_size=1, max_size=4))
    if len(sentences) >= (3 if bare else 1) + 1 and draw(st.booleans()):
        sentences.insert(draw(st.integers(1, len(sentences) - 1)), draw(sentence("?")))
    return " ".join(sentences)


@dataclass(frozen=True)
class Para:
    text: str
    gap: bool = True  # a blank line before it
    bold: bool = False


@dataclass(frozen=True)
class Drawn:
    """A drawn interview: its paragraphs as laid out, and what the parser should find."""

    paragraphs: tuple[Para, ...]
    title: str
    lead: str
    turns: tuple[tuple[str, tuple[str, ...]], ...]  # question, answer paragraphs
    layout: str

    def parse(self, paragraphs: tuple[Para, ...] | None = None) -> Interview:
        paragraphs = self.paragraphs if paragraphs is None else paragraphs
        if self.layout == "bold":
            return parse_paragraphs((p.text, p.bold) for p in paragraphs)
        text = "".join(("\n\n" if p.gap else "\n") + p.text for p in paragraphs)
        return parse_interview(text.lstrip("\n"))


LAYOUTS = ("dash", "dash-compact", "labels", "speaker-labels", "numbered", "bare", "bold")


@st.composite
def interviews(draw: st.DrawFn) -> Drawn:
    layout = draw(st.sampled_from(LAYOUTS))
    n = draw(st.integers(2, 7))
    title = " ".join(draw(st.lists(words, min_size=2, max_size=6))).capitalize()
    lead = " ".join(draw(st.lists(sentence(), min_size=1, max_size=3)))
    turns = []
    for number in range(1, n + 1):
        # a compact dash layout has nothing to tell the last answer's second paragraph from
        # the newsroom's closing: its last answer is one paragraph
        most = 1 if layout == "dash-compact" and number == n else 3
        paragraph = answer_paragraph(bare=layout == "bare")
        answer = tuple(draw(st.lists(paragraph, min_size=1, max_size=most)))
        turns.append((draw(question()), answer))
    markers = _markers(draw, layout)
    paragraphs = [Para(title, gap=False), Para(lead)]
    compact = layout == "dash-compact"
    for number, (asked, answer) in enumerate(turns, start=1):
        q_mark, a_mark = markers(number)
        paragraphs.append(Para(q_mark + asked, gap=not compact, bold=layout == "bold"))
        paragraphs.append(Para(a_mark + answer[0], gap=not compact))
        # an answer's further paragraphs follow on the next line: after the last turn a blank
        # line would start the closing in the dash and labelled layouts
        loose = layout in ("numbered", "bare", "bold")
        paragraphs += [Para(more, gap=loose and draw(st.booleans())) for more in answer[1:]]
    return Drawn(tuple(paragraphs), title, lead, tuple(turns), layout)


def _markers(draw: st.DrawFn, layout: str) -> Callable[[int], tuple[str, str]]:
    """number → (question marker, answer marker) of a layout."""
    if layout in ("dash", "dash-compact"):
        dash = draw(st.sampled_from(["— ", "– ", "- "]))
        return lambda _n: (dash, dash)
    if layout == "labels":
        q, a = draw(st.sampled_from([("Вопрос", "Ответ"), ("В", "О"), ("Q", "A")]))
        return lambda _n: (f"{q}: ", f"{a}: ")
    if layout == "speaker-labels":
        q = draw(st.sampled_from(["Корр.", "Корреспондент", "Журналист"]))
        first, a = draw(st.sampled_from(FIRST_NAMES)), draw(st.sampled_from(SURNAMES))
        a = draw(st.sampled_from([a, a.upper(), f"{first} {a}", f"{first[0]}. {a}"]))
        return lambda _n: (f"{q}: ", f"{a}: ")
    if layout == "numbered":
        form = draw(st.sampled_from(["{n}. ", "{n}) ", "Вопрос {n}. "]))
        return lambda n: (form.format(n=n), "")
    return lambda _n: ("", "")


names = st.builds("{} {}".format, st.sampled_from(FIRST_NAMES), st.sampled_from(SURNAMES))
FURNITURE = st.one_of(
    st.builds("{}: {}".format, st.sampled_from(["Фото", "Автор", "Фото", "Текст"]), names),
    st.sampled_from(["Фото из открытых источников", "Фото пресс-службы"]),
    st.builds(
        "{} {}".format,
        st.sampled_from(["Читайте также:", "Читайте также", "Смотрите также:", "По теме:"]),
        st.one_of(sentence(""), sentence("?")),
    ),
    st.builds("Источник: {}".format, st.sampled_from(["Kazinform", "ТАСС", "сайт акимата"])),
    st.sampled_from(
        [
            "Подписывайтесь на наш канал в Telegram",
            "Подпишитесь на нас в Instagram, чтобы не пропустить новые интервью.",
            "Реклама",
            "РЕКЛАМА",
            "Реклама.",
            "На правах рекламы",
            "Теги: экономика, энергетика",
        ]
    ),
    st.deferred(lambda: DATELINE),
    st.builds(
        "{} {}".format, st.sampled_from(["Беседовала", "Беседовал", "Интервью взяла"]), names
    ),
)


def _expected_turns(interview: Interview) -> list[tuple[str, tuple[str, ...]]]:
    return [(turn.question_text, turn.answer) for turn in interview.turns]


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(drawn=interviews())
def test_n_well_formed_turns_parse_to_n_turns_as_written(drawn: Drawn) -> None:
    interview = drawn.parse()
    assert _expected_turns(interview) == [(q, a) for q, a in drawn.turns], drawn.layout
    assert interview.title == drawn.title
    assert interview.lead == (drawn.lead,)
    assert interview.closing == ()


DATELINE = st.builds(
    "{}, {} {}{}.".format,
    st.sampled_from(CITIES),
    st.integers(1, 28),
    st.sampled_from(MONTHS),
    st.sampled_from(["", " 2025", " 2025 г.", " — Kazinform", " – КазТАГ", " - Tengrinews"]),
)


@PROPERTY
@given(drawn=interviews(), data=st.data())
def test_furniture_anywhere_never_reaches_the_text(drawn: Drawn, data: st.DataObject) -> None:
    lines = data.draw(st.lists(FURNITURE, min_size=1, max_size=6, unique=True), label="furniture")
    paragraphs = list(drawn.paragraphs)
    if data.draw(st.booleans(), label="a dateline opens the lead"):
        dateline = data.draw(DATELINE, label="dateline")
        paragraphs[1] = replace(paragraphs[1], text=f"{dateline} {drawn.lead}")
        lines.append(dateline)
    for line in lines:
        # before some paragraph, in its place: the paragraph follows on the next line, so the
        # blank lines of the layout stay as they were once the furniture line is taken out
        at = data.draw(st.integers(0, len(paragraphs)), label=f"before paragraph ({line})")
        bold = drawn.layout == "bold" and data.draw(st.booleans(), label="bold")
        if at < len(paragraphs):
            after = paragraphs[at]
            paragraphs[at : at + 1] = [Para(line, after.gap, bold), replace(after, gap=False)]
        else:
            paragraphs.append(Para(line, bold=bold))
    interview = drawn.parse(tuple(paragraphs))
    text = [
        interview.title,
        *interview.lead,
        *interview.closing,
        *(p for turn in interview.turns for p in (*turn.question, *turn.answer)),
    ]
    for line in lines:
        assert not any(line in paragraph for paragraph in text), (drawn.layout, line)
    assert _expected_turns(interview) == [(q, a) for q, a in drawn.turns], drawn.layout
    assert interview.title == drawn.title and interview.lead == (drawn.lead,)
