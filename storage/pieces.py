"""Pieces: stored interviews with their turns and quotes, and the piece each chat is reading.

The schema is ``migrations/0001_core.sql`` (times converted by ``0005_unix_times.sql``).
Publishing is one transaction: the piece, its turns and quotes, their search index
(``quote_index.index_piece``) and its notifications (``outbox.create_deliveries``); a scheduled
piece gets its index and notifications when it is due (``storage/schedule.py``).

Readers see live pieces only: ``get_piece``, ``latest_piece_id``, ``list_pieces`` and
``current_piece_id`` skip scheduled, withdrawn and purged ones (``piece_status`` tells why a
piece is not there). Parsed ``Piece`` objects are cached; a piece changes only through
``storage/editing.py`` (which forgets it) or another process (``PRAGMA data_version`` tells,
and the cache is dropped).
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import aiosqlite

from bot.domain.models import Interview, Piece, PieceInfo, PieceStatus, Quote, Summary, Turn
from storage import channel, outbox, quote_index
from storage.connection import Database, clock, to_datetime, to_timestamp

logger = logging.getLogger(__name__)

_PIECE_CACHE_SIZE = 32
MAX_ROWID = 2**63 - 1


class DuplicatePieceError(Exception):
    """The same text was already published."""

    def __init__(self, piece_id: int) -> None:
        super().__init__(f"already published as piece {piece_id}")
        self.piece_id = piece_id


def _dump(items: Sequence[str]) -> str:
    return json.dumps(list(items), ensure_ascii=False)


def _load(raw: str) -> tuple[str, ...]:
    return tuple(json.loads(raw))


class Pieces(Database):
    """Publishing and reading pieces, for ``Repository``."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        super().__init__(conn, path)
        self._pieces: OrderedDict[int, Piece] = OrderedDict()
        self._data_version = -1

    def _forget_piece(self, piece_id: int) -> None:
        self._pieces.pop(piece_id, None)

    async def _check_cache(self) -> None:
        """Drop the cached pieces when another connection (the command line) committed."""
        row = await self._fetchone("PRAGMA data_version")
        version = int(row[0]) if row else 0
        if version != self._data_version:
            self._pieces.clear()
            self._data_version = version

    async def add_piece(
        self,
        interview: Interview,
        summary: Summary,
        quotes: Sequence[Quote],
        *,
        source_hash: str,
        published_at: datetime | None = None,
        scheduled: bool = False,
    ) -> int:
        """Store a parsed piece with its summary and quotes in one transaction; returns its id.

        Raises ``DuplicatePieceError`` if a piece with the same source hash exists. A naive
        ``published_at`` is taken to be UTC; the default is now. A ``scheduled`` piece is
        stored invisible, without index or notifications, until ``published_at``."""
        published = clock() if published_at is None else to_timestamp(published_at)
        status = PieceStatus.SCHEDULED if scheduled else PieceStatus.LIVE
        gists = summary.gists or ("",) * len(interview.turns)
        summary_json = json.dumps(
            {"text": summary.text, "short": summary.short, "long": summary.long},
            ensure_ascii=False,
        )
        async with self.transaction() as conn:
            existing = await self.piece_id_by_hash(source_hash)
            if existing is not None:
                raise DuplicatePieceError(existing)
            cursor = await conn.execute(
                "INSERT INTO pieces (title, speaker, lead, closing, credits, summary, source_hash,"
                " published_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    interview.title,
                    interview.speaker,
                    _dump(interview.lead),
                    _dump(interview.closing),
                    _dump(interview.credits),
                    summary_json,
                    source_hash,
                    published,
                    status.value,
                ),
            )
            piece_id = cursor.lastrowid
            assert piece_id is not None
            await write_turns(conn, piece_id, interview.turns, gists)
            await write_quotes(conn, piece_id, quotes)
            if not scheduled:
                await go_live(conn, piece_id)
        logger.info(
            "Stored piece %d (%d turns, %d quotes)", piece_id, len(interview.turns), len(quotes)
        )
        return piece_id

    async def piece_status(self, piece_id: int) -> tuple[PieceStatus, str | None] | None:
        """A stored piece's status and withdrawal reason (None: no such piece)."""
        if not 0 < piece_id <= MAX_ROWID:
            return None
        row = await self._fetchone(
            "SELECT status, withdrawn_reason FROM pieces WHERE id = ?", (piece_id,)
        )
        return (PieceStatus(row[0]), row[1]) if row else None

    async def has_pieces(self) -> bool:
        """Whether anything was ever stored (live or not)."""
        return await self._fetchone("SELECT 1 FROM pieces LIMIT 1") is not None

    async def piece_id_by_hash(self, source_hash: str) -> int | None:
        row = await self._fetchone("SELECT id FROM pieces WHERE source_hash = ?", (source_hash,))
        return int(row[0]) if row else None

    async def latest_piece_id(self) -> int | None:
        row = await self._fetchone(
            "SELECT id FROM pieces WHERE status = 'live' ORDER BY published_at DESC, id DESC LIMIT 1"
        )
        return int(row[0]) if row else None

    async def count_pieces(self) -> int:
        row = await self._fetchone("SELECT count(*) FROM pieces WHERE status = 'live'")
        return int(row[0]) if row else 0

    async def get_piece(self, piece_id: int) -> Piece | None:
        """A live piece (what readers may see), or None."""
        piece = await self.get_stored_piece(piece_id)
        return piece if piece is not None and piece.status is PieceStatus.LIVE else None

    async def get_stored_piece(self, piece_id: int) -> Piece | None:
        """A piece in any status (for editors)."""
        if not 0 < piece_id <= MAX_ROWID:  # ids from buttons and links are untrusted
            return None
        await self._check_cache()
        cached = self._pieces.get(piece_id)
        if cached is not None:
            self._pieces.move_to_end(piece_id)
            return cached
        row = await self._fetchone(
            "SELECT id, title, speaker, lead, closing, credits, summary, published_at, status,"
            " revision, corrected_at, withdrawn_reason FROM pieces WHERE id = ?",
            (piece_id,),
        )
        if row is None:
            return None
        turn_rows = await self._fetchall(
            "SELECT number, question, answer, gist, link, corrected_at, speakers FROM turns"
            " WHERE piece_id = ? ORDER BY number",
            (piece_id,),
        )
        summary = json.loads(row[6])
        links = tuple(int(r[4]) for r in turn_rows)
        piece = Piece(
            id=int(row[0]),
            title=row[1],
            speaker=row[2],
            lead=_load(row[3]),
            closing=_load(row[4]),
            credits=_load(row[5]),
            published_at=to_datetime(row[7]),
            turns=tuple(
                Turn(
                    number=int(r[0]),
                    question=_load(r[1]),
                    answer=_load(r[2]),
                    speakers=tuple(json.loads(r[6])),
                )
                for r in turn_rows
            ),
            summary=Summary(
                text=tuple(summary.get("text", ())),
                short=tuple(summary.get("short", ())),
                long=tuple(summary.get("long", ())),
                gists=tuple(r[3] for r in turn_rows),
            ),
            status=PieceStatus(row[8]),
            revision=int(row[9]),
            corrected_at=to_datetime(row[10]) if row[10] is not None else None,
            withdrawn_reason=row[11],
            links=() if links == tuple(range(1, len(links) + 1)) else links,
            turn_corrected=tuple(
                to_datetime(r[5]) if r[5] is not None else None for r in turn_rows
            ),
        )
        self._pieces[piece_id] = piece
        if len(self._pieces) > _PIECE_CACHE_SIZE:
            self._pieces.popitem(last=False)
        return piece

    async def list_pieces(self, *, limit: int = 10, offset: int = 0) -> list[PieceInfo]:
        rows = await self._fetchall(
            "SELECT p.id, p.title, p.speaker, p.published_at,"
            " (SELECT count(*) FROM turns t WHERE t.piece_id = p.id)"
            " FROM pieces p WHERE p.status = 'live'"
            " ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [PieceInfo(int(r[0]), r[1], r[2], to_datetime(r[3]), int(r[4])) for r in rows]

    # -- what a chat is reading -------------------------------------------------------------

    async def set_chat_piece(self, chat_id: int, piece_id: int) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "INSERT INTO chat_pieces (chat_id, piece_id, chosen_at) VALUES (?, ?, ?)"
                " ON CONFLICT (chat_id) DO UPDATE SET piece_id = excluded.piece_id,"
                " chosen_at = excluded.chosen_at",
                (chat_id, piece_id, clock()),
            )

    async def current_piece_id(self, chat_id: int) -> int | None:
        """The piece the chat chose in the archive, unless a newer one came out since; else the
        newest piece. One query: it runs for nearly every update a reader sends."""
        row = await self._fetchone(
            "SELECT coalesce((SELECT c.piece_id FROM chat_pieces c JOIN pieces chosen"
            " ON chosen.id = c.piece_id WHERE c.chat_id = ? AND chosen.status = 'live'"
            " AND NOT EXISTS (SELECT 1 FROM pieces p WHERE p.published_at > c.chosen_at"
            " AND p.status = 'live')), (SELECT id FROM pieces WHERE status = 'live'"
            " ORDER BY published_at DESC, id DESC LIMIT 1))",
            (chat_id,),
        )
        return int(row[0]) if row and row[0] is not None else None


