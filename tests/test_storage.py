"""The repository on a real SQLite file: pieces round-trip, duplicates, migrations, choices."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.publishing import SEED_TITLE, prepare, seed_bytes, store
from storage import DuplicatePieceError, Repository, StorageError
from storage.migrations import available_migrations
from tests.conftest import DATA


async def test_piece_round_trips(seeded_repo: Repository) -> None:
    prepared = prepare(seed_bytes(), title=SEED_TITLE)
    piece_id = await seeded_repo.latest_piece_id()
    assert piece_id is not None
    piece = await seeded_repo.get_piece(piece_id)
    assert piece is not None
    assert piece.title == SEED_TITLE
    assert piece.turns == prepared.interview.turns
    assert piece.lead == prepared.interview.lead
    assert piece.credits == prepared.interview.credits
    assert piece.summary.text == prepared.summary.text
    assert piece.summary.gists == prepared.summary.gists


async def test_same_text_twice_is_one_piece(seeded_repo: Repository) -> None:
    with pytest.raises(DuplicatePieceError):
        await store(seeded_repo, prepare(seed_bytes()))
    assert await seeded_repo.count_pieces() == 1


async def test_newest_piece_and_archive_order(seeded_repo: Repository) -> None:
    first = await seeded_repo.latest_piece_id()
    second = await store(
        seeded_repo, prepare((DATA / "interviews" / "bus-network-reform.txt").read_bytes())
    )
    assert await seeded_repo.latest_piece_id() == second
    assert [p.id for p in await seeded_repo.list_pieces()] == [second, first]


async def test_chat_choice_lasts_until_a_newer_piece(seeded_repo: Repository) -> None:
    first = await seeded_repo.latest_piece_id()
    assert first is not None
    second = await store(
        seeded_repo, prepare((DATA / "interviews" / "bus-network-reform.txt").read_bytes())
    )
    await seeded_repo.set_chat_piece(42, first)
    assert await seeded_repo.current_piece_id(42) == first
    assert await seeded_repo.current_piece_id(43) == second
    third = await store(
        seeded_repo, prepare((DATA / "interviews" / "spring-flood-short.txt").read_bytes())
    )
    assert await seeded_repo.current_piece_id(42) == third


async def test_unknown_and_absurd_ids(seeded_repo: Repository) -> None:
    assert await seeded_repo.get_piece(999) is None
    assert await seeded_repo.get_piece(-1) is None
    assert await seeded_repo.get_piece(2**70) is None


async def test_failed_store_changes_nothing(
    seeded_repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = prepare((DATA / "interviews" / "bus-network-reform.txt").read_bytes())
    broken = prepared.__class__(
        prepared.interview, prepared.summary, [*prepared.quotes, None], prepared.source_hash
    )  # type: ignore[list-item]
    with pytest.raises(AttributeError):
        await store(seeded_repo, broken)
    assert await seeded_repo.count_pieces() == 1
    assert await seeded_repo.integrity_check() == "ok"


async def test_schema_is_migrated_and_pragmas_set(tmp_path: Path) -> None:
    repo = await Repository.open(tmp_path / "db.sqlite3")
    await repo.close()
    with sqlite3.connect(tmp_path / "db.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(available_migrations())
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # opening again applies nothing twice
    repo = await Repository.open(tmp_path / "db.sqlite3")
    await repo.close()


async def test_failed_migration_leaves_database_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.migrations as migrations

    good = migrations.available_migrations()
    repo = await Repository.open(tmp_path / "db.sqlite3")
    await repo.close()
    bad = migrations.Migration(
        len(good) + 1, "9999_bad.sql", "CREATE TABLE extra (x); INSERT INTO nowhere VALUES (1);"
    )
    monkeypatch.setattr(migrations, "available_migrations", lambda: [*good, bad])
    with pytest.raises(StorageError, match="no such table: nowhere"):
        await Repository.open(tmp_path / "db.sqlite3")
    with sqlite3.connect(tmp_path / "db.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(good)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "extra" not in tables


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "db.sqlite3") as conn:
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(StorageError, match="newer than this program"):
        await Repository.open(tmp_path / "db.sqlite3")


# ISO 8601 text as versions 1-4 wrote it (datetime.isoformat(), UTC), and one with an offset
_ISO_PIECES = {
    1: "2025-01-01T09:30:00.250000+00:00",
    2: "2025-01-01T09:30:00+00:00",  # no fraction: microseconds were 0
    3: "2025-03-01T12:00:59.999900+00:00",  # SQLite's own parsing would round to 12:01:00
    4: "2025-01-01T12:30:00.500000+03:00",  # 09:30:00.5 UTC
}


def _database_at_version_4(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        for migration in available_migrations()[:4]:
            conn.executescript(migration.sql)
        conn.execute("PRAGMA user_version = 4")
        for piece_id, published_at in _ISO_PIECES.items():
            conn.execute(
                "INSERT INTO pieces (id, title, lead, closing, credits, summary, source_hash,"
                " published_at) VALUES (?, ?, '[]', '[]', '[]', '{}', ?, ?)",
                (piece_id, f"Piece {piece_id}", f"hash-{piece_id}", published_at),
            )
            conn.execute(
                "INSERT INTO turns (piece_id, number, question, answer) VALUES (?, 1, ?, ?)",
                (piece_id, '["Сколько овец?"]', '["Триста овец."]'),
            )
            conn.execute(
                "INSERT INTO quotes (piece_id, turn_number, position, text)"
                " VALUES (?, 1, 0, 'Триста овец.')",
                (piece_id,),
            )
        conn.execute("INSERT INTO chat_pieces VALUES (42, 3, '2025-03-01T12:01:00.000001+00:00')")
        conn.executemany(
            "INSERT INTO subscribers VALUES (?, ?, ?, ?, ?, ?)",
            [
                (7, "active", "ru", "2024-12-31T23:59:59.999999+00:00",
                 "2024-12-31T23:59:59.999999+00:00", None),
                (8, "blocked", "en", "2024-06-01T10:00:00+00:00",
                 "2024-07-01T10:00:00.123456+00:00", "Forbidden: bot was blocked by the user"),
            ],
        )  # fmt: skip
        conn.execute(
            "INSERT INTO deliveries (piece_id, chat_id, locale, state, done_at)"
            " VALUES (1, 7, 'ru', 'sent', 1735723801.5)"
        )
        conn.execute(
            "INSERT INTO broadcasts (piece_id, total, created_at) VALUES (1, 1, 1735723800.25)"
        )


async def test_migration_5_converts_iso_times_to_unix_seconds(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    _database_at_version_4(db)
    expected = {i: datetime.fromisoformat(text) for i, text in _ISO_PIECES.items()}

    repo = await Repository.open(db)
    try:
        for piece_id, moment in expected.items():
            piece = await repo.get_piece(piece_id)
            assert piece is not None and piece.published_at == moment
            assert piece.turns and piece.turns[0].answer == ("Триста овец.",)
        # newest first, the order the ISO text gave (4 is 09:30:00.5 UTC)
        assert [p.id for p in await repo.list_pieces()] == [3, 4, 1, 2]
        assert await repo.latest_piece_id() == 3
        assert await repo.current_piece_id(42) == 3  # chosen after the newest piece came out
        hits = await repo.search_quotes("овец", limit=10)
        assert {(h.piece_id, h.published_at) for h in hits} == set(expected.items())
        assert [h.piece_id for h in hits] == [3, 4, 1, 2]  # the newer piece first
        blocked = await repo.get_subscriber(8)
        assert blocked is not None
        assert (blocked.subscribed_at, blocked.changed_at) == (
            "2024-06-01T10:00:00+00:00",
            "2024-07-01T10:00:00.123456+00:00",
        )
        active = await repo.get_subscriber(7)
        assert active is not None and active.subscribed_at == "2024-12-31T23:59:59.999999+00:00"
        broadcast = await repo.get_broadcast(1)
        assert broadcast is not None and broadcast.counts.sent == 1
        assert broadcast.created_at == 1735723800.25
        assert await repo.integrity_check() == "ok"
    finally:
        await repo.close()

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(available_migrations())
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        seconds = dict(conn.execute("SELECT id, published_at FROM pieces"))
        assert seconds == pytest.approx({i: m.timestamp() for i, m in expected.items()}, abs=1e-6)
        assert seconds[2] == 1735723800.0 and seconds[1] == 1735723800.25
        kinds = conn.execute(
            "SELECT typeof(p.published_at), typeof(c.chosen_at), typeof(s.subscribed_at),"
            " typeof(s.changed_at) FROM pieces p, chat_pieces c, subscribers s"
        ).fetchall()
        assert set(kinds) == {("real", "real", "real", "real")}
        (chosen,) = conn.execute("SELECT chosen_at FROM chat_pieces").fetchone()
        assert chosen == pytest.approx(datetime(2025, 3, 1, 12, 1, 0, 1, UTC).timestamp(), abs=1e-6)
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "pieces_published" in indexes


async def test_migration_5_refuses_a_time_it_cannot_read(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    _database_at_version_4(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE subscribers SET changed_at = 'yesterday' WHERE chat_id = 8")
    with pytest.raises(StorageError, match="NOT NULL"):
        await Repository.open(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
        assert conn.execute("SELECT typeof(published_at) FROM pieces").fetchone()[0] == "text"
