"""The content model: what an interview is once parsed, and once stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Turn:
    """One question and its answer. ``number`` is 1-based, as readers see it."""

    number: int
    question: tuple[str, ...]  # paragraphs
    answer: tuple[str, ...]  # paragraphs

    @property
    def question_text(self) -> str:
        return " ".join(self.question)

    @property
    def answer_text(self) -> str:
        return "\n".join(self.answer)


@dataclass(frozen=True, slots=True)
class Quote:
    """A sentence of an answer, the unit of quote search."""

    turn_number: int
    position: int  # 0-based index of the sentence within the answer
    text: str


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
