"""The repository: one object over the database, composed of one class per area.

Handlers, services and tests hold one ``Repository`` (``Dispatcher(repo=repo)``) and call its
methods; the SQL lives in the module of its area, each a class over the shared connection
(``storage/connection.py``: pragmas, migrations, the write lock, ``transaction()``):

* ``storage/pieces.py`` — publishing and reading pieces, the piece a chat reads;
* ``storage/quote_index.py`` — quote search and its index (the text side is the pure
  ``bot.domain.matching``);
* ``storage/answer_index.py`` — answers to readers' questions (/ask): BM25 over lemmas and
  embeddings (the text side is ``bot.domain.asking``);
* ``storage/subscribers.py`` — subscribing and leaving;
* ``storage/outbox.py`` — deliveries and broadcasts;
* ``storage/drafts.py`` — the editor's /publish drafts;
* ``storage/editing.py`` — corrections, withdrawals, versions and the audit log (on top of
  ``Pieces``, whose cache it keeps true);
* ``storage/followups.py`` — edits and deletions of notifications already sent;
* ``storage/requests.py`` — editors' requests from Telegram awaiting Confirm;
* ``storage/schedule.py`` — scheduled pieces (on top of ``Editing``);
* ``storage/channel.py`` — the newsroom's channel, as the running bot found it.
* ``storage/follows.py`` — follows, reader settings, matching a piece to its followers;
* ``storage/digests.py`` — daily digests and their small outbox;
* ``storage/counters.py`` — statistics the triggers keep (subscribers, live pieces, follows).

Connections (``storage/connection.py``): the writer, and a pool of read connections that the
areas' reads use (``_fetchone``, ``_fetchall``, ``reading()``) unless the reading task holds the
write transaction. ``/stats`` reads maintained counters (``storage/counters.py``), not scans.

Why mixins rather than delegation: ``Repository`` inherits the area classes, so its public
methods are the areas' own, with one signature and one docstring each — callers kept their
``repo.method(...)`` calls, and there is no layer of forwarding methods to keep in step. The
areas share nothing but the connection (``Database``); an area that needs another's tables in
the same transaction calls that module's functions with the transaction's connection
(``add_piece`` indexes the piece and creates its deliveries), never another area's methods.
Records come from ``bot.domain``; nothing in ``storage`` imports aiogram, views or handlers.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.answer_index import AnswerIndex
from storage.channel import Channel
from storage.checks import StorageError, describe_sqlite_error
from storage.connection import READERS, ReadPool, connect
from storage.counters import Counters, ensure_counters
from storage.digests import Digests
from storage.drafts import Drafts
from storage.follows import Follows
from storage.followups import Followups
from storage.outbox import Outbox
from storage.pieces import DuplicatePieceError
from storage.quote_index import QuoteSearch
from storage.requests import Requests
from storage.schedule import Schedule
from storage.subscribers import Subscribers

__all__ = ["DuplicatePieceError", "Repository", "StorageError"]


class Repository(
    Schedule,
    QuoteSearch,
    AnswerIndex,
    Subscribers,
    Outbox,
    Followups,
    Drafts,
    Requests,
    Channel,
    Follows,
    Digests,
    Counters,
):
    """The database, as handlers and services see it."""

    @classmethod
    async def open(cls, path: str | Path, *, readers: int = READERS) -> Repository:
        """Open (creating if needed) and migrate the database at ``path``, then open
        ``readers`` read connections beside the writer (0: every read on the writer)."""
        path = Path(path)
        conn = await connect(path)
        try:
            pool = await ReadPool.open(path, readers) if readers > 0 else None
        except BaseException:
            await conn.close()
            raise
        repo = cls(conn, path, pool)
        try:
            await ensure_counters(conn)
            await repo._settle_index()
        except BaseException as error:
            await repo.close()
            if isinstance(error, sqlite3.Error):
                raise StorageError(describe_sqlite_error(path, error)) from error
            raise
        return repo
