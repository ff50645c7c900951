"""Daily digests: one message per reader and local day, through an outbox of its own.

Publishing leaves ``digest_items`` for digest readers (``follows.route_piece``). The
broadcaster's digest worker (``bot/broadcast/digest.py``) calls ``schedule_digests`` now and
then: a reader whose hour has come and who has items published before it gets a ``digests`` row
(unique per reader and local date, so never two for one day, whatever restarts) holding those
items. Digest rows then live like deliveries: pending → sending (claimed, leased) → sent |
failed | unreachable, released to pending after a crash; a digest due while the bot was down is
scheduled and sent when it comes back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.follows import digest_due, is_quiet
from bot.domain.outbox import Claim, DeliveryState, Outcome, SubscriberState
from storage import subscribers
from storage.connection import Database, clock, fetchall, fetchone
from storage.follows import SETTINGS_COLUMNS, _settings

WAITING = (
    "SELECT r.chat_id, r.utc_offset, r.digest_hour, r.locale,"
    " (SELECT min(i.added_at) FROM digest_items i WHERE i.chat_id = r.chat_id"
    " AND i.digest_id IS NULL)"
    " FROM readers r WHERE r.digest_hour IS NOT NULL AND r.blocked = 0"
    " AND EXISTS (SELECT 1 FROM digest_items i WHERE i.chat_id = r.chat_id AND i.digest_id IS NULL)"
)

CLAIM = (
    "UPDATE digests SET state = 'sending', next_attempt = ?"
    " WHERE id IN (SELECT id FROM digests WHERE state = 'pending' AND next_attempt <= ?"
    " ORDER BY next_attempt, id LIMIT ?)"
    " RETURNING id, chat_id, locale, attempts"
)


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """A piece in a digest: what to list and why it is there."""

    piece_id: int
    title: str
    speaker: str | None
    first_line: str
    follow: str | None
    turn: int | None


class Digests(Database):
    """Scheduling, claiming and recording digests, for ``Repository``."""

    async def schedule_digests(self, now: float | None = None) -> int:
        """Create the digests that are due (each reader's hour has come and something published
        before it waits); returns how many were created."""
        now = clock() if now is None else now
        due = []
        for row in await self._fetchall(WAITING):
            local_day, moment = digest_due(now, int(row[1]), int(row[2]))
            if float(row[4]) < moment:
                due.append((int(row[0]), local_day.isoformat(), str(row[3]), moment))
        created = 0
        if not due:
            return 0
        async with self.transaction() as conn:
            for chat_id, day, locale, moment in due:
                cursor = await conn.execute(
                    "INSERT OR IGNORE INTO digests (chat_id, day, locale, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (chat_id, day, locale, now),
                )
                if cursor.rowcount <= 0:
                    continue  # this day's digest went already: the rest waits for the next
                created += 1
                await conn.execute(
                    "UPDATE digest_items SET digest_id = ? WHERE chat_id = ? AND digest_id IS NULL"
                    " AND added_at < ?",
                    (cursor.lastrowid, chat_id, moment),
                )
        return created

    async def claim_digests(self, limit: int, *, lease: float) -> list[Claim]:
        """Take due digests (``Claim.id`` is the digest's id), with whether to send silently."""
        now = clock()
        async with self.transaction() as conn:
            rows = await fetchall(conn, CLAIM, (now + lease, now, limit))
            claims = []
            for r in sorted(rows, key=lambda r: int(r[0])):
                chat_id = int(r[1])
                row = await fetchone(
                    conn, f"SELECT {SETTINGS_COLUMNS} FROM readers WHERE chat_id = ?", (chat_id,)
                )
                silent = is_quiet(_settings(tuple(row) if row else None), now)
                claims.append(Claim(int(r[0]), 0, chat_id, str(r[2]), int(r[3]), silent=silent))
        return claims

    async def digest_entries(self, digest_id: int) -> list[DigestEntry]:
        rows = await self._fetchall(
            "SELECT p.id, p.title, p.speaker, p.summary, p.lead, i.follow, i.turn"
            " FROM digest_items i JOIN pieces p ON p.id = i.piece_id WHERE i.digest_id = ?"
            " ORDER BY p.published_at, p.id",
            (digest_id,),
        )
        entries = []
        for r in rows:
            summary = json.loads(r[3]).get("text") or json.loads(r[4]) or [""]
            turn = None if r[6] is None else int(r[6])
            entries.append(DigestEntry(int(r[0]), r[1], r[2], summary[0], r[5], turn))
        return entries

    async def record_digests(self, outcomes: Sequence[Outcome]) -> None:
        """Commit what became of claimed digests (as ``Outbox.record_outcomes`` does)."""
        if not outcomes:
            return
        now = clock()
        async with self.transaction() as conn:
            for o in outcomes:
                if o.state is DeliveryState.SENT:
                    await conn.execute(
                        "UPDATE digests SET state = 'sent', attempts = ?, message_id = ?,"
                        " last_error = NULL, done_at = ? WHERE id = ?",
                        (o.attempts, o.message_id, now, o.claim.id),
                    )
                elif o.state is DeliveryState.PENDING:
                    await conn.execute(
                        "UPDATE digests SET state = 'pending', attempts = ?, last_error = ?,"
                        " next_attempt = ? WHERE id = ?",
                        (o.attempts, o.error, o.next_attempt, o.claim.id),
                    )
                else:
                    state = "unreachable" if o.state is DeliveryState.UNREACHABLE else "failed"
                    await conn.execute(
                        "UPDATE digests SET state = ?, attempts = ?, last_error = ?, done_at = ?"
                        " WHERE id = ?",
                        (state, o.attempts, o.error, now, o.claim.id),
                    )
                    if o.state is DeliveryState.UNREACHABLE:
                        await subscribers.deactivate(
                            conn, o.claim.chat_id, SubscriberState.BLOCKED, o.error or ""
                        )

    async def release_digests(
        self, claim_ids: Sequence[int] = (), *, everything: bool = False
    ) -> int:
        """Claimed digests back to pending: those given (not sent), or every one whose lease
        ran out (all of them with ``everything``, after a crash)."""
        async with self.transaction() as conn:
            if claim_ids:
                await conn.executemany(
                    "UPDATE digests SET state = 'pending' WHERE id = ? AND state = 'sending'",
                    [(i,) for i in claim_ids],
                )
            cursor = await conn.execute(
                "UPDATE digests SET state = 'pending', next_attempt = 0 WHERE state = 'sending'"
                " AND next_attempt <= ?",
                (float("inf") if everything else clock(),),
            )
            return max(cursor.rowcount, 0)

    async def digest_states(self, chat_id: int) -> list[tuple[str, str]]:
        """(day, state) of a reader's digests, oldest first."""
        rows = await self._fetchall(
            "SELECT day, state FROM digests WHERE chat_id = ? ORDER BY id", (chat_id,)
        )
        return [(str(r[0]), str(r[1])) for r in rows]
