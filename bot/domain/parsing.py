"""Plain-text interviews → ``Interview``.

Formats a newsroom actually sends are detected automatically:

* dash turns: paragraphs opening with ``— ``, ``– `` or ``- ``, questions and answers
  alternating. When turns are separated by blank lines, an answer runs until the next turn and
  the closing starts after the blank line that follows the last turn; when turns follow each
  other line by line, each turn is one paragraph and whatever follows the last one is the closing;
* labelled turns: ``Вопрос:``/``Ответ:``, ``Q:``/``A:``, or speaker labels (``Корр.:``/``Иванов:``).

Credits ("Фото из открытых источников") are kept apart from the text.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from bot.domain.furniture import (
    is_credit,
    is_credit_anywhere,
    is_furniture,
    is_note_heading,
    strip_dateline,
)
from bot.domain.language import shorten, split_sentences
from bot.domain.models import Interview, Quote, Turn
from bot.domain.speakers import (
    ANSWER_KEYS,
    QUESTION_KEYS,
    Mark,
    expert_in,
    full_name,
    nominative,
    people,
    same_surname,
    speaker_mark,
)

MAX_SOURCE_BYTES = 2_000_000
MAX_TITLE_CHARS = 100


class ParseProblem(StrEnum):
    """Why a source file cannot be published; views map every member to a reply."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    ENCODING = "encoding"
    BINARY = "binary"
    RTF = "rtf"
    HTML = "html"
    BAD_DOCUMENT = "bad_document"
    TRACKED_CHANGES = "tracked_changes"
    NO_TURNS = "no_turns"
    NO_ANSWERS = "no_answers"
    UNANSWERED = "unanswered"
    EMPTY_TURN = "empty_turn"
    NO_TITLE = "no_title"


class ParseError(ValueError):
    """A user mistake in a source file. ``code`` is stable (for translations); str() is English."""

    def __init__(self, code: ParseProblem, message: str) -> None:
        super().__init__(message)
        self.code = code


# -- decoding ----------------------------------------------------------------------------------

_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_LETTER = re.compile(r"[^\W\d_]")


def decode_source(data: bytes, *, allow_html: bool = False) -> str:
    """Bytes of an uploaded file → text; refuses what is not a text file clearly.

    A web page is refused (``ParseProblem.HTML``) unless ``allow_html``: callers that read
    HTML themselves (``bot.domain.sources``) decode Markdown, which may hold inline tags.
    """
    check_size(data)
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return _check_text(data.decode(encoding), allow_html)
            except UnicodeDecodeError as exc:
                raise ParseError(
                    ParseProblem.ENCODING, f"the file is not valid {encoding.upper()}"
                ) from exc
    utf16 = _bomless_utf16(data)
    if utf16 is not None:
        return _check_text(utf16, allow_html)
    if b"\x00" in data:
        raise ParseError(ParseProblem.BINARY, "the file is binary, not plain text")
    try:
        return _check_text(data.decode("utf-8"), allow_html)
    except UnicodeDecodeError:
        pass
    # Windows-1251 is what Russian newsrooms' older tools save; accept it only when the result
    # reads as Russian, otherwise refuse rather than guess.
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise ParseError(
            ParseProblem.ENCODING, "the file is neither UTF-8 nor Windows-1251 text"
        ) from exc
    letters = _LETTER.findall(text)
    cyrillic = _CYRILLIC.findall(text)
    if not letters or len(cyrillic) / len(letters) < 0.6:
        raise ParseError(
            ParseProblem.ENCODING, "the file is not UTF-8 text (save it as UTF-8 and try again)"
        )
    return _check_text(text, allow_html)


def check_size(data: bytes) -> None:
    """Refuse an empty file and one over ``MAX_SOURCE_BYTES``, whatever its format."""
    if not data.strip():
        raise ParseError(ParseProblem.EMPTY, "the file is empty")
    if len(data) > MAX_SOURCE_BYTES:
        raise ParseError(
            ParseProblem.TOO_LARGE,
            f"the file is {len(data):,} bytes; the limit is {MAX_SOURCE_BYTES:,} bytes",
        )


