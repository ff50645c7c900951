"""What a sentence carries and whether it reads on its own (summaries, gists and /ask).

* ``facts`` — the figures, amounts, dates and names in a sentence: the parts of a news piece a
  reader forwards. A sentence's ``information`` is a weighted count of them.
* ``repair`` — a sentence taken out of its paragraph loses the link to the one before, so a
  leading connective ("Поэтому", "То есть,", "Кроме того,", "So,", "That is why") is dropped
  and the sentence re-capitalised; ``depends`` tells a sentence that needs the previous one
  even after that (a pronoun or demonstrative subject: "Это…", "Он…", "That has…").
* ``question_kind`` — what a question asks for (a number, an amount, a person or organisation,
  a time, a reason, a place), and ``answers_kind`` how well a sentence supplies it.

Pure functions of the text, Russian and English; no state.
"""

from __future__ import annotations

import enum
import re

# -- repair --------------------------------------------------------------------------------------

# Connectives that tie a sentence to the previous one without carrying content of their own:
# dropping them leaves a sentence that reads alone. Longest first, so "То есть" wins over "То".
# fmt: off
_RU_CONNECTIVES = (
    "кроме того", "более того", "помимо этого", "при этом", "тем не менее", "то есть", "так что",
    "в итоге", "в результате", "в общем", "в целом", "в свою очередь", "между тем", "а значит",
    "и поэтому", "но при этом", "а также", "и все же", "и всё же", "вместе с тем",
    "поэтому", "однако", "также", "впрочем", "итак", "конечно", "кстати", "собственно",
    "словом", "зато", "причем", "причём", "притом", "плюс", "значит", "разумеется",
    "безусловно", "естественно", "во-первых", "во-вторых", "в-третьих", "наконец", "ещё", "еще",
    "но", "а", "и", "да и", "ведь", "например", "к примеру", "потому что", "потому, что",
    "к тому же", "вдобавок", "опять же", "в частности", "всё-таки", "все-таки",
)
_EN_CONNECTIVES = (
    "that is why", "this is why", "which is why", "on the other hand", "in other words",
    "at the same time", "of course", "in fact", "as a result", "after all", "and so",
    "so", "therefore", "but", "and", "also", "still", "besides", "however", "moreover", "well",
    "yet", "thus", "anyway", "actually", "first", "second", "third", "finally", "plus",
    "for example", "for instance", "because", "that's why", "this is why", "that's because",
    "this is because", "that is because", "in addition", "furthermore", "meanwhile", "indeed",
    "in particular", "that said",
)
# fmt: on
_CONNECTIVE = re.compile(
    r"^(?:"
    + "|".join(re.escape(c) for c in sorted(_RU_CONNECTIVES + _EN_CONNECTIVES, key=len)[::-1])
    + r")(?:\s*[,:]\s*|\s+)"
    # a reply's "Да," / "Нет," / "Yes," / "No," and "Правда," with their comma ("Нет данных…",
    # "Правда в том, что…" keep theirs)
    + r"|^(?:да|нет|yes|no|правда)\s*,\s*",
    re.IGNORECASE,
)
# Openers that tie the sentence to the one before and cannot be dropped: a pronoun or a
# demonstrative standing for something said earlier.
_DEPENDENT = re.compile(
    r"^(?:это|этот|эта|эти|этим|этого|этому|этой|он|она|оно|они|его|ее|её|их|ему|ей|им|"
    r"тот|та|те|тем|того|такой|такая|такие|таким|тут|здесь|там|тогда|"
    r"(?:в|во|при|на|из-за|по|для|за|после|с|со|к|от|до|о|об|из|у) "
    r"(?:этом|этого|этой|этих|этим|этому|эту|это|том|тех|таком|такой|таких|нем|ней|них)"
    r"(?! (?:году|месяце|сезоне|квартале|неделе|веке|регионе|городе|области|стране))|"
    r"that|this|these|those|it|they|he|she|there|here|such|then)\b",
    re.IGNORECASE,
)
_OPEN_MARKS = '—–-«"“„( '
MIN_REPAIRED_WORDS = 4  # "Да, придётся." without its "Да," says nothing: no repair


