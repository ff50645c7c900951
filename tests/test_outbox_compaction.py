"""A bounded outbox (issue 16): finished deliveries are folded into per-piece counters and edit
targets, yet counts, /stats and corrections see every notification, and a database from
before (schema 10) is compacted by its migration without losing a count or an edit target."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest

from bot import newsroom
from bot.domain.followups import EDIT_WINDOW_S, FollowupAction
from bot.domain.outbox import DeliveryCounts, DeliveryState, Outcome
from bot.publishing import prepare, store
from storage import Repository
from storage.followups import queue_for_piece
from storage.migrations import available_migrations
from tests.conftest import DATA
from tests.harness import running_bot

FLOOD = (DATA / "interviews" / "spring-flood-short.txt").read_text("utf-8")
BUS = (DATA / "interviews" / "bus-network-reform.txt").read_bytes()


def variant(n: int) -> bytes:
    """The short interview with one more sentence in its last answer: another piece."""
    return (FLOOD.rstrip() + f" Это уточнение номер {n}.\n").encode("utf-8")


async def _send_all(repo: Repository, fail: set[int], gone: set[int]) -> dict[int, int]:
    """Play the broadcaster: claim every due delivery and record an outcome (a message id for
    the sent ones); returns the message id of each chat's notification."""
    sent: dict[int, int] = {}
    while claims := await repo.claim_deliveries(1000, lease=60):
        outcomes = []
        for c in claims:
            if c.chat_id in fail:
                outcomes.append(Outcome(c, DeliveryState.FAILED, 6, error="500: boom"))
            elif c.chat_id in gone:
                outcomes.append(Outcome(c, DeliveryState.UNREACHABLE, 1, error="403: blocked"))
            else:
                message_id = c.piece_id * 1000 + c.chat_id
                sent[c.chat_id] = message_id
                outcomes.append(Outcome(c, DeliveryState.SENT, 1, message_id=message_id))
        await repo.record_outcomes(outcomes)
    return sent


async def _rows(repo: Repository, sql: str, params: tuple[object, ...] = ()) -> list[tuple]:  # type: ignore[type-arg]
    return [tuple(r) for r in await repo._fetchall(sql, params)]


async def test_fifty_publishes_leave_no_finished_rows_and_exact_counts(repo: Repository) -> None:
    readers = list(range(1, 41))
    for chat in readers:
        await repo.subscribe(chat, "en" if chat % 7 == 0 else "ru")
    fail, gone = {5}, {9}
    expected: dict[int, DeliveryCounts] = {}
    messages: dict[int, dict[int, int]] = {}
    for n in range(50):
        if n == 10:
            await repo.unsubscribe(12)  # leaves: 40 more pieces without them
        piece_id = await store(repo, prepare(variant(n)))
        if n == 20:  # leaves with a notification waiting: cancelled, counted
            await repo.unsubscribe(13)
        messages[piece_id] = await _send_all(repo, fail, gone)
        expected[piece_id] = await repo.delivery_counts(piece_id)
        await repo.compact_deliveries(older_than=0)

    # nothing finished is left as a row, nothing is waiting
    assert await _rows(repo, "SELECT count(*) FROM deliveries") == [(0,)]
    # yet every count is what it was before compaction, and adds up
    first = min(expected)
    assert expected[first] == DeliveryCounts(sent=38, failed=1, unreachable=1)
    assert expected[first + 20].cancelled == 1  # reader 13
    for piece_id, counts in expected.items():
        assert await repo.delivery_counts(piece_id) == counts
        broadcast = await repo.get_broadcast(piece_id)
        assert broadcast is not None and broadcast.counts == counts
        assert counts.total == broadcast.total
    recent = await repo.recent_broadcasts(5)  # what /stats and `python -m bot stats` show
    assert [b.counts for b in recent] == [expected[b.piece_id] for b in recent]

    # a correction of the first piece follows up every notification it sent, no other
    async with repo.transaction() as conn:
        queued = await queue_for_piece(conn, first, FollowupAction.EDIT)
    assert queued == len(messages[first]) == 38
    targets = await _rows(
        repo, "SELECT chat_id, message_id, locale FROM followups WHERE piece_id = ?", (first,)
    )
    assert {chat: message for chat, message, _ in targets} == messages[first]
    assert {chat for chat, _, locale in targets if locale == "en"} == {7, 14, 21, 28, 35}

    # past the edit window a piece keeps its counts, and its notifications are no longer
    # edited: their edit targets and finished follow-ups are gone
    await repo._conn.execute("UPDATE followups SET state = 'done', result = 'edited'")
    await repo._conn.execute(
        "UPDATE broadcasts SET created_at = ? WHERE piece_id IN (?, ?)",
        (time.time() - EDIT_WINDOW_S - 60, first, first + 1),
    )
    await repo._conn.commit()
    assert await repo.prune_edit_targets() == 2 * 38
    assert await _rows(repo, "SELECT count(*) FROM followups") == [(0,)]
    assert await repo.delivery_counts(first + 1) == expected[first + 1]
    async with repo.transaction() as conn:
        assert await queue_for_piece(conn, first + 1, FollowupAction.EDIT) == 0
        assert await queue_for_piece(conn, first + 2, FollowupAction.EDIT) == 38


