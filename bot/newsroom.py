"""The editors' work after publishing, written once for the command line and Telegram:
withdraw, restore, purge and correct a piece.

Each use case checks what it can before touching storage (one clear ``EditRefused`` for bad
input) and storage checks the piece's state again inside its transaction. ``actor`` is the
editor's Telegram id, or ``CLI_ACTOR`` for the command line (the audit log records it).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.domain.corrections import CorrectionPlan, plan_correction
from bot.domain.language import shorten
from bot.domain.lifecycle import EditorAction, EditRefused, Refusal, refusal
from bot.domain.models import Piece
from bot.publishing import Prepared, prepare
from storage import Repository
from storage.editing import Change

CLI_ACTOR = 0
REASON_CHARS = 300


def clean_reason(reason: str | None) -> str | None:
    """An editor's reason as readers will see it: one line, at most ``REASON_CHARS``."""
    text = " ".join((reason or "").split())
    return shorten(text, REASON_CHARS) if text else None


async def stored_piece(repo: Repository, piece_id: int, action: EditorAction) -> Piece:
    """The piece ``action`` applies to, or ``EditRefused`` why it cannot."""
    status = await repo.piece_status(piece_id)
    problem = refusal(action, status[0] if status else None)
    if problem is not None:
        raise EditRefused(problem, piece_id)
    piece = await repo.get_stored_piece(piece_id)
    if piece is None:
        raise EditRefused(Refusal.UNKNOWN_PIECE, piece_id)
    return piece


async def withdraw(repo: Repository, piece_id: int, reason: str | None, *, actor: int) -> Change:
    return await repo.withdraw_piece(piece_id, reason=clean_reason(reason), actor=actor)


async def restore(repo: Repository, piece_id: int, *, actor: int) -> Change:
    return await repo.restore_piece(piece_id, actor=actor)


async def purge(repo: Repository, piece_id: int, *, actor: int) -> Change:
    return await repo.purge_piece(piece_id, actor=actor)


async def cancel(repo: Repository, piece_id: int, *, actor: int) -> Change:
    """A scheduled piece is dropped before anyone saw it."""
    await repo.cancel_scheduled(piece_id, actor=actor)
    return Change(piece_id, 0, 0)


async def release(repo: Repository, piece_id: int, *, actor: int) -> Change:
    """A scheduled piece is published now."""
    await repo.release_now(piece_id, actor=actor)
    return Change(piece_id, 1, 0)


@dataclass(frozen=True, slots=True)
class Correction:
    """A parsed correction of a stored piece, ready to preview and apply."""

    piece: Piece
    prepared: Prepared
    plan: CorrectionPlan


def plan(piece: Piece, prepared: Prepared, highest_link: int = 0) -> Correction:
    """``EditRefused(NOTHING_TO_CORRECT)`` when readers would see no difference."""
    correction_plan = plan_correction(piece, prepared.interview, highest_link=highest_link)
    if correction_plan.empty:
        raise EditRefused(Refusal.NOTHING_TO_CORRECT, piece.id)
    return Correction(piece, prepared, correction_plan)


async def prepare_correction(
    repo: Repository,
    piece_id: int,
    data: bytes,
    *,
    name: str | None = None,
    title: str | None = None,
    speaker: str | None = None,
) -> Correction:
    """Parse the corrected file (``ParseError`` if it is not an interview) and plan it against
    the stored piece (``EditRefused`` if the piece cannot be corrected or nothing changed).
    The title and speaker stay the piece's unless given (a file's first line may not be the
    title the piece was published under)."""
    piece = await stored_piece(repo, piece_id, EditorAction.CORRECT)
    prepared = await asyncio.to_thread(
        prepare, data, name=name, title=title or piece.title, speaker=speaker or piece.speaker
    )
    return plan(piece, prepared, await repo.highest_link(piece_id))


def describe(correction: Correction) -> str:
    """The change in one line, for the audit log and the command line (English)."""
    p = correction.plan
    parts = []
    if p.edited:
        parts.append("changed " + ", ".join(map(str, p.edited)))
    if p.added:
        parts.append("added " + ", ".join(map(str, p.added)))
    if p.removed:
        parts.append("removed " + ", ".join(map(str, p.removed)) + " (old numbers)")
    parts += [
        name
        for name, flag in (
            ("title", p.title_changed),
            ("lead", p.lead_changed),
            ("closing", p.closing_changed),
            ("speaker", p.speaker_changed),
        )
        if flag
    ]
    return "; ".join(parts) or "no visible change"


async def apply_correction(
    repo: Repository, correction: Correction, *, notify: bool, actor: int
) -> Change:
    prepared = correction.prepared
    return await repo.correct_piece(
        correction.piece.id,
        prepared.interview,
        prepared.summary,
        prepared.quotes,
        source_hash=prepared.source_hash,
        links=correction.plan.links,
        changed=correction.plan.changed,
        expected_revision=correction.piece.revision,
        notify=notify,
        actor=actor,
        detail=describe(correction),
    )
