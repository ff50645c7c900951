"""The content model: what an interview is once parsed, and once stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Segment:
    """Consecutive answer paragraphs of one speaker (``None``: the piece's speaker)."""

    speaker: str | None
    paragraphs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Turn:
    """One question and its answer. ``number`` is 1-based, as readers see it.

    ``speakers`` names who said each answer paragraph (parallel to ``answer``) when the piece
    has several experts; empty when the piece's one speaker said all of it."""

    number: int
    question: tuple[str, ...]  # paragraphs
    answer: tuple[str, ...]  # paragraphs
    speakers: tuple[str | None, ...] = ()

    def __post_init__(self) -> None:
        if self.speakers and len(self.speakers) != len(self.answer):
            raise ValueError("one speaker per answer paragraph")

    @property
    def question_text(self) -> str:
        return " ".join(self.question)

    @property
    def answer_text(self) -> str:
        return "\n".join(self.answer)

    def speaker_at(self, paragraph: int) -> str | None:
        return self.speakers[paragraph] if self.speakers else None

    @property
    def segments(self) -> tuple[Segment, ...]:
        """The answer split where the speaker changes."""
        segments: list[Segment] = []
        for index, paragraph in enumerate(self.answer):
            speaker = self.speaker_at(index)
            if segments and segments[-1].speaker == speaker:
                last = segments.pop()
                segments.append(Segment(speaker, (*last.paragraphs, paragraph)))
            else:
                segments.append(Segment(speaker, (paragraph,)))
        return tuple(segments)

    def speaker_of(self, sentence: str) -> str | None:
        """Who said ``sentence`` (a sentence of this answer)."""
        for index, paragraph in enumerate(self.answer):
            if sentence in paragraph:
                return self.speaker_at(index)
        return None


@dataclass(frozen=True, slots=True)
class Quote:
    """A sentence of an answer, the unit of quote search."""

    turn_number: int
    position: int  # 0-based index of the sentence within the answer
    text: str
    speaker: str | None = None  # when not the piece's speaker (several experts)


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who speaks in a piece, as the lead introduces them."""

    name: str
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Interview:
    """A parsed interview, before it is stored."""

    title: str
    lead: tuple[str, ...]
    turns: tuple[Turn, ...]
    closing: tuple[str, ...] = ()
    credits: tuple[str, ...] = ()
    speaker: str | None = None
    dropped: tuple[str, ...] = ()  # the page around the interview (datelines, "read also", ads…)
    experts: tuple[Person, ...] = ()  # who answers, in order of appearance
    interviewer: str | None = None  # the label or name questions are asked under


@dataclass(frozen=True, slots=True)
class Summary:
    """What the summarizer produced for a piece (stored at publish time)."""

    text: tuple[str, ...]  # the default summary, sentences in document order
    short: tuple[str, ...] = ()
    long: tuple[str, ...] = ()
    gists: tuple[str, ...] = ()  # one line per turn, same order as turns


class PieceStatus(StrEnum):
    """Where a piece is in its life; readers, search and inline results see ``LIVE`` only."""

    LIVE = "live"
    SCHEDULED = "scheduled"  # stored, invisible until its publication time
    WITHDRAWN = "withdrawn"  # taken down by the editors, can be restored
    PURGED = "purged"  # its text removed for good; only the id and the reason remain


@dataclass(frozen=True, slots=True)
class Piece:
    """A stored interview.

    ``links`` are the numbers deep links and buttons carry for each turn (same order as
    ``turns``; empty means each turn's number): equal to the numbers until a correction adds
    or removes turns, then each turn keeps its link. ``turn_corrected`` says when each answer
    was last corrected (None: never)."""

    id: int
    title: str
    lead: tuple[str, ...]
    turns: tuple[Turn, ...]
    closing: tuple[str, ...]
    credits: tuple[str, ...]
    speaker: str | None
    published_at: datetime
    summary: Summary = field(default_factory=lambda: Summary(text=()))
    status: PieceStatus = PieceStatus.LIVE
    revision: int = 1
    corrected_at: datetime | None = None
    withdrawn_reason: str | None = None
    links: tuple[int, ...] = ()
    turn_corrected: tuple[datetime | None, ...] = ()

    def turn(self, number: int) -> Turn | None:
        if 1 <= number <= len(self.turns):
            return self.turns[number - 1]
        return None

    def link(self, number: int) -> int:
        """The link of turn ``number`` (what deep links and buttons carry)."""
        if self.links and 1 <= number <= len(self.links):
            return self.links[number - 1]
        return number

    def number_of(self, link: int) -> int | None:
        """The turn a link points at now, or None if a correction removed it."""
        if not self.links:
            return link if 1 <= link <= len(self.turns) else None
        try:
            return self.links.index(link) + 1
        except ValueError:
            return None

    def corrected(self, number: int) -> datetime | None:
        if 1 <= number <= len(self.turn_corrected):
            return self.turn_corrected[number - 1]
        return None


@dataclass(frozen=True, slots=True)
class PieceInfo:
    """A line of the archive."""

    id: int
    title: str
    speaker: str | None
    published_at: datetime
    turn_count: int


@dataclass(frozen=True, slots=True)
class QuoteHit:
    """A quote found by search, with what is needed to attribute it and link to its answer."""

    quote_id: int
    piece_id: int
    piece_title: str
    speaker: str | None
    turn_number: int
    text: str
    published_at: datetime
