"""Subscribers: who is told about new pieces (the ``subscribers`` table, migration 0003).

A reader who leaves (unsubscribes, or turns out to be unreachable) gets none of the
notifications still waiting for them: ``deactivate`` cancels their pending deliveries in the same
transaction. That is the one statement here on the outbox's table; ``storage/outbox.py``
depends on this module, never the reverse.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from bot.domain.outbox import Subscriber, SubscriberCounts, SubscriberState
from storage.connection import Database, clock, fetchall, to_iso

SUBSCRIBE = (
    "INSERT INTO subscribers (chat_id, state, locale, subscribed_at, changed_at, reason)"
    " VALUES (?, 'active', ?, ?, ?, NULL)"
    " ON CONFLICT (chat_id) DO UPDATE SET state = 'active', locale = excluded.locale,"
    " subscribed_at = CASE WHEN state = 'active' THEN subscribed_at ELSE excluded.subscribed_at"
    " END, changed_at = CASE WHEN state = 'active' THEN changed_at ELSE excluded.changed_at END,"
    " reason = NULL"
)

DEACTIVATE = (
    "UPDATE subscribers SET state = ?, changed_at = ?, reason = ? WHERE chat_id = ? AND state = ?"
)

CANCEL_PENDING = (
    "UPDATE deliveries SET state = 'cancelled', last_error = ?, done_at = ?"
    " WHERE chat_id = ? AND state = 'pending'"
)

# an unsubscribing reader keeps getting the pieces that match what they follow
KEEP_FOLLOWED = " AND follow IS NULL"

# not subscribed to everything, but still getting what they follow
FOLLOWER = (
    "EXISTS (SELECT 1 FROM readers r WHERE r.chat_id = subscribers.chat_id AND r.blocked = 0"
    " AND r.mode = 'followed')"
)

_COLUMNS = "chat_id, state, locale, subscribed_at, changed_at, reason"


async def deactivate(
    conn: aiosqlite.Connection, chat_id: int, state: SubscriberState, reason: str
) -> bool:
    """Active → ``state`` (unsubscribed/blocked) and the chat's pending deliveries cancelled (in
    a write transaction); False if the chat was not an active subscriber."""
    now = clock()
    cursor = await conn.execute(
        DEACTIVATE, (state.value, now, reason, chat_id, SubscriberState.ACTIVE.value)
    )
    changed = cursor.rowcount > 0
    follower = False
    if state is SubscriberState.BLOCKED:  # a reader who only follows is unreachable too
        cursor = await conn.execute(
            "UPDATE readers SET blocked = 1 WHERE chat_id = ? AND blocked = 0", (chat_id,)
        )
        follower = cursor.rowcount > 0
        if changed or follower:
            await conn.execute(CANCEL_PENDING, (reason, now, chat_id))
    elif changed:  # what they follow still comes
        await conn.execute(CANCEL_PENDING + KEEP_FOLLOWED, (reason, now, chat_id))
    return changed


async def inactive_reasons(conn: aiosqlite.Connection, chat_ids: Sequence[int]) -> dict[int, str]:
    """Of these chats, those no longer subscribed (nor following), with why they left."""
    marks = ",".join("?" * len(chat_ids))
    rows = await fetchall(
        conn,
        f"SELECT chat_id, reason FROM subscribers WHERE state != 'active' AND chat_id IN ({marks})"
        f" AND NOT (state = 'unsubscribed' AND {FOLLOWER})",
        chat_ids,
    )
    return {int(r[0]): r[1] or "left" for r in rows}


def _subscriber(row: aiosqlite.Row) -> Subscriber:
    return Subscriber(
        chat_id=int(row[0]),
        state=SubscriberState(row[1]),
        locale=row[2],
        subscribed_at=to_iso(row[3]),
        changed_at=to_iso(row[4]),
        reason=row[5],
    )


class Subscribers(Database):
    """Subscribing, leaving, and who is subscribed, for ``Repository``."""

    async def subscribe(self, chat_id: int, locale: str) -> bool:
        """Make the chat an active subscriber (again); False if it already was one."""
        async with self.transaction() as conn:
            before = await self._fetchone(
                "SELECT state FROM subscribers WHERE chat_id = ?", (chat_id,)
            )
            now = clock()
            await conn.execute(SUBSCRIBE, (chat_id, locale, now, now))
        return before is None or before[0] != SubscriberState.ACTIVE

    async def unsubscribe(self, chat_id: int) -> bool:
        """The reader asked to stop; False if they were not subscribed."""
        async with self.transaction() as conn:
            return await deactivate(conn, chat_id, SubscriberState.UNSUBSCRIBED, "unsubscribed")

    async def mark_inactive(self, chat_id: int, reason: str) -> bool:
        """The chat cannot be reached (blocked the bot, deleted, kicked it); False if it was
        not an active subscriber."""
        async with self.transaction() as conn:
            return await deactivate(conn, chat_id, SubscriberState.BLOCKED, reason)

    async def get_subscriber(self, chat_id: int) -> Subscriber | None:
        row = await self._fetchone(
            f"SELECT {_COLUMNS} FROM subscribers WHERE chat_id = ?", (chat_id,)
        )
        return _subscriber(row) if row else None

    async def is_subscribed(self, chat_id: int) -> bool:
        subscriber = await self.get_subscriber(chat_id)
        return subscriber is not None and subscriber.state is SubscriberState.ACTIVE

    async def subscriber_counts(self) -> SubscriberCounts:
        rows = await self._fetchall("SELECT state, count(*) FROM subscribers GROUP BY state")
        return SubscriberCounts(**{str(r[0]): int(r[1]) for r in rows})

    async def list_subscribers(self, *, active_only: bool = True) -> list[Subscriber]:
        rows = await self._fetchall(
            f"SELECT {_COLUMNS} FROM subscribers"
            + (" WHERE state = 'active'" if active_only else "")
            + " ORDER BY chat_id"
        )
        return [_subscriber(r) for r in rows]