async def test_rows_that_still_matter_stay(repo: Repository) -> None:
    for chat in (1, 2, 3):
        await repo.subscribe(chat, "ru")
    piece_id = await store(repo, prepare(variant(1)))
    [one, *_rest] = await repo.claim_deliveries(3, lease=60)
    await repo.record_outcomes([Outcome(one, DeliveryState.SENT, 1, message_id=77)])
    await repo.release_claims([c.id for c in _rest])
    # a delivery that just finished stays a row for a while (reports read it), then goes
    assert await repo.compact_deliveries() == 0
    assert await repo.compact_deliveries(older_than=0) == 1
    # waiting ones stay; a withdrawal cancels them, and they stay while it is withdrawn
    await newsroom.withdraw(repo, piece_id, "ошибка", actor=0)
    assert await repo.compact_deliveries(older_than=0) == 0
    assert (await repo.delivery_counts(piece_id)) == DeliveryCounts(sent=1, cancelled=2)
    follow_ups = await _rows(repo, "SELECT chat_id, message_id, action FROM followups")
    assert follow_ups == [(one.chat_id, 77, "remove")]
    # a restore sends them after all
    await newsroom.restore(repo, piece_id, actor=0)
    assert (await repo.delivery_counts(piece_id)) == DeliveryCounts(sent=1, pending=2)
    await _send_all(repo, set(), set())
    assert await repo.compact_deliveries(older_than=0) == 2
    assert (await repo.delivery_counts(piece_id)) == DeliveryCounts(sent=3)


def _v10_database(path: Path) -> None:
    """A database as schema 10 left it, with finished deliveries of every kind."""
    db = sqlite3.connect(path)
    for migration in available_migrations()[:10]:
        db.executescript(migration.sql)
    db.execute("PRAGMA user_version = 10")
    for piece_id, status in ((1, "live"), (2, "withdrawn"), (3, "live")):
        db.execute(
            "INSERT INTO pieces (id, title, lead, closing, credits, summary, source_hash,"
            " published_at, status) VALUES (?, 't', '[]', '[]', '[]', '{}', ?, 0, ?)",
            (piece_id, f"h{piece_id}", status),
        )
    rows = [
        # piece, chat, state, message, last_error, done_at
        (1, 10, "sent", 501, None, 100.5),
        (1, 11, "sent", 502, None, 101.0),
        (1, 12, "failed", None, "500", 102.0),
        (1, 13, "unreachable", None, "403", 103.0),
        (1, 14, "cancelled", None, "unsubscribed", 104.0),
        (2, 10, "sent", 601, None, 200.0),
        (2, 11, "cancelled", None, "withdrawn", 201.0),  # a restore sends it: kept
        (3, 10, "sent", 701, None, 300.0),
        (3, 11, "pending", None, None, None),  # still to send, with its note
        (3, -100, "sent", 9, None, 301.0),  # the channel's post (no broadcast row)
    ]
    db.executemany(
        "INSERT INTO deliveries (piece_id, chat_id, locale, state, message_id, last_error,"
        " done_at) VALUES (?, ?, 'ru', ?, ?, ?, ?)",
        [(p, c, s, m, e, d) for p, c, s, m, e, d in rows],
    )
    db.execute(
        "INSERT INTO delivery_notes (delivery_id, follow, turn)"
        " SELECT id, 'тарифы', 2 FROM deliveries WHERE piece_id = 3 AND chat_id = 11"
    )
    db.executemany(
        "INSERT INTO broadcasts (piece_id, total, created_at, reported) VALUES (?, ?, ?, 1)",
        [(1, 5, 100.0), (2, 2, 200.0)],
    )
    db.commit()
    db.close()


