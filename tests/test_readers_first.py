"""Readers first (issue 16): readers' reads on their own connections, statistics from counters
the database keeps, and the broadcaster stepping aside while an update is being handled."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from bot.broadcast import ReaderPriority
from bot.domain.follows import FollowKind, FollowSpec, parse_follow
from bot.publishing import SEED_TITLE, prepare, store
from storage import Repository, StorageError
from storage.counters import ensure_counters
from tests.conftest import DATA
from tests.harness import running_bot

ADMIN = 7
READER = 901
SECOND = (DATA / "interviews" / "bus-network-reform.txt").read_bytes()

# a statement that keeps SQLite busy for a while (about a second on the 2-core machine)
SLOW = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)"
    " SELECT count(*) FROM c"
)


def _follow(text: str) -> FollowSpec:
    spec = parse_follow(text)
    assert isinstance(spec, FollowSpec), spec
    return spec


async def _scanned(repo: Repository) -> dict[str, object]:
    """The statistics as scans of the tables count them."""
    states = {
        str(r[0]): int(r[1])
        for r in await repo._fetchall("SELECT state, count(*) FROM subscribers GROUP BY state")
    }
    live = await repo._fetchone("SELECT count(*) FROM pieces WHERE status = 'live'")
    return {
        "subscribers": {s: states.get(s, 0) for s in ("active", "unsubscribed", "blocked")},
        "pieces": int(live[0]) if live else 0,
        "follows": await repo.follow_totals(),
        "top": await repo.top_follows(10),
    }


async def _counted(repo: Repository) -> dict[str, object]:
    counts = await repo.subscriber_counts()
    return {
        "subscribers": {
            "active": counts.active,
            "unsubscribed": counts.unsubscribed,
            "blocked": counts.blocked,
        },
        "pieces": await repo.count_pieces(),
        "follows": await repo.follow_counts(),
        "top": await repo.most_followed(10),
    }


# -- the read connections -------------------------------------------------------------------------


async def test_a_read_is_answered_while_the_writer_is_busy(seeded_repo: Repository) -> None:
    """A reader's reads never queue behind the writer's work (the broadcaster's claims and
    commits): the writer runs a long statement inside a write transaction, and the piece a
    reader asks for comes back before it ends."""
    repo = seeded_repo
    piece_id = await repo.current_piece_id(READER)
    assert piece_id is not None
    finished: list[str] = []

    async def busy_writer() -> None:
        async with repo.transaction() as conn, conn.execute(SLOW, (3_000_000,)) as cursor:
            await cursor.fetchall()
        finished.append("writer")

    writing = asyncio.create_task(busy_writer())
    await asyncio.sleep(0.05)  # the long statement is under way
    started = time.perf_counter()
    assert await repo.current_piece_id(READER) == piece_id
    piece = await repo.get_piece(piece_id)
    assert piece is not None and piece.title == SEED_TITLE
    finished.append("reader")
    took = time.perf_counter() - started
    await writing
    assert finished == ["reader", "writer"], (finished, took)


async def test_reads_see_what_was_committed(seeded_repo: Repository) -> None:
    repo = seeded_repo
    assert not await repo.is_subscribed(READER)
    await repo.subscribe(READER, "ru")
    assert await repo.is_subscribed(READER)  # read on another connection, right after commit
    assert (await repo.subscriber_counts()).active == 1
    await repo.unsubscribe(READER)
    assert not await repo.is_subscribed(READER)
    # a write made by another process (the command line) is seen too, without restarting
    other = await Repository.open(repo.path)
    try:
        await other.subscribe(READER + 1, "en")
    finally:
        await other.close()
    assert await repo.is_subscribed(READER + 1)


async def test_a_piece_changed_by_another_process_is_read_again(seeded_repo: Repository) -> None:
    repo = seeded_repo
    piece_id = await repo.latest_piece_id()
    assert piece_id is not None
    assert await repo.get_piece(piece_id) is not None  # cached now
    other = await Repository.open(repo.path)
    try:
        await other.withdraw_piece(piece_id, reason="test", actor=0)
    finally:
        await other.close()
    await asyncio.sleep(0.6)  # the cached stamp is trusted for half a second at most
    assert await repo.get_piece(piece_id) is None


async def test_the_read_pool_survives_a_failed_statement(seeded_repo: Repository) -> None:
    repo = seeded_repo
    pool = repo._readers
    assert pool is not None and pool.idle == pool.size == 3
    for _ in range(5):
        with pytest.raises(sqlite3.OperationalError):
            async with repo.reading() as conn:
                await conn.execute("SELECT * FROM no_such_table")
    with pytest.raises(sqlite3.OperationalError):  # read connections do not write
        async with repo.reading() as conn:
            await conn.execute("DELETE FROM pieces")
    assert pool.idle == pool.size
    assert await repo.count_pieces() == 1
    assert await repo.ping()


async def test_a_dead_read_connection_is_replaced(seeded_repo: Repository) -> None:
    repo = seeded_repo
    pool = repo._readers
    assert pool is not None
    with pytest.raises(ValueError, match="no active connection"):
        async with pool.connection() as conn:
            await conn.close()  # its thread is gone
            await conn.execute("SELECT 1")
    assert pool.idle == pool.size
    for _ in range(pool.size * 2):  # every connection of the pool answers
        assert await repo.latest_piece_id() is not None


async def test_the_read_pool_closes_with_the_repository(tmp_path: Path) -> None:
    repo = await Repository.open(tmp_path / "bot.sqlite3")
    pool = repo._readers
    assert pool is not None and pool.size == 3
    threads = [conn._thread for conn in (repo._conn, *pool._all)]  # aiosqlite's, one each
    assert all(thread.is_alive() for thread in threads)
    await repo.close()
    for thread in threads:
        thread.join(5)
    assert not any(thread.is_alive() for thread in threads)
    with pytest.raises(StorageError):
        await repo.latest_piece_id()


async def test_reads_inside_a_write_transaction_see_its_writes(repo: Repository) -> None:
    async with repo.transaction():
        await repo._conn.execute(
            "INSERT INTO subscribers (chat_id, state, locale, subscribed_at, changed_at)"
            " VALUES (1, 'active', 'ru', 0, 0)"
        )
        row = await repo._fetchone("SELECT count(*) FROM subscribers")
        assert row is not None and row[0] == 1  # the writer, not a reader's snapshot
        other = await asyncio.create_task(repo._fetchone("SELECT count(*) FROM subscribers"))
        assert other is not None and other[0] == 0  # another task: the last commit


# -- counters --------------------------------------------------------------------------------------


async def test_statistics_counters_match_the_tables(seeded_repo: Repository) -> None:
    repo = seeded_repo
    for chat in range(10, 20):
        await repo.subscribe(chat, "ru")
    await repo.subscribe(10, "ru")  # again: no change
    await repo.unsubscribe(11)
    await repo.mark_inactive(12, "Forbidden: bot was blocked by the user")
    await repo.subscribe(11, "en")  # back
    await repo.unsubscribe(13)
    for chat in range(10, 16):
        await repo.add_follow(chat, "ru", _follow("тарифы на воду"))
    await repo.add_follow(10, "ru", _follow("Токаев"))
    await repo.add_follow(11, "ru", _follow("Токаева"))  # the same follow, another form
    speaker = parse_follow("Курамаев", FollowKind.SPEAKER)
    assert isinstance(speaker, FollowSpec)
    await repo.add_follow(11, "ru", speaker)
    follows = await repo.follows_of(10)
    removed = await repo.remove_follow(10, follows[0].id)
    assert removed is not None
    assert await repo.remove_follows_like(12, _follow("тарифы на воду").norm)
    second = await store(repo, prepare(SECOND))
    await repo.withdraw_piece(second, reason="test", actor=0)
    await repo.restore_piece(second, actor=0)
    await repo.withdraw_piece(second, reason="again", actor=0)
    assert await _counted(repo) == await _scanned(repo)
    assert (await repo.subscriber_counts()).active == 8
    assert await repo.count_pieces() == 1


async def test_counters_are_built_for_an_older_database(seeded_repo: Repository) -> None:
    """A database from before the counters (or with outdated ones) gets them, counted, at
    open; /stats shows the same numbers the scans give."""
    repo = seeded_repo
    for chat in range(30, 35):
        await repo.subscribe(chat, "ru")
        await repo.add_follow(chat, "ru", _follow("инфляция"))
    await repo._conn.executescript(
        "DROP TRIGGER counters_subscriber_in; DROP TRIGGER counters_follow_in;"
        " DROP TABLE stat_counters; DROP TABLE follow_topics;"
    )
    await repo._conn.execute(
        "INSERT INTO follows (chat_id, kind, phrase, norm, words,"
        " created_at) VALUES (99, 'topic', 'налог', 'налог', 1, 0)"
    )
    assert await ensure_counters(repo._conn)
    assert not await ensure_counters(repo._conn)  # current now: nothing to do
    assert await _counted(repo) == await _scanned(repo)
    assert await repo.follow_counts() == (6, 6)


# -- the broadcaster steps aside -------------------------------------------------------------------


async def test_background_work_waits_for_an_update_in_progress() -> None:
    priority = ReaderPriority(max_wait=5.0)
    assert priority.serving_now == 0
    await asyncio.wait_for(priority.yield_to_readers(), 0.1)  # nobody served: no wait
    order: list[str] = []

    async def send() -> None:
        await priority.yield_to_readers()
        order.append("send")

    with priority.serving():
        sending = asyncio.create_task(send())
        await asyncio.sleep(0.05)
        assert order == [] and priority.yielded == 1
        order.append("reply")
    await asyncio.wait_for(sending, 1)
    assert order == ["reply", "send"]


async def test_background_work_waits_a_bounded_time() -> None:
    priority = ReaderPriority(max_wait=0.05)
    with priority.serving():  # an update that takes long (a publish, say)
        started = time.perf_counter()
        await priority.yield_to_readers()
        assert 0.04 <= time.perf_counter() - started < 1.0


# -- end to end ------------------------------------------------------------------------------------


@pytest.mark.e2e
async def test_answer_while_the_database_writer_is_busy(tmp_path: Path) -> None:
    """A reader's /answer is answered while the writer's thread is busy with a long statement
    (a broadcast's claims and commits, a publish): readers read elsewhere."""
    async with running_bot(tmp_path, admin_ids=frozenset({ADMIN})) as h:
        await h.say(READER, "/answer 1")  # warm
        done = asyncio.Event()

        async def busy_writer() -> None:
            async with h.repo.transaction() as conn, conn.execute(SLOW, (6_000_000,)) as cursor:
                await cursor.fetchall()
            done.set()

        writing = asyncio.create_task(busy_writer())
        await asyncio.sleep(0.05)
        replies = await h.say(READER, "/answer 2")
        assert "2" in replies[0].text or replies[0].text
        assert not done.is_set(), "the reply waited for the writer"
        await writing


@pytest.mark.e2e
async def test_answer_while_stats_and_a_broadcast_run(tmp_path: Path) -> None:
    """/stats and a broadcast in progress: a reader's /answer is answered, /stats shows the
    counters, and the broadcast reaches every subscriber."""
    subscribers = tuple(range(2000, 2060))
    async with running_bot(
        tmp_path, admin_ids=frozenset({ADMIN}), chats=subscribers, broadcast_rate=30.0
    ) as h:
        for chat in subscribers:
            await h.repo.subscribe(chat, "ru")
        await h.repo.add_follow(READER, "ru", _follow("тарифы на воду"))
        second = await store(h.repo, prepare(SECOND))
        h.dp["broadcaster"].wake()
        stats = asyncio.create_task(h.say(ADMIN, "/stats"))
        answer = await h.say(READER, "/answer 1")
        assert answer and answer[0].text
        (shown,) = await stats
        assert "60" in shown.text  # active subscribers, from the counters
        assert await h.repo.count_pieces() == 2
        for _ in range(300):  # the last outcomes are committed just after their sends
            if (await h.repo.delivery_counts(second)).sent == len(subscribers):
                break
            await asyncio.sleep(0.1)
        assert (await h.repo.delivery_counts(second)).sent == len(subscribers)
        assert all(len(h.emu.messages(chat)) == 1 for chat in subscribers)
