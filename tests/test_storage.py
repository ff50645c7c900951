"""The repository on a real SQLite file: pieces round-trip, duplicates, migrations, choices."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.publishing import SEED_TITLE, prepare, seed_bytes, store
from storage import DuplicatePieceError, Repository
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
    with pytest.raises(sqlite3.OperationalError):
        await Repository.open(tmp_path / "db.sqlite3")
    with sqlite3.connect(tmp_path / "db.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(good)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "extra" not in tables


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "db.sqlite3") as conn:
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(RuntimeError, match="newer than this program"):
        await Repository.open(tmp_path / "db.sqlite3")