async def test_migration_compacts_a_database_from_schema_10(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    _v10_database(path)
    repo = await Repository.open(path)
    try:
        assert await repo.delivery_counts(1) == DeliveryCounts(
            sent=2, failed=1, unreachable=1, cancelled=1
        )
        assert await repo.delivery_counts(2) == DeliveryCounts(sent=1, cancelled=1)
        assert await repo.delivery_counts(3) == DeliveryCounts(sent=2, pending=1)
        # only what still matters is a row: the pending one (its note kept), the withdrawn one
        left = await _rows(
            repo, "SELECT piece_id, chat_id, state, follow, turn FROM deliveries ORDER BY 1"
        )
        assert left == [(2, 11, "cancelled", None, None), (3, 11, "pending", "тарифы", 2)]
        claims = await repo.claim_deliveries(5, lease=60)
        assert [(c.chat_id, c.follow, c.turn) for c in claims] == [(11, "тарифы", 2)]
        # every sent notification can still be followed up, with when it was sent
        async with repo.transaction() as conn:
            for piece_id in (1, 2, 3):
                await queue_for_piece(conn, piece_id, FollowupAction.EDIT)
        targets = await _rows(
            repo, "SELECT piece_id, chat_id, message_id, sent_at FROM followups ORDER BY 1, 2"
        )
        assert targets == [
            (1, 10, 501, 100.0),
            (1, 11, 502, 101.0),
            (2, 10, 601, 200.0),
            (3, -100, 9, 301.0),
            (3, 10, 701, 300.0),
        ]
        # and a restore of the withdrawn piece still sends what its withdrawal cancelled
        await newsroom.restore(repo, 2, actor=0)
        assert (await repo.delivery_counts(2)).pending == 1
    finally:
        await repo.close()


async def test_a_correction_edits_notifications_after_they_were_compacted(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as h:
        readers = [920_001, 920_002, 920_003]
        for chat in readers:
            h.emu.add_chat(chat)
            await h.repo.subscribe(chat, "ru")
        piece_id = await store(h.repo, prepare(BUS))
        h.dp["broadcaster"].wake()
        deadline = time.monotonic() + 30
        while (await h.repo.delivery_counts(piece_id)).sent < len(readers):
            assert time.monotonic() < deadline
            await h.emu.wait_until(lambda: True, timeout=0.05)
        assert await h.repo.compact_deliveries(older_than=0) == len(readers)
        assert await _rows(h.repo, "SELECT count(*) FROM deliveries") == [(0,)]

        fixed = BUS.decode("utf-8").replace("60 рублей", "65 рублей").encode("utf-8")
        correction = await newsroom.prepare_correction(h.repo, piece_id, fixed)
        change = await newsroom.apply_correction(h.repo, correction, notify=False, actor=0)
        assert change.followups == len(readers)
        h.dp["broadcaster"].wake()
        for chat in readers:
            await h.emu.wait_until(lambda c=chat: h.emu.messages(c)[0].edited == 1, timeout=10)
            assert "✏️ исправлено" in h.emu.messages(chat)[0].text
            assert len(h.emu.messages(chat)) == 1
        edits = [c for c in h.emu.calls if c.method == "editMessageText" and c.ok]
        assert Counter(int(c.params["chat_id"]) for c in edits) == Counter(readers)
        assert (await h.repo.delivery_counts(piece_id)).sent == len(readers)


def test_operator_stats_count_compacted_deliveries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    db = tmp_path / "bot.sqlite3"

    async def fill() -> None:
        repo = await Repository.open(db)
        try:
            for chat in range(1, 11):
                await repo.subscribe(chat, "ru")
            for n in range(3):
                await store(repo, prepare(variant(n)))
                await _send_all(repo, fail={2}, gone=set())
                await repo.compact_deliveries(older_than=0)
            assert await _rows(repo, "SELECT count(*) FROM deliveries") == [(0,)]
        finally:
            await repo.close()

    asyncio.run(fill())
    monkeypatch.setenv("DATABASE_PATH", str(db))
    monkeypatch.setenv("BOT_TOKEN", "")
    assert main(["stats"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "sent\t" in line]
    assert len(lines) == 3
    assert all("9/10 sent\t1 failed\t0 unreachable\t0 cancelled\t0 pending" in x for x in lines)
