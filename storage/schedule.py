"""Scheduled pieces: due ones made live (index and notifications in the same transaction),
cancelled ones deleted, one published now. The status and the partial index are in
``migrations/0007_newsroom.sql`` and ``0008_scheduling.sql``."""

from __future__ import annotations

import logging

from bot.domain.lifecycle import EditorAction
from bot.domain.models import PieceInfo
from storage.connection import clock, fetchall, to_datetime
from storage.editing import Editing, check_action, write_audit
from storage.pieces import go_live

logger = logging.getLogger(__name__)


class Schedule(Editing):
    """Scheduled publishing for ``Repository``."""

    async def release_due_pieces(self, now: float | None = None) -> list[int]:
        """Make every scheduled piece whose time has come live (the running bot calls this
        every poll, and at start-up to catch up); returns their ids."""
        now = clock() if now is None else now
        if not await self._fetchone(
            "SELECT 1 FROM pieces WHERE status = 'scheduled' AND published_at <= ? LIMIT 1",
            (now,),
        ):
            return []
        async with self.transaction() as conn:
            rows = await fetchall(
                conn,
                "UPDATE pieces SET status = 'live' WHERE status = 'scheduled'"
                " AND published_at <= ? RETURNING id",
                (now,),
            )
            released = sorted(int(r[0]) for r in rows)
            for piece_id in released:
                await go_live(conn, piece_id)
        for piece_id in released:
            self._forget_piece(piece_id)
            logger.info("Scheduled piece %d is published", piece_id)
        return released

    async def release_now(self, piece_id: int, *, actor: int) -> None:
        """Publish a scheduled piece now instead of at its time."""
        async with self.transaction() as conn:
            await check_action(conn, EditorAction.RELEASE, piece_id)
            await conn.execute(
                "UPDATE pieces SET status = 'live', published_at = ? WHERE id = ?",
                (clock(), piece_id),
            )
            await go_live(conn, piece_id)
            await write_audit(conn, actor, EditorAction.RELEASE, piece_id)
        self._forget_piece(piece_id)

    async def cancel_scheduled(self, piece_id: int, *, actor: int) -> None:
        """A scheduled piece is dropped: nobody ever saw it (its text can be published again)."""
        async with self.transaction() as conn:
            await check_action(conn, EditorAction.CANCEL, piece_id)
            await conn.execute("DELETE FROM piece_versions WHERE piece_id = ?", (piece_id,))
            await conn.execute("DELETE FROM pieces WHERE id = ?", (piece_id,))
            await write_audit(conn, actor, EditorAction.CANCEL, piece_id)
        self._forget_piece(piece_id)

    async def scheduled_pieces(self) -> list[PieceInfo]:
        """Scheduled pieces, soonest first (``published_at`` is when they go out)."""
        rows = await self._fetchall(
            "SELECT p.id, p.title, p.speaker, p.published_at,"
            " (SELECT count(*) FROM turns t WHERE t.piece_id = p.id)"
            " FROM pieces p WHERE p.status = 'scheduled' ORDER BY p.published_at, p.id"
        )
        return [PieceInfo(int(r[0]), r[1], r[2], to_datetime(r[3]), int(r[4])) for r in rows]