def _bomless_utf16(data: bytes) -> str | None:
    """The text of UTF-16 saved without a BOM, or ``None`` when ``data`` does not look like it.

    Text in Latin or Cyrillic script saved as UTF-16 has a NUL byte in the high half of every
    ASCII character (spaces, digits, punctuation, line ends) and almost never in the low half;
    binary files have NULs at both. So: NULs in one parity for at least 1 unit in 20, at most
    one for every hundred of those in the other, and the decoded text made of the scripts and
    punctuation newsroom text is written in (binary that passes the NUL test decodes to CJK
    and control characters).
    """
    if len(data) % 2:
        return None
    sample = data[:65536]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    units = len(sample) // 2
    for main, other, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if main >= max(1, units // 20) and other <= main // 100:
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                return None
            return text if len(_UNUSUAL_CHAR.findall(text)) <= 0.05 * len(text) else None
    return None


# anything but whitespace, printable Latin (with Latin-1, Extended-A/B), Cyrillic (Kazakh too),
# general punctuation, currency signs (₸) and letterlike symbols (№)
_UNUSUAL_CHAR = re.compile("[^\t\n\r\f\x20-\x7e\xa0-\u024f\u0400-\u052f\u2000-\u214f]")


_HTML_TAG = re.compile(r"<(?:!doctype|html|head|body|meta|div|p|br|span|table)\b", re.IGNORECASE)


def _looks_like_html(text: str) -> bool:
    """A web page (or an HTML fragment), as opposed to text that mentions a tag or two."""
    head = text.lstrip("\ufeff \t\r\n")
    return head[:15].lower().startswith(("<!doctype", "<html")) or len(_HTML_TAG.findall(text)) >= 3


def _check_text(text: str, allow_html: bool = False) -> str:
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("{\\rtf"):
        raise ParseError(
            ParseProblem.RTF, "the file is an RTF document: save it as plain text (.txt)"
        )
    if not allow_html and _looks_like_html(text):
        raise ParseError(
            ParseProblem.HTML, "the file is a web page (HTML): save it as plain text (.txt)"
        )
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f\v")
    if controls > max(3, len(text) // 1000):
        raise ParseError(ParseProblem.BINARY, "the file is binary, not plain text")
    return text


# -- normalisation -----------------------------------------------------------------------------

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalise(text: str) -> str:
    """Unify line ends and spaces (non-breaking ones included), drop invisible characters."""
    text = unicodedata.normalize("NFC", text)
    text = (
        text.replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\u2028", "\n")
        .replace("\u2029", "\n")
    )
    text = _INVISIBLE.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


def source_hash(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


@dataclass(slots=True)
class _Line:
    text: str
    gap_before: bool  # a blank line precedes it
    strong: bool = False  # the whole paragraph is bold: a question in Word files and web pages


def _lines(text: str) -> list[_Line]:
    result: list[_Line] = []
    gap = False
    for raw in text.split("\n"):
        if not raw:
            gap = True
            continue
        result.append(_Line(raw, gap and bool(result)))
        gap = False
    return result


# -- turn detection ----------------------------------------------------------------------------

_DASH_TURN = re.compile(r"^[—–-]\s*(?=\S)")
_DASH_TURN_STRICT = re.compile(r"^(?:[—–]\s?|-\s)(?=\S)")


@dataclass(slots=True)
class _Item:
    """A turn in the making: its opening paragraph and the ones that run on."""

    paragraphs: list[str]
    label: str | None = None
    speakers: list[str | None] = field(default_factory=list)  # per paragraph, when labelled


def parse_interview(
    text: str, *, title: str | None = None, speaker: str | None = None
) -> Interview:
    """Parse a (decoded) interview text. Raises ``ParseError`` when it is not one."""
    return _parse_lines(_lines(normalise(text)), title, speaker)


def parse_paragraphs(
    paragraphs: Iterable[tuple[str, bool]], *, title: str | None = None, speaker: str | None = None
) -> Interview:
    """Parse paragraphs read from a formatted document, each with whether it is wholly bold:
    bold paragraphs are the questions (short bold lead-ins such as "Справка." are not)."""
    lines = [
        _Line(text, True, strong)
        for raw, strong in paragraphs
        if (text := " ".join(normalise(raw).split()))
    ]
    return _parse_lines(lines, title, speaker)


def _parse_lines(lines: list[_Line], title: str | None, speaker: str | None) -> Interview:
    if not lines:
        raise ParseError(ParseProblem.EMPTY, "the file is empty")
    lines, credits_inside, dropped = _drop_furniture(lines)
    labelled = None
    # bold questions; a bold first line that asks nothing is the title or the lead
    strong = {
        i: line.text
        for i, line in enumerate(lines)
        if line.strong and _bold_question(line) and (i > 0 or _asks(line.text))
    }
    if len(strong) >= 2:
        # a round table in Word: bold questions, answers opening with "Ахметов: …"
        labelled = _labelled_layout(lines, questions=set(strong))
        if labelled is not None:
            start, items, closing = labelled.start, labelled.items, labelled.closing
        else:
            start, items, closing = _turns_from_questions(lines, strong)
    elif (labelled := _labelled_layout(lines)) is not None:
        start, items, closing = labelled.start, labelled.items, labelled.closing
        dropped += labelled.signoff
    else:
        numbered = _numbered_layout(lines)
        try:
            start, items, closing = _dash_layout(lines)
        except ParseError:
            if numbered is None:
                raise
            start, items, closing = len(lines), [], []  # "Вопрос №1: …" then "— answer"
        # a numbered interview may quote a dialogue in dashes; a dash one may hold a numbered
        # list: the layout that finds more turns is the interview's own
        if numbered is not None and len(numbered[1]) > len(items):
            start, items, closing = numbered
        elif len(items) < 2:
            start, items, closing = _question_layout(lines)
    items, signoff = _without_signoff(items)
    dropped += signoff
    if len(items) < 2:
        raise ParseError(
            ParseProblem.NO_TURNS,
            "no question/answer turns found: mark questions with a dash (— ), a label such as "
            "'Вопрос:'/'Ответ:', a number ('1. …?') or end each question with '?' on its own line",
        )
    if len(items) % 2:
        last = items[-1].paragraphs[0]
        raise ParseError(
            ParseProblem.UNANSWERED,
            f"the last question has no answer: {last[:80]!r}",
        )
    lead = [line.text for line in lines[:start]]
    lead, credits_before = _split_credits(lead)
    closing, credits_after = _split_credits(closing)
    experts = labelled.experts if labelled else []
    several = len(experts) > 1
    turns = tuple(
        Turn(
            number=i // 2 + 1,
            question=tuple(items[i].paragraphs),
            answer=tuple(items[i + 1].paragraphs),
            speakers=tuple(items[i + 1].speakers) if several else (),
        )
        for i in range(0, len(items), 2)
    )
    derived_title, lead = _title_and_lead(lead)
    chosen_title = _clean_title(title) if title else derived_title
    if not chosen_title:
        raise ParseError(
            ParseProblem.NO_TITLE, "the piece has no lead to take a title from; pass --title"
        )
    if speaker and speaker.strip():
        chosen_speaker: str | None = speaker.strip()
    elif experts:
        chosen_speaker = ", ".join(experts)
    else:
        chosen_speaker = _derive_speaker(lead, turns) or expert_in(chosen_title, lead)
    context = " ".join([chosen_title, *lead])
    if chosen_speaker and not experts:
        turns = tuple(_without_own_label(turn, chosen_speaker) for turn in turns)
    return Interview(
        title=chosen_title,
        lead=tuple(lead),
        turns=turns,
        closing=tuple(closing),
        credits=tuple(credits_before + credits_inside + credits_after),
        dropped=tuple(dropped),
        speaker=chosen_speaker,
        experts=people(experts or ([chosen_speaker] if chosen_speaker else []), context),
        interviewer=labelled.interviewer if labelled else None,
    )


_THANKS = re.compile(
    r"^(?:и\s+вам\s+|вам\s+)?(?:спасибо|благодарю|благодарим|thank\s+you|thanks)\b", re.IGNORECASE
)
MAX_THANKS_CHARS = 150


def _without_own_label(turn: Turn, speaker: str) -> Turn:
    """An answer that opens with its speaker's name as a label ("MARAT: …" when the piece is
    Marat Zhunusov's, the first time only) without it."""
    mark = speaker_mark(turn.answer[0])
    names = {word.lower() for word in speaker.split()}
    if mark is None or mark.role or not mark.rest or mark.key not in names:
        return turn
    return Turn(
        number=turn.number,
        question=turn.question,
        answer=(mark.rest, *turn.answer[1:]),
        speakers=turn.speakers,
    )


def _without_signoff(items: list[_Item]) -> tuple[list[_Item], list[str]]:
    """The interviewer's closing thanks ("— Спасибо за беседу!", and the expert's "— Спасибо
    вам.") is not a turn: it is left out and reported with the furniture."""

    def thanks(item: _Item, limit: int = MAX_THANKS_CHARS) -> bool:
        text = " ".join(item.paragraphs)
        return len(text) <= limit and not _asks(text) and bool(_THANKS.match(text))

    if len(items) % 2 and len(items) > 2 and thanks(items[-1]):
        return items[:-1], items[-1].paragraphs
    if (
        len(items) > 4
        and thanks(items[-2])
        and (thanks(items[-1]) or len(items[-1].paragraphs[0]) < 60)
    ):
        return items[:-2], [*items[-2].paragraphs, *items[-1].paragraphs]
    return items, []


_PULL_QUOTE = re.compile(r"^[«“\"„](.{20,400})[»”\"“]$")


def _pull_quote(text: str, whole: str) -> bool:
    """A sentence of the interview repeated in quotation marks as a page ornament."""
    match = _PULL_QUOTE.match(text)
    return match is not None and whole.count(match.group(1).rstrip(".").strip()) > 1


def _drop_furniture(lines: list[_Line]) -> tuple[list[_Line], list[str], list[str]]:
    """Lines without the page around the interview: (kept, credits, other furniture)."""
    kept: list[_Line] = []
    credits: list[str] = []
    dropped: list[str] = []
    gap = False
    whole = "\n".join(line.text for line in lines)
    note = False  # after a bare "Досье"/"Справка" heading, its paragraph is the note too
    for line in lines:
        # a dateline opens the page: its first line, or the lead under the title
        text = line.text if len(kept) > 1 else strip_dateline(line.text)
        if text != line.text:
            dropped.append(line.text[: len(line.text) - len(text)].strip())
        after_note, note = note, False
        if not text:
            pass
        elif is_furniture(text) or _pull_quote(text, whole) or (after_note and not line.strong):
            note = is_note_heading(text)
            dropped.append(text)
        elif is_credit_anywhere(text):
            credits.append(text)
        else:
            kept.append(_Line(text, bool(kept) and (line.gap_before or gap), line.strong))
            gap = False
            continue
        gap = gap or line.gap_before
    return kept, credits, dropped


Layout = tuple[int, list["_Item"], list[str]]

_NUMBERED = re.compile(
    r"^(?:(?:вопрос|question)\s*№?\s*(?P<label_n>\d{1,2})\s*[.:)]?|(?P<n>\d{1,2})\s*[.)])"
    r"\s+(?P<rest>\S.*)$",
    re.IGNORECASE,
)


def _numbered_layout(lines: list[_Line]) -> Layout | None:
    """Questions numbered "1. …", "1) …" or "Вопрос 1. …", answers in the lines between.

    The numbers must run 1, 2, 3… (a number repeated by a slip is a follow-up question); a list
    inside an answer ("1. … 2. …" on lines of their own) does not continue the run and stays
    part of the answer."""
    questions: dict[int, str] = {}
    last = 0
    for index, line in enumerate(lines):
        match = _NUMBERED.match(line.text)
        if match is None:
            continue
        number = int(match["label_n"] or match["n"])
        in_list = _listed(lines, index)
        if (number == last + 1 and not in_list) or (number == last and _asks(match["rest"])):
            questions[index] = match["rest"]
            last = number
    if len(questions) < 2:
        return None
    return _turns_from_questions(lines, questions)


def _listed(lines: list[_Line], index: int) -> bool:
    """The line is an item of a list: a numbered neighbour with no blank line between."""
    before = index > 0 and not lines[index].gap_before and _NUMBERED.match(lines[index - 1].text)
    after = (
        index + 1 < len(lines)
        and not lines[index + 1].gap_before
        and _NUMBERED.match(lines[index + 1].text)
    )
    return bool(before or after)


_FIRST_PERSON = re.compile(
    r"\b(?:я|меня|мне|мной|мой|моя|мо[её]|мои|моих|моим)\b|\b(?:I|my|me|we|our|us|We|Our)\b"
)
_REQUEST = re.compile(
    r"^(?:расскажите|поясните|объясните|опишите|назовите|уточните|прокомментируйте|поделитесь|"
    r"напомните|оцените|перечислите|tell\s+us|describe|explain)\b",
    re.IGNORECASE,
)
MAX_QUESTION_CHARS = 400
_ANSWER_OPENER = re.compile(
    r"^(?:потому\s+что|да|нет|конечно|безусловно|because|yes|no|of\s+course)\b", re.IGNORECASE
)


def _bold_question(line: _Line) -> bool:
    """Bold lead-ins ("Справка.", "Важно:") are not questions; bold questions are, and short
    bold requests ("Расскажите о себе.") too."""
    text = line.text
    return (
        len(text) >= 25
        or _asks(text)
        or not text.endswith((".", ":"))
        or bool(_REQUEST.match(text))
    )


def _asks(text: str) -> bool:
    return text.rstrip(' »"”’)').endswith("?")


def _reads_as_question(text: str) -> bool:
    """A paragraph of its own that the interviewer asks: it ends with "?" and is not the
    expert's own reasoning that closes on a question ("…А кто будет платить?": three sentences
    or more in the first person), or it is a short request ("Расскажите о планах.")."""
    if len(text) > MAX_QUESTION_CHARS:
        return False
    sentences = split_sentences(text)
    if _asks(text):
        return len(sentences) < 3 or not _FIRST_PERSON.search(" ".join(sentences[:-1]))
    asking = [i for i, sentence in enumerate(sentences[:-1]) if _asks(sentence)]
    if 2 <= len(sentences) <= 3 and len(text) <= 300 and asking:
        # "Что с безопасностью? В прошлом сезоне были жалобы…": the question, then its context
        # (not an answer that opens on a rhetorical one: "Почему? Потому что…")
        question = sentences[asking[0]]
        rest = " ".join(sentences[asking[0] + 1 :])
        return (
            (len(question.split()) >= 3 or len(text) <= MAX_ASKED_BACK_CHARS)
            and not _FIRST_PERSON.search(text)
            and not _ANSWER_OPENER.match(rest)
        )
    return len(text) <= 200 and _REQUEST.match(text) is not None and len(split_sentences(text)) == 1


def _question_layout(lines: list[_Line]) -> Layout:
    """Questions as bare paragraphs (what is left of bold questions copied from a web page):
    after the title, each paragraph that reads as a question opens a turn, and the paragraphs
    up to the next one are its answer. Consecutive question paragraphs are one question."""
    questions: dict[int, str] = {}
    for index, line in enumerate(lines[1:], start=1):
        if index - 1 in questions and not _asks(line.text):
            continue  # right after a question, "Statement. Question? Statement." answers it
        if _reads_as_question(line.text) and not _asked_back(lines, index, questions):
            questions[index] = line.text
    if len(questions) < 2:
        return len(lines), [], []
    return _turns_from_questions(lines, questions)


_RHETORICAL = re.compile(
    r"^(?:а\s+)?(?:знаете|представляете|понимаете|видите\s+ли|угадайте|догадайтесь|"
    r"you\s+know|guess\s+what)\b",
    re.IGNORECASE,
)
_SELF_REPLY = re.compile(
    r"^(?:вот\b|так\s+вот|именно|то-то|никто\b|ни\s+один|то\s+есть\s+нет|exactly|nobody)",
    re.IGNORECASE,
)
MAX_ASKED_BACK_CHARS = 80


def _asked_back(lines: list[_Line], index: int, questions: dict[int, str]) -> bool:
    """A question the expert asks inside their answer: a rhetorical opener right after the
    interviewer's question ("Знаете, сколько получает учитель…?"), or a short question that
    the next paragraph answers itself ("А вы бы поехали?" — "Вот и они не хотят.")."""
    text = lines[index].text
    if index - 1 in questions and _RHETORICAL.match(text):
        return True
    following = lines[index + 1].text if index + 1 < len(lines) else ""
    return len(text) <= MAX_ASKED_BACK_CHARS and _SELF_REPLY.match(following) is not None


def _turns_from_questions(lines: list[_Line], questions: dict[int, str]) -> Layout:
    indexes = sorted(questions)
    items: list[_Item] = []
    for index in range(indexes[0], len(lines)):
        if index in questions:
            if items and len(items) % 2 == 1:  # a question running over several paragraphs
                items[-1].paragraphs.append(questions[index])
            else:
                items.append(_Item([questions[index]]))
        elif len(items) % 2 == 1:  # an answer opens; "— " before it is the answer's dash
            items.append(_Item([_DASH_TURN_STRICT.sub("", lines[index].text)]))
        else:
            items[-1].paragraphs.append(lines[index].text)
    return indexes[0], items, []


def _dash_layout(lines: list[_Line]) -> tuple[int, list[_Item], list[str]]:
    dashed = [i for i, line in enumerate(lines) if _DASH_TURN_STRICT.match(line.text)]
    # turns separated by blank lines: a dash line without one before it is a list item ("- …"),
    # and a dash paragraph after one ending with a colon is speech the expert quotes
    spaced = sum(lines[i].gap_before for i in dashed[1:]) * 2 > len(dashed) - 1
    openers = {
        i: _Item([_DASH_TURN.sub("", lines[i].text)])
        for i in dashed
        if not spaced or i == dashed[0] or (lines[i].gap_before and not _quoted_speech(lines, i))
    }
    if not openers:
        return len(lines), [], []
    first, items, closing = _assemble(lines, openers)
    answers = items[1::2]
    if len(items) >= 4 and sum(a.paragraphs[-1].endswith("?") for a in answers) * 2 > len(answers):
        raise ParseError(
            ParseProblem.NO_ANSWERS,
            "the turns look like questions only: every other dash turn should be an answer",
        )
    return first, items, closing


def _assemble(lines: list[_Line], openers: dict[int, _Item]) -> tuple[int, list[_Item], list[str]]:
    """Turns from their opening lines and the lines that run on; what follows is the closing.

    Between turns every line runs on the turn before. After the last turn: a label alone on its
    line takes the next line; in a compact layout (turns line by line) the rest is the closing;
    with blank lines between turns, the lines up to the next blank line run on and the closing
    starts after it. (Whether a paragraph after that blank line is the expert's or the
    newsroom's cannot be told from layout; readers see the closing right after the last answer
    either way, set apart as the newsroom's text.)
    """
    indexes = sorted(openers)
    first, last = indexes[0], indexes[-1]
    blank_separated = sum(lines[i].gap_before for i in indexes[1:]) * 2 > len(indexes) - 1
    items: list[_Item] = []
    closing: list[str] = []
    for index in range(first, len(lines)):
        line = lines[index]
        if index in openers:
            items.append(openers[index])
            continue
        if index < last:
            items[-1].paragraphs.append(line.text)
            continue
        runs_on = not closing and (
            not items[-1].paragraphs or (blank_separated and not line.gap_before)
        )
        if runs_on:
            items[-1].paragraphs.append(line.text)
        else:
            closing.append(line.text)
    return first, items, closing


@dataclass(slots=True)
class _Labelled:
    """What the speaker-label layout found."""

    start: int
    items: list[_Item]
    closing: list[str]
    signoff: list[str]  # the interviewer's closing words ("That was…", "Спасибо за беседу.")
    experts: list[str]  # full names, in order of appearance
    interviewer: str | None


def _labelled_layout(lines: list[_Line], questions: set[int] | None = None) -> _Labelled | None:
    """Turns opened by speaker labels: one interviewer ("Корр.:", "Модератор:", "Q:", "…, HOST:"
    or whoever speaks first) and one or more experts, whose labels may change form ("DANA
    SEITOVA, HOST:" then "SEITOVA:") and may follow a dash ("— Цой: …", questions then being the
    unlabelled dash paragraphs). An answer is every expert paragraph up to the next question;
    each paragraph keeps its speaker. A label-like phrase inside an answer ("Простой пример: …")
    is not a speaker: an expert's label answers a question at least once or names someone the
    lead introduces."""
    marks = {i: m for i, line in enumerate(lines) if (m := speaker_mark(line.text))}
    if len(marks) < 2:
        return None
    asking = {m.key for m in marks.values() if m.asks} if questions is None else set()
    dash_questions: set[int] = set(questions or ())
    if questions is not None:
        marks = {i: m for i, m in marks.items() if i not in questions}
    elif not asking:
        dashed = sum(m.dashed for m in marks.values())
        bare = {i for i, line in enumerate(lines) if i not in marks and _DASH_TURN.match(line.text)}
        opener = next((m.key for m in marks.values() if m.key not in ANSWER_KEYS), None)
        # unlabelled questions right before a labelled answer ("…?" then "ЖУМАБАЕВА: …")
        asked = {
            i
            for i, line in enumerate(lines)
            if i not in marks and i + 1 in marks and _reads_as_question(line.text)
        }
        if dashed * 2 > len(marks) and len(bare) >= 2:
            dash_questions = {i for i in bare if not _quoted_speech(lines, i)}
        elif opener is None:
            return None
        elif len(asked) >= 2 and not _mostly_asks(lines, marks, opener):
            dash_questions = asked
        else:
            asking = {opener}

    def asks(index: int) -> bool:
        mark = marks.get(index)
        return index in dash_questions if mark is None else mark.key in asking

    opening = [i for i in sorted({*marks, *dash_questions}) if asks(i)]
    if len(opening) < 2:
        return None
    first = opening[0]
    context = " ".join(line.text for line in lines[:first])
    answering: set[str] = set()
    previous_asks = False
    for index in sorted({*marks, *dash_questions}):
        if index < first:
            continue
        mark = marks.get(index)
        if (
            mark is not None
            and not asks(index)
            and (previous_asks or mark.key in ANSWER_KEYS or _introduced(mark, context))
        ):
            answering.add(mark.key)
        previous_asks = asks(index)
    if not answering:
        return None
    forms: dict[str, list[str]] = {}
    for mark in marks.values():
        forms.setdefault(mark.key, []).append(mark.label)
    names = {key: full_name(forms[key], context) for key in answering if key not in ANSWER_KEYS}
    if not asking & set(forms) and not dash_questions:
        return None
    items: list[_Item] = []
    closing: list[str] = []
    speaker: str | None = None
    last = max(i for i in {*marks, *dash_questions} if asks(i) or marks[i].key in answering)
    for index in range(first, len(lines)):
        mark = marks.get(index)
        if index > last and (closing or lines[index].gap_before or is_credit(lines[index].text)):
            closing.append(lines[index].text)  # see _assemble: after the last turn's paragraph
            continue
        if asks(index):
            text = mark.rest if mark is not None else _DASH_TURN.sub("", lines[index].text)
            if len(items) % 2 == 0:
                items.append(_Item([], label=mark.label if mark else None))
            if text:
                items[-1].paragraphs.append(text)
            continue
        if mark is not None and mark.key in answering:
            speaker = names.get(mark.key)
            if len(items) % 2 == 1:
                items.append(_Item([], label=mark.label))
            text = mark.rest
        else:
            text = lines[index].text
        if text:
            items[-1].paragraphs.append(text)
            if len(items) % 2 == 0:
                items[-1].speakers.append(speaker)
    signoff: list[str] = []
    if len(items) % 2 == 1 and not any(_asks(p) for p in items[-1].paragraphs):
        signoff = items.pop().paragraphs
    for item in items:
        if not item.paragraphs:
            raise ParseError(ParseProblem.EMPTY_TURN, f"a turn labelled {item.label!r} has no text")
    experts = list(dict.fromkeys(s for item in items[1::2] for s in item.speakers if s))
    asker = next((marks[i] for i in opening if i in marks), None)
    interviewer = None
    if asker is not None:  # "Корр." as written; "DANA SEITOVA, HOST" as "Dana Seitova"
        personal = asker.key not in QUESTION_KEYS
        interviewer = full_name(forms[asker.key], context) if personal else asker.label
    return _Labelled(first, items, closing, signoff, experts, interviewer)


def _mostly_asks(lines: list[_Line], marks: dict[int, Mark], key: str) -> bool:
    """Most paragraphs under this label ask something: the label is the interviewer's."""
    said = [
        mark.rest or (lines[i + 1].text if i + 1 < len(lines) else "")
        for i, mark in marks.items()
        if mark.key == key
    ]
    return sum(_asks(text) or _REQUEST.match(text) is not None for text in said) * 2 >= len(said)


def _introduced(mark: Mark, context: str) -> bool:
    """The label is the surname of someone the lead names."""
    surname = mark.label.split()[-1].strip(".")
    return any(same_surname(surname, word) for word in re.findall(r"\b[A-ZА-ЯЁ][\w'’-]+", context))


def _quoted_speech(lines: list[_Line], index: int) -> bool:
    """A dash paragraph right after one that ends with a colon ("Я ему говорю:") is speech the
    expert quotes, not a turn."""
    return index > 0 and lines[index - 1].text.rstrip().endswith(":")


# a paragraph that is only a name, as a byline under the text: "Арман Жунусов"
_BYLINE_NAME = re.compile(
    r"[A-ZА-ЯЁ][a-zа-яё]+(?:-[A-ZА-ЯЁ][a-zа-яё]+)?(?:\s+[A-ZА-ЯЁ][a-zа-яё.]+){1,2}"
)


def _split_credits(paragraphs: list[str]) -> tuple[list[str], list[str]]:
    text, credits = [], []
    for paragraph in paragraphs:
        if is_credit(paragraph) or _BYLINE_NAME.fullmatch(paragraph):
            credits.append(paragraph)
        else:
            text.append(paragraph)
    return text, credits


def _clean_title(title: str) -> str:
    title = normalise(title).replace("\n", " ")
    return shorten(title, MAX_TITLE_CHARS)


def _title_and_lead(lead: list[str]) -> tuple[str, list[str]]:
    """A heading-like first paragraph is the title; otherwise the lead's first sentence is."""
    if not lead:
        return "", lead
    first = lead[0]
    if len(lead) > 1 and len(first) <= MAX_TITLE_CHARS and not first.endswith((".", ",", ";")):
        return first, lead[1:]
    sentences = split_sentences(first)
    return shorten(sentences[0] if sentences else first, MAX_TITLE_CHARS), lead


_ADDRESS = re.compile(r"^([А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?(?: [А-ЯЁ][а-яё]+)?),\s")


def _derive_speaker(lead: list[str], turns: tuple[Turn, ...]) -> str | None:
    """The interviewee, when the text says so reliably; else ``None``."""
    lead_text = " ".join(lead)
    if not turns:
        return None
    address = _ADDRESS.match(turns[0].question[0])
    if address is None:
        return None
    # the lead must name the same person in full: "…эксперт Байкадам Курамаев"; an address by
    # name and patronymic ("Марина Викторовна, …") matches the lead's "Марина Соколова"
    address_words = address.group(1).split(" ")
    for name in dict.fromkeys((address.group(1), address_words[0])):
        full = re.search(rf"\b{re.escape(name)} ([А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?)\b", lead_text)
        if full and full.group(1) not in address_words:
            return nominative(name, full.group(1))  # the lead may decline it: "Асель Нурову"
    return None


def _is_first_name(word: str) -> bool:
    """pymorphy3 tags given names with the ``Name`` grammeme ("Сергей" yes, "Эколог" no)."""
    from bot.domain.language import morph

    return any("Name" in parse.tag for parse in morph().parse(word))


def extract_quotes(interview: Interview) -> list[Quote]:
    """Every sentence of every answer, tied to its turn and, with several experts, its speaker."""
    quotes: list[Quote] = []
    for turn in interview.turns:
        position = 0
        for index, paragraph in enumerate(turn.answer):
            speaker = turn.speaker_at(index)
            for sentence in split_sentences(paragraph):
                quotes.append(Quote(turn.number, position, sentence, speaker))
                position += 1
    return quotes
