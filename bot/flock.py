"""An exclusive ``flock`` on a file beside the database, released by the kernel when the
process dies. ``BroadcastLock`` (one broadcaster per database) and the serving instance lock
(one ``run`` or ``webhook`` per database) are two of these on two files."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from bot.failures import ExitCode, Fatal

try:
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


class FileLock:
    """``acquire`` takes the lock without waiting; without ``fcntl`` (or without a path) there
    is no lock and ``acquire`` always succeeds."""

    def __init__(self, path: Path | None) -> None:
        self.path = path if fcntl is not None else None
        self._fd: int | None = None

    @property
    def exclusive(self) -> bool:
        """Whether holding this lock means nobody else holds it."""
        return self.path is not None

    def acquire(self, note: str = "") -> bool:
        """True if held (or there is none to take). ``note`` is written into the file for
        whoever finds it taken (``holder``)."""
        if self.path is None or self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        if note:
            os.ftruncate(fd, 0)
            os.write(fd, note.encode())
        return True

    def holder(self) -> str:
        """What the holder wrote into the file (its process id), or ``""``."""
        if self.path is None:
            return ""
        try:
            return self.path.read_text("utf-8", errors="replace").strip()[:100]
        except OSError:
            return ""

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None


@contextlib.contextmanager
def instance_lock(database: Path) -> Iterator[None]:
    """Hold ``<database>.instance-lock`` while serving; ``Fatal(LOCKED)`` if another process
    does (two bots on one database and one token would take each other's updates)."""
    in_file = str(database) != ":memory:"
    lock = FileLock(Path(f"{database}.instance-lock") if in_file else None)
    if not lock.acquire(note=f"pid {os.getpid()}"):
        holder = lock.holder() or "pid unknown"
        raise Fatal(
            ExitCode.LOCKED,
            f"DATABASE_PATH={database} is in use by another bot process ({holder}); "
            "stop it first, or give this one another DATABASE_PATH",
        )
    try:
        yield
    finally:
        lock.release()
