"""When a scheduled piece goes out: the editor's time, read in the newsroom's time zone.

Pure. ``2026-12-03 09:00`` (or ``…T09:00``, seconds allowed) is a wall-clock time in the
``TIMEZONE`` setting's zone; an explicit offset (``+05:00``, ``Z``) wins. A time that is not
understood, or not in the future, is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from bot.domain.lifecycle import EditRefused, Refusal

MAX_AHEAD_DAYS = 366


def parse_when(text: str, zone: tzinfo, now: datetime) -> datetime:
    """The moment ``text`` names (aware, UTC); ``EditRefused`` (BAD_TIME or TIME_IN_PAST)."""
    raw = " ".join(text.split()).replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise EditRefused(Refusal.BAD_TIME) from None
    if len(raw) < len("2026-12-03 09:00"):  # a date alone is not a time of publication
        raise EditRefused(Refusal.BAD_TIME)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    moment = moment.astimezone(UTC)
    if moment <= now:
        raise EditRefused(Refusal.TIME_IN_PAST)
    if (moment - now).days > MAX_AHEAD_DAYS:
        raise EditRefused(Refusal.BAD_TIME)
    return moment


def local(moment: datetime, zone: tzinfo) -> str:
    """A moment as the newsroom reads it: ``03.12.2026 09:00``."""
    return moment.astimezone(zone).strftime("%d.%m.%Y %H:%M")
