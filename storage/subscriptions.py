"""Subscriptions, the notification outbox and publishing drafts: the SQL side.

The schema is ``migrations/0003_subscriptions.sql``; ``Repository`` wraps these helpers in its
write lock and short transactions. Helpers taking a connection run inside the caller's
transaction (``add_piece`` creates a piece's deliveries in the transaction that stores it).

Delivery life cycle (``bot/broadcast.py`` drives it)::

    pending ──claim──▶ sending ──▶ sent | failed | unreachable
       ▲                  │
       └──retry/release───┘        pending ──subscriber left──▶ cancelled

A claim commits ``sending`` before anything is sent and each outcome commits after its send, so
a crash can only leave ``sending`` rows, which go back to ``pending`` when the next broadcaster
starts: nobody is missed, and only sends that were in flight may be repeated.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

import aiosqlite

from bot.domain.drafts import Draft, DraftState
from bot.domain.outbox import (
    Broadcast,
    Claim,
    DeliveryCounts,
    DeliveryState,
    Outcome,
    SubscriberState,
)


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


# -- subscribers --------------------------------------------------------------------------------

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

# A reader who left gets none of the notifications still waiting for them.
CANCEL_PENDING = (
    "UPDATE deliveries SET state = 'cancelled', last_error = ?, done_at = ?"
    " WHERE chat_id = ? AND state = 'pending'"
)


async def deactivate(
    conn: aiosqlite.Connection, chat_id: int, state: SubscriberState, reason: str
) -> bool:
    """Active → ``state`` (unsubscribed/blocked); cancels the chat's pending deliveries."""
    cursor = await conn.execute(
        DEACTIVATE, (state.value, iso_now(), reason, chat_id, SubscriberState.ACTIVE.value)
    )
    changed = cursor.rowcount > 0
    if changed:
        await conn.execute(CANCEL_PENDING, (reason, time.time(), chat_id))
    return changed


# -- deliveries ---------------------------------------------------------------------------------


async def create_deliveries(conn: aiosqlite.Connection, piece_id: int, now: float) -> int:
    """One pending delivery per active subscriber, and the broadcast row; returns how many."""
    cursor = await conn.execute(
        "INSERT INTO deliveries (piece_id, chat_id, locale)"
        " SELECT ?, chat_id, locale FROM subscribers WHERE state = 'active' ORDER BY chat_id",
        (piece_id,),
    )
    total = max(cursor.rowcount, 0)
    if total:
        await conn.execute(
            "INSERT INTO broadcasts (piece_id, total, created_at) VALUES (?, ?, ?)",
            (piece_id, total, now),
        )
    return total


HAS_DUE = "SELECT EXISTS (SELECT 1 FROM deliveries WHERE state = 'pending' AND next_attempt <= ?)"

CLAIM = (
    "UPDATE deliveries SET state = 'sending', next_attempt = ?"
    " WHERE id IN (SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt <= ?"
    " ORDER BY next_attempt, id LIMIT ?)"
    " RETURNING id, piece_id, chat_id, locale, attempts"
)


async def claim(conn: aiosqlite.Connection, limit: int, now: float, lease: float) -> list[Claim]:
    """Claim due deliveries; those whose subscriber left since (a row that was ``sending``
    when they left, then released) are cancelled instead of returned."""
    async with conn.execute(CLAIM, (now + lease, now, limit)) as cursor:
        rows = await cursor.fetchall()
    claims = [Claim(int(r[0]), int(r[1]), int(r[2]), str(r[3]), int(r[4])) for r in rows]
    claims.sort(key=lambda c: c.id)  # RETURNING order is unspecified
    if not claims:
        return claims
    chats = sorted({c.chat_id for c in claims})
    async with conn.execute(
        "SELECT chat_id, reason FROM subscribers WHERE state != 'active' AND chat_id IN"
        f" ({','.join('?' * len(chats))})",
        chats,
    ) as cursor:
        gone = {int(r[0]): r[1] or "left" for r in await cursor.fetchall()}
    if gone:
        await conn.executemany(
            "UPDATE deliveries SET state = 'cancelled', last_error = ?, done_at = ? WHERE id = ?",
            [(gone[c.chat_id], now, c.id) for c in claims if c.chat_id in gone],
        )
        claims = [c for c in claims if c.chat_id not in gone]
    return claims


