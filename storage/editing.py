"""Changing a published piece: withdraw, restore, purge, correct; the history of versions and
the editors' audit log.

The schema is ``migrations/0007_newsroom.sql``. Each change is one transaction that re-checks
the piece's status (``bot.domain.lifecycle.refusal``: the state may have changed since the
editor looked), changes the piece, its search index and its outbox (pending notifications,
follow-ups of the sent ones: ``storage/followups.py``), and writes the audit row.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from bot.domain.followups import FollowupAction
from bot.domain.lifecycle import EditorAction, EditRefused, Refusal, refusal
from bot.domain.models import Interview, PieceStatus, Quote, Summary
from storage import answer_index, quote_index
from storage.connection import clock, fetchall, fetchone
from storage.followups import queue_for_piece
from storage.pieces import Pieces, write_quotes, write_turns

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Change:
    """What a change did: the piece's new revision and the outbox work it queued."""

    piece_id: int
    revision: int
    followups: int  # sent notifications to edit or remove
    cancelled: int = 0  # notifications not sent yet, cancelled


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: float
    actor: int
    action: str
    piece_id: int | None
    detail: str


async def _status(conn: aiosqlite.Connection, piece_id: int) -> PieceStatus | None:
    row = await fetchone(conn, "SELECT status FROM pieces WHERE id = ?", (piece_id,))
    return PieceStatus(row[0]) if row else None


async def check_action(conn: aiosqlite.Connection, action: EditorAction, piece_id: int) -> None:
    problem = refusal(action, await _status(conn, piece_id))
    if problem is not None:
        raise EditRefused(problem, piece_id)


async def write_audit(
    conn: aiosqlite.Connection,
    actor: int,
    action: EditorAction,
    piece_id: int | None,
    detail: str = "",
) -> None:
    await conn.execute(
        "INSERT INTO audit (at, actor, action, piece_id, detail) VALUES (?, ?, ?, ?, ?)",
        (clock(), actor, action.value, piece_id, detail),
    )


async def _revision(conn: aiosqlite.Connection, piece_id: int) -> int:
    row = await fetchone(conn, "SELECT revision FROM pieces WHERE id = ?", (piece_id,))
    return int(row[0]) if row else 0


async def _snapshot(conn: aiosqlite.Connection, piece_id: int) -> str:
    """The piece as readers see it now, as JSON (for ``piece_versions``)."""
    piece = await fetchone(
        conn,
        "SELECT title, speaker, lead, closing, credits, summary, source_hash, published_at,"
        " corrected_at FROM pieces WHERE id = ?",
        (piece_id,),
    )
    assert piece is not None
    turns = await fetchall(
        conn,
        "SELECT number, link, question, answer, gist, corrected_at, speakers FROM turns"
        " WHERE piece_id = ? ORDER BY number",
        (piece_id,),
    )
    return json.dumps(
        {
            "title": piece[0],
            "speaker": piece[1],
            "lead": json.loads(piece[2]),
            "closing": json.loads(piece[3]),
            "credits": json.loads(piece[4]),
            "summary": json.loads(piece[5]),
            "source_hash": piece[6],
            "published_at": piece[7],
            "corrected_at": piece[8],
            "turns": [
                {
                    "number": t[0],
                    "link": t[1],
                    "question": json.loads(t[2]),
                    "answer": json.loads(t[3]),
                    "gist": t[4],
                    "corrected_at": t[5],
                    "speakers": json.loads(t[6]),
                }
                for t in turns
            ],
        },
        ensure_ascii=False,
    )


