"""A correction, planned: which old turn each new turn continues, what changed, and the links
the turns keep.

Pure. Turns are aligned in order (no crossing pairs) by maximising the total similarity of
matched pairs (question and answer text, ``rapidfuzz`` ratios); a pair below ``MIN_SIMILARITY``
is not a match, so a rewritten question is an added turn and the old one a removed turn. A
matched turn keeps its link: deep links ``start=<piece>_<link>`` and buttons keep opening the
same answer when turns are added or removed before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.domain.models import Interview, Piece, Turn

MIN_SIMILARITY = 0.55


def _norm(paragraphs: Sequence[str]) -> str:
    return " ".join(" ".join(paragraphs).split())


def similarity(old: Turn, new: Turn) -> float:
    """0..1: how much two turns are the same turn (the question counts as much as the answer)."""
    question = fuzz.ratio(_norm(old.question), _norm(new.question)) / 100
    answer = fuzz.ratio(_norm(old.answer), _norm(new.answer)) / 100
    return 0.5 * question + 0.5 * answer


def same_turn_text(old: Turn, new: Turn) -> bool:
    return _norm(old.question) == _norm(new.question) and _norm(old.answer) == _norm(new.answer)


def align(old: Sequence[Turn], new: Sequence[Turn]) -> list[int | None]:
    """For each new turn, the index of the old turn it continues (None: a new turn). Order is
    kept; the total similarity of the pairs is the largest possible."""
    n, m = len(old), len(new)
    sim = [[similarity(o, w) for w in new] for o in old]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            options = [best[i + 1][j], best[i][j + 1]]
            if sim[i][j] >= MIN_SIMILARITY:
                options.append(sim[i][j] + best[i + 1][j + 1])
            best[i][j] = max(options)
    pairs: list[int | None] = [None] * m
    i = j = 0
    while i < n and j < m:
        if sim[i][j] >= MIN_SIMILARITY and best[i][j] == sim[i][j] + best[i + 1][j + 1]:
            pairs[j] = i
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


@dataclass(frozen=True, slots=True)
class CorrectionPlan:
    """What a correction does to a piece, in the new turns' order."""

    links: tuple[int, ...]  # each new turn's link
    changed: tuple[bool, ...]  # each new turn: its text differs from the turn it continues
    previous: tuple[int | None, ...]  # each new turn: the old number it continues (None: new)
    removed: tuple[int, ...]  # old numbers no new turn continues
    title_changed: bool
    lead_changed: bool
    closing_changed: bool
    speaker_changed: bool

    @property
    def added(self) -> tuple[int, ...]:
        return tuple(i + 1 for i, old in enumerate(self.previous) if old is None)

    @property
    def edited(self) -> tuple[int, ...]:
        """New numbers of matched turns whose text changed."""
        return tuple(
            i + 1
            for i, (old, changed) in enumerate(zip(self.previous, self.changed, strict=True))
            if old is not None and changed
        )

    @property
    def renumbered(self) -> bool:
        return any(old is not None and old != i + 1 for i, old in enumerate(self.previous))

    @property
    def empty(self) -> bool:
        """Nothing a reader could see changed."""
        return not (
            any(self.changed)
            or self.removed
            or self.title_changed
            or self.lead_changed
            or self.closing_changed
            or self.speaker_changed
        )


def plan_correction(piece: Piece, new: Interview, *, highest_link: int = 0) -> CorrectionPlan:
    """How ``new`` replaces ``piece``'s text. New turns get links above ``highest_link`` (the
    highest link the piece ever had, removed turns included) and above every current one."""
    pairs = align(piece.turns, new.turns)
    next_link = max([highest_link, *(piece.link(t.number) for t in piece.turns)]) + 1
    links: list[int] = []
    changed: list[bool] = []
    for turn, old in zip(new.turns, pairs, strict=True):
        if old is None:
            links.append(next_link)
            next_link += 1
            changed.append(True)
        else:
            links.append(piece.link(old + 1))
            changed.append(not same_turn_text(piece.turns[old], turn))
    matched = {old for old in pairs if old is not None}
    return CorrectionPlan(
        links=tuple(links),
        changed=tuple(changed),
        previous=tuple(None if old is None else old + 1 for old in pairs),
        removed=tuple(i + 1 for i in range(len(piece.turns)) if i not in matched),
        title_changed=_norm([piece.title]) != _norm([new.title]),
        lead_changed=_norm(piece.lead) != _norm(new.lead),
        closing_changed=_norm(piece.closing) != _norm(new.closing),
        speaker_changed=(piece.speaker or "") != (new.speaker or ""),
    )
