"""Before serving: does ``BOT_API_URL`` answer like a Bot API server, and does it accept
``BOT_TOKEN``? Asked with ``getMe``; transient trouble is retried with backoff.

``judge`` rules on one answer (status, body) and ``judge_failure`` on a request that got none;
both are pure and table-tested. ``Verdict.TRANSIENT`` (5xx, 429, timeouts, refused or reset
connections, DNS) is retried for up to ``START_TIMEOUT`` seconds, logged each time;
``Verdict.REFUSED`` (401, 404, HTML or other non-Bot-API answers, a rejected certificate) stops
at once. No message carries the token: they name ``BOT_API_URL`` alone, and the ``Redactor``
stands behind them.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)

from bot.failures import ExitCode, Fatal

logger = logging.getLogger(__name__)

T = TypeVar("T")
ATTEMPT_TIMEOUT = 10.0  # seconds for one getMe
FIRST_DELAY, MAX_DELAY = 1.0, 30.0
_POINT_IT = "set BOT_API_URL to https://api.telegram.org or to your telegram-bot-api server"


class Verdict(enum.Enum):
    READY = "ready"
    TRANSIENT = "transient"  # retried with backoff
    REFUSED = "refused"  # stops the process: a setting is wrong


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    detail: str  # READY: the bot's @username; TRANSIENT: the reason; REFUSED: the one line


def judge(url: str, status: int, body: bytes) -> Judgement:
    """Rule on ``getMe``'s answer from the server at ``url``."""
    if status >= 500 or status == 429:
        return Judgement(Verdict.TRANSIENT, f"HTTP {status}")
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
        text = body[:2048].decode("utf-8", "replace").lower()
        what = (
            "an HTML page"
            if "<html" in text or "<!doctype" in text or "<body" in text or "<pre" in text
            else "empty"
            if not body.strip()
            else "JSON, but not the Bot API's"
            if data is not None
            else "something that is not JSON"
        )
        return Judgement(
            Verdict.REFUSED,
            f"BOT_API_URL={url} does not answer like a Bot API server (getMe got HTTP {status}, "
            f"{what}); {_POINT_IT}",
        )
    if data["ok"]:
        result = data.get("result")
        if isinstance(result, dict) and result.get("is_bot") and result.get("username"):
            return Judgement(Verdict.READY, f"@{result['username']}")
        return Judgement(
            Verdict.REFUSED,
            f"BOT_API_URL={url} answered getMe without a bot in it; {_POINT_IT}",
        )
    code = data.get("error_code", status)
    description = " ".join(str(data.get("description") or "").split())[:200]
    if code == 401:
        return Judgement(
            Verdict.REFUSED,
            f"BOT_TOKEN was refused by the Bot API at {url} (401 Unauthorized): "
            "copy the token again from @BotFather (/mybots → API Token)",
        )
    if code == 404:
        return Judgement(
            Verdict.REFUSED,
            f"the Bot API at {url} answered getMe with 404 Not Found: BOT_TOKEN is not a bot "
            "token there, or BOT_API_URL is not the server's base URL",
        )
    if code == 429 or (isinstance(code, int) and code >= 500):
        return Judgement(Verdict.TRANSIENT, f"{code} {description}".strip())
    return Judgement(
        Verdict.REFUSED,
        f"the Bot API at {url} refused getMe ({code} {description}); check BOT_TOKEN and "
        "BOT_API_URL",
    )


def judge_failure(url: str, error: BaseException) -> Judgement:
    """Rule on a ``getMe`` that got no answer (the message never quotes the request URL)."""
    if isinstance(error, aiohttp.ClientSSLError):
        return Judgement(
            Verdict.REFUSED,
            f"BOT_API_URL={url}: the TLS connection failed ({type(error).__name__}); use the "
            "server's https address with a valid certificate",
        )
    if isinstance(error, aiohttp.InvalidURL | ValueError):
        return Judgement(Verdict.REFUSED, f"BOT_API_URL={url} is not a usable URL; {_POINT_IT}")
    if isinstance(error, TimeoutError):
        return Judgement(Verdict.TRANSIENT, "no answer in time")
    if isinstance(error, aiohttp.ClientConnectorError):
        errno = error.errno or 0
        reason = (
            os.strerror(errno).lower()
            if errno > 0
            else "the host name does not resolve"  # getaddrinfo's codes are negative
            if errno < 0
            else type(error).__name__
        )
        return Judgement(Verdict.TRANSIENT, f"cannot connect: {reason}")
    return Judgement(Verdict.TRANSIENT, type(error).__name__)