def repair(sentence: str) -> str:
    """The sentence without a leading connective, re-capitalised ("Поэтому вторым этапом…" →
    "Вторым этапом…"; "То есть, чтобы…" → "Чтобы…"); unchanged when nothing would be left."""
    text = sentence.strip()
    body = text.lstrip(_OPEN_MARKS)
    prefix = text[: len(text) - len(body)]
    for _ in range(2):  # "Но, конечно, …"
        match = _CONNECTIVE.match(body)
        if match is None:
            break
        rest = body[match.end() :]
        if len(re.findall(r"\w+", rest)) < MIN_REPAIRED_WORDS or not rest[:1].isalnum():
            break
        body = rest[:1].upper() + rest[1:]
    if prefix.strip() in ("—", "–", "-"):
        prefix = ""
    return prefix + body


def connective(sentence: str) -> bool:
    """Does the sentence open with a connective ``repair`` would drop?"""
    return repair(sentence) != sentence.strip()


# A demonstrative among the first words points back too ("Раньше таких пациентов везли…"),
# unless it points at a time ("в этом году").
_POINTING = re.compile(
    r"^(?:\S+\s+){0,2}(?:таких|такие|такой|такая|такого|таким|этих|эти|этот|эта|этой|этого|"
    r"этим|those|these|such)\b(?!\s+(?:году|месяце|сезоне|квартале|неделе|year|month|season))",
    re.IGNORECASE,
)


# A third-person pronoun standing for a thing named before ("…мы сократим её до 12 часов",
# "Среди них —", "For them…"); "его/её/их" before a noun or an adjective is a possessive, whose
# owner is usually in the same sentence ("their readers"), and does not count.
_OBJECT_PRONOUN = re.compile(
    r"\b(?:него|неё|нее|них|нему|ней|ним|ему|ей|им|он|она|оно|они|them|they|him)\b", re.I
)
_POSSESSIVE_OR_OBJECT = re.compile(r"\b(?:его|её|ее|их)\s+(\w+)", re.IGNORECASE)


def refers_back(sentence: str) -> bool:
    """Does the first clause of the sentence hold a pronoun for something said before it?"""
    clause = re.split(r"[,;:—–]|\s-\s", repair(sentence).lstrip(_OPEN_MARKS), maxsplit=1)[0]
    if _OBJECT_PRONOUN.search(clause):
        return True
    for match in _POSSESSIVE_OR_OBJECT.finditer(clause):
        following = match.group(1).lower()
        if not any("а" <= ch <= "я" for ch in following):
            continue
        from bot.domain.language import morph  # pymorphy3 loads lazily, once

        if morph().parse(following)[0].tag.POS not in ("NOUN", "ADJF", "PRTF", "NUMR"):
            return True
    return False


# "Чтобы это не повторилось, …", "Всё это…": "это" among the first words stands for what was
# said before ("Азия — это…" has a dash before it and defines instead).
_THIS_EARLY = re.compile(r"^(?:[А-Яа-яЁё]+\s+){1,2}это\b", re.IGNORECASE)


def depends(sentence: str) -> bool:
    """Does the sentence, once repaired, still need the previous one (a pronoun subject, a
    demonstrative among its first words, a pronoun for something named before in its first
    clause)?"""
    text = repair(sentence).lstrip(_OPEN_MARKS)
    return (
        _DEPENDENT.match(text) is not None
        or _POINTING.match(text) is not None
        or refers_back(text)
        or _THIS_EARLY.match(text) is not None
    )