async def write_turns(
    conn: aiosqlite.Connection,
    piece_id: int,
    turns: Sequence[Turn],
    gists: Sequence[str],
    links: Sequence[int] = (),
    corrected: Sequence[float | None] = (),
) -> None:
    """Insert a piece's turns (links default to the numbers; nothing corrected)."""
    await conn.executemany(
        "INSERT INTO turns (piece_id, number, question, answer, speakers, gist, link,"
        " corrected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                piece_id,
                t.number,
                _dump(t.question),
                _dump(t.answer),
                json.dumps(list(t.speakers), ensure_ascii=False),
                gist,
                links[i] if links else t.number,
                corrected[i] if corrected else None,
            )
            for i, (t, gist) in enumerate(zip(turns, gists, strict=True))
        ],
    )


async def write_quotes(conn: aiosqlite.Connection, piece_id: int, quotes: Sequence[Quote]) -> None:
    await conn.executemany(
        "INSERT INTO quotes (piece_id, turn_number, position, text, speaker)"
        " VALUES (?, ?, ?, ?, ?)",
        [(piece_id, q.turn_number, q.position, q.text, q.speaker) for q in quotes],
    )


async def go_live(conn: aiosqlite.Connection, piece_id: int) -> int:
    """A stored piece becomes findable and its subscribers' notifications are queued (in the
    transaction that makes it live); returns how many."""
    await quote_index.index_piece(conn, piece_id)
    # the outbox: one notification per active subscriber, committed with the piece
    count = await outbox.create_deliveries(conn, piece_id, clock())
    return count + await channel.queue_channel_post(conn, piece_id)
