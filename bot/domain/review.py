"""What an editor should look at before a parsed piece reaches readers.

A parse can succeed and still be wrong in ways only the editor can judge: nobody named as the
speaker, a speaker label the lead does not introduce, an answer that swallowed the rest of the
page. ``review`` lists those; publishing with any of them takes an explicit confirmation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from statistics import median

from bot.domain.models import Interview
from bot.domain.speakers import same_surname

LONG_ANSWER_FACTOR = 3  # an answer this many times the median length…
LONG_ANSWER_CHARS = 1500  # …at least this long, with a short paragraph asking something inside
MISSED_QUESTION_CHARS = 300
SHORT_ANSWER_CHARS = 3  # fewer letters than this is no answer


class Concern(StrEnum):
    """Why a parsed piece needs the editor's eyes; views map every member to a line."""

    NO_SPEAKER = "no_speaker"
    UNKNOWN_SPEAKER = "unknown_speaker"
    LONG_ANSWER = "long_answer"
    EMPTY_ANSWER = "empty_answer"

    @property
    def blocking(self) -> bool:
        """Publishing takes ``--force`` or an explicit confirmation; the others are notes."""
        return self is not Concern.NO_SPEAKER


@dataclass(frozen=True, slots=True)
class Finding:
    concern: Concern
    turn: int | None = None  # 1-based, for answers
    name: str | None = None  # the speaker, for speakers
    chars: int = 0  # the answer's length, for long answers


_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def review(interview: Interview) -> list[Finding]:
    warnings: list[Finding] = []
    if not interview.experts:
        warnings.append(Finding(Concern.NO_SPEAKER))
    context = _WORD.findall(" ".join([interview.title, *interview.lead]))
    for person in interview.experts:
        surname = person.name.split()[-1]
        if " " not in person.name and not any(same_surname(surname, w) for w in context):
            warnings.append(Finding(Concern.UNKNOWN_SPEAKER, name=person.name))
    lengths = [len(turn.answer_text) for turn in interview.turns]
    typical = median(lengths) if lengths else 0
    for turn, length in zip(interview.turns, lengths, strict=True):
        if len(_WORD.findall(turn.answer_text)) == 0 or length < SHORT_ANSWER_CHARS:
            warnings.append(Finding(Concern.EMPTY_ANSWER, turn=turn.number))
        elif (
            length >= LONG_ANSWER_CHARS
            and length > LONG_ANSWER_FACTOR * typical
            and any(_missed_question(p) for p in turn.answer[1:])
        ):
            warnings.append(Finding(Concern.LONG_ANSWER, turn=turn.number, chars=length))
    return warnings


def _missed_question(paragraph: str) -> bool:
    """A short paragraph ending with "?" inside a long answer may be a question the layout
    did not mark."""
    return len(paragraph) <= MISSED_QUESTION_CHARS and paragraph.rstrip(' »"”’)').endswith("?")
