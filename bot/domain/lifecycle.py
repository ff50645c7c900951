"""What an editor may do to a piece in each state, and why a request is refused.

Pure: the CLI and the Telegram handlers ask ``refusal`` before they change anything, and the
storage transaction asks again (the state may have changed in between).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.models import PieceStatus


class EditorAction(StrEnum):
    """An editor's action on a published piece (also the audit log's action names)."""

    PUBLISH = "publish"
    SCHEDULE = "schedule"
    CORRECT = "correct"
    WITHDRAW = "withdraw"
    RESTORE = "restore"
    PURGE = "purge"
    CANCEL = "cancel"  # a scheduled piece that will not be published
    RELEASE = "release"  # a scheduled piece published now


class Refusal(StrEnum):
    """Why an editor's request changes nothing."""

    UNKNOWN_PIECE = "unknown_piece"
    WITHDRAWN = "withdrawn"  # the piece is withdrawn (restore it first)
    PURGED = "purged"  # the piece's text is gone for good
    NOT_WITHDRAWN = "not_withdrawn"  # restore/purge a piece that is not withdrawn
    SCHEDULED = "scheduled"  # withdraw a piece nobody can see yet (cancel it instead)
    NOT_SCHEDULED = "not_scheduled"  # cancel/release a piece that is not scheduled
    NOTHING_TO_CORRECT = "nothing_to_correct"  # the correction's text is the same
    DUPLICATE = "duplicate"  # the text is already published as another piece
    STALE = "stale"  # the piece changed after the editor's preview
    TIME_IN_PAST = "time_in_past"
    BAD_TIME = "bad_time"
    NOT_AN_EDITOR = "not_an_editor"


# the states each action starts from
ALLOWED: dict[EditorAction, frozenset[PieceStatus]] = {
    EditorAction.PUBLISH: frozenset(),
    EditorAction.SCHEDULE: frozenset(),
    EditorAction.CORRECT: frozenset({PieceStatus.LIVE, PieceStatus.SCHEDULED}),
    EditorAction.WITHDRAW: frozenset({PieceStatus.LIVE}),
    EditorAction.RESTORE: frozenset({PieceStatus.WITHDRAWN}),
    EditorAction.PURGE: frozenset({PieceStatus.WITHDRAWN}),
    EditorAction.CANCEL: frozenset({PieceStatus.SCHEDULED}),
    EditorAction.RELEASE: frozenset({PieceStatus.SCHEDULED}),
}


def refusal(action: EditorAction, status: PieceStatus | None) -> Refusal | None:
    """None when ``action`` may go ahead on a piece in ``status`` (None: no such piece)."""
    if status is None:
        return Refusal.UNKNOWN_PIECE
    if status in ALLOWED[action]:
        return None
    if status is PieceStatus.PURGED:
        return Refusal.PURGED
    if action in (EditorAction.RESTORE, EditorAction.PURGE):
        return Refusal.NOT_WITHDRAWN
    if action in (EditorAction.CANCEL, EditorAction.RELEASE):
        return Refusal.NOT_SCHEDULED
    if status is PieceStatus.WITHDRAWN:
        return Refusal.WITHDRAWN
    if status is PieceStatus.SCHEDULED:
        return Refusal.SCHEDULED
    return Refusal.UNKNOWN_PIECE  # publish/schedule never act on a stored piece


class EditRefused(Exception):
    """An editor's request that changes nothing; ``refusal`` says why."""

    def __init__(self, refusal: Refusal, piece_id: int | None = None) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal
        self.piece_id = piece_id


REQUEST_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class EditorRequest:
    """An editor's request from Telegram, held until Confirm or Cancel."""

    id: str
    admin_id: int
    chat_id: int
    action: EditorAction
    piece_id: int
    revision: int  # the piece's revision the editor saw
    reason: str | None = None
    file_name: str | None = None
    source: bytes | None = None
