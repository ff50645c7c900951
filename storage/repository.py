"""The repository: the only code that talks SQL.

One aiosqlite connection (one thread), WAL, foreign keys, a busy timeout. Writes are serialised by
a lock and run in short explicit transactions (``BEGIN IMMEDIATE``), never held across a network
call. Pieces are immutable once published, so parsed ``Piece`` objects are cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from bot.domain.drafts import DRAFT_TTL_S, Draft, DraftState
from bot.domain.models import Interview, Piece, PieceInfo, Quote, QuoteHit, Summary, Turn
from bot.domain.outbox import (
    Broadcast,
    Claim,
    DeliveryCounts,
    Outcome,
    Subscriber,
    SubscriberCounts,
    SubscriberState,
)
from storage import quote_index
from storage import subscriptions as subs
from storage.migrations import migrate

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5_000
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


def _timestamp(raw: str) -> datetime:
    return datetime.fromisoformat(raw)


class Repository:
    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()
        self._pieces: OrderedDict[int, Piece] = OrderedDict()
        self._search_ready = False
        self._reindex: asyncio.Task[int] | None = None

    @classmethod
    async def open(cls, path: str | Path) -> Repository:
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await migrate(conn)
        except BaseException:
            await conn.close()
            raise
        repo = cls(conn, path)
        # a write only when there is one to do
        if not (await quote_index.index_state(conn)).current:
            async with repo.transaction() as tx:
                await quote_index.settle_empty_index(tx)
        return repo

    async def close(self) -> None:
        if self._reindex is not None and not self._reindex.done():
            self._reindex.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reindex
        await self._conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A short write transaction; writes from concurrent tasks are serialised."""
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.rollback()
                raise
            await self._conn.commit()

    async def _fetchone(self, sql: str, params: Sequence[object] = ()) -> aiosqlite.Row | None:
        async with self._conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def _fetchall(self, sql: str, params: Sequence[object] = ()) -> list[aiosqlite.Row]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def ping(self) -> bool:
        try:
            return await self._fetchone("SELECT 1") is not None
        except Exception:
            logger.exception("Database ping failed")
            return False

    async def integrity_check(self) -> str:
        row = await self._fetchone("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"

    # -- pieces -----------------------------------------------------------------------------

    async def add_piece(
        self,
        interview: Interview,
        summary: Summary,
        quotes: Sequence[Quote],
        *,
        source_hash: str,
        published_at: datetime | None = None,
    ) -> int:
        """Store a parsed piece with its summary and quotes in one transaction; returns its id.

        Raises ``DuplicatePieceError`` if a piece with the same source hash exists.
        """
        published_at = published_at or datetime.now(UTC)
        gists = summary.gists or ("",) * len(interview.turns)
        summary_json = json.dumps(
            {"text": summary.text, "short": summary.short, "long": summary.long},
            ensure_ascii=False,
        )
        async with self.transaction() as conn:
            existing = await self._fetchone(
                "SELECT id FROM pieces WHERE source_hash = ?", (source_hash,)
            )
            if existing is not None:
                raise DuplicatePieceError(int(existing[0]))
            cursor = await conn.execute(
                "INSERT INTO pieces (title, speaker, lead, closing, credits, summary, source_hash,"
                " published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    interview.title,
                    interview.speaker,
                    _dump(interview.lead),
                    _dump(interview.closing),
                    _dump(interview.credits),
                    summary_json,
                    source_hash,
                    published_at.isoformat(),
                ),
            )
            piece_id = cursor.lastrowid
            assert piece_id is not None
            await conn.executemany(
                "INSERT INTO turns (piece_id, number, question, answer, gist) VALUES (?, ?, ?, ?, ?)",
                [
                    (piece_id, t.number, _dump(t.question), _dump(t.answer), gist)
                    for t, gist in zip(interview.turns, gists, strict=True)
                ],
            )
            await conn.executemany(
                "INSERT INTO quotes (piece_id, turn_number, position, text) VALUES (?, ?, ?, ?)",
                [(piece_id, q.turn_number, q.position, q.text) for q in quotes],
            )
            await quote_index.index_piece(conn, piece_id)
            # the outbox: one notification per active subscriber, committed with the piece
            await subs.create_deliveries(conn, piece_id, time.time())
        logger.info(
            "Stored piece %d (%d turns, %d quotes)", piece_id, len(interview.turns), len(quotes)
        )
        return piece_id

    async def latest_piece_id(self) -> int | None:
        row = await self._fetchone(
            "SELECT id FROM pieces ORDER BY published_at DESC, id DESC LIMIT 1"
        )
        return int(row[0]) if row else None

    async def count_pieces(self) -> int:
        row = await self._fetchone("SELECT count(*) FROM pieces")
        return int(row[0]) if row else 0

    async def get_piece(self, piece_id: int) -> Piece | None:
        if not 0 < piece_id <= MAX_ROWID:  # ids from buttons and links are untrusted
            return None
        cached = self._pieces.get(piece_id)
        if cached is not None:
            self._pieces.move_to_end(piece_id)
            return cached
        row = await self._fetchone(
            "SELECT id, title, speaker, lead, closing, credits, summary, published_at"
            " FROM pieces WHERE id = ?",
            (piece_id,),
        )
        if row is None:
            return None
        turn_rows = await self._fetchall(
            "SELECT number, question, answer, gist FROM turns WHERE piece_id = ? ORDER BY number",
            (piece_id,),
        )
        summary = json.loads(row[6])
        piece = Piece(
            id=int(row[0]),
            title=row[1],
            speaker=row[2],
            lead=_load(row[3]),
            closing=_load(row[4]),
            credits=_load(row[5]),
            published_at=_timestamp(row[7]),
            turns=tuple(Turn(int(r[0]), _load(r[1]), _load(r[2])) for r in turn_rows),
            summary=Summary(
                text=tuple(summary.get("text", ())),
                short=tuple(summary.get("short", ())),
                long=tuple(summary.get("long", ())),
                gists=tuple(r[3] for r in turn_rows),
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
            " FROM pieces p ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [PieceInfo(int(r[0]), r[1], r[2], _timestamp(r[3]), int(r[4])) for r in rows]

    # -- what a chat is reading -------------------------------------------------------------

    async def set_chat_piece(self, chat_id: int, piece_id: int) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "INSERT INTO chat_pieces (chat_id, piece_id, chosen_at) VALUES (?, ?, ?)"
                " ON CONFLICT (chat_id) DO UPDATE SET piece_id = excluded.piece_id,"
                " chosen_at = excluded.chosen_at",
                (chat_id, piece_id, datetime.now(UTC).isoformat()),
            )

    async def current_piece_id(self, chat_id: int) -> int | None:
        """The piece the chat chose in the archive, unless a newer one came out since; else the
        newest piece."""
        row = await self._fetchone(
            "SELECT c.piece_id FROM chat_pieces c WHERE c.chat_id = ?"
            " AND NOT EXISTS (SELECT 1 FROM pieces p WHERE p.published_at > c.chosen_at)",
            (chat_id,),
        )
        if row is not None:
            return int(row[0])
        return await self.latest_piece_id()

    # -- quote search (storage/quote_index.py) ----------------------------------------------

    async def search_quotes(self, query: str, *, limit: int, offset: int = 0) -> list[QuoteHit]:
        """Quotes matching any text, best first (never raises on odd input)."""
        await self.prepare_search()
        return await quote_index.search(self._conn, query, limit=limit, offset=offset)

    async def top_quotes(self, piece_id: int, limit: int, *, offset: int = 0) -> list[QuoteHit]:
        """The most quotable sentences of a piece, for an empty search."""
        await self.prepare_search()
        return await quote_index.top_quotes(self._conn, piece_id, limit=limit, offset=offset)

    async def prepare_search(self) -> int:
        """Make the search index current; returns how many quotes are still waiting.

        An index built by another normaliser (or before migration 0002) is dropped and rebuilt,
        newest quotes first: up to ``REINDEX_NOW`` quotes right away, a bigger archive in a
        background task while searches answer from what is indexed so far."""
        if self._search_ready or (self._reindex is not None and not self._reindex.done()):
            return 0
        await self._reset_stale_index()
        pending = await quote_index.pending_quotes(self._conn)
        if pending > quote_index.REINDEX_NOW:
            logger.info("Search index: %d quotes to index, in the background", pending)
            self._reindex = asyncio.create_task(self._index_in_background(), name="search-index")
            return pending
        await self.index_pending_quotes()
        return 0

    async def build_search_index(self, progress: Callable[[int], None] | None = None) -> int:
        """Bring the search index up to date now, in the foreground (``python -m bot reindex``);
        returns how many quotes were indexed."""
        await self._reset_stale_index()
        return await self.index_pending_quotes(progress)

    async def _reset_stale_index(self) -> None:
        if not (await quote_index.index_state(self._conn)).current:
            async with self.transaction() as conn:
                if not (await quote_index.index_state(conn)).current:
                    await quote_index.reset_index(conn)

    async def index_pending_quotes(self, progress: Callable[[int], None] | None = None) -> int:
        """Index every waiting quote, newest first, in short transactions of about
        ``REINDEX_BATCH`` quotes (publishing and subscribing are never held up for long);
        ``progress`` gets the running count. Returns how many were indexed."""
        total = 0
        while rows := await quote_index.next_batch(self._conn):
            docs: list[quote_index.Doc] = []
            by_piece: dict[int, list[aiosqlite.Row]] = {}
            for row in rows:
                by_piece.setdefault(int(row[1]), []).append(row)
            for piece_rows in by_piece.values():  # CPU-bound: let other tasks run in between
                docs += quote_index.prepare_docs(piece_rows)
                await asyncio.sleep(0)
            async with self.transaction() as conn:
                done = await quote_index.store_batch(conn, rows, docs)
            if not done:
                break
            total += done
            if progress is not None:
                progress(total)
        self._search_ready = (await quote_index.index_state(self._conn)).pending_below == 0
        return total

    async def _index_in_background(self) -> int:
        started = time.monotonic()
        try:
            count = await self.index_pending_quotes()
        except Exception:
            logger.exception("Search index: background indexing failed")
            return 0
        logger.info("Search index: %d quotes indexed in %.0f s", count, time.monotonic() - started)
        return count

    # -- subscriptions and the notification outbox (storage/subscriptions.py) ---------------

    async def subscribe(self, chat_id: int, locale: str) -> bool:
        """Make the chat an active subscriber (again); False if it already was one."""
        async with self.transaction() as conn:
            before = await self._fetchone(
                "SELECT state FROM subscribers WHERE chat_id = ?", (chat_id,)
            )
            now = subs.iso_now()
            await conn.execute(subs.SUBSCRIBE, (chat_id, locale, now, now))
        return before is None or before[0] != SubscriberState.ACTIVE

    async def unsubscribe(self, chat_id: int) -> bool:
        """The reader asked to stop; False if they were not subscribed."""
        async with self.transaction() as conn:
            return await subs.deactivate(
                conn, chat_id, SubscriberState.UNSUBSCRIBED, "unsubscribed"
            )

    async def mark_inactive(self, chat_id: int, reason: str) -> bool:
        """The chat cannot be reached (blocked the bot, deleted, kicked it); False if it was
        not an active subscriber."""
        async with self.transaction() as conn:
            return await subs.deactivate(conn, chat_id, SubscriberState.BLOCKED, reason)

    async def get_subscriber(self, chat_id: int) -> Subscriber | None:
        row = await self._fetchone(
            "SELECT chat_id, state, locale, subscribed_at, changed_at, reason FROM subscribers"
            " WHERE chat_id = ?",
            (chat_id,),
        )
        if row is None:
            return None
        return Subscriber(int(row[0]), SubscriberState(row[1]), row[2], row[3], row[4], row[5])

    async def is_subscribed(self, chat_id: int) -> bool:
        subscriber = await self.get_subscriber(chat_id)
        return subscriber is not None and subscriber.state is SubscriberState.ACTIVE

    async def subscriber_counts(self) -> SubscriberCounts:
        rows = await self._fetchall("SELECT state, count(*) FROM subscribers GROUP BY state")
        return SubscriberCounts(**{str(r[0]): int(r[1]) for r in rows})

    async def list_subscribers(self, *, active_only: bool = True) -> list[Subscriber]:
        rows = await self._fetchall(
            "SELECT chat_id, state, locale, subscribed_at, changed_at, reason FROM subscribers"
            + (" WHERE state = 'active'" if active_only else "")
            + " ORDER BY chat_id"
        )
        return [Subscriber(int(r[0]), SubscriberState(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    async def has_due_deliveries(self, now: float | None = None) -> bool:
        row = await self._fetchone(subs.HAS_DUE, (time.time() if now is None else now,))
        return bool(row and row[0])

    async def claim_deliveries(self, limit: int, *, lease: float) -> list[Claim]:
        """Take up to ``limit`` due deliveries (oldest first) and commit them as ``sending``
        with a lease; nothing is written when nothing is due."""
        now = time.time()
        if limit <= 0 or not await self.has_due_deliveries(now):
            return []
        async with self.transaction() as conn:
            return await subs.claim(conn, limit, now, lease)

    async def record_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        """Commit a group of outcomes in one short transaction."""
        if outcomes:
            async with self.transaction() as conn:
                await subs.record(conn, outcomes, time.time())

    async def release_claims(self, claim_ids: Sequence[int], *, due: float = 0.0) -> None:
        """Claimed deliveries that were not sent go back to pending (no attempt counted)."""
        if claim_ids:
            async with self.transaction() as conn:
                await conn.executemany(subs.RELEASE_IDS, [(due, i) for i in claim_ids])

    async def release_expired_claims(self, *, everything: bool = False) -> int:
        """``sending`` rows whose lease ran out (all of them with ``everything``, for a
        broadcaster that knows it is the only one) go back to pending; returns how many."""
        async with self.transaction() as conn:
            cursor = await conn.execute(
                subs.RELEASE, (float("inf") if everything else time.time(),)
            )
            return max(cursor.rowcount, 0)

    async def delivery_counts(self, piece_id: int) -> DeliveryCounts:
        return subs.counts_from_rows(await self._fetchall(subs.COUNTS, (piece_id,)))

    async def _broadcasts(self, where: str, params: Sequence[object]) -> list[Broadcast]:
        rows = await self._fetchall(
            f"SELECT {subs.BROADCAST_COLUMNS} FROM broadcasts b JOIN pieces p ON p.id = b.piece_id"
            f" {where}",
            params,
        )
        return [
            subs.broadcast_from_row(row, await self.delivery_counts(int(row[0]))) for row in rows
        ]

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

    @property
    def total_changes(self) -> int:
        """Rows changed through this connection since it opened (for write accounting)."""
        return int(self._conn.total_changes)

    # -- publishing drafts --------------------------------------------------------------------

    async def piece_id_by_hash(self, source_hash: str) -> int | None:
        row = await self._fetchone("SELECT id FROM pieces WHERE source_hash = ?", (source_hash,))
        return int(row[0]) if row else None

    async def save_draft(
        self,
        *,
        update_key: str,
        admin_id: int,
        chat_id: int,
        file_name: str,
        source: bytes,
        source_hash: str,
    ) -> tuple[Draft, bool]:
        """Hold an uploaded file; the same ``update_key`` returns the existing draft (False)."""
        now = time.time()
        async with self.transaction() as conn:
            await conn.execute("DELETE FROM drafts WHERE created_at < ?", (now - DRAFT_TTL_S,))
            cursor = await conn.execute(
                "INSERT INTO drafts (id, update_key, admin_id, chat_id, file_name, source,"
                " source_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (update_key) DO NOTHING",
                (
                    secrets.token_urlsafe(6),
                    update_key,
                    admin_id,
                    chat_id,
                    file_name,
                    source,
                    source_hash,
                    now,
                ),
            )
            created = cursor.rowcount > 0
            row = await self._fetchone(
                f"SELECT {subs.DRAFT_COLUMNS} FROM drafts WHERE update_key = ?", (update_key,)
            )
        assert row is not None
        return subs.draft_from_row(row), created

    async def get_draft(self, draft_id: str) -> Draft | None:
        row = await self._fetchone(
            f"SELECT {subs.DRAFT_COLUMNS} FROM drafts WHERE id = ?", (draft_id,)
        )
        return subs.draft_from_row(row) if row else None

    async def set_draft_preview(self, draft_id: str, message_id: int) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE drafts SET preview_message = ? WHERE id = ?", (message_id, draft_id)
            )

    async def close_draft(
        self, draft_id: str, state: DraftState, piece_id: int | None = None
    ) -> bool:
        """An open draft becomes ``published`` or ``cancelled``; False if it was not open."""
        async with self.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE drafts SET state = ?, piece_id = ? WHERE id = ? AND state = 'open'",
                (state, piece_id, draft_id),
            )
            return cursor.rowcount > 0

    async def finish_broadcast(self, piece_id: int) -> float:
        """Record when a broadcast's last delivery finished; returns that time."""
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE broadcasts SET finished_at = coalesce((SELECT max(done_at) FROM"
                " deliveries WHERE piece_id = ?), ?) WHERE piece_id = ? AND finished_at IS NULL",
                (piece_id, time.time(), piece_id),
            )
            row = await self._fetchone(
                "SELECT finished_at FROM broadcasts WHERE piece_id = ?", (piece_id,)
            )
        return float(row[0]) if row and row[0] is not None else time.time()

    async def get_draft_by_key(self, update_key: str) -> Draft | None:
        row = await self._fetchone(
            f"SELECT {subs.DRAFT_COLUMNS} FROM drafts WHERE update_key = ?", (update_key,)
        )
        return subs.draft_from_row(row) if row else None