async def ask_get_me(url: str, token: str) -> Judgement:
    """One ``getMe`` to the server at ``url``, within ``ATTEMPT_TIMEOUT`` seconds."""
    try:
        async with (
            asyncio.timeout(ATTEMPT_TIMEOUT),
            aiohttp.ClientSession(trust_env=False) as session,
            session.post(f"{url}/bot{token}/getMe") as response,
        ):
            return judge(url, response.status, await response.read())
    except (aiohttp.ClientError, TimeoutError, ValueError) as error:
        return judge_failure(url, error)


class Patience:
    """Backoff between attempts (1, 2, 4 … 30 s) within ``timeout`` seconds (0: forever)."""

    def __init__(
        self,
        timeout: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.timeout = timeout
        self._clock = clock
        self._sleep = sleep
        self._started = clock()
        self._delay = FIRST_DELAY

    @property
    def waited(self) -> float:
        return self._clock() - self._started

    def next_wait(self) -> float | None:
        """Seconds to wait before the next attempt (the last one waits out the remaining
        time), or None when the time is up."""
        if not self.timeout:
            return self._delay
        remaining = self.timeout - self.waited
        return min(self._delay, remaining) if remaining > 0 else None

    async def sleep(self, delay: float) -> None:
        await self._sleep(delay)
        self._delay = min(self._delay * 2, MAX_DELAY)


async def wait_for_bot_api(
    url: str,
    token: str,
    patience: Patience,
    ask: Callable[[str, str], Awaitable[Judgement]] = ask_get_me,
) -> str:
    """The bot's @username once the server at ``url`` accepts the token; ``Fatal`` when it
    refuses (CONFIG) or stays out of reach past the patience (NETWORK)."""
    attempt = 0
    while True:
        attempt += 1
        judgement = await ask(url, token)
        if judgement.verdict is Verdict.READY:
            logger.info("Bot API at %s: %s", url, judgement.detail)
            return judgement.detail
        if judgement.verdict is Verdict.REFUSED:
            raise Fatal(ExitCode.CONFIG, judgement.detail)
        delay = patience.next_wait()
        if delay is None:
            raise Fatal(
                ExitCode.NETWORK,
                f"the Bot API at {url} did not answer for {patience.waited:.0f} s "
                f"({judgement.detail}); check BOT_API_URL and the network, then start again",
            )
        logger.warning(
            "Bot API at %s not ready (%s); attempt %d, retrying in %.3g s",
            url,
            judgement.detail,
            attempt,
            delay,
        )
        await patience.sleep(delay)


def judge_aiogram(error: AiogramError, refused: Callable[[str], str]) -> Judgement:
    """Rule on an aiogram error from a start-up call; ``refused(reason)`` words a refusal of
    the setting the call carries."""
    if isinstance(error, TelegramRetryAfter | TelegramServerError | TelegramNetworkError):
        return Judgement(Verdict.TRANSIENT, one_line_of(error))
    if isinstance(error, TelegramUnauthorizedError):
        return Judgement(Verdict.REFUSED, "BOT_TOKEN was refused by the Bot API (401 Unauthorized)")
    if isinstance(error, ClientDecodeError):
        return Judgement(
            Verdict.REFUSED, f"BOT_API_URL does not answer like a Bot API server; {_POINT_IT}"
        )
    return Judgement(Verdict.REFUSED, refused(one_line_of(error)))


def one_line_of(error: AiogramError) -> str:
    message = getattr(error, "message", None) or str(error)
    return " ".join(str(message).split())[:300]


async def with_retries(
    call: Callable[[], Awaitable[T]],
    what: str,
    patience: Patience,
    refused: Callable[[str], str],
) -> T:
    """``call()`` (the Bot API method ``what``) until it succeeds, retrying transient trouble;
    ``Fatal`` when the API refuses (worded by ``refused``) or time is up."""
    while True:
        try:
            return await call()
        except AiogramError as error:
            judgement = judge_aiogram(error, refused)
            last = error
        if judgement.verdict is Verdict.REFUSED:
            raise Fatal(ExitCode.CONFIG, judgement.detail) from last
        delay = patience.next_wait()
        if delay is None:
            raise Fatal(
                ExitCode.NETWORK,
                f"{what} failed for {patience.waited:.0f} s ({judgement.detail}); check "
                "BOT_API_URL and the network, then start again",
            ) from last
        logger.warning("%s failed (%s); retrying in %.3g s", what, judgement.detail, delay)
        await patience.sleep(delay)
