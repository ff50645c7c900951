"""An editor's draft: a file sent with /publish, waiting for Publish or Cancel."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DRAFT_TTL_S = 7 * 24 * 3600


class DraftState(StrEnum):
    OPEN = "open"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Draft:
    id: str
    update_key: str
    admin_id: int
    chat_id: int
    file_name: str
    source: bytes
    source_hash: str
    state: DraftState
    piece_id: int | None
    preview_message: int | None
    created_at: float
    publish_at: float | None = None  # scheduled: when it goes out (Unix seconds)
