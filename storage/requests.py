"""Editors' requests from Telegram, held until they confirm or cancel (``editor_requests`` in
``migrations/0007_newsroom.sql``)."""

from __future__ import annotations

import secrets

from bot.domain.lifecycle import REQUEST_TTL_S, EditorAction, EditorRequest
from storage.connection import Database, clock


class Requests(Database):
    """Held requests for ``Repository``."""

    async def save_request(
        self,
        *,
        admin_id: int,
        chat_id: int,
        action: EditorAction,
        piece_id: int,
        revision: int,
        reason: str | None = None,
        file_name: str | None = None,
        source: bytes | None = None,
    ) -> EditorRequest:
        now = clock()
        request = EditorRequest(
            secrets.token_urlsafe(6),
            admin_id,
            chat_id,
            action,
            piece_id,
            revision,
            reason,
            file_name,
            source,
        )
        async with self.transaction() as conn:
            await conn.execute(
                "DELETE FROM editor_requests WHERE created_at < ?", (now - REQUEST_TTL_S,)
            )
            await conn.execute(
                "INSERT INTO editor_requests (id, admin_id, chat_id, action, piece_id, revision,"
                " reason, file_name, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request.id,
                    admin_id,
                    chat_id,
                    action.value,
                    piece_id,
                    revision,
                    reason,
                    file_name,
                    source,
                    now,
                ),
            )
        return request

    async def take_request(self, request_id: str) -> EditorRequest | None:
        """An open request, closed as it is taken (a second press finds nothing)."""
        async with self.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE editor_requests SET state = 'done' WHERE id = ? AND state = 'open'"
                " RETURNING admin_id, chat_id, action, piece_id, revision, reason, file_name,"
                " source",
                (request_id,),
            )
            row = await cursor.fetchone()
            await cursor.close()
        if row is None:
            return None
        return EditorRequest(
            request_id,
            int(row[0]),
            int(row[1]),
            EditorAction(row[2]),
            int(row[3]),
            int(row[4]),
            row[5],
            row[6],
            row[7],
        )

    async def cancel_request(self, request_id: str) -> bool:
        async with self.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE editor_requests SET state = 'cancelled' WHERE id = ? AND state = 'open'",
                (request_id,),
            )
            return cursor.rowcount > 0
