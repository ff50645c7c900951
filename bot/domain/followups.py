"""Follow-ups of messages already sent: edit a notification to the piece's current form, or
remove it when the piece is withdrawn. The outbox of these is ``storage/followups.py``; the
broadcaster (``bot/broadcast/followup.py``) carries them out at the broadcast rate.

Life cycle, like a delivery's::

    pending ──claim──▶ sending ──▶ done (edited | deleted | gone) | failed
       ▲                  │
       └───retry/release──┘
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Telegram lets a bot delete its message in a private chat for 48 hours; a little is kept
# back so that a deletion queued just before the limit is not refused on arrival.
DELETE_WINDOW_S = 48 * 3600 - 15 * 60
# Editing has no such limit, but a notification two weeks old is scrolled past and its buttons
# open the corrected piece anyway: the outbox keeps what it needs to edit a sent notification
# (chat, message id; ``sent_messages``) this long after the piece was published, then only
# its counts. About 28 bytes a message: 100,000 subscribers and a piece a day hold ~37 MB.
EDIT_WINDOW_S = 14 * 86400


class FollowupAction(StrEnum):
    EDIT = "edit"  # show the piece's current form (after a correction or a restore)
    REMOVE = "remove"  # the piece was withdrawn: delete the message, or edit it to the note


class FollowupState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"


class FollowupResult(StrEnum):
    """What became of the message."""

    EDITED = "edited"
    DELETED = "deleted"
    GONE = "gone"  # the message or the chat no longer exists (nothing left to change)


@dataclass(frozen=True, slots=True)
class Followup:
    """A claimed follow-up (its row is ``sending``)."""

    id: int
    piece_id: int
    chat_id: int
    message_id: int
    locale: str
    sent_at: float
    action: FollowupAction
    notice: bool
    generation: int
    attempts: int

    def deletable(self, now: float) -> bool:
        """Whether Telegram still lets the bot delete the message."""
        return now - self.sent_at < DELETE_WINDOW_S


@dataclass(frozen=True, slots=True)
class FollowupOutcome:
    """What became of a claimed follow-up: done with a result, failed, or ``PENDING`` to retry."""

    followup: Followup
    state: FollowupState
    result: FollowupResult | None = None
    error: str | None = None
    next_attempt: float = 0.0
