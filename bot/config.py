"""Settings: one frozen object, read once from the environment (and ``.env``), validated."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_DATABASE_PATH = "data/bot.sqlite3"
DEFAULT_TIMEZONE = "Asia/Almaty"
_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,200}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """A missing or malformed setting; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    bot_token: str = field(default="", repr=False)
    bot_api_url: str = DEFAULT_API_URL
    database_path: Path = Path(DEFAULT_DATABASE_PATH)
    admin_ids: frozenset[int] = frozenset()
    broadcast_rate: float = 25.0
    broadcast_paid: bool = False
    log_level: str = "INFO"
    throttle_rate: float = 3.0  # updates per second per user; 0 turns throttling off
    throttle_burst: float = 12.0
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8080
    webhook_workers: int = 1  # webhook worker processes sharing the port and the database
    start_timeout: float = 300.0  # seconds to wait for the Bot API at start; 0 waits forever
    timezone: str = DEFAULT_TIMEZONE  # scheduled times without an offset are read in this zone
    channel_id: str = ""  # a channel or group (numeric id or @username) each piece is posted to
    channel_thread_id: int | None = None  # a forum topic of that group
    # /ask ranks with the embedding model too (loaded in the background after start); off: by
    # lemmas only. The environment's default is on; a Settings built in code (tests) is off.
    ask_embeddings: bool = False

    @classmethod
    def load(
        cls, env: Mapping[str, str] | None = None, *, env_file: str | Path = ".env"
    ) -> Settings:
        """Read settings from ``env`` (default: the process environment over ``.env``)."""
        if env is None:
            file_values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
            env = {**file_values, **os.environ}
        token = env.get("BOT_TOKEN", "").strip()
        if token and not _TOKEN.match(token):
            raise SettingsError(
                "BOT_TOKEN is malformed: expected '<digits>:<secret>' from @BotFather"
            )
        api_url = env.get("BOT_API_URL", "").strip() or DEFAULT_API_URL
        if re.search(r"/bot\d+:", api_url) or (token and token in api_url):
            raise SettingsError(
                "BOT_API_URL must be the server's base URL (like https://api.telegram.org), "
                "without /bot<token>: the token goes in BOT_TOKEN"
            )
        if not re.match(r"^https?://[^\s/]+", api_url):
            raise SettingsError(f"BOT_API_URL must be an http(s) URL, got {api_url!r}")
        paid = _flag(env, "BROADCAST_PAID")
        rate = _number(env, "BROADCAST_RATE", 25.0)
        if not 0 < rate <= (1000 if paid else 30):
            limit = "1000 with BROADCAST_PAID=1" if paid else "30 (Telegram's free limit)"
            raise SettingsError(f"BROADCAST_RATE must be above 0 and at most {limit}, got {rate:g}")
        level = env.get("LOG_LEVEL", "").strip().upper() or "INFO"
        if level not in _LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, got {level!r}")
        throttle_rate = _number(env, "THROTTLE_RATE", 3.0)
        throttle_burst = _number(env, "THROTTLE_BURST", 12.0)
        if throttle_rate < 0 or throttle_burst < 1:
            raise SettingsError("THROTTLE_RATE must be >= 0 and THROTTLE_BURST >= 1")
        start_timeout = _number(env, "START_TIMEOUT", 300.0)
        if start_timeout < 0:
            raise SettingsError(f"START_TIMEOUT must be seconds >= 0, got {start_timeout:g}")
        port = _number(env, "WEBHOOK_PORT", 8080)
        if port != int(port) or not 0 < port < 65536:
            raise SettingsError(f"WEBHOOK_PORT must be a port number, got {port:g}")
        workers = _number(env, "WEBHOOK_WORKERS", 1)
        if workers != int(workers) or not 1 <= workers <= 64:
            raise SettingsError(
                f"WEBHOOK_WORKERS must be a whole number from 1 to 64, got {workers:g}"
            )
        timezone = env.get("TIMEZONE", "").strip() or DEFAULT_TIMEZONE
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"TIMEZONE must be an IANA time zone such as Asia/Almaty, got {timezone!r}"
            ) from None
        channel = env.get("CHANNEL_ID", "").strip()
        if channel and not re.fullmatch(r"-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31}", channel):
            raise SettingsError(
                f"CHANNEL_ID must be a numeric chat id or an @username, got {channel!r}"
            )
        thread = env.get("CHANNEL_THREAD_ID", "").strip()
        if thread and (not channel or not re.fullmatch(r"\d{1,10}", thread)):
            raise SettingsError(
                "CHANNEL_THREAD_ID must be a forum topic's numeric id, with CHANNEL_ID set"
            )
        return cls(
            bot_token=token,
            bot_api_url=api_url.rstrip("/"),
            database_path=Path(env.get("DATABASE_PATH", "").strip() or DEFAULT_DATABASE_PATH),
            admin_ids=_ids(env.get("ADMIN_IDS", "")),
            broadcast_rate=rate,
            broadcast_paid=paid,
            log_level=level,
            throttle_rate=throttle_rate,
            throttle_burst=throttle_burst,
            webhook_url=env.get("WEBHOOK_URL", "").strip(),
            webhook_secret=env.get("WEBHOOK_SECRET", "").strip(),
            webhook_host=env.get("WEBHOOK_HOST", "").strip() or "127.0.0.1",
            webhook_port=int(port),
            webhook_workers=int(workers),
            start_timeout=start_timeout,
            timezone=timezone,
            channel_id=channel,
            channel_thread_id=int(thread) if thread else None,
            ask_embeddings=env.get("ASK_EMBEDDINGS", "").strip() == ""
            or _flag(env, "ASK_EMBEDDINGS"),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def require_webhook(self) -> str:
        """Check the webhook settings (before any network call); the path Telegram posts to."""
        if not self.webhook_url:
            raise SettingsError("WEBHOOK_URL is not set: the public https:// URL Telegram posts to")
        parts = urlsplit(self.webhook_url)
        if parts.scheme != "https" or not parts.netloc:
            raise SettingsError(
                "WEBHOOK_URL must be an https:// URL (Telegram posts only over HTTPS; let the "
                f"reverse proxy terminate TLS), got {parts.scheme or 'no'} scheme"
            )
        if not _SECRET.match(self.webhook_secret):
            raise SettingsError(
                "WEBHOOK_SECRET is required: 1-256 characters of A-Z, a-z, 0-9, _ and -"
            )
        return parts.path or "/"

    def require_token(self) -> str:
        if not self.bot_token:
            raise SettingsError(
                "BOT_TOKEN is not set: put it in the environment or .env "
                "(or run `python -m bot console` for a local preview)"
            )
        return self.bot_token


def _ids(raw: str) -> frozenset[int]:
    ids = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not re.fullmatch(r"-?\d{1,20}", part):
            raise SettingsError(f"ADMIN_IDS must be comma-separated numeric user ids, got {part!r}")
        ids.add(int(part))
    return frozenset(ids)


def _number(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{key} must be a number, got {raw!r}") from None


def _flag(env: Mapping[str, str], key: str) -> bool:
    raw = env.get(key, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{key} must be 1 or 0, got {raw!r}")