RELEASE = (
    "UPDATE deliveries SET state = 'pending', next_attempt = 0 WHERE state = 'sending'"
    " AND next_attempt <= ?"
)

RELEASE_IDS = (
    "UPDATE deliveries SET state = 'pending', next_attempt = ? WHERE id = ? AND state = 'sending'"
)

MARK_SENT = (
    "UPDATE deliveries SET state = 'sent', attempts = ?, message_id = ?, last_error = NULL,"
    " done_at = ? WHERE id = ?"
)
MARK_FINAL = (
    "UPDATE deliveries SET state = ?, attempts = ?, last_error = ?, done_at = ? WHERE id = ?"
)
MARK_RETRY = (
    "UPDATE deliveries SET state = 'pending', attempts = ?, last_error = ?, next_attempt = ?"
    " WHERE id = ?"
)


async def record(conn: aiosqlite.Connection, outcomes: Sequence[Outcome], now: float) -> None:
    """Write outcomes (one transaction is the caller's): at most 3 statements for any number."""
    sent, final, retry = [], [], []
    for o in outcomes:
        if o.state is DeliveryState.SENT:
            sent.append((o.attempts, o.message_id, now, o.claim.id))
        elif o.state is DeliveryState.PENDING:
            retry.append((o.attempts, o.error, o.next_attempt, o.claim.id))
        else:
            final.append((o.state.value, o.attempts, o.error, now, o.claim.id))
    if sent:
        await conn.executemany(MARK_SENT, sent)
    if final:
        await conn.executemany(MARK_FINAL, final)
    if retry:
        await conn.executemany(MARK_RETRY, retry)
    for o in outcomes:
        if o.state is DeliveryState.UNREACHABLE:
            await deactivate(conn, o.claim.chat_id, SubscriberState.BLOCKED, o.error or "")


COUNTS = "SELECT state, count(*) FROM deliveries WHERE piece_id = ? GROUP BY state"


def counts_from_rows(rows: Sequence[aiosqlite.Row]) -> DeliveryCounts:
    found = {str(r[0]): int(r[1]) for r in rows}
    return DeliveryCounts(**{state.value: found.get(state.value, 0) for state in DeliveryState})


BROADCAST_COLUMNS = (
    "b.piece_id, p.title, b.total, b.created_at, b.finished_at, b.report_chat,"
    " b.report_message, b.report_locale, b.reported"
)


def broadcast_from_row(row: aiosqlite.Row, counts: DeliveryCounts) -> Broadcast:
    return Broadcast(
        piece_id=int(row[0]),
        title=str(row[1]),
        total=int(row[2]),
        created_at=float(row[3]),
        finished_at=float(row[4]) if row[4] is not None else None,
        report_chat=int(row[5]) if row[5] is not None else None,
        report_message=int(row[6]) if row[6] is not None else None,
        report_locale=row[7],
        reported=bool(row[8]),
        counts=counts,
    )


# -- drafts -------------------------------------------------------------------------------------

DRAFT_COLUMNS = (
    "id, update_key, admin_id, chat_id, file_name, source, source_hash, state, piece_id,"
    " preview_message, created_at"
)


def draft_from_row(row: aiosqlite.Row) -> Draft:
    return Draft(
        id=str(row[0]),
        update_key=str(row[1]),
        admin_id=int(row[2]),
        chat_id=int(row[3]),
        file_name=str(row[4]),
        source=bytes(row[5]),
        source_hash=str(row[6]),
        state=DraftState(row[7]),
        piece_id=int(row[8]) if row[8] is not None else None,
        preview_message=int(row[9]) if row[9] is not None else None,
        created_at=float(row[10]),
    )