class Editing(Pieces):
    """Corrections, withdrawals and their history, for ``Repository``."""

    async def withdraw_piece(self, piece_id: int, *, reason: str | None, actor: int) -> Change:
        """Take a live piece down: hidden everywhere at once, its pending notifications
        cancelled, the sent ones queued for removal. ``EditRefused`` if it is not live."""
        now = clock()
        async with self.transaction() as conn:
            await check_action(conn, EditorAction.WITHDRAW, piece_id)
            await conn.execute(
                "UPDATE pieces SET status = 'withdrawn', withdrawn_at = ?, withdrawn_reason = ?"
                " WHERE id = ?",
                (now, reason or None, piece_id),
            )
            await quote_index.unindex_piece(conn, piece_id)
            cursor = await conn.execute(
                "UPDATE deliveries SET state = 'cancelled', last_error = 'withdrawn', done_at = ?"
                " WHERE piece_id = ? AND state = 'pending'",
                (now, piece_id),
            )
            cancelled = max(cursor.rowcount, 0)
            followups = await queue_for_piece(conn, piece_id, FollowupAction.REMOVE)
            await write_audit(conn, actor, EditorAction.WITHDRAW, piece_id, reason or "")
            revision = await _revision(conn, piece_id)
        self._forget_piece(piece_id)
        logger.info(
            "Piece %d withdrawn by %d: %d notifications cancelled, %d to remove",
            piece_id,
            actor,
            cancelled,
            followups,
        )
        return Change(piece_id, revision, followups, cancelled)

    async def restore_piece(self, piece_id: int, *, actor: int) -> Change:
        """A withdrawn piece is live again: findable, its notifications that were still
        editable shown again, the ones cancelled by the withdrawal sent after all."""
        async with self.transaction() as conn:
            await check_action(conn, EditorAction.RESTORE, piece_id)
            await conn.execute(
                "UPDATE pieces SET status = 'live', withdrawn_at = NULL, withdrawn_reason = NULL"
                " WHERE id = ?",
                (piece_id,),
            )
            await quote_index.index_piece(conn, piece_id)
            cursor = await conn.execute(
                "UPDATE deliveries SET state = 'pending', last_error = NULL, done_at = NULL,"
                " next_attempt = 0 WHERE piece_id = ? AND state = 'cancelled'"
                " AND last_error = 'withdrawn'",
                (piece_id,),
            )
            if cursor.rowcount:
                await conn.execute(
                    "UPDATE broadcasts SET finished_at = NULL WHERE piece_id = ?", (piece_id,)
                )
            followups = await queue_for_piece(conn, piece_id, FollowupAction.EDIT)
            await write_audit(conn, actor, EditorAction.RESTORE, piece_id)
            revision = await _revision(conn, piece_id)
        self._forget_piece(piece_id)
        logger.info("Piece %d restored by %d", piece_id, actor)
        return Change(piece_id, revision, followups)

    async def purge_piece(self, piece_id: int, *, actor: int) -> Change:
        """Remove a withdrawn piece's text for good: turns, quotes, versions, the drafts it came
        from. The id stays (links to it still say it was withdrawn, and ids are never reused)."""
        async with self.transaction() as conn:
            await check_action(conn, EditorAction.PURGE, piece_id)
            await quote_index.unindex_piece(conn, piece_id)
            await answer_index.unindex_piece(conn, piece_id)
            await conn.execute("DELETE FROM quotes WHERE piece_id = ?", (piece_id,))
            await conn.execute("DELETE FROM turns WHERE piece_id = ?", (piece_id,))
            await conn.execute("DELETE FROM piece_versions WHERE piece_id = ?", (piece_id,))
            await conn.execute("DELETE FROM drafts WHERE piece_id = ?", (piece_id,))
            await conn.execute(
                "UPDATE pieces SET status = 'purged', title = '', speaker = NULL, lead = '[]',"
                " closing = '[]', credits = '[]', summary = '{}',"
                " source_hash = 'purged:' || id WHERE id = ?",
                (piece_id,),
            )
            await write_audit(conn, actor, EditorAction.PURGE, piece_id)
            revision = await _revision(conn, piece_id)
        self._forget_piece(piece_id)
        logger.info("Piece %d purged by %d", piece_id, actor)
        return Change(piece_id, revision, 0)

    async def highest_link(self, piece_id: int) -> int:
        """The highest link the piece's turns ever had (current and earlier versions)."""
        highest = 0
        for row in await self._fetchall(
            "SELECT content FROM piece_versions WHERE piece_id = ?", (piece_id,)
        ):
            links = [int(t["link"]) for t in json.loads(row[0]).get("turns", [])]
            highest = max([highest, *links])
        current = await self._fetchone(
            "SELECT max(link) FROM turns WHERE piece_id = ?", (piece_id,)
        )
        return max(highest, int(current[0] or 0) if current else 0)

    async def correct_piece(
        self,
        piece_id: int,
        interview: Interview,
        summary: Summary,
        quotes: Sequence[Quote],
        *,
        source_hash: str,
        links: Sequence[int],
        changed: Sequence[bool],
        expected_revision: int,
        notify: bool,
        actor: int,
        detail: str = "",
    ) -> Change:
        """Replace the piece's text in place (same id) with the corrected one: the old version
        kept in ``piece_versions``, turns stored with their ``links`` (quotes refer to links),
        the changed ones marked corrected now, summary and index rebuilt, every sent
        notification queued for an edit (with a correction notice when ``notify``).
        ``EditRefused`` if the piece changed since the correction was planned, or is not live or
        scheduled, or the text is another piece's."""
        now = clock()
        async with self.transaction() as conn:
            await check_action(conn, EditorAction.CORRECT, piece_id)
            revision = await _revision(conn, piece_id)
            if revision != expected_revision:
                raise EditRefused(Refusal.STALE, piece_id)
            other = await fetchone(
                conn,
                "SELECT id FROM pieces WHERE source_hash = ? AND id != ?",
                (source_hash, piece_id),
            )
            if other is not None:
                raise EditRefused(Refusal.DUPLICATE, int(other[0]))
            live = await _status(conn, piece_id) is PieceStatus.LIVE
            kept = {
                int(r[0]): r[1]
                for r in await fetchall(
                    conn, "SELECT link, corrected_at FROM turns WHERE piece_id = ?", (piece_id,)
                )
            }
            await conn.execute(
                "INSERT INTO piece_versions (piece_id, revision, content, replaced_at)"
                " VALUES (?, ?, ?, ?)",
                (piece_id, revision, await _snapshot(conn, piece_id), now),
            )
            if live:
                await quote_index.unindex_piece(conn, piece_id)
            await answer_index.unindex_piece(conn, piece_id)
            await conn.execute("DELETE FROM quotes WHERE piece_id = ?", (piece_id,))
            await conn.execute("DELETE FROM turns WHERE piece_id = ?", (piece_id,))
            await conn.execute(
                "UPDATE pieces SET title = ?, speaker = ?, lead = ?, closing = ?, credits = ?,"
                " summary = ?, source_hash = ?, revision = revision + 1, corrected_at = ?"
                " WHERE id = ?",
                (
                    interview.title,
                    interview.speaker,
                    json.dumps(list(interview.lead), ensure_ascii=False),
                    json.dumps(list(interview.closing), ensure_ascii=False),
                    json.dumps(list(interview.credits), ensure_ascii=False),
                    json.dumps(
                        {"text": summary.text, "short": summary.short, "long": summary.long},
                        ensure_ascii=False,
                    ),
                    source_hash,
                    now,
                    piece_id,
                ),
            )
            gists = summary.gists or ("",) * len(interview.turns)
            corrected = [
                now if change else kept.get(link)
                for link, change in zip(links, changed, strict=True)
            ]
            await write_turns(conn, piece_id, interview.turns, gists, links, corrected)
            by_number = dict(enumerate(links, start=1))
            await write_quotes(
                conn,
                piece_id,
                [
                    Quote(
                        turn_number=by_number[q.turn_number],
                        position=q.position,
                        text=q.text,
                        speaker=q.speaker,
                    )
                    for q in quotes
                ],
            )
            followups = 0
            if live:
                await quote_index.index_piece(conn, piece_id)
                followups = await queue_for_piece(
                    conn, piece_id, FollowupAction.EDIT, notice=notify
                )
            await write_audit(conn, actor, EditorAction.CORRECT, piece_id, detail)
        self._forget_piece(piece_id)
        logger.info(
            "Piece %d corrected by %d (revision %d): %d notifications to edit",
            piece_id,
            actor,
            revision + 1,
            followups,
        )
        return Change(piece_id, revision + 1, followups)

    async def piece_versions(self, piece_id: int) -> list[tuple[int, float, str]]:
        """Replaced versions: (revision, replaced at, JSON content), oldest first."""
        rows = await self._fetchall(
            "SELECT revision, replaced_at, content FROM piece_versions WHERE piece_id = ?"
            " ORDER BY revision",
            (piece_id,),
        )
        return [(int(r[0]), float(r[1]), str(r[2])) for r in rows]

    async def audit(
        self, actor: int, action: EditorAction, piece_id: int | None, detail: str = ""
    ) -> None:
        async with self.transaction() as conn:
            await write_audit(conn, actor, action, piece_id, detail)

    async def recent_audit(self, limit: int = 10) -> list[AuditEntry]:
        rows = await self._fetchall(
            "SELECT at, actor, action, piece_id, detail FROM audit ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [AuditEntry(float(r[0]), int(r[1]), str(r[2]), r[3], str(r[4])) for r in rows]
