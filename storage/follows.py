"""Follows, reader settings and who gets a piece beyond the subscribers (migration 0007).

``route_piece`` runs inside the publish transaction (``outbox.create_deliveries`` calls it):
it matches the piece once against the key index (``follow_keys``), then writes, in one
``INSERT … SELECT``, the deliveries of subscribers and of readers who follow what matched (each
row saying which follow matched and which answer to show first), and the digest items of digest
readers. ``personalise`` decides whether a claimed delivery goes silently. The pure side is
``bot.domain.follows``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

import aiosqlite

from bot.domain.follows import (
    MAX_FOLLOWS,
    Follow,
    FollowKind,
    FollowProblem,
    FollowSpec,
    KeyIndex,
    Mode,
    ReaderSettings,
    Silence,
    follow_key_rows,
    is_quiet,
    key_ranks,
    match_piece,
    piece_units,
)
from bot.domain.models import Turn
from bot.domain.outbox import Claim
from storage.connection import Database, clock, fetchall, fetchone
from storage.pieces import MAX_ROWID

# CROSS JOIN keeps SQLite's loop over the piece's keys (a few thousand), each a range of the
# key index; the planner would otherwise scan the whole index.
# One-word follows (most of them, and those of common words by the thousand) are reduced in
# SQL to each reader's best: (chat, rank, follow), rank * 2^32 + follow packed for min().
SINGLES = (
    "SELECT k.chat_id, min((CASE WHEN k.speaker THEN p.speaker_rank ELSE p.topic_rank END)"
    " * 4294967296 + k.follow_id) AS best"
    " FROM temp.piece_keys p CROSS JOIN follow_keys k ON k.key = p.key WHERE k.words = 1"
    " GROUP BY k.chat_id HAVING best IS NOT NULL"
)
# Follows of several words: only those with every word somewhere in the piece come back, to be
# checked in Python for one paragraph holding them all.
HITS = (
    "WITH h AS MATERIALIZED (SELECT k.key, k.follow_id, k.word, k.words, k.chat_id, k.speaker"
    " FROM temp.piece_keys p CROSS JOIN follow_keys k ON k.key = p.key WHERE k.words > 1),"
    " c AS (SELECT follow_id FROM h GROUP BY follow_id HAVING count(DISTINCT word) = max(words))"
    " SELECT h.key, h.follow_id, h.word, h.words, h.chat_id, h.speaker FROM h"
    " JOIN c ON c.follow_id = h.follow_id"
)

# digest readers get no delivery per piece (they get the piece in their digest)
DIGEST_READERS = "SELECT chat_id FROM readers WHERE digest_hour IS NOT NULL"

# Every delivery of a piece in one statement, in chat order (the chat index is written in
# order): active subscribers (with why it matched, when it did too), then readers who follow
# what matched and are not subscribed to everything. The note is part of the row.
DELIVERIES = (
    "INSERT INTO deliveries (piece_id, chat_id, locale, follow, turn)"
    " SELECT ?1, s.chat_id, s.locale, f.phrase, m.turn FROM subscribers s"
    " LEFT JOIN temp.matched m ON m.chat_id = s.chat_id LEFT JOIN follows f ON f.id = m.follow_id"
    f" WHERE s.state = 'active' AND s.chat_id NOT IN ({DIGEST_READERS})"
    " UNION ALL"
    " SELECT ?1, m.chat_id, r.locale, f.phrase, m.turn FROM temp.matched m"
    " JOIN readers r ON r.chat_id = m.chat_id JOIN follows f ON f.id = m.follow_id"
    " WHERE r.mode = 'followed' AND r.blocked = 0 AND r.digest_hour IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM subscribers s WHERE s.chat_id = m.chat_id"
    " AND s.state = 'active')"
    " ORDER BY 2"
)

DIGEST_ITEMS = (
    "INSERT OR IGNORE INTO digest_items (chat_id, piece_id, follow, turn, added_at)"
    " SELECT r.chat_id, ?, f.phrase, m.turn, ? FROM readers r"
    " LEFT JOIN temp.matched m ON m.chat_id = r.chat_id LEFT JOIN follows f ON f.id = m.follow_id"
    " WHERE r.digest_hour IS NOT NULL AND r.blocked = 0 AND (m.chat_id IS NOT NULL"
    " AND r.mode = 'followed' OR EXISTS (SELECT 1 FROM subscribers s"
    " WHERE s.chat_id = r.chat_id AND s.state = 'active'))"
)


async def _piece_units(conn: aiosqlite.Connection, piece_id: int) -> KeyIndex | None:
    row = await fetchone(conn, "SELECT title, lead, speaker FROM pieces WHERE id = ?", (piece_id,))
    if row is None:
        return None
    turns = [
        Turn(int(r[0]), tuple(json.loads(r[1])), tuple(json.loads(r[2])), tuple(json.loads(r[3])))
        for r in await fetchall(
            conn,
            "SELECT number, question, answer, speakers FROM turns WHERE piece_id = ?"
            " ORDER BY number",
            (piece_id,),
        )
    ]
    return KeyIndex.of(piece_units(row[0], json.loads(row[1]), row[2], turns))


async def route_piece(conn: aiosqlite.Connection, piece_id: int, now: float) -> int:
    """Match a piece against every follow once; write the deliveries of the active
    subscribers and of readers who follow what it holds (each with the follow it matched, if
    any), and the digest items. Returns the number of deliveries."""
    index = await _piece_units(conn, piece_id)
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS matched"
        " (chat_id INTEGER PRIMARY KEY, follow_id INTEGER NOT NULL, turn INTEGER)"
    )
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS piece_keys"
        " (key TEXT PRIMARY KEY, topic_rank INTEGER, speaker_rank INTEGER) WITHOUT ROWID"
    )
    await conn.execute("DELETE FROM temp.matched")
    await conn.execute("DELETE FROM temp.piece_keys")
    if index is None:
        cursor = await conn.execute(DELIVERIES, (piece_id,))
        return max(cursor.rowcount, 0)
    topic_rank, speaker_rank = key_ranks(index)
    await conn.executemany(
        "INSERT INTO temp.piece_keys (key, topic_rank, speaker_rank) VALUES (?, ?, ?)",
        [(key, rank, speaker_rank.get(key)) for key, rank in topic_rank.items()],
    )
    singles = [
        (int(r[0]), int(r[1]) >> 32, int(r[1]) & 0xFFFFFFFF) for r in await fetchall(conn, SINGLES)
    ]
    hits = await fetchall(conn, HITS)
    matches = match_piece(index, hits, singles)  # type: ignore[arg-type]
    await conn.execute("DELETE FROM temp.piece_keys")
    await conn.executemany(
        "INSERT INTO temp.matched (chat_id, follow_id, turn) VALUES (?, ?, ?)",
        [(m.chat_id, m.follow_id, m.turn) for m in matches.values()],
    )
    cursor = await conn.execute(DELIVERIES, (piece_id,))
    added = max(cursor.rowcount, 0)
    await conn.execute(DIGEST_ITEMS, (piece_id, now))
    await conn.execute("DELETE FROM temp.matched")
    return added


def _settings(row: Sequence[object] | None) -> ReaderSettings:
    if row is None:
        return ReaderSettings()
    mode, silent, quiet_from, quiet_to, offset, hour = row
    return ReaderSettings(
        mode=Mode(str(mode)),
        silence=Silence(str(silent)),
        quiet_from=int(str(quiet_from)),
        quiet_to=int(str(quiet_to)),
        utc_offset=int(str(offset)),
        digest_hour=None if hour is None else int(str(hour)),
    )


SETTINGS_COLUMNS = "mode, silent, quiet_from, quiet_to, utc_offset, digest_hour"


async def personalise(conn: aiosqlite.Connection, claims: list[Claim], now: float) -> list[Claim]:
    """Claims (which carry why they were made) with whether they go silently now (the
    reader's silent setting and quiet hours)."""
    if not claims:
        return claims
    chats = json.dumps(sorted({c.chat_id for c in claims}))
    settings = {
        int(r[0]): _settings(tuple(r[1:]))
        for r in await fetchall(
            conn,
            f"SELECT r.chat_id, {SETTINGS_COLUMNS} FROM json_each(?) j"
            " JOIN readers r ON r.chat_id = j.value",
            (chats,),
        )
    }
    default = ReaderSettings()
    return [
        replace(claim, silent=is_quiet(settings.get(claim.chat_id, default), now))
        for claim in claims
    ]


UPSERT_READER = (
    "INSERT INTO readers (chat_id, locale, changed_at) VALUES (?, ?, ?)"
    " ON CONFLICT (chat_id) DO UPDATE SET locale = excluded.locale, blocked = 0"
)


def _follow(row: Sequence[object]) -> Follow:
    return Follow(int(str(row[0])), FollowKind(str(row[1])), str(row[2]), float(str(row[3])))


class Follows(Database):
    """Following, unfollowing and reader settings, for ``Repository``."""

    async def add_follow(
        self, chat_id: int, locale: str, spec: FollowSpec
    ) -> Follow | FollowProblem:
        """Store a follow (and the reader, in their language); a problem when the reader
        already follows it or follows ``MAX_FOLLOWS`` things."""
        now = clock()
        async with self.transaction() as conn:
            await conn.execute(UPSERT_READER, (chat_id, locale, now))
            row = await fetchone(
                conn,
                "SELECT id FROM follows WHERE chat_id = ? AND kind = ? AND norm = ?",
                (chat_id, spec.kind.value, spec.norm),
            )
            if row is not None:
                return FollowProblem.DUPLICATE
            count = await fetchone(
                conn, "SELECT count(*) FROM follows WHERE chat_id = ?", (chat_id,)
            )
            if count is not None and int(count[0]) >= MAX_FOLLOWS:
                return FollowProblem.LIMIT
            cursor = await conn.execute(
                "INSERT INTO follows (chat_id, kind, phrase, norm, words, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (chat_id, spec.kind.value, spec.phrase, spec.norm, len(spec.words), now),
            )
            follow_id = cursor.lastrowid
            assert follow_id is not None
            speaker = int(spec.kind is FollowKind.SPEAKER)
            await conn.executemany(
                "INSERT OR IGNORE INTO follow_keys (key, follow_id, word, words, chat_id, speaker)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (key, follow_id, word, len(spec.words), chat_id, speaker)
                    for key, word in follow_key_rows(spec)
                ],
            )
        return Follow(follow_id, spec.kind, spec.phrase, now)

    async def follows_of(self, chat_id: int) -> list[Follow]:
        rows = await self._fetchall(
            "SELECT id, kind, phrase, created_at FROM follows WHERE chat_id = ? ORDER BY id",
            (chat_id,),
        )
        return [_follow(r) for r in rows]

    async def remove_follow(self, chat_id: int, follow_id: int) -> Follow | None:
        """Stop following (only the reader's own follows); the removed follow, if any."""
        if not 0 < follow_id <= MAX_ROWID:  # ids from buttons are untrusted
            return None
        async with self.transaction() as conn:
            row = await fetchone(
                conn,
                "DELETE FROM follows WHERE id = ? AND chat_id = ?"
                " RETURNING id, kind, phrase, created_at",
                (follow_id, chat_id),
            )
        return _follow(row) if row else None

    async def remove_follows_like(self, chat_id: int, norm: str) -> list[Follow]:
        """Stop following every follow of the reader with this meaning (topic or speaker)."""
        async with self.transaction() as conn:
            rows = await fetchall(
                conn,
                "DELETE FROM follows WHERE chat_id = ? AND norm = ?"
                " RETURNING id, kind, phrase, created_at",
                (chat_id, norm),
            )
        return [_follow(r) for r in rows]

    async def top_follows(self, limit: int = 10) -> list[tuple[FollowKind, str, int]]:
        """The most followed topics and speakers: (kind, a phrase, readers)."""
        rows = await self._fetchall(
            "SELECT kind, min(phrase), count(*) AS n FROM follows GROUP BY kind, norm"
            " ORDER BY n DESC, min(phrase) LIMIT ?",
            (limit,),
        )
        return [(FollowKind(r[0]), str(r[1]), int(r[2])) for r in rows]

    async def follow_totals(self) -> tuple[int, int]:
        """(readers who follow something, follows)."""
        row = await self._fetchone("SELECT count(DISTINCT chat_id), count(*) FROM follows")
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def reader_settings(self, chat_id: int) -> ReaderSettings:
        row = await self._fetchone(
            f"SELECT {SETTINGS_COLUMNS} FROM readers WHERE chat_id = ?", (chat_id,)
        )
        return _settings(tuple(row) if row else None)

    async def save_reader_settings(
        self, chat_id: int, locale: str, settings: ReaderSettings
    ) -> None:
        """Store the reader's settings; pending deliveries are cancelled when they chose to get
        nothing (and are not subscribed to everything)."""
        now = clock()
        async with self.transaction() as conn:
            await conn.execute(UPSERT_READER, (chat_id, locale, now))
            await conn.execute(
                "UPDATE readers SET mode = ?, silent = ?, quiet_from = ?, quiet_to = ?,"
                " utc_offset = ?, digest_hour = ?, changed_at = ? WHERE chat_id = ?",
                (
                    settings.mode.value,
                    settings.silence.value,
                    settings.quiet_from,
                    settings.quiet_to,
                    settings.utc_offset,
                    settings.digest_hour,
                    now,
                    chat_id,
                ),
            )
            if settings.mode is Mode.NOTHING:
                await conn.execute(
                    "UPDATE deliveries SET state = 'cancelled', last_error = 'nothing', done_at = ?"
                    " WHERE chat_id = ? AND state = 'pending' AND NOT EXISTS (SELECT 1 FROM"
                    " subscribers s WHERE s.chat_id = deliveries.chat_id AND s.state = 'active')",
                    (now, chat_id),
                )
                await conn.execute(
                    "DELETE FROM digest_items WHERE chat_id = ? AND digest_id IS NULL AND NOT"
                    " EXISTS (SELECT 1 FROM subscribers s WHERE s.chat_id = ? AND s.state ="
                    " 'active')",
                    (chat_id, chat_id),
                )

    async def export_readers(self) -> dict[int, tuple[ReaderSettings, list[Follow]]]:
        """Every reader with settings or follows: their settings and follows."""
        found: dict[int, tuple[ReaderSettings, list[Follow]]] = {}
        for row in await self._fetchall(f"SELECT chat_id, {SETTINGS_COLUMNS} FROM readers"):
            found[int(row[0])] = (_settings(tuple(row[1:])), [])
        for row in await self._fetchall(
            "SELECT chat_id, id, kind, phrase, created_at FROM follows ORDER BY chat_id, id"
        ):
            found.setdefault(int(row[0]), (ReaderSettings(), []))[1].append(_follow(row[1:]))
        return found
