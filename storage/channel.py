"""The newsroom's channel as the running bot found it (``migrations/0009_channel.sql``)."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.connection import Database, clock


@dataclass(frozen=True, slots=True)
class ChannelState:
    chat_id: int
    thread_id: int | None
    problem: str | None  # None: the bot can post there


async def queue_channel_post(conn: aiosqlite.Connection, piece_id: int) -> int:
    """The channel's delivery of a piece going live (in its transaction), if the bot can post."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO deliveries (piece_id, chat_id, locale)"
        " SELECT ?, chat_id, 'ru' FROM channel WHERE id = 1 AND problem IS NULL",
        (piece_id,),
    )
    return max(cursor.rowcount, 0)


class Channel(Database):
    """The channel for ``Repository``."""

    async def set_channel(self, chat_id: int, thread_id: int | None, problem: str | None) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "INSERT INTO channel (id, chat_id, thread_id, problem, checked_at)"
                " VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET chat_id = excluded.chat_id,"
                " thread_id = excluded.thread_id, problem = excluded.problem,"
                " checked_at = excluded.checked_at",
                (chat_id, thread_id, problem, clock()),
            )

    async def clear_channel(self) -> None:
        async with self.transaction() as conn:
            await conn.execute("DELETE FROM channel")

    async def get_channel(self) -> ChannelState | None:
        row = await self._fetchone("SELECT chat_id, thread_id, problem FROM channel WHERE id = 1")
        return ChannelState(int(row[0]), row[1], row[2]) if row else None
