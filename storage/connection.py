"""The database: one aiosqlite connection, its pragmas, migrations, the write lock, transactions.

One aiosqlite connection (one thread), WAL, foreign keys, a busy timeout. Writes are serialised
by a lock and run in short explicit transactions (``BEGIN IMMEDIATE``), never held across a
network call: tasks sharing the connection would otherwise share its transaction.

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
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from storage.checks import StorageError, check_database_path, describe_sqlite_error
from storage.migrations import migrate

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5_000
CACHE_KIB = 32 * 1024  # SQLite's page cache, at most (the default is 2 MB)


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


class Database:
    """The connection and its write discipline; the per-area classes of ``storage`` build on it."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()

    async def close(self) -> None:
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
        return await fetchone(self._conn, sql, params)

    async def _fetchall(self, sql: str, params: Sequence[object] = ()) -> list[aiosqlite.Row]:
        return await fetchall(self._conn, sql, params)

    async def ping(self) -> bool:
        try:
            return await self._fetchone("SELECT 1") is not None
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