# -- facts ---------------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])(?:\$|€|£)?\d[\d\s.,]*\d*(?:\s?%)?")
_UNIT = re.compile(
    r"\d[\d\s.,]*\s?(?:%|процент\w*|млн|млрд|трлн|тыс\w*|миллион\w*|миллиард\w*|триллион\w*|"
    r"тенге|рубл\w*|доллар\w*|евро|юан\w*|сом\w*|\$|€|МВт\w*|ГВт\w*|кВт\w*|тонн\w*|км|километр\w*|"
    r"гектар\w*|центнер\w*|кубометр\w*|мест\w*|коек|койк\w*|человек|детей|врач\w*|"
    r"million|billion|trillion|dollars?|tenge|euros?|percent|MW\w*|GW\w*|kWh|tonnes?|tons?|"
    r"kilometres?|kilometers?|km|stations|cars|passengers)",
    re.IGNORECASE,
)
_MONTHS = re.compile(
    r"\b(?:январ|феврал|март|апрел|ма[яй]\b|июн|июл|август|сентябр|октябр|ноябр|декабр|"
    r"весн|лет[оа]м?\b|осен|зим|квартал|January|February|March|April|May|June|July|August|"
    r"September|October|November|December|spring|summer|autumn|winter|quarter)\w*",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_ACRONYM = re.compile(r"\b[A-ZА-ЯЁ][A-ZА-ЯЁ0-9&+]{1,}\b")
_QUOTED_NAME = re.compile(r"«[^»]{2,60}»|“[^”]{2,60}”")
_CAPITALISED = re.compile(r"(?<=[\s(«“\"])[A-ZА-ЯЁ][a-zа-яё]+(?:-[A-ZА-ЯЁ]?[a-zа-яё]+)?")
_ROLE = re.compile(
    r"\b(?:председател|директор|руководител|глав[аы]|министр|аким|президент|замминистр|"
    r"главн\w+ врач|эксперт|основател|генеральн|член совета|chief|director|head of|CEO|"
    r"chairman|minister|founder|engineer)\w*",
    re.IGNORECASE,
)


def facts(sentence: str) -> set[str]:
    """The sentence's figures, dates and names, as normalised strings."""
    found: set[str] = set()
    for match in _NUMBER.finditer(sentence):
        token = re.sub(r"\s+", "", match.group()).rstrip(".,")
        if any(ch.isdigit() for ch in token):
            found.add(token)
    for match in _MONTHS.finditer(sentence):
        found.add(match.group().lower()[:5])
    for match in _ACRONYM.finditer(sentence):
        found.add(match.group())
    for match in _QUOTED_NAME.finditer(sentence):
        found.add(match.group().strip("«»“”").lower())
    # Russian and English capitalise names only (and the first word, which the pattern skips)
    for match in _CAPITALISED.finditer(sentence.lstrip(_OPEN_MARKS)):
        found.add(match.group().lower())
    return found


_MONEY = re.compile(
    r"(?:\$|€|£)\s?\d|\d[\d\s.,]*\s?(?:(?:млн|млрд|трлн|тыс\.?|миллион\w*|миллиард\w*|"
    r"триллион\w*|тысяч\w*|million|billion|trillion)\s)?(?:тенге|рубл\w*|доллар\w*|евро|юан\w*|"
    r"dollars?|tenge|euros?|yuan)",
    re.IGNORECASE,
)


def money(sentence: str) -> bool:
    """Does the sentence name an amount of money (the figure a reader forwards first)?"""
    return _MONEY.search(sentence) is not None


def information(sentence: str) -> float:
    """A weighted count of what the sentence tells: amounts of money weigh most, then figures
    with units, bare numbers and years, dates, named organisations, places and people."""
    score = 0.0
    money = len(_MONEY.findall(sentence))
    units = max(0, len(_UNIT.findall(sentence)) - money)
    numbers = sum(any(ch.isdigit() for ch in m.group()) for m in _NUMBER.finditer(sentence))
    score += 2.5 * money + 1.5 * units + 0.7 * max(0, numbers - units - money)
    score += 0.5 * len({m.group().lower()[:5] for m in _MONTHS.finditer(sentence)})
    names = facts(sentence) - {m.group().lower()[:5] for m in _MONTHS.finditer(sentence)}
    names = {n for n in names if not any(ch.isdigit() for ch in n)}
    score += 0.6 * len(names)
    return score


def names_role(sentence: str) -> bool:
    """Does the sentence name someone's role (who is speaking: "Директор проекта … Омаров")?"""
    return _ROLE.search(sentence) is not None


# -- what a question asks ------------------------------------------------------------------------


class Kind(enum.Enum):
    """What a question asks for."""

    AMOUNT = "amount"  # money: "сколько стоил", "во что обошлось", "how much … cost"
    NUMBER = "number"  # "сколько", "how many", "на сколько"
    PERSON = "person"  # "кто", "who", "чья"
    TIME = "time"  # "когда", "к какому сроку", "when"
    REASON = "reason"  # "почему", "зачем", "why", "из-за чего"
    PLACE = "place"  # "где", "куда", "откуда", "where"
    YES_NO = "yes-no"  # "Будет ли лечение бесплатным?", "Is the metro safe…?"
    OTHER = "other"


_KIND_PATTERNS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    (
        Kind.AMOUNT,
        re.compile(
            r"\b(?:сколько\s+(?:\w+\s+)?(?:стои|стоил|будет стоить|денег|заплат|потрат|вложил|обош)|"
            r"во сколько|во что обош|стоимост|how much\b.*?\b(?:cost|pay|spend)|cost)\w*",
            re.IGNORECASE,
        ),
    ),
    (
        Kind.NUMBER,
        re.compile(
            r"\b(?:сколько|скольк(?:им|их|ими)|на сколько|насколько|how many|how much|"
            r"какая доля)\b",
            re.I,
        ),
    ),
    (
        Kind.PERSON,
        re.compile(r"\b(?:кто|кого|кому|кем|чей|чья|чьи|who|whom|whose)\b", re.IGNORECASE),
    ),
    (
        Kind.TIME,
        re.compile(r"\b(?:когда|к какому|в каком году|до какого|сроки|when|how soon)\b", re.I),
    ),
    (
        Kind.REASON,
        re.compile(r"\b(?:почему|зачем|из-за чего|отчего|why|what went wrong)\b", re.I),
    ),
    (Kind.PLACE, re.compile(r"\b(?:где|куда|откуда|в каких районах|where)\b", re.I)),
    (
        Kind.YES_NO,
        re.compile(
            r"\s(?:ли|разве)\s|^(?:is|are|will|can|could|does|do|did|has|have|should)\s", re.I
        ),
    ),
)


