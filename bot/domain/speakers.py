"""Speaker labels ("КОРР.:", "А. Иванова:", "DANA SEITOVA, HOST:", "— Цой:") and the people
the lead introduces, so that every label is shown under the person's full name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.models import Person

_WORD = r"[A-ZА-ЯЁ][\w.'’\-]{0,24}"
_LABEL = re.compile(
    rf"^(?:(?P<dash>[—–-])\s*)?(?P<label>{_WORD}(?:\s{_WORD}){{0,2}})"
    r"(?:,\s*(?P<role>[^\W\d_][^:?!;«»\"]{0,40}?))?(?:\s*\((?P<aside>[^()]{1,30})\))?"
    r"\s?:\s*(?P<rest>.*)$"
)

QUESTION_KEYS = frozenset(
    {
        "вопрос",
        "в",
        "q",
        "question",
        "корр",
        "корреспондент",
        "журналист",
        "журналистка",
        "интервьюер",
        "interviewer",
        "ведущий",
        "ведущая",
        "модератор",
        "moderator",
        "host",
        "reporter",
        "редакция",
        "ж",  # "Ж — журналист, Э — эксперт …"
    }
)
ANSWER_KEYS = frozenset({"ответ", "о", "a", "answer", "э"})


@dataclass(frozen=True, slots=True)
class Mark:
    """A paragraph that opens with a speaker label."""

    label: str  # as written, without the role: "DANA SEITOVA", "А. Сейткали", "Корр."
    role: str | None  # "HOST" in "DANA SEITOVA, HOST:"
    rest: str  # the paragraph after the label
    dashed: bool  # "— Цой: …"

    @property
    def key(self) -> str:
        """The same person under every form of their label: the last word, lower case
        ("DANA SEITOVA" and "SEITOVA" → "seitova")."""
        return label_key(self.label)

    @property
    def asks(self) -> bool:
        """The label names the interviewer ("Корр.", "Модератор", "…, HOST")."""
        return self.key in QUESTION_KEYS or (
            self.role is not None and label_key(self.role) in QUESTION_KEYS
        )


def label_key(label: str) -> str:
    return label.split()[-1].strip(".").lower() if label.split() else ""


def speaker_mark(text: str) -> Mark | None:
    match = _LABEL.match(text)
    if match is None:
        return None
    role = match["role"]
    if role is not None and len(role.split()) > 4:
        return None
    return Mark(
        match["label"], role.strip() if role else None, match["rest"].strip(), bool(match["dash"])
    )


# -- people in the lead ------------------------------------------------------------------------

_NAME = r"[A-ZА-ЯЁ][a-zа-яё'’]+(?:-[A-ZА-ЯЁ][a-zа-яё'’]+)?"
_FULL_NAME = re.compile(rf"(?=\b(?P<first>{_NAME})\s+(?P<last>{_NAME})\b)")  # overlapping


def same_surname(label: str, word: str) -> bool:
    """``word`` is the surname ``label`` in some grammatical case ("Сапарова"/"Сапаровой",
    "Пак"/"Пака", "Сейткали"/"Сейткали")."""
    a, b = label.lower(), word.lower()
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= max(min(3, len(a)), len(a) - 2) and abs(len(a) - len(b)) <= 3


def _given_name(
    word: str, gender: str | None = None, case: str | None = None
) -> tuple[str, str | None, bool] | None:
    """A Russian given name → (nominative, gender, whether the lead declined it), when pymorphy3
    knows it as a name of that ``gender`` ("Олега" → ("Олег", "masc", True)); readings in
    ``case`` (the case the words before it are in) first."""
    from bot.domain.language import morph

    parses = [
        p
        for p in morph().parse(word)
        if "Name" in p.tag and (gender is None or p.tag.gender == gender)
    ]
    if case is not None:
        parses = [p for p in parses if p.tag.case == case] or parses
    if not parses:
        return None
    gender = parses[0].tag.gender
    parses.sort(key=lambda p: p.tag.number == "plur")  # "Елены" is one Елена's, not several
    declined = not any(p.tag.case == "nomn" and p.tag.number != "plur" for p in parses)
    return str(parses[0].normal_form).capitalize(), gender, declined


# a given name pymorphy3 does not know (many Kazakh names), declined next to a declined surname
_FEMININE_CASES = (
    (re.compile(r"(ь)ю$"), r"\1"),  # Аселью → Асель
    (re.compile(r"([^аеёиоуыэюя])(?:ой|ы|у)$"), r"\1а"),  # Гульмирой, Гульмиру → Гульмира
)
_MASCULINE_CASES = ((re.compile(r"([^аеёиоуыэюяь])(?:ом|а|у|е)$"), r"\1"),)  # Ерланом → Ерлан
_FEMININE_SURNAME = re.compile(r"(?:ова|ева|ёва|ина|ына|ая)$", re.IGNORECASE)


def _nominative_first_name(word: str, *, surname: str | None = None) -> str:
    """A given name as the lead declines it ("Олега", "Гульмиру") → nominative, when pymorphy3
    knows it as a name, or by its ending when the surname beside it is declined too;
    otherwise as written."""
    if not re.match(r"[А-ЯЁа-яё]", word):
        return word
    if surname is None:  # the surname does not tell ("Елены Ким"): a known oblique name does
        given = _given_name(word)
        if given is not None and given[2] and re.search(r"(?:ы|и|у|ю|ой|ей|ом|ем|а|я)$", word):
            return given[0]
        return word
    # the surname beside it is declined (label "Ахметова", lead "Ахметовой")
    feminine = _FEMININE_SURNAME.search(surname) is not None
    if feminine and re.search(r"[^аеёиоуыэюяй]$", word):
        return word  # a woman's name ending in a consonant does not decline: "Нургуль"
    given = _given_name(word, "femn" if feminine else "masc")
    if given is not None:
        return given[0]
    for pattern, repl in _FEMININE_CASES if feminine else _MASCULINE_CASES:
        if pattern.search(word):
            return pattern.sub(repl, word)
    return word
    given = _given_name(word)
    if given is not None:
        return given[0]
    if (
        surname is not None
    ):  # the surname beside it is declined (label "Ахметова", lead "Ахметовой")
        feminine = _FEMININE_SURNAME.search(surname) is not None
        for pattern, repl in _FEMININE_CASES if feminine else _MASCULINE_CASES:
            if pattern.search(word):
                return pattern.sub(repl, word)
    return word


_SURNAME_STEM = r"(?:ов|ев|ёв|ин|ын)"
_MASC_OBLIQUE = (
    (re.compile(rf"({_SURNAME_STEM})(?:а|у|ым|е)$"), r"\1"),
    (re.compile(r"(ск|цк)(?:ого|ому|им|ом)$"), r"\1ий"),
    (re.compile(r"([бвгджзклмнпрстфхцчшщ])(?:а|у|ом|ем|е)$"), r"\1"),
)
_FEMN_OBLIQUE = (
    (re.compile(rf"({_SURNAME_STEM})(?:ой|у)$"), r"\1а"),
    (re.compile(r"(ск|цк)(?:ой|ую)$"), r"\1ая"),
)
_SURNAME_SHAPE = re.compile(
    rf"{_SURNAME_STEM}(?:а|у|ым|е|ой)?$|(?:ск|цк)(?:ий|ого|ому|им|ом|ая|ой|ую)$", re.IGNORECASE
)


def nominative(first: str, last: str, case: str | None = None) -> str:
    """A Russian name as the lead declines it → nominative ("Серика Жаксылыкова" → "Серик
    Жаксылыков", "Динарой Омаровой" → "Динара Омарова", "Жанну Цой" → "Жанна Цой")."""
    if re.search(rf"(?:{_SURNAME_STEM}ой|ская|ской|скую)$", last):
        gender: str | None = "femn"
    elif re.search(rf"(?:{_SURNAME_STEM}ым|ский|ского|скому|ским)$", last):
        gender = "masc"
    else:
        gender = None
    given = _given_name(first, gender, case) if re.match(r"[А-ЯЁ]", first) else None
    if given is None:  # a name pymorphy3 does not know: only unambiguous surname endings
        if re.search(rf"{_SURNAME_STEM}ой$", last):  # Жумабаевой → Жумабаева
            last = last[:-2] + "а"
        elif re.search(rf"{_SURNAME_STEM}ым$", last):  # Садыковым → Садыков
            last = last[:-2]
        else:
            return f"{first} {last}"
        return f"{_nominative_first_name(first, surname=last)} {last}"
    name, gender, declined = given
    if re.search(r"[^аеёиоуыэюяй]$", first) and re.search(rf"{_SURNAME_STEM}(?:а|ой|у)$", last):
        # a woman's name ending in a consonant does not decline: "Нургуль Ахметовой"
        name, gender, declined = first, "femn", True
    if declined or gender == "femn":
        for pattern, repl in _FEMN_OBLIQUE if gender == "femn" else _MASC_OBLIQUE:
            if pattern.search(last):
                last = pattern.sub(repl, last)
                break
    return f"{name} {last}"


def _person_like(first: str, last: str, before: str, after: str) -> bool:
    if re.match(r"[А-ЯЁ]", first):
        return _given_name(first) is not None or bool(_SURNAME_SHAPE.search(last))
    # Latin: a pair standing alone, not part of a longer proper name ("Steppe Wind Power")
    return not re.search(r"[A-Z][a-z]+\W*$", before) and not re.match(r"\s+[A-Z][a-z]", after)


_CUE = re.compile(
    r"(?:рассказ|поговорил|спросил|побеседовал|ответил|отвечает|объясн|поясн|интервью|бесед|"
    r"обсудил|считает|говорит|уверен|делится|рассужда|размышля|признал|заявил|эксперт)|"
    r"\b(?:says|said|told|spoke|talked|talks|interview|explains|answers|discusses)\b",
    re.IGNORECASE,
)


def _case_before(text: str) -> str | None:
    """The grammatical case of the word right before a name ("директора" → genitive), which the
    name agrees with when it is the role's apposition."""
    from bot.domain.language import morph

    words = re.findall(r"[А-ЯЁа-яё]+", text[-40:])
    if not words or not words[-1][:1].islower():
        return None
    tag = morph().parse(words[-1])[0].tag
    return str(tag.case) if "NOUN" in tag and tag.case else None


def persons(text: str) -> list[tuple[str, int]]:
    """People named in ``text`` ("Имя Фамилия" in any case, "First Last"), nominative, with the
    position where each is named."""
    found = []
    for match in _FULL_NAME.finditer(text):
        first, last = match["first"], match["last"]
        end = match.start() + len(first) + 1 + len(last)
        if _person_like(first, last, text[: match.start()], text[end:]):
            found.append(
                (nominative(first, last, _case_before(text[: match.start()])), match.start())
            )
    return found


def expert_in(title: str, lead: list[str]) -> str | None:
    """The interviewee the headline or lead names: the person in a sentence that says who was
    interviewed ("…мы поговорили с главным врачом Динарой Омаровой", "…, says CEO Timur
    Abenov"), the headline first."""
    from bot.domain.language import split_sentences

    headline = [name for name, _ in persons(title)]
    for sentence in [title, *(s for p in lead for s in split_sentences(p))]:
        named = persons(sentence)
        if named and _CUE.search(sentence):
            found = named[-1][0] if len({n for n, _ in named}) > 1 else named[0][0]
            # the headline names them in the nominative ("Ерлан Мусин: «…»"), the lead may not
            surname = found.split()[-1]
            return next((h for h in headline if same_surname(h.split()[-1], surname)), found)
    # a headline that names one person and nothing else says who spoke: "Qazpay CEO Aliya
    # Serikbayeva on super-apps…"
    in_title = {name for name, _ in persons(title)}
    return in_title.pop() if len(in_title) == 1 else None


def _readable(label: str) -> str:
    """ "DANA SEITOVA" → "Dana Seitova"; mixed case stays as written."""
    if label.upper() == label:
        return " ".join(part.capitalize() for part in label.split())
    return label


def full_name(labels: list[str], context: str) -> str:
    """The name a reader should see for a speaker known by ``labels`` (the forms their label
    takes), completed from the lead and headline in ``context`` where they give more."""
    longest = max(labels, key=lambda label: (len(label.split()), len(label)))
    words = _readable(longest).split()
    surname = words[-1]
    initial = words[0][0] if len(words) > 1 and words[0].rstrip(".") != words[0] else None
    if len(words) > 1 and initial is None:
        return " ".join(words)  # "Олег Пак:" is the full name already
    for match in _FULL_NAME.finditer(context):
        if not same_surname(surname, match["last"]):
            continue
        declined = match["last"].lower() != surname.lower()
        first = _nominative_first_name(match["first"], surname=surname if declined else None)
        if initial is None or first.startswith(initial):
            return f"{first} {surname}"
    return " ".join(words)


def people(names: list[str], context: str) -> tuple[Person, ...]:
    """Speakers with the role the lead gives them: after the name ("Гульмира Сапарова, директор
    центра…") or before it ("…поговорили с главным врачом Динарой Омаровой" → "главный врач")."""
    result = []
    for name in names:
        role = None
        surname = name.split()[-1]
        after = rf"(?=\b{_NAME}\s+(?P<last>{_NAME}),\s+(?P<role>[^,.;()]{{3,120}}))"
        before = rf"(?=\b(?P<first>{_NAME})\s+(?P<last>{_NAME})\b)"
        for match in re.finditer(after, context):
            if same_surname(surname, match["last"]):
                # up to the next person ("…, руководителя X Гульмиру Тлеубаеву и …")
                phrase = match["role"]
                if re.match(r"[а-яё]", phrase):
                    phrase = re.split(rf"\s+и\s+|\s+{_NAME}\s+{_NAME}\b", phrase)[0]
                words = _TOKEN.findall(phrase.strip())
                role = _nominative_phrase(words) if words and words[0][:1].islower() else None
                role = role or phrase.strip()
                break
        else:
            for match in re.finditer(before, context):
                if same_surname(surname, match["last"]):
                    role = _role_before(context[: match.start()])
                    if role:
                        break
        result.append(Person(name, role))
    return tuple(result)


_TOKEN = re.compile(r"«[^»]{1,60}»|[\w'’-]+|[^\w\s]")
_STOP_POS = {"PREP", "VERB", "INFN", "PRTF", "PRTS", "GRND", "NPRO", "PRCL", "ADVB", "PRED"}


def _role_before(text: str) -> str | None:
    """The role phrase right before a name, in the nominative: back to a punctuation mark, a
    verb or preposition, or the "и" that follows someone else's name."""
    from bot.domain.language import morph

    tokens = _TOKEN.findall(text)
    words: list[str] = []
    for index in range(len(tokens) - 1, -1, -1):
        token = tokens[index]
        if token.startswith("«"):
            words.append(token)
            continue
        if not re.match(r"[а-яёА-ЯЁ0-9]", token):  # punctuation, or a Latin name (Kazinform)
            break
        parse = morph().parse(token)[0]
        if parse.tag.POS in _STOP_POS:
            break
        if parse.tag.POS == "CONJ":
            previous = tokens[index - 1] if index else ""
            if not previous[:1].isupper() or previous.startswith("«"):
                words.append(token)
                continue
            break
        words.append(token)
        if len(words) > 12:
            return None
    words.reverse()
    while words and (words[0].lower() in {"и", "а"} or words[0].startswith("«")):
        words.pop(0)
    if not words or not re.match(r"[а-яёА-ЯЁ]", words[0]):
        return None
    return _nominative_phrase(words)


def _nominative_phrase(words: list[str]) -> str | None:
    """Inflect the head of a role phrase to the nominative: the adjectives and the first noun
    ("исполнительного директора Союза…" → "исполнительный директор Союза…")."""
    from bot.domain.language import morph

    tags = [morph().parse(w)[0].tag for w in words]
    # the head is the first person-noun ("директора"), not "интервью" in "в интервью директора"
    head = next((i for i, t in enumerate(tags) if "NOUN" in t and "anim" in t), None)
    if head is None:
        head = next((i for i, t in enumerate(tags) if "NOUN" in t), None)
    if head is None:
        return None
    start = head
    while start > 0 and any("ADJF" in p.tag for p in morph().parse(words[start - 1])):
        start -= 1
    words, head = words[start:], head - start
    noun = morph().parse(words[head])[0]
    case, gender = noun.tag.case, noun.tag.gender
    out = list(words)
    for i in range(head + 1):
        parses = [p for p in morph().parse(words[i]) if p.tag.case == case] or morph().parse(
            words[i]
        )
        wanted = {"nomn", "sing"} | ({gender} if gender and i < head else set())
        inflected = parses[0].inflect(wanted) or parses[0].inflect({"nomn"})
        if inflected is not None:
            out[i] = inflected.word
    out[0] = out[0][:1].lower() + out[0][1:]
    return " ".join(out)
