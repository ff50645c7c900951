"""Statistics kept up to date by the database itself, so that ``/stats`` and ``/pieces`` count
nothing: subscribers by state, live pieces, follows, readers who follow, and readers per topic.

Triggers on ``subscribers``, ``pieces`` and ``follows`` adjust the counters in the transaction
that changes the rows, whichever process writes (the bot, the command line), so a counter is
exactly the count it stands for at every commit. The deliveries' per-piece counts are the
outbox's (``Outbox.delivery_counts``); nothing here touches ``deliveries``.

The counters are derived data, like the answer index: ``ensure_counters`` creates the tables
and triggers and counts once, at open, when they are missing or of an older ``VERSION``
(dropping the old ones first), in one transaction. A scan of the base tables then, and never
again.

``follow_topics.phrase`` is the alphabetically first way a reader wrote the topic when it was
followed (as ``min(phrase)`` showed before); it is not recomputed when that reader unfollows,
since every phrase of a topic stands for the same words.
"""

from __future__ import annotations

import aiosqlite

from bot.domain.follows import FollowKind
from bot.domain.outbox import SubscriberCounts, SubscriberState
from storage.connection import Database, fetchone

VERSION = 1

_DROP = """
DROP TRIGGER IF EXISTS counters_subscriber_in;
DROP TRIGGER IF EXISTS counters_subscriber_state;
DROP TRIGGER IF EXISTS counters_subscriber_out;
DROP TRIGGER IF EXISTS counters_piece_in;
DROP TRIGGER IF EXISTS counters_piece_status;
DROP TRIGGER IF EXISTS counters_piece_out;
DROP TRIGGER IF EXISTS counters_follow_in;
DROP TRIGGER IF EXISTS counters_follow_out;
DROP TRIGGER IF EXISTS counters_follow_moved;
DROP TABLE IF EXISTS stat_counters;
DROP TABLE IF EXISTS follow_topics;
"""

_CREATE = f"""
CREATE TABLE stat_counters (
    name  TEXT PRIMARY KEY,            -- 'subscribers:active', 'pieces:live', 'follows' ...
    value INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE follow_topics (
    kind    TEXT NOT NULL,
    norm    TEXT NOT NULL,
    phrase  TEXT NOT NULL,
    readers INTEGER NOT NULL,
    PRIMARY KEY (kind, norm)
) WITHOUT ROWID;
CREATE INDEX follow_topics_top ON follow_topics (readers DESC, phrase);

INSERT INTO stat_counters (name, value) VALUES ('version', {VERSION}),
    ('subscribers:active', 0), ('subscribers:unsubscribed', 0), ('subscribers:blocked', 0),
    ('pieces:live', 0), ('follows', 0), ('followers', 0);
UPDATE stat_counters SET value = (SELECT count(*) FROM subscribers s
    WHERE 'subscribers:' || s.state = stat_counters.name) WHERE name LIKE 'subscribers:%';
UPDATE stat_counters SET value = (SELECT count(*) FROM pieces WHERE status = 'live')
    WHERE name = 'pieces:live';
UPDATE stat_counters SET value = (SELECT count(*) FROM follows) WHERE name = 'follows';
UPDATE stat_counters SET value = (SELECT count(DISTINCT chat_id) FROM follows)
    WHERE name = 'followers';
INSERT INTO follow_topics (kind, norm, phrase, readers)
    SELECT kind, norm, min(phrase), count(*) FROM follows GROUP BY kind, norm;

CREATE TRIGGER counters_subscriber_in AFTER INSERT ON subscribers BEGIN
    UPDATE stat_counters SET value = value + 1 WHERE name = 'subscribers:' || NEW.state;
END;
CREATE TRIGGER counters_subscriber_state AFTER UPDATE OF state ON subscribers
WHEN OLD.state IS NOT NEW.state BEGIN
    UPDATE stat_counters SET value = value - 1 WHERE name = 'subscribers:' || OLD.state;
    UPDATE stat_counters SET value = value + 1 WHERE name = 'subscribers:' || NEW.state;
END;
CREATE TRIGGER counters_subscriber_out AFTER DELETE ON subscribers BEGIN
    UPDATE stat_counters SET value = value - 1 WHERE name = 'subscribers:' || OLD.state;
END;

CREATE TRIGGER counters_piece_in AFTER INSERT ON pieces WHEN NEW.status = 'live' BEGIN
    UPDATE stat_counters SET value = value + 1 WHERE name = 'pieces:live';
END;
CREATE TRIGGER counters_piece_status AFTER UPDATE OF status ON pieces
WHEN (OLD.status = 'live') IS NOT (NEW.status = 'live') BEGIN
    UPDATE stat_counters SET value = value + (CASE WHEN NEW.status = 'live' THEN 1 ELSE -1 END)
        WHERE name = 'pieces:live';
END;
CREATE TRIGGER counters_piece_out AFTER DELETE ON pieces WHEN OLD.status = 'live' BEGIN
    UPDATE stat_counters SET value = value - 1 WHERE name = 'pieces:live';
END;

CREATE TRIGGER counters_follow_in AFTER INSERT ON follows BEGIN
    UPDATE stat_counters SET value = value + 1 WHERE name = 'follows';
    UPDATE stat_counters SET value = value + 1 WHERE name = 'followers'
        AND NOT EXISTS (SELECT 1 FROM follows WHERE chat_id = NEW.chat_id AND id != NEW.id);
    INSERT INTO follow_topics (kind, norm, phrase, readers)
        VALUES (NEW.kind, NEW.norm, NEW.phrase, 1)
        ON CONFLICT (kind, norm) DO UPDATE SET readers = readers + 1,
            phrase = min(phrase, excluded.phrase);
END;
CREATE TRIGGER counters_follow_out AFTER DELETE ON follows BEGIN
    UPDATE stat_counters SET value = value - 1 WHERE name = 'follows';
    UPDATE stat_counters SET value = value - 1 WHERE name = 'followers'
        AND NOT EXISTS (SELECT 1 FROM follows WHERE chat_id = OLD.chat_id);
    UPDATE follow_topics SET readers = readers - 1 WHERE kind = OLD.kind AND norm = OLD.norm;
    DELETE FROM follow_topics WHERE kind = OLD.kind AND norm = OLD.norm AND readers <= 0;
END;
CREATE TRIGGER counters_follow_moved AFTER UPDATE OF chat_id, kind, norm ON follows BEGIN
    UPDATE follow_topics SET readers = readers - 1 WHERE kind = OLD.kind AND norm = OLD.norm;
    DELETE FROM follow_topics WHERE kind = OLD.kind AND norm = OLD.norm AND readers <= 0;
    INSERT INTO follow_topics (kind, norm, phrase, readers)
        VALUES (NEW.kind, NEW.norm, NEW.phrase, 1)
        ON CONFLICT (kind, norm) DO UPDATE SET readers = readers + 1,
            phrase = min(phrase, excluded.phrase);
    UPDATE stat_counters SET value = value - 1 WHERE name = 'followers'
        AND OLD.chat_id != NEW.chat_id
        AND NOT EXISTS (SELECT 1 FROM follows WHERE chat_id = OLD.chat_id);
    UPDATE stat_counters SET value = value + 1 WHERE name = 'followers'
        AND OLD.chat_id != NEW.chat_id
        AND NOT EXISTS (SELECT 1 FROM follows WHERE chat_id = NEW.chat_id AND id != NEW.id);
END;
"""