def question_kinds(question: str) -> tuple[Kind, ...]:
    """Every kind a question asks for, in the order listed (a question may ask two things:
    "Сколько стоил проект и кто его финансировал?" → amount, number, person)."""
    kinds: list[Kind] = []
    rest = question
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(rest):
            kinds.append(kind)
            if kind is Kind.AMOUNT:  # "сколько стоит" asks for money, not for any number
                rest = pattern.sub(" ", rest)
    return tuple(kinds) or (Kind.OTHER,)


_REASON = re.compile(
    r"\b(?:потому что|потому, что|поскольку|так как|из-за|причин|because|due to|since|"
    r"reason|благодаря|связано с)\w*",
    re.IGNORECASE,
)
_PEOPLE = re.compile(
    r"\b(?:люд(?:и|ей|ям|ьми)|человек|жител\w*|пенсионер\w*|молод[аеоы]\w*|дет(?:и|ей|ям)|"
    r"студент\w*|школьник\w*|семь(?:и|ей|ям)|сотрудник\w*|специалист\w*|врач\w*|"
    r"people|residents|pensioners|children|families|students|staff|workers)\b",
    re.IGNORECASE,
)
_PLACE_WORDS = re.compile(
    r"\b(?:в|во|на|из)\s+[А-ЯЁ]\w+|\b(?:район|област|город|сел|in|at)\s+\w+", re.UNICODE
)


def answers_kind(kind: Kind, sentence: str) -> float:
    """How well the sentence supplies what the question asks for, 0–1."""
    if kind is Kind.AMOUNT:
        return 1.0 if _MONEY.search(sentence) else 0.4 if _UNIT.search(sentence) else 0.0
    if kind is Kind.NUMBER:
        return 1.0 if _UNIT.search(sentence) else 0.6 if _NUMBER.search(sentence) else 0.0
    if kind is Kind.PERSON:
        found = facts(sentence)
        named = [f for f in found if not any(ch.isdigit() for ch in f)]
        # "кто чаще становится жертвой?" is answered by a group of people as well as by names
        group = 0.5 if _PEOPLE.search(sentence) else 0.0
        return min(1.0, max(group, 0.5 * len(named)))
    if kind is Kind.TIME:
        return (
            1.0
            if _YEAR.search(sentence) or _MONTHS.search(sentence)
            else 0.3
            if _NUMBER.search(sentence)
            else 0.0
        )
    if kind is Kind.REASON:
        return 1.0 if _REASON.search(sentence) else 0.0
    if kind is Kind.PLACE:
        return 0.7 if _PLACE_WORDS.search(sentence) else 0.0
    if kind is Kind.YES_NO:
        return 1.0 if _YES_NO.match(sentence.lstrip(_OPEN_MARKS)) else 0.0
    return 0.0


_YES_NO = re.compile(r"^(?:\S+\s+){0,1}(?:да|нет|конечно|yes|no)\b", re.IGNORECASE)
