"""One broadcaster per database: an exclusive ``flock`` on ``<database>.broadcast-lock``.

The kernel releases the lock when its process dies, so the holder knows that every ``sending``
row was left by a broadcaster that is gone. Without ``fcntl`` (non-POSIX), for an in-memory
database or when not asked for, there is no lock: ``acquire`` always succeeds, and claims rely on
their lease alone.
"""

from __future__ import annotations

from pathlib import Path

from bot.flock import FileLock


class BroadcastLock(FileLock):
    def __init__(self, database: Path | str, *, enabled: bool = True) -> None:
        in_file = enabled and str(database) != ":memory:"
        super().__init__(Path(f"{database}.broadcast-lock") if in_file else None)
