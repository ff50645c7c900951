"""Follows, as plain values: what a reader may follow, and which follows a piece matches.

A **follow** is a topic (its words anywhere in one paragraph of a piece: title, lead, a
question or an answer) or a speaker (a person who answers in the piece). Words are compared by
the keys quote search uses (``bot.domain.matching``): the folded form and every lemma pymorphy3
considers, so "тарифы" follows "тарифов", and "Курамаева" is "Курамаев".

**Matching** (``match_piece``) takes the piece's *units* (paragraphs and speakers, each with
its key set) and the rows of the key index that share a key with the piece — never the list of
readers — and says, per reader, which follow matched and which answer to show first.

Pure Python: no aiogram, no SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from bot.domain.language import morph
from bot.domain.matching import STOPWORDS, clean, lemma_keys, token_keys, tokens
from bot.domain.models import Turn

MAX_FOLLOWS = 50
MAX_FOLLOW_CHARS = 100
MAX_FOLLOW_WORDS = 6
MIN_WORD_CHARS = 2


class FollowKind(StrEnum):
    TOPIC = "topic"  # the words anywhere in one paragraph of the piece
    SPEAKER = "speaker"  # the person answers in the piece


class FollowProblem(StrEnum):
    """Why ``/follow`` input was refused (nothing is stored)."""

    EMPTY = "empty"
    TOO_LONG = "too_long"  # over MAX_FOLLOW_CHARS characters
    MARKUP = "markup"  # HTML tags or entities, search operators, quotes, brackets
    NO_WORDS = "no_words"  # emoji, punctuation
    TOO_SHORT = "too_short"  # one letter
    ONLY_COMMON = "only_common"  # only words like "и", "на"
    TOO_MANY_WORDS = "too_many_words"
    LIMIT = "limit"  # MAX_FOLLOWS reached
    DUPLICATE = "duplicate"  # already followed


@dataclass(frozen=True, slots=True)
class FollowSpec:
    """A follow ready to store: what to show, and the keys of each word."""

    kind: FollowKind
    phrase: str
    words: tuple[tuple[str, ...], ...]  # per required word: its form and lemmas
    norm: str = ""  # one spelling per meaning: "тарифы на воду" = "тарифов на воду"


@dataclass(frozen=True, slots=True)
class Follow:
    id: int
    kind: FollowKind
    phrase: str
    created_at: float


_NAME_GRAMMEMES = frozenset({"Surn", "Name", "Patr", "Geox", "Orgn"})


@lru_cache(maxsize=4096)
def name_lemma(form: str) -> str:
    """The lemma of a word, a person's or place's reading preferred ("токаев" is the
    surname, not the genitive of "токай"), so one name in any case is one follow."""
    if not any("а" <= ch <= "я" for ch in form):
        return form
    parses = morph().parse(form)
    named = [p for p in parses if _NAME_GRAMMEMES & p.tag.grammemes]
    best = (named or parses)[0]
    return str(best.normal_form).replace("ё", "е")


# markup and query syntax a follow never needs: tags, entities, FTS5 operators and grouping
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>|&#?\w+;")
_SYNTAX_CHARS = frozenset('"*^(){}[]:\\`=|')
_OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR"})


def parse_follow(text: str, kind: FollowKind = FollowKind.TOPIC) -> FollowSpec | FollowProblem:
    """The follow ``text`` asks for, or why it cannot be one."""
    phrase = " ".join(clean(text).split())
    if not phrase:
        return FollowProblem.EMPTY
    if len(phrase) > MAX_FOLLOW_CHARS:
        return FollowProblem.TOO_LONG
    if (
        _TAG.search(phrase)
        or _SYNTAX_CHARS & set(phrase)
        or any(word in _OPERATORS for word in phrase.split())
    ):
        return FollowProblem.MARKUP
    found = tokens(phrase)
    if not found:
        return FollowProblem.NO_WORDS
    long_enough = [t for t in found if len(t.form) >= MIN_WORD_CHARS or t.form.isdigit()]
    if not long_enough:
        return FollowProblem.TOO_SHORT
    meaningful = [t for t in long_enough if t.form not in STOPWORDS]
    if not meaningful:
        return FollowProblem.ONLY_COMMON
    if len(meaningful) > MAX_FOLLOW_WORDS:
        return FollowProblem.TOO_MANY_WORDS
    words = tuple(tuple(dict.fromkeys((t.form, *lemma_keys(t.form)))) for t in meaningful)
    folded = phrase.replace("ё", "е").replace("Ё", "Е")
    norm = " ".join(norm_word(t.form, t.form.capitalize() in folded) for t in meaningful)
    return FollowSpec(kind, phrase, words, norm)


# a Russian surname in any case: Токаеву, Курамаевым, Нурлановой → токаев, курамаев, нурланов
_SURNAME = re.compile(r"(.+(?:ов|ев|ин|ын))(?:а|у|ым|ом|е|ой|ою|ых|ыми|ы)?")


def norm_word(form: str, capitalised: bool) -> str:
    """A word's spelling for telling follows apart: a capitalised surname's masculine stem,
    else its lemma (a name's reading preferred)."""
    surname = _SURNAME.fullmatch(form) if capitalised else None
    return surname[1] if surname else name_lemma(form)


# -- the piece side ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Unit:
    """A place in a piece a follow can match: a paragraph, or a person who answers."""

    order: int
    turn: int | None  # the answer it belongs to (a speaker: their first answer)
    answer: bool  # an answer paragraph (shown first in the notification)
    speaker: bool  # a person who answers (speaker follows match only these)
    keys: frozenset[str]


def text_keys(text: str) -> frozenset[str]:
    return frozenset(key for token in tokens(text) for key in token_keys(token))


def piece_units(
    title: str, lead: Sequence[str], speaker: str | None, turns: Sequence[Turn]
) -> list[Unit]:
    """Every place of a piece a follow may match, in reading order."""
    units: list[Unit] = []

    def add(text: str, turn: int | None, *, answer: bool = False, by: bool = False) -> None:
        keys = text_keys(text)
        if keys:
            units.append(Unit(len(units), turn, answer, by, keys))

    add(title, None)
    for paragraph in lead:
        add(paragraph, None)
    first_answer: dict[str, int] = {}
    for turn in turns:
        for paragraph in turn.question:
            add(paragraph, turn.number)
        for index, paragraph in enumerate(turn.answer):
            add(paragraph, turn.number, answer=True)
            who = turn.speaker_at(index) or speaker
            if who:
                first_answer.setdefault(who, turn.number)
    for name, number in first_answer.items():
        add(name, number, by=True)
    return units


def answering_speakers(speaker: str | None, turns: Sequence[Turn]) -> list[str]:
    """Who answers in a piece, in order of their first answer (the buttons "Follow X")."""
    found: dict[str, None] = {}
    for turn in turns:
        for index in range(len(turn.answer)):
            who = turn.speaker_at(index) or speaker
            if who:
                found.setdefault(who, None)
    return list(found)


@dataclass(frozen=True, slots=True)
class KeyIndex:
    """key → the units holding it, for topic follows and for speaker follows."""

    units: tuple[Unit, ...]
    topic: dict[str, frozenset[int]]
    speaker: dict[str, frozenset[int]]

    @classmethod
    def of(cls, units: Sequence[Unit]) -> KeyIndex:
        topic: dict[str, set[int]] = {}
        speaker: dict[str, set[int]] = {}
        for unit in units:
            for key in unit.keys:
                topic.setdefault(key, set()).add(unit.order)
                if unit.speaker:
                    speaker.setdefault(key, set()).add(unit.order)
        return cls(
            tuple(units),
            {k: frozenset(v) for k, v in topic.items()},
            {k: frozenset(v) for k, v in speaker.items()},
        )

    @property
    def keys(self) -> list[str]:
        return sorted(self.topic)


class Hit(NamedTuple):
    """A row of the key index that shares ``key`` with the piece (SQLite's row as is)."""

    key: str
    follow_id: int
    word: int
    words: int
    chat_id: int
    speaker: int


@dataclass(frozen=True, slots=True)
class Match:
    """Why a reader gets a piece: the follow that matched and the answer to show first."""

    chat_id: int
    follow_id: int
    turn: int | None


RANK_SPAN = 1_000_000  # a unit's rank: answers and speakers first, then reading order


def unit_rank(unit: Unit) -> int:
    return (0 if unit.answer or unit.speaker else RANK_SPAN) + unit.order


def key_ranks(index: KeyIndex) -> tuple[dict[str, int], dict[str, int]]:
    """Per key, the best rank of a unit holding it: for topic follows, for speaker follows.
    A one-word follow's best place in the piece is the best of its keys' (no sets needed)."""
    ranks = [unit_rank(unit) for unit in index.units]
    topic = {key: min(ranks[o] for o in orders) for key, orders in index.topic.items()}
    speaker = {key: min(ranks[o] for o in orders) for key, orders in index.speaker.items()}
    return topic, speaker


def _masks(table: dict[str, frozenset[int]]) -> dict[str, int]:
    return {key: sum(1 << o for o in orders) for key, orders in table.items()}


def match_piece(
    index: KeyIndex,
    hits: Iterable[Hit],
    singles: Iterable[tuple[int, int, int]] = (),
) -> dict[int, Match]:
    """Per reader, the best follow of theirs the piece matches: the one whose place in the
    piece ranks first (an answer or a speaker before the title and lead, then reading order),
    then the oldest follow. ``hits`` are key-index rows sharing a key with the piece (a
    follow of several words matches when one unit holds all of them); ``singles`` are
    one-word follows already reduced to (chat, best rank, follow) — storage does that in SQL,
    since one-word follows of common words are most of the rows."""
    topic_rank, speaker_rank = key_ranks(index)
    best: dict[int, tuple[int, int]] = {}  # chat → (rank, follow)

    def offer(chat_id: int, rank: int, follow_id: int) -> None:
        known = best.get(chat_id)
        if known is None or (rank, follow_id) < known:
            best[chat_id] = (rank, follow_id)

    for chat_id, rank, follow_id in singles:
        offer(chat_id, rank, follow_id)
    # several words: each key's units as a bit mask; a follow matches where all words meet
    topic_mask, speaker_mask = _masks(index.topic), _masks(index.speaker)
    per_follow: dict[int, list[int]] = {}
    owner: dict[int, int] = {}
    for key, follow_id, word, words, chat_id, speaker in hits:
        if words == 1:
            at = (speaker_rank if speaker else topic_rank).get(key)
            if at is not None:
                offer(chat_id, at, follow_id)
            continue
        mask = (speaker_mask if speaker else topic_mask).get(key, 0)
        if not mask:
            continue
        slots = per_follow.get(follow_id)
        if slots is None:
            slots = per_follow[follow_id] = [0] * words
            owner[follow_id] = chat_id
        if word < len(slots):
            slots[word] |= mask
    first = sum(1 << u.order for u in index.units if u.answer or u.speaker)  # ranked first
    for follow_id, slots in per_follow.items():
        common = slots[0]
        for mask in slots[1:]:
            common &= mask
        if common:
            best_bits = common & first or common
            order = (best_bits & -best_bits).bit_length() - 1  # the lowest: earliest in reading
            offer(owner[follow_id], unit_rank(index.units[order]), follow_id)
    return {
        chat: Match(chat, follow_id, index.units[rank % RANK_SPAN].turn)
        for chat, (rank, follow_id) in best.items()
    }


def matching_paragraph(turn: Turn, phrase: str) -> int:
    """The first paragraph of an answer holding every word of a follow (0 if none does)."""
    spec = parse_follow(phrase)
    if isinstance(spec, FollowProblem):
        return 0
    for index, paragraph in enumerate(turn.answer):
        keys = text_keys(paragraph)
        if all(keys.intersection(word) for word in spec.words):
            return index
    return 0


def follow_key_rows(spec: FollowSpec) -> list[tuple[str, int]]:
    """(key, word index) rows of the key index for a follow."""
    return [(key, word) for word, keys in enumerate(spec.words) for key in keys]


# -- delivery preferences -------------------------------------------------------------------------


class Mode(StrEnum):
    """What a reader who is not subscribed to everything gets."""

    FOLLOWED = "followed"
    NOTHING = "nothing"


class Silence(StrEnum):
    NEVER = "never"
    QUIET = "quiet"  # silent during quiet hours
    ALWAYS = "always"


# Time zones offered (fixed offsets: the region's zones keep no daylight saving time; no tzdata
# needed in the image). Minutes east of UTC.
UTC_OFFSETS = (0, 60, 120, 180, 240, 300, 360, 420)
DEFAULT_OFFSET = 300
DEFAULT_QUIET = (22 * 60, 8 * 60)
DIGEST_HOURS = (7, 8, 9, 12, 18, 20, 21)


@dataclass(frozen=True, slots=True)
class ReaderSettings:
    mode: Mode = Mode.FOLLOWED
    silence: Silence = Silence.QUIET
    quiet_from: int = DEFAULT_QUIET[0]
    quiet_to: int = DEFAULT_QUIET[1]
    utc_offset: int = DEFAULT_OFFSET
    digest_hour: int | None = None


def local_time(now: float, utc_offset: int) -> datetime:
    return datetime.fromtimestamp(now, UTC) + timedelta(minutes=utc_offset)


def is_quiet(settings: ReaderSettings, now: float) -> bool:
    """Whether a message sent at ``now`` (Unix seconds) goes silently."""
    match settings.silence:
        case Silence.ALWAYS:
            return True
        case Silence.NEVER:
            return False
        case Silence.QUIET:
            local = local_time(now, settings.utc_offset)
            minute = local.hour * 60 + local.minute
            start, end = settings.quiet_from, settings.quiet_to
            if start == end:
                return False
            if start < end:
                return start <= minute < end
            return minute >= start or minute < end


def digest_due(now: float, utc_offset: int, hour: int) -> tuple[date, float]:
    """The reader's latest digest moment at or before ``now``: their local date and the Unix
    time of their hour on it (yesterday's when today's hour has not come yet). A digest is due
    when something published before that moment still waits; one digest per local date."""
    local = local_time(now, utc_offset)
    day = local.date() if local.hour >= hour else local.date() - timedelta(days=1)
    moment = datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(
        minutes=utc_offset
    )
    return day, moment.timestamp()
