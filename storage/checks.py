"""The database file, checked before SQLite writes to it.

``check_database_path`` creates the folder if it is missing, makes sure the process can create
files in it (SQLite keeps its ``-wal`` and ``-shm`` files beside the database), and looks at an
existing file before anything is written: a file that is not an SQLite database, or whose
schema cannot be read, is refused and left exactly as it was. Every refusal is a
``StorageError`` whose message names ``DATABASE_PATH`` and says what to do.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from urllib.parse import quote

SQLITE_HEADER = b"SQLite format 3\x00"
_SIDE_FILES = ("-wal", "-shm", "-journal")


class StorageError(Exception):
    """The database cannot be used; the message names the file and what to do."""


def check_database_path(path: Path) -> None:
    """Raise ``StorageError`` unless ``path`` can hold the bot's database."""
    if str(path) == ":memory:":
        return
    _ensure_directory(path)
    _probe_writable(path)
    if path.exists() or path.is_symlink():
        _check_existing(path)


def _ensure_directory(path: Path) -> None:
    directory = path.parent
    if directory.is_dir():
        return
    blocker = next((p for p in (directory, *directory.parents) if p.is_file()), None)
    if blocker is not None:
        raise StorageError(
            f"DATABASE_PATH={path}: {blocker} is a file, not a folder; "
            "set DATABASE_PATH to a file in a folder"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StorageError(
            f"DATABASE_PATH={path}: cannot create the folder {directory} ({error.strerror}); "
            "create it for the bot's user or choose another path"
        ) from error


def _probe_writable(path: Path) -> None:
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=path.parent)
    except OSError as error:
        raise StorageError(
            f"DATABASE_PATH={path}: cannot create files in {path.parent} ({error.strerror}); "
            "SQLite keeps its journal beside the database, so the bot's user needs write "
            "access to the folder"
        ) from error
    os.close(fd)
    os.unlink(probe)


def _check_existing(path: Path) -> None:
    if path.is_dir():
        raise StorageError(f"DATABASE_PATH={path} is a folder; point it at a file inside")
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as error:
        raise StorageError(
            f"DATABASE_PATH={path} cannot be read ({error.strerror}); "
            "give the bot's user read and write access"
        ) from error
    if not header:
        return  # an empty file is an empty database to SQLite
    if header != SQLITE_HEADER:
        raise StorageError(
            f"DATABASE_PATH={path} is not an SQLite database (left as it is); "
            "move it away or set DATABASE_PATH to another file"
        )
    if not os.access(path, os.W_OK):
        raise StorageError(
            f"DATABASE_PATH={path} is read-only; give the bot's user write access to it"
        )
    _read_schema(path)


def _read_schema(path: Path) -> None:
    """Read the schema without writing: a damaged file is refused before a migration or
    ``journal_mode=WAL`` could touch it. A read-only open may create the ``-wal`` and ``-shm``
    files; those it created are removed again when the file is refused."""
    existed = {suffix for suffix in _SIDE_FILES if Path(f"{path}{suffix}").exists()}
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        for suffix in set(_SIDE_FILES) - existed:
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        raise StorageError(describe_sqlite_error(path, error)) from error


def describe_sqlite_error(
    path: Path | str, error: sqlite3.Error, *, migrating: bool = False
) -> str:
    """One line for an SQLite error on the database file, with what to do about it."""
    reason = str(error) or type(error).__name__
    lowered = reason.lower()
    if "locked" in lowered or "busy" in lowered:
        advice = "another process holds a long write; try again when it has finished"
    elif "readonly" in lowered or "read-only" in lowered:
        advice = "give the bot's user write access to the file and its folder"
    elif "malformed" in lowered or "not a database" in lowered or "corrupt" in lowered:
        advice = "restore it from a backup (README: Backups and upgrades)"
    elif "disk" in lowered and "full" in lowered:
        advice = "free some disk space"
    elif migrating:
        advice = "the database was left as it was; keep it and report this message"
    else:
        advice = "check the file, its folder and their permissions"
    doing = "upgrading the schema failed: " if migrating else ""
    return f"DATABASE_PATH={path}: {doing}{reason}; {advice}"
