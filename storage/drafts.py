"""Publishing drafts: files sent with /publish, held until the editor confirms or cancels.

The schema is the ``drafts`` table of ``migrations/0003_subscriptions.sql`` (``publish_at``:
``0008_scheduling.sql``); a draft older than
``DRAFT_TTL_S`` is dropped when the next one is saved.
"""

from __future__ import annotations

import secrets

import aiosqlite

from bot.domain.drafts import DRAFT_TTL_S, Draft, DraftState
from storage.connection import Database, clock

_COLUMNS = (
    "id, update_key, admin_id, chat_id, file_name, source, source_hash, state, piece_id,"
    " preview_message, created_at, publish_at"
)


def _draft(row: aiosqlite.Row) -> Draft:
    # the columns are Draft's fields in order, as SQLite returns them (TEXT str, INTEGER int or
    # None, BLOB bytes, REAL float); only the state becomes its enum
    values = list(row)
    values[7] = DraftState(values[7])
    return Draft(*values)


class Drafts(Database):
    """Drafts for ``Repository`` (the editor's /publish flow)."""

    async def save_draft(
        self,
        *,
        update_key: str,
        admin_id: int,
        chat_id: int,
        file_name: str,
        source: bytes,
        source_hash: str,
        publish_at: float | None = None,
    ) -> tuple[Draft, bool]:
        """Hold an uploaded file; the same ``update_key`` returns the existing draft (False)."""
        now = clock()
        async with self.transaction() as conn:
            await conn.execute("DELETE FROM drafts WHERE created_at < ?", (now - DRAFT_TTL_S,))
            cursor = await conn.execute(
                "INSERT INTO drafts (id, update_key, admin_id, chat_id, file_name, source,"
                " source_hash, created_at, publish_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (update_key) DO NOTHING",
                (
                    secrets.token_urlsafe(6),
                    update_key,
                    admin_id,
                    chat_id,
                    file_name,
                    source,
                    source_hash,
                    now,
                    publish_at,
                ),
            )
            created = cursor.rowcount > 0
            draft = await self.get_draft_by_key(update_key)
        assert draft is not None
        return draft, created

    async def get_draft(self, draft_id: str) -> Draft | None:
        row = await self._fetchone(f"SELECT {_COLUMNS} FROM drafts WHERE id = ?", (draft_id,))
        return _draft(row) if row else None

    async def get_draft_by_key(self, update_key: str) -> Draft | None:
        row = await self._fetchone(
            f"SELECT {_COLUMNS} FROM drafts WHERE update_key = ?", (update_key,)
        )
        return _draft(row) if row else None

    async def set_draft_preview(self, draft_id: str, message_id: int) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE drafts SET preview_message = ? WHERE id = ?", (message_id, draft_id)
            )

    async def close_draft(
        self, draft_id: str, state: DraftState, piece_id: int | None = None
    ) -> bool:
        """An open draft becomes ``published`` or ``cancelled``; False if it was not open."""
        async with self.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE drafts SET state = ?, piece_id = ? WHERE id = ? AND state = 'open'",
                (state, piece_id, draft_id),
            )
            return cursor.rowcount > 0
