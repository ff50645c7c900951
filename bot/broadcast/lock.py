"""One broadcaster per database: an exclusive ``flock`` on ``<database>.broadcast-lock``.

The kernel releases the lock when its process dies, so the holder knows that every ``sending``
row was left by a broadcaster that is gone. Without ``fcntl`` (non-POSIX), for an in-memory
database or when not asked for, there is no lock: ``acquire`` always succeeds, and claims rely on
their lease alone.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


class BroadcastLock:
    def __init__(self, database: Path | str, *, enabled: bool = True) -> None:
        self.path = (
            Path(f"{database}.broadcast-lock")
            if enabled and fcntl is not None and str(database) != ":memory:"
            else None
        )
        self._fd: int | None = None

    @property
    def exclusive(self) -> bool:
        """Whether holding this lock means no other broadcaster sends from the database."""
        return self.path is not None

    def acquire(self) -> bool:
        """Take the lock without waiting; True if held (or there is none to take)."""
        if self.path is None or self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None
