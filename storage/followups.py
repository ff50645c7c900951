"""The follow-up outbox: edits and deletions of notifications already sent.

The schema is the ``followups`` table of ``migrations/0007_newsroom.sql``. ``queue_for_piece``
runs inside the transaction that corrects, withdraws or restores a piece, so the change and
its follow-ups are committed together. One row per message: a newer request replaces an older
one and bumps ``generation``; an outcome is recorded only for the generation it was claimed
at, so a message corrected again while its first edit was in flight is edited again. Claims
commit ``sending`` first and outcomes after the request, as deliveries do: a crash repeats at
most the follow-ups in flight (an edit is idempotent; a repeated deletion finds nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from bot.domain.followups import (
    Followup,
    FollowupAction,
    FollowupOutcome,
    FollowupResult,
    FollowupState,
)
from storage.connection import Database, clock, fetchall

_UPSERT = (
    " ON CONFLICT (chat_id, message_id) DO UPDATE SET action = excluded.action,"
    " notice = CASE WHEN excluded.action = 'edit' AND followups.state = 'pending'"
    " THEN max(followups.notice, excluded.notice) ELSE excluded.notice END,"
    " state = 'pending', generation = followups.generation + 1, attempts = 0, next_attempt = 0,"
    " result = NULL, last_error = NULL, done_at = NULL"
    " WHERE followups.result IS NOT 'deleted'"
)


async def queue_for_piece(
    conn: aiosqlite.Connection, piece_id: int, action: FollowupAction, *, notice: bool = False
) -> int:
    """A follow-up for every notification of the piece that was sent (and not deleted since):
    the deliveries still in the outbox and the compacted ones' edit targets (``sent_messages``,
    kept for ``EDIT_WINDOW_S``); returns how many were queued."""
    cursor = await conn.execute(
        "INSERT INTO followups (piece_id, chat_id, message_id, locale, sent_at, action, notice)"
        " SELECT piece_id, chat_id, message_id, locale, sent_at, ?2, ?3 FROM ("
        " SELECT piece_id, chat_id, message_id, locale, coalesce(done_at, 0) AS sent_at"
        " FROM deliveries WHERE piece_id = ?1 AND state = 'sent' AND message_id IS NOT NULL"
        " UNION ALL SELECT piece_id, chat_id, message_id, locale, sent_at FROM sent_messages"
        " WHERE piece_id = ?1) ORDER BY chat_id" + _UPSERT,
        (piece_id, action.value, int(notice)),
    )
    return max(cursor.rowcount, 0)


# a notification sent while its piece changed (the send was in flight): follow it up too
CATCH_UP = (
    "INSERT INTO followups (piece_id, chat_id, message_id, locale, sent_at, action)"
    " SELECT d.piece_id, d.chat_id, d.message_id, d.locale, d.done_at,"
    " CASE WHEN p.status = 'live' THEN 'edit' ELSE 'remove' END"
    " FROM deliveries d JOIN pieces p ON p.id = d.piece_id"
    " WHERE d.id = ? AND d.message_id IS NOT NULL AND (p.status != 'live' OR p.revision > coalesce(?, p.revision))"
    + _UPSERT
)

_CLAIM = (
    "UPDATE followups SET state = 'sending', next_attempt = ?"
    " WHERE id IN (SELECT id FROM followups WHERE state = 'pending' AND next_attempt <= ?"
    " ORDER BY next_attempt, id LIMIT ?)"
    " RETURNING id, piece_id, chat_id, message_id, locale, sent_at, action, notice, generation,"
    " attempts"
)


class Followups(Database):
    """The follow-up outbox for ``Repository`` (the broadcaster's side)."""

    async def claim_followups(self, limit: int, *, lease: float) -> list[Followup]:
        now = clock()
        row = await self._fetchone(
            "SELECT EXISTS (SELECT 1 FROM followups WHERE state = 'pending' AND next_attempt <= ?)",
            (now,),
        )
        if limit <= 0 or not (row and row[0]):
            return []
        async with self.transaction() as conn:
            rows = await fetchall(conn, _CLAIM, (now + lease, now, limit))
        claims = [
            Followup(
                id=int(r[0]),
                piece_id=int(r[1]),
                chat_id=int(r[2]),
                message_id=int(r[3]),
                locale=str(r[4]),
                sent_at=float(r[5]),
                action=FollowupAction(r[6]),
                notice=bool(r[7]),
                generation=int(r[8]),
                attempts=int(r[9]),
            )
            for r in rows
        ]
        claims.sort(key=lambda f: f.id)
        return claims

    async def record_followups(self, outcomes: Sequence[FollowupOutcome]) -> None:
        """Commit outcomes in one transaction; an outcome whose follow-up was replaced by a newer
        request meanwhile (another ``generation``) is not recorded over it."""
        if not outcomes:
            return
        retry, final = [], []
        now = clock()
        for outcome in outcomes:
            f = outcome.followup
            if outcome.state is FollowupState.PENDING:
                retry.append(
                    (f.attempts + 1, outcome.error, outcome.next_attempt, f.id, f.generation)
                )
            else:
                result = outcome.result.value if outcome.result else None
                final.append(
                    (
                        outcome.state.value,
                        result,
                        f.attempts + 1,
                        outcome.error,
                        now,
                        f.id,
                        f.generation,
                    )
                )
        async with self.transaction() as conn:
            if retry:
                await conn.executemany(
                    "UPDATE followups SET state = 'pending', attempts = ?, last_error = ?,"
                    " next_attempt = ? WHERE id = ? AND generation = ?",
                    retry,
                )
            if final:
                await conn.executemany(
                    "UPDATE followups SET state = ?, result = ?, attempts = ?, last_error = ?,"
                    " done_at = ? WHERE id = ? AND generation = ?",
                    final,
                )

    async def release_followups(self, ids: Sequence[int] = (), *, everything: bool = False) -> int:
        """Claimed follow-ups back to pending: the given ones, those whose lease ran out, or
        (for the only broadcaster) all of them."""
        async with self.transaction() as conn:
            if ids:
                await conn.executemany(
                    "UPDATE followups SET state = 'pending' WHERE id = ? AND state = 'sending'",
                    [(i,) for i in ids],
                )
                return len(ids)
            cursor = await conn.execute(
                "UPDATE followups SET state = 'pending', next_attempt = 0"
                " WHERE state = 'sending' AND next_attempt <= ?",
                (float("inf") if everything else clock(),),
            )
            return max(cursor.rowcount, 0)

    async def followup_counts(self, piece_id: int | None = None) -> dict[str, int]:
        """Follow-ups by state and result (``done:edited``…), of one piece or all."""
        where, params = ("WHERE piece_id = ?", (piece_id,)) if piece_id is not None else ("", ())
        rows = await self._fetchall(
            f"SELECT state, coalesce(result, ''), count(*) FROM followups {where}"
            " GROUP BY state, result",
            params,
        )
        return {(f"{r[0]}:{r[1]}" if r[1] else str(r[0])): int(r[2]) for r in rows}


__all__ = ["CATCH_UP", "FollowupResult", "Followups", "queue_for_piece"]
