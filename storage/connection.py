"""The database: the writer and the readers' connections, pragmas, migrations, transactions.

**Connections.** One aiosqlite connection (one thread) writes: WAL, foreign keys, a busy
timeout; writes are serialised by a lock and run in short explicit transactions (``BEGIN
IMMEDIATE``), never held across a network call: tasks sharing the connection would otherwise
share its transaction. Reads go to a small pool of read-only connections (``ReadPool``, each
its own thread, ``PRAGMA query_only``): WAL lets them read the last commit while the writer
writes, so a reader's ``SELECT`` never queues behind the broadcaster's claims and commits in
the writer's thread, nor behind another reader's longer query. A read made inside a write
transaction, by the task that holds it, stays on the writer (it must see its own writes).

**Times** are stored in one convention in every table: Unix seconds, UTC, as ``REAL``
(``time.time()``). The outbox compares due times and leases on every pickup, and duration and
"newer than" questions (``pieces.published_at > chat_pieces.chosen_at``) are plain number
comparisons; a number has no time-zone suffix to get wrong, so text written with another offset
cannot sort out of order; a double holds today's times to about a quarter of a microsecond, so
a ``datetime`` round-trips exactly. Records keep exposing what they exposed before:
``datetime`` (pieces, quote hits), seconds (broadcasts, drafts) or ISO 8601 text (subscriber
dates, as ``export-subscribers`` prints them); ``to_timestamp``, ``to_datetime`` and ``to_iso``
convert at the boundary. Migration 0005 converted the columns that held ISO 8601 text.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from storage.checks import StorageError, check_database_path, describe_sqlite_error
from storage.migrations import migrate

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5_000
CACHE_KIB = 32 * 1024  # SQLite's page cache, at most (the default is 2 MB)
READERS = 3  # read connections: two for readers' updates, one for background work
READER_CACHE_KIB = 8 * 1024

# Which read connections a task uses: readers' updates ("foreground") or the broadcaster and
# other background work, which reads on a connection of its own so that a thousand reads a
# second of a paid broadcast never stand in the queue before a reader's. Tasks inherit it from
# the task that created them (``asyncio.create_task`` copies the context).
_BACKGROUND: contextvars.ContextVar[bool] = contextvars.ContextVar("background", default=False)


@contextlib.contextmanager
def background_reads() -> Iterator[None]:
    """Reads made here, and in tasks created here, use the background read connection."""
    token = _BACKGROUND.set(True)
    try:
        yield
    finally:
        _BACKGROUND.reset(token)


def clock() -> float:
    """The current time as stored: Unix seconds (``time.time()``)."""
    return time.time()


def to_timestamp(moment: datetime) -> float:
    """A ``datetime`` as stored; a naive one is taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def to_datetime(seconds: float) -> datetime:
    """A stored time as an aware UTC ``datetime``."""
    return datetime.fromtimestamp(seconds, UTC)


def to_iso(seconds: float) -> str:
    """A stored time as ISO 8601 text in UTC (``2025-01-01T09:30:00.250000+00:00``)."""
    return to_datetime(seconds).isoformat()


async def fetchone(
    conn: aiosqlite.Connection, sql: str, params: Sequence[object] = ()
) -> aiosqlite.Row | None:
    async with conn.execute(sql, params) as cursor:
        return await cursor.fetchone()


async def fetchall(
    conn: aiosqlite.Connection, sql: str, params: Sequence[object] = ()
) -> list[aiosqlite.Row]:
    async with conn.execute(sql, params) as cursor:
        return list(await cursor.fetchall())


async def connect(path: Path) -> aiosqlite.Connection:
    """Open the database file (creating its folder), set the pragmas, apply the migrations.

    The file is checked first (``storage/checks.py``); what SQLite still refuses becomes a
    ``StorageError`` naming the file, and the connection (its thread too) is closed."""
    await asyncio.to_thread(check_database_path, path)
    try:
        conn = await aiosqlite.connect(path, isolation_level=None)
    except sqlite3.Error as error:
        raise StorageError(describe_sqlite_error(path, error)) from error
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA synchronous = NORMAL")
        # temp tables and sorts (publishing matches a piece against the follows through them)
        # stay in memory; a larger page cache keeps the follow index's hot pages
        await conn.execute("PRAGMA temp_store = MEMORY")
        await conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    except BaseException as error:
        await conn.close()
        if isinstance(error, sqlite3.Error):
            raise StorageError(describe_sqlite_error(path, error)) from error
        raise
    try:
        await migrate(conn)
    except BaseException as error:
        await conn.close()
        if isinstance(error, sqlite3.Error):
            message = describe_sqlite_error(path, error, migrating=True)
            raise StorageError(message) from error
        raise
    return conn


