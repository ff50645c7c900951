"""Lines that belong to the page, not to the interview: credits, datelines, "read also" links,
sources, tags, subscription calls, ad markers, broadcast cues and copyright lines.

Kept apart at ingest (credits are shown as credits, the rest is reported to the editor) and
never quoted, summarised or indexed.
"""

from __future__ import annotations

import re

MAX_CREDIT_CHARS = 160
MAX_FURNITURE_CHARS = 200

_CREDIT = re.compile(
    r"^(?:фото(?:графи[яи])?|видео|иллюстраци[яи]|источник(?:и)?\s+фото|автор(?:\s+фото)?|"
    r"беседовал[аи]?|(?:интервью\s+|материал\s+)?(?:подготовил|записал|взял)[аи]?|текст|"
    r"photos?|photo\s+by|image|source|credits?|interview\s+by)\b",
    re.IGNORECASE,
)
# Anywhere in the text (inside answers too) only what cannot be the expert's words: a credit
# label with a colon, or a byline verb followed by a name.
_CREDIT_ANYWHERE = re.compile(
    r"^(?:(?:фото(?:графи[яи])?|видео|иллюстраци[яи]|автор(?:\s+фото)?|текст|источник\s+фото|"
    r"photos?|image|video|credits?)\s*:\s*\S"
    r"|фото\s+(?:из\s+открытых\s+источников|пресс-службы|автора|предоставлен\w*)"
    r"|.{0,140}[.!?»]\s+фото\s*:\s*\S.{0,60}$"  # a caption that ends with its credit
    r"|(?:вел[аи]?|в[её]л)\s+(?:круглый\s+стол|беседу|интервью|разговор)\s+[A-ZА-ЯЁ]"
    r"|(?:беседовал[аи]?|интервью\s+взял[аи]?|записал[аи]?|подготовил[аи]?|"
    r"interview(?:ed)?\s+by|photo\s+by)\s+[A-ZА-ЯЁ]"
    r"|by\s+[A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+){1,3}$)",
    re.IGNORECASE,
)
_FURNITURE = re.compile(
    r"^(?:"
    r"(?:читайте|смотрите)\s+(?:также|тоже|по\s+теме|ещ[её])\b|по\s+теме\s*:|"
    r"(?:read|see)\s+(?:also|more)\b|related\s*:|"
    r"источник\s*:|теги\s*:|tags\s*:|ключевые\s+слова\s*:|"
    r"подписывайтесь\b|подпишитесь\b|subscribe\s+to\b|follow\s+us\b|"
    r"(?:реклама|advertisement|на\s+правах\s+рекламы|партн[её]рский\s+материал|sponsored)\s*\.?$|"
    r"©|\(c\)\s|copyright\b|все\s+права\s+защищены|all\s+rights\s+reserved|"
    r"\((?:soundbite|music|laughter|applause|crosstalk|смех|музыка|аплодисменты)[^)]*\)$|"
    r"\[(?:[^\]\[a-zа-яё]{2,40}|(?:soundbite|music|laughter|laughs|applause|crosstalk|inaudible|"
    r"смех|смеётся|смеется|музыка|аплодисменты|неразборчиво|пауза)[^\]]{0,30})\]\.?$|"
    r"(?:поделиться|share|комментари[ийя]|comments?)\s*(?:\(\d+\)|\d+)?\s*:?$|"
    r"(?:нашли\s+ошибку|просмотр(?:ов|ы)\s*:|оцените\s+(?:материал|статью)|"
    r"следите\s+за\s+(?:нами|новостями)|присоединяйтесь\s+к\s+нам)\b|"
    r"(?:this\s+)?interview\s+(?:has\s+been|was)\s+(?:edited|condensed|lightly\s+edited)\b|"
    r"(?:интервью|расшифровка|текст|беседа)\s+(?:было\s+|был[аи]?\s+)?(?:отредактирован|сокращен|"
    r"согласован|публикуется\s+в\s+сокращении)|"
    r"(?:материал|публикация|проект)\s+(?:подготовлен|создан|опубликован|реализован)\w*\s+"
    r"(?:при\s+поддержке|в\s+рамках)|при\s+поддержке\s+[\w«]"
    r")",
    re.IGNORECASE,
)
# "АСТАНА, 12 ноября — Kazinform." (alone, or opening the lead's first paragraph)
_DATELINE = re.compile(
    r"^[A-ZА-ЯЁ][A-ZА-ЯЁ\-]{2,}(?:[ \-][A-ZА-ЯЁ][A-ZА-ЯЁ\-]+)?,\s*\d{1,2}\s+[а-яёa-z]+"
    r"(?:\s+\d{4}(?:\s*г\.)?)?(?:\s*[—–-]\s*[\w.«»\"' -]{0,40}?)?[.:]\s*"
)


def is_credit(paragraph: str) -> bool:
    """A short paragraph or sentence that credits a photo, the author or a source."""
    return (
        len(paragraph) <= MAX_CREDIT_CHARS and _CREDIT.match(paragraph.lstrip("—–- ")) is not None
    )


def is_credit_anywhere(paragraph: str) -> bool:
    """A credit line that may stand between the answers of a web page or a Word file."""
    return len(paragraph) <= MAX_CREDIT_CHARS and _CREDIT_ANYWHERE.match(paragraph) is not None


# the newsroom's background note on the speaker, of any length ("Справка. Родилась в 1984 году…")
_NOTE = re.compile(
    r"^(?:справка|досье|биография|о\s+собеседнике|bio(?:graphy)?)\s*(?:[.:]|$)", re.IGNORECASE
)


# "Главная / Общество / Туризм", "03.12.2025, 10:41 · Просмотров: 2 418"
_BREADCRUMBS = re.compile(r"^[\w«»\"' -]{1,30}(?:\s+[/›>»|]\s+[\w«»\"' -]{1,30}){2,}$")
_DATE_LINE = re.compile(
    r"^(?:[A-ZА-ЯЁ][\w-]+,\s+)?(?:\d{1,2}\s+[А-Яа-яёA-Za-z]+\s+\d{4}(?:\s*г(?:ода|\.)?)?|[A-Z][a-z]+\.?\s+\d{1,2},\s+\d{4})"
    r"(?:,?\s+(?:в\s+)?\d{1,2}:\d{2})?$"
)
_TIMESTAMP = re.compile(
    r"^\d{1,2}[./]\d{1,2}[./]\d{2,4}(?:,?\s+\d{1,2}:\d{2})?(?:\s*[·|•,]\s*.{0,40})?$"
)


def is_note_heading(paragraph: str) -> bool:
    """ "Досье", "Справка:" alone: the paragraph that follows is the note."""
    return _NOTE.match(paragraph) is not None and len(paragraph) <= 20


def is_furniture(paragraph: str) -> bool:
    """A line of the page around the interview: a dateline, "read also", a source, tags, a call
    to subscribe, an ad marker, a broadcast cue, a copyright line or a background note."""
    if _NOTE.match(paragraph):
        return True
    if len(paragraph) > MAX_FURNITURE_CHARS:
        return False
    if _FURNITURE.match(paragraph) or _BREADCRUMBS.match(paragraph):
        return True
    if _TIMESTAMP.match(paragraph) or _DATE_LINE.match(paragraph):
        return True
    dateline = _DATELINE.match(paragraph)
    return dateline is not None and dateline.end() == len(paragraph)


def strip_dateline(paragraph: str) -> str:
    """The paragraph without a dateline that opens it ("АСТАНА, 12 ноября — Kazinform. …")."""
    dateline = _DATELINE.match(paragraph)
    return paragraph[dateline.end() :].lstrip() if dateline else paragraph
