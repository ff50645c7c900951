"""The notification outbox: deliveries (one per piece and subscriber) and broadcasts.

The schema is ``migrations/0003_subscriptions.sql``. ``create_deliveries`` runs inside the
transaction that stores a piece (``Pieces.add_piece``), so a piece and its notifications are
committed together. Delivery life cycle (``bot.broadcast`` drives it)::

    pending ──claim──▶ sending ──▶ sent | failed | unreachable
       ▲                  │
       └──retry/release───┘        pending ──subscriber left──▶ cancelled

A claim commits ``sending`` before anything is sent and each outcome commits after its send, so
a crash can only leave ``sending`` rows, which go back to ``pending`` when the next broadcaster
starts: nobody is missed, and only sends that were in flight may be repeated.

The table stays small (migration ``0011``): ``compact`` folds deliveries that finished a while
ago into their broadcast's counters (``broadcasts.sent``, ``failed``, ``unreachable``,
``cancelled``) and keeps, of a sent one, only its edit target in ``sent_messages`` (about 28
bytes), which corrections and withdrawals follow up (``storage/followups.py``) for
``EDIT_WINDOW_S`` after the piece was published; ``prune_edit_targets`` drops older ones (and
their finished follow-ups). Counts are the counters plus the rows still here. Rows a withdrawal
cancelled stay while the piece is withdrawn: a restore sends them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import aiosqlite

from bot.domain.followups import EDIT_WINDOW_S
from bot.domain.outbox import (
    Broadcast,
    Claim,
    DeliveryCounts,
    DeliveryState,
    Outcome,
    SubscriberState,
)
from storage import follows, subscribers
from storage.connection import Database, clock, fetchall
from storage.followups import CATCH_UP

# finished deliveries stay as rows this long (the broadcast's report reads them), then compact
COMPACT_AFTER_S = 600.0
COMPACT_BATCH = 5000  # rows per compaction transaction: the write lock is held ~tens of ms


async def create_deliveries(conn: aiosqlite.Connection, piece_id: int, now: float) -> int:
    """One pending delivery per active subscriber and per reader who follows what the piece
    holds (``follows.route_piece``; digest readers get it in their digest instead), and the
    broadcast row; returns how many."""
    total = await follows.route_piece(conn, piece_id, now)
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
    " RETURNING id, piece_id, chat_id, locale, attempts, follow, turn"
)


async def claim(conn: aiosqlite.Connection, limit: int, now: float, lease: float) -> list[Claim]:
    """Claim due deliveries; those whose subscriber left since (a row that was ``sending``
    when they left, then released) are cancelled instead of returned."""
    rows = await fetchall(conn, CLAIM, (now + lease, now, limit))
    claims = [
        Claim(
            int(r[0]),
            int(r[1]),
            int(r[2]),
            str(r[3]),
            int(r[4]),
            follow=r[5],
            turn=None if r[6] is None else int(r[6]),
        )
        for r in rows
    ]
    claims.sort(key=lambda c: c.id)  # RETURNING order is unspecified
    if not claims:
        return claims
    gone = await subscribers.inactive_reasons(conn, sorted({c.chat_id for c in claims}))
    if gone:
        await conn.executemany(
            "UPDATE deliveries SET state = 'cancelled', last_error = ?, done_at = ? WHERE id = ?",
            [(gone[c.chat_id], now, c.id) for c in claims if c.chat_id in gone],
        )
        claims = [c for c in claims if c.chat_id not in gone]
    return await follows.personalise(conn, claims, now)


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
    """Write outcomes (one transaction is the caller's): at most 3 statements for any number;
    an unreachable chat stops being a subscriber."""
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
        # a piece corrected or withdrawn while its notification was in flight: follow it up
        # (one look at the batch's pieces; the insert only for the sends that showed old text)
        shown = [o for o in outcomes if o.state is DeliveryState.SENT and o.revision is not None]
        if shown:
            ids = sorted({o.claim.piece_id for o in shown})
            marks = ",".join("?" * len(ids))
            current = {
                int(r[0]): (str(r[1]), int(r[2]))
                for r in await fetchall(
                    conn, f"SELECT id, status, revision FROM pieces WHERE id IN ({marks})", ids
                )
            }
            stale = [
                (o.claim.id, o.revision)
                for o in shown
                if o.claim.piece_id in current
                and (
                    current[o.claim.piece_id][0] != "live"
                    or current[o.claim.piece_id][1] > (o.revision or 0)
                )
            ]
            if stale:
                await conn.executemany(CATCH_UP, stale)
    if final:
        await conn.executemany(MARK_FINAL, final)
    if retry:
        await conn.executemany(MARK_RETRY, retry)
    for o in outcomes:
        if o.state is DeliveryState.UNREACHABLE:
            await subscribers.deactivate(
                conn, o.claim.chat_id, SubscriberState.BLOCKED, o.error or ""
            )


COUNTS = (
    "SELECT state, count(*) FROM deliveries WHERE piece_id = ? GROUP BY state"
    " UNION ALL SELECT 'sent', sent FROM broadcasts WHERE piece_id = ?"
    " UNION ALL SELECT 'failed', failed FROM broadcasts WHERE piece_id = ?"
    " UNION ALL SELECT 'unreachable', unreachable FROM broadcasts WHERE piece_id = ?"
    " UNION ALL SELECT 'cancelled', cancelled FROM broadcasts WHERE piece_id = ?"
)

# finished a while ago, and not held for a restore
_COMPACTABLE = (
    "SELECT d.id FROM deliveries d JOIN pieces p ON p.id = d.piece_id"
    " WHERE d.done_at IS NOT NULL AND d.done_at <= ?"
    " AND NOT (d.state = 'cancelled' AND d.last_error = 'withdrawn' AND p.status = 'withdrawn')"
    " ORDER BY d.done_at LIMIT ?"
)
_BATCH = "SELECT value FROM json_each(?)"


async def compact(conn: aiosqlite.Connection, before: float, limit: int) -> int:
    """Fold up to ``limit`` deliveries finished before ``before`` into their broadcasts'
    counters and their edit targets (in the caller's write transaction); returns how many."""
    ids = [int(r[0]) for r in await fetchall(conn, _COMPACTABLE, (before, limit))]
    if not ids:
        return 0
    batch = json.dumps(ids)
    # a piece whose only delivery was the channel's post has no broadcast row yet
    await conn.execute(
        "INSERT OR IGNORE INTO broadcasts (piece_id, total, created_at, finished_at, reported)"
        f" SELECT piece_id, count(*), min(done_at), max(done_at), 1 FROM deliveries"
        f" WHERE id IN ({_BATCH}) GROUP BY piece_id",
        (batch,),
    )
    await conn.execute(
        "UPDATE broadcasts SET sent = broadcasts.sent + c.s, failed = broadcasts.failed + c.f,"
        " unreachable = broadcasts.unreachable + c.u, cancelled = broadcasts.cancelled + c.c"
        " FROM (SELECT piece_id, sum(state = 'sent') AS s, sum(state = 'failed') AS f,"
        " sum(state = 'unreachable') AS u, sum(state = 'cancelled') AS c"
        f" FROM deliveries WHERE id IN ({_BATCH}) GROUP BY piece_id) AS c"
        " WHERE broadcasts.piece_id = c.piece_id",
        (batch,),
    )
    await conn.execute(
        "INSERT OR REPLACE INTO sent_messages (piece_id, chat_id, message_id, sent_at, locale)"
        " SELECT piece_id, chat_id, message_id, CAST(done_at AS INTEGER), locale FROM deliveries"
        f" WHERE id IN ({_BATCH}) AND state = 'sent' AND message_id IS NOT NULL"
        " ORDER BY piece_id, chat_id",
        (batch,),
    )
    await conn.execute(f"DELETE FROM deliveries WHERE id IN ({_BATCH})", (batch,))
    return len(ids)


BROADCAST_COLUMNS = (
    "b.piece_id, p.title, b.total, b.created_at, b.finished_at, b.report_chat,"
    " b.report_message, b.report_locale, b.reported"
)


def _broadcast(row: aiosqlite.Row, counts: DeliveryCounts) -> Broadcast:
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


class Outbox(Database):
    """Deliveries and broadcasts for ``Repository`` (the broadcaster's side)."""

    async def has_due_deliveries(self, now: float | None = None) -> bool:
        row = await self._fetchone(HAS_DUE, (clock() if now is None else now,))
        return bool(row and row[0])

    async def claim_deliveries(self, limit: int, *, lease: float) -> list[Claim]:
        """Take up to ``limit`` due deliveries (oldest first) and commit them as ``sending``
        with a lease; nothing is written when nothing is due."""
        now = clock()
        if limit <= 0 or not await self.has_due_deliveries(now):
            return []
        async with self.transaction() as conn:
            return await claim(conn, limit, now, lease)

    async def record_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        """Commit a group of outcomes in one short transaction."""
        if outcomes:
            async with self.transaction() as conn:
                await record(conn, outcomes, clock())

    async def release_claims(self, claim_ids: Sequence[int], *, due: float = 0.0) -> None:
        """Claimed deliveries that were not sent go back to pending (no attempt counted)."""
        if claim_ids:
            async with self.transaction() as conn:
                await conn.executemany(RELEASE_IDS, [(due, i) for i in claim_ids])

    async def release_expired_claims(self, *, everything: bool = False) -> int:
        """``sending`` rows whose lease ran out (all of them with ``everything``, for a
        broadcaster that knows it is the only one) go back to pending; returns how many."""
        async with self.transaction() as conn:
            cursor = await conn.execute(RELEASE, (float("inf") if everything else clock(),))
            return max(cursor.rowcount, 0)

    async def delivery_counts(self, piece_id: int) -> DeliveryCounts:
        """Every delivery of the piece by state: the compacted ones' counters plus the rows."""
        found: dict[str, int] = {}
        for r in await self._fetchall(COUNTS, (piece_id,) * 5):
            found[str(r[0])] = found.get(str(r[0]), 0) + int(r[1])
        return DeliveryCounts(**{state.value: found.get(state.value, 0) for state in DeliveryState})

    async def compact_deliveries(
        self, *, older_than: float = COMPACT_AFTER_S, batch: int = COMPACT_BATCH
    ) -> int:
        """Compact every delivery that finished more than ``older_than`` seconds ago, ``batch``
        rows per short transaction (other writers get the lock between them); returns how
        many rows left the table."""
        before = clock() - older_than
        done = 0
        while True:
            async with self.transaction() as conn:
                moved = await compact(conn, before, batch)
            done += moved
            if moved < batch:
                return done
            await asyncio.sleep(0)

    async def prune_edit_targets(self, *, older_than: float = EDIT_WINDOW_S) -> int:
        """Forget the sent notifications of pieces published more than ``older_than`` seconds
        ago (their broadcast keeps the counts), and the finished follow-ups of those pieces
        (nothing can queue another for their messages); returns how many notifications."""
        old = "SELECT piece_id FROM broadcasts WHERE created_at < ?"
        since = clock() - older_than
        async with self.transaction() as conn:
            cursor = await conn.execute(
                f"DELETE FROM sent_messages WHERE piece_id IN ({old})", (since,)
            )
            await conn.execute(
                f"DELETE FROM followups WHERE piece_id IN ({old}) AND state IN ('done', 'failed')",
                (since,),
            )
            return max(cursor.rowcount, 0)

    async def _broadcasts(self, where: str, params: Sequence[object]) -> list[Broadcast]:
        rows = await self._fetchall(
            f"SELECT {BROADCAST_COLUMNS} FROM broadcasts b JOIN pieces p ON p.id = b.piece_id"
            f" {where}",
            params,
        )
        return [_broadcast(row, await self.delivery_counts(int(row[0]))) for row in rows]

    async def open_broadcasts(self) -> list[Broadcast]:
        """Broadcasts still sending, or whose final progress was not shown yet."""
        return await self._broadcasts("WHERE b.reported = 0 ORDER BY b.piece_id", ())

    async def recent_broadcasts(self, limit: int = 5) -> list[Broadcast]:
        return await self._broadcasts(
            "ORDER BY b.created_at DESC, b.piece_id DESC LIMIT ?", (limit,)
        )

    async def get_broadcast(self, piece_id: int) -> Broadcast | None:
        found = await self._broadcasts("WHERE b.piece_id = ?", (piece_id,))
        return found[0] if found else None

    async def update_broadcast(self, piece_id: int, **fields: object) -> None:
        """Set ``finished_at``, ``report_chat``, ``report_message``, ``report_locale`` or
        ``reported`` of a broadcast."""
        allowed = {"finished_at", "report_chat", "report_message", "report_locale", "reported"}
        if not fields or not set(fields) <= allowed:
            raise ValueError(f"cannot update broadcast fields {sorted(fields)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        async with self.transaction() as conn:
            await conn.execute(
                f"UPDATE broadcasts SET {assignments} WHERE piece_id = ?",
                (*fields.values(), piece_id),
            )

    async def finish_broadcast(self, piece_id: int) -> float:
        """Record when a broadcast's last delivery finished; returns that time."""
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE broadcasts SET finished_at = coalesce((SELECT max(done_at) FROM"
                " deliveries WHERE piece_id = ?), ?) WHERE piece_id = ? AND finished_at IS NULL",
                (piece_id, clock(), piece_id),
            )
            row = await self._fetchone(
                "SELECT finished_at FROM broadcasts WHERE piece_id = ?", (piece_id,)
            )
        return float(row[0]) if row and row[0] is not None else clock()
