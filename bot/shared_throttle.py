"""Per-user throttling that holds across webhook worker processes (``WEBHOOK_WORKERS`` > 1).

The same token bucket as ``ThrottlingMiddleware`` (rate, burst, one notice per episode, inline
queries in a bucket of their own), kept in a table of fixed-size slots in memory that every
worker maps: an unnamed temporary file the supervisor creates and hands to each worker as an
open descriptor, so nothing is left on disk and a restart starts from empty buckets.

Each bucket is stored as its "theoretical arrival time" (GCRA, the token bucket written as one
number): ``tat`` is when the bucket would be full again; an update at ``now`` is allowed when
``tat - now`` is at most ``(burst - 1) / rate``, and then moves ``tat`` on by ``1 / rate``. A
slot whose ``tat`` has passed holds a full bucket, i.e. nothing, and is free for anyone.

A slot is found by hashing the user into a window of ``PROBE`` slots; when every slot of the
window holds a live bucket of someone else, the one closest to full is replaced (it forgets
at most a partly used bucket, like the per-process table's least-recently-seen eviction).
A POSIX record lock (``lockf``) on the file serialises the read-modify-write of a slot: held
for a few microseconds, never across an ``await``. Not ``flock``: an ``flock`` belongs to the
open file description, which the workers share since they inherit one descriptor, so it would
not keep them apart; a record lock belongs to the process. ``time.monotonic`` is the system-wide monotonic clock
on Linux, the same in every worker.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import tempfile
import time
from collections.abc import Callable
from typing import IO

from aiogram.utils.i18n import I18n

from bot.middlewares import INLINE_BURST, INLINE_RATE, ThrottlingMiddleware

_SLOT = struct.Struct("<qdq")  # key (0: empty), tat, warned
SLOTS = 1 << 17  # 131,072 slots, 3 MiB: room for every active user of a busy hour
PROBE = 8
_GOLDEN = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1


class SharedBuckets:
    """The table in memory shared by the workers; ``create`` in the supervisor, ``attach`` in
    each worker to the descriptor it inherited."""

    def __init__(self, fd: int, slots: int = SLOTS) -> None:
        if slots & (slots - 1):
            raise ValueError("slots must be a power of two")
        self.fd = fd
        self.slots = slots
        self._shift = 64 - slots.bit_length() + 1
        self._map = mmap.mmap(fd, slots * _SLOT.size)

    @classmethod
    def create(cls, slots: int = SLOTS) -> tuple[SharedBuckets, IO[bytes]]:
        """A zeroed table in an unnamed temporary file; keep the file open while workers run."""
        file = tempfile.TemporaryFile()  # noqa: SIM115 - open as long as the workers run
        os.ftruncate(file.fileno(), slots * _SLOT.size)
        return cls(file.fileno(), slots), file

    def close(self) -> None:
        self._map.close()

    def allow(self, key: int, now: float, interval: float, tolerance: float) -> tuple[bool, bool]:
        """(allowed, first refusal of this episode) for one update under ``key`` (> 0):
        ``interval`` = 1/rate, ``tolerance`` = (burst - 1)/rate."""
        start = ((key * _GOLDEN) & _MASK64) >> self._shift
        mask = self.slots - 1
        view = self._map
        fcntl.lockf(self.fd, fcntl.LOCK_EX)
        try:
            place = -1
            tat = now
            warned = 0
            free = -1
            oldest = -1
            oldest_tat = float("inf")
            for step in range(PROBE):
                offset = ((start + step) & mask) * _SLOT.size
                slot_key, slot_tat, slot_warned = _SLOT.unpack_from(view, offset)
                if slot_key == key:
                    place = offset
                    if slot_tat > now:
                        tat, warned = slot_tat, slot_warned
                    break
                if slot_key == 0 or slot_tat <= now:
                    if free < 0:
                        free = offset
                elif slot_tat < oldest_tat:
                    oldest, oldest_tat = offset, slot_tat
            if place < 0:
                place = free if free >= 0 else oldest
            if tat - now <= tolerance:
                tat += interval
                # a notice again only once the bucket is at least half full
                if tolerance + interval - (tat - now) >= (tolerance + interval) / 2:
                    warned = 0
                _SLOT.pack_into(view, place, key, tat, warned)
                return True, False
            _SLOT.pack_into(view, place, key, tat, 1)
            return False, not warned
        finally:
            fcntl.lockf(self.fd, fcntl.LOCK_UN)


class SharedThrottlingMiddleware(ThrottlingMiddleware):
    """``ThrottlingMiddleware`` whose buckets live in ``SharedBuckets``: a user whose updates
    are spread over several workers is throttled as if one process served them all."""

    def __init__(
        self,
        i18n: I18n,
        buckets: SharedBuckets,
        *,
        rate: float = 3.0,
        burst: float = 12.0,
        clock: Callable[[], float] = time.monotonic,
        inline_rate: float = INLINE_RATE,
        inline_burst: float = INLINE_BURST,
    ) -> None:
        super().__init__(
            i18n,
            rate=rate,
            burst=burst,
            clock=clock,
            inline_rate=inline_rate,
            inline_burst=inline_burst,
        )
        self.buckets = buckets
        self._kinds = {
            inline: (1 / r, (b - 1) / r)
            for inline, (r, b) in (
                (False, (self.rate, self.burst)),
                (True, (self.inline_rate, self.inline_burst)),
            )
        }

    def allow(self, user_id: int, *, inline: bool = False) -> tuple[bool, bool]:
        if user_id <= 0:  # not a person (Telegram's users are positive); never a slot
            return True, False
        interval, tolerance = self._kinds[inline]
        return self.buckets.allow(user_id * 2 + inline, self.clock(), interval, tolerance)