async def _open_reader(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA query_only = ON")
        await conn.execute("PRAGMA temp_store = MEMORY")
        await conn.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")
    except BaseException:
        await conn.close()
        raise
    return conn


class ReadPool:
    """Read-only connections to the database file, lent one at a time: the last one to
    background work (``background_reads``), the others to everything else.

    A failed statement (an SQL error, a cancelled task) gives its connection back like any
    other; a connection that is no longer usable is replaced by a fresh one. ``close`` closes
    them all (their threads too), also those lent out when it is called."""

    def __init__(self, path: Path, conns: Sequence[aiosqlite.Connection]) -> None:
        self.path = path
        self._all = list(conns)
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._idle_background: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._split = len(conns) > 1  # one connection: everybody shares it
        for index, conn in enumerate(conns):
            split = self._split and index == len(conns) - 1
            (self._idle_background if split else self._idle).put_nowait(conn)
        self._closed = False

    @classmethod
    async def open(cls, path: Path, size: int = READERS) -> ReadPool:
        conns: list[aiosqlite.Connection] = []
        try:
            for _ in range(size):
                conns.append(await _open_reader(path))
        except BaseException as error:
            for conn in conns:
                await conn.close()
            if isinstance(error, sqlite3.Error):
                raise StorageError(describe_sqlite_error(path, error)) from error
            raise
        return cls(path, conns)

    @property
    def size(self) -> int:
        return len(self._all)

    @property
    def idle(self) -> int:
        return self._idle.qsize() + self._idle_background.qsize()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[aiosqlite.Connection]:
        if self._closed:
            raise StorageError("the database is closed")
        lane = self._idle_background if self._split and _BACKGROUND.get() else self._idle
        conn = await lane.get()
        try:
            yield conn
        except Exception:
            conn = await self._usable(conn)
            raise
        finally:
            if not self._closed:
                lane.put_nowait(conn)

    async def _usable(self, conn: aiosqlite.Connection) -> aiosqlite.Connection:
        """``conn`` after a failed statement, or a fresh connection if it no longer answers."""
        try:
            await fetchone(conn, "SELECT 1")
            return conn
        except Exception:
            logger.warning("A read connection to %s stopped answering; opening another", self.path)
        with contextlib.suppress(Exception):
            await conn.close()
        try:
            fresh = await _open_reader(self.path)
        except Exception:
            logger.exception("Could not reopen a read connection to %s", self.path)
            return conn  # tried again after the next failure
        self._all[self._all.index(conn)] = fresh
        return fresh

    async def close(self) -> None:
        self._closed = True
        for conn in self._all:
            with contextlib.suppress(Exception):
                await conn.close()


class Database:
    """The connections and their discipline; the per-area classes of ``storage`` build on it.

    ``_fetchone``/``_fetchall`` read on the pool, except in the task that holds the write
    transaction; ``reading()`` lends a read connection for several statements."""

    def __init__(
        self, conn: aiosqlite.Connection, path: Path, readers: ReadPool | None = None
    ) -> None:
        self._conn = conn
        self.path = path
        self._readers = readers
        self._write_lock = asyncio.Lock()
        self._writing: asyncio.Task[object] | None = None  # the task holding the transaction

    async def close(self) -> None:
        if self._readers is not None:
            await self._readers.close()
        await self._conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A short write transaction; writes from concurrent tasks are serialised."""
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            self._writing = asyncio.current_task()
            try:
                yield self._conn
            except BaseException:
                await self._conn.rollback()
                raise
            finally:
                self._writing = None
            await self._conn.commit()

    def _on_writer(self) -> bool:
        return self._readers is None or (
            self._writing is not None and self._writing is asyncio.current_task()
        )

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """A connection to read with: one of the pool's (the writer inside a transaction)."""
        if self._on_writer() or self._readers is None:
            yield self._conn
            return
        async with self._readers.connection() as conn:
            yield conn

    async def _fetchone(self, sql: str, params: Sequence[object] = ()) -> aiosqlite.Row | None:
        async with self.reading() as conn:
            return await fetchone(conn, sql, params)

    async def _fetchall(self, sql: str, params: Sequence[object] = ()) -> list[aiosqlite.Row]:
        async with self.reading() as conn:
            return await fetchall(conn, sql, params)

    async def ping(self) -> bool:
        """Whether the writer and a read connection answer."""
        try:
            writer = await fetchone(self._conn, "SELECT 1")
            return writer is not None and await self._fetchone("SELECT 1") is not None
        except Exception:
            logger.exception("Database ping failed")
            return False

    async def integrity_check(self) -> str:
        row = await self._fetchone("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"

    @property
    def total_changes(self) -> int:
        """Rows changed through this connection since it opened (for write accounting)."""
        return int(self._conn.total_changes)
