"""Numbered schema migrations tracked with ``PRAGMA user_version``.

Each ``migrations/NNNN_name.sql`` file runs once, in order, inside its own transaction together
with the ``user_version`` bump: a migration that fails leaves the database as it was.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib.resources import files

import aiosqlite

from storage.checks import StorageError

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    found = []
    for entry in files("storage").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..N without gaps, found {versions}")
    return found


async def migrate(conn: aiosqlite.Connection) -> int:
    """Bring the schema up to date; returns the resulting version."""
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    migrations = available_migrations()
    if current > len(migrations):
        raise StorageError(
            f"the database schema (version {current}) is newer than this program "
            f"({len(migrations)}); upgrade the program"
        )
    for migration in migrations[current:]:
        logger.info("Applying migration %s", migration.name)
        script = f"BEGIN IMMEDIATE;\n{migration.sql}\n;PRAGMA user_version = {migration.version};\nCOMMIT;"
        try:
            await conn.executescript(script)
        except Exception:
            if conn.in_transaction:
                await conn.rollback()
            raise
        current = migration.version
    return current