async def ensure_counters(conn: aiosqlite.Connection) -> bool:
    """Create and fill the counters if they are missing or outdated (on the writer, outside any
    transaction); returns whether it did."""
    row = await fetchone(
        conn, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stat_counters'"
    )
    if row is not None:
        version = await fetchone(conn, "SELECT value FROM stat_counters WHERE name = 'version'")
        if version is not None and int(version[0]) == VERSION:
            return False
    try:
        await conn.executescript(f"BEGIN IMMEDIATE;\n{_DROP}\n{_CREATE}\nCOMMIT;")
    except Exception:
        if conn.in_transaction:
            await conn.rollback()
        raise
    return True


class Counters(Database):
    """The maintained statistics, for ``Repository`` (reads only: the triggers write)."""

    async def _counters(self) -> dict[str, int]:
        rows = await self._fetchall("SELECT name, value FROM stat_counters")
        return {str(r[0]): int(r[1]) for r in rows}

    async def subscriber_counts(self) -> SubscriberCounts:
        counters = await self._counters()
        return SubscriberCounts(
            **{s.value: counters.get(f"subscribers:{s.value}", 0) for s in SubscriberState}
        )

    async def count_pieces(self) -> int:
        """Live pieces (what ``/pieces`` lists)."""
        row = await self._fetchone("SELECT value FROM stat_counters WHERE name = 'pieces:live'")
        return int(row[0]) if row else 0

    async def follow_counts(self) -> tuple[int, int]:
        """(readers who follow something, follows)."""
        counters = await self._counters()
        return counters.get("followers", 0), counters.get("follows", 0)

    async def most_followed(self, limit: int = 10) -> list[tuple[FollowKind, str, int]]:
        """The most followed topics and speakers: (kind, a phrase, readers)."""
        rows = await self._fetchall(
            "SELECT kind, phrase, readers FROM follow_topics ORDER BY readers DESC, phrase LIMIT ?",
            (limit,),
        )
        return [(FollowKind(r[0]), str(r[1]), int(r[2])) for r in rows]


__all__ = ["VERSION", "Counters", "ensure_counters"]
