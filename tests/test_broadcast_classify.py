"""What a failed send means: ``classify`` (error → verdict) and ``settle`` (verdict → the
delivery's outcome), as tables. Pure: no network, no database, no event loop."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import pytest
from aiogram import exceptions as tg
from aiogram.methods import SendMessage

from bot.broadcast import RetryPolicy
from bot.broadcast.delivery import settle
from bot.broadcast.sender import Ruling, Verdict, classify
from bot.domain.outbox import Claim, DeliveryState

SEND = SendMessage(chat_id=42, text="notification")


@dataclass(frozen=True)
class Row:
    name: str
    error: Exception
    verdict: Verdict
    reason: str | None = None  # None: the API's description (``error.message``)
    retry_after: int = 0
    expected: bool = True


ROWS = [
    # 429: every sender waits retry_after, then the same delivery goes again
    Row("429", tg.TelegramRetryAfter(SEND, "Too Many Requests: retry after 7", 7), Verdict.PAUSE, retry_after=7),
    # 403: the reader blocked the bot, or is gone: deactivate the subscriber
    Row("403 blocked", tg.TelegramForbiddenError(SEND, "Forbidden: bot was blocked by the user"), Verdict.UNREACHABLE),
    Row("403 deactivated", tg.TelegramForbiddenError(SEND, "Forbidden: user is deactivated"), Verdict.UNREACHABLE),
    Row("403 kicked", tg.TelegramForbiddenError(SEND, "Forbidden: bot was kicked from the group chat"), Verdict.UNREACHABLE),
    Row("403 other", tg.TelegramForbiddenError(SEND, "Forbidden: bot can't initiate conversation with a user"), Verdict.UNREACHABLE),
    # 400 that says the chat is gone: like a 403
    Row("400 chat not found", tg.TelegramBadRequest(SEND, "Bad Request: chat not found"), Verdict.UNREACHABLE),
    Row("400 user not found", tg.TelegramBadRequest(SEND, "Bad Request: user not found"), Verdict.UNREACHABLE),
    Row("400 PEER_ID_INVALID", tg.TelegramBadRequest(SEND, "Bad Request: PEER_ID_INVALID"), Verdict.UNREACHABLE),
    Row("400 bot was kicked", tg.TelegramBadRequest(SEND, "Bad Request: bot was kicked from the supergroup chat"), Verdict.UNREACHABLE),
    Row("400 deactivated", tg.TelegramBadRequest(SEND, "Bad Request: user is deactivated"), Verdict.UNREACHABLE),
    # any other 400: the same request would fail again
    Row("400 entities", tg.TelegramBadRequest(SEND, "Bad Request: can't parse entities: unclosed tag"), Verdict.FAILED),
    Row("400 too long", tg.TelegramBadRequest(SEND, "Bad Request: message is too long"), Verdict.FAILED),
    Row("400 migrated", tg.TelegramMigrateToChat(SEND, "Bad Request: group chat was upgraded to a supergroup chat", -1001), Verdict.FAILED),
    # 5xx: retried with backoff
    Row("500", tg.TelegramServerError(SEND, "Internal Server Error"), Verdict.RETRY),
    Row("502", tg.TelegramServerError(SEND, "Bad Gateway"), Verdict.RETRY),
    # timeouts and the network: retried with backoff
    Row("timeout", TimeoutError(), Verdict.RETRY, reason="request timed out"),
    Row("aiohttp timeout", aiohttp.ServerTimeoutError("read timed out"), Verdict.RETRY, reason="request timed out"),
    Row("network", tg.TelegramNetworkError(SEND, "ClientConnectorError: connection refused"), Verdict.RETRY),
    Row("aiohttp", aiohttp.ClientConnectionError("connection reset"), Verdict.RETRY, reason="ClientConnectionError('connection reset')"),
    Row("OSError", ConnectionResetError(104, "reset by peer"), Verdict.RETRY, reason="ConnectionResetError(104, 'reset by peer')"),
    # other API answers are retried too
    Row("401", tg.TelegramUnauthorizedError(SEND, "Unauthorized"), Verdict.RETRY),
    Row("404", tg.TelegramNotFound(SEND, "Not Found"), Verdict.RETRY),
    Row("409", tg.TelegramConflictError(SEND, "Conflict"), Verdict.RETRY),
    Row("413", tg.TelegramEntityTooLarge(SEND, "Request Entity Too Large"), Verdict.RETRY),
    Row("other status", tg.TelegramAPIError(SEND, "I'm a teapot"), Verdict.RETRY),
    # not the network but a bug: still never dropped, and its traceback is logged
    Row("bug", ValueError("oops"), Verdict.RETRY, reason="ValueError('oops')", expected=False),
]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_classify(row: Row) -> None:
    reason = row.reason if row.reason is not None else getattr(row.error, "message", None)
    assert classify(row.error) == Ruling(row.verdict, str(reason), row.retry_after, row.expected)


def test_the_table_reaches_every_verdict() -> None:
    assert {row.verdict for row in ROWS} == set(Verdict)


POLICY = RetryPolicy(max_attempts=4, base_delay=2.0, max_delay=300.0, jitter=0.2)
NOW = 1_000_000.0


def _claim(attempts: int) -> Claim:
    return Claim(id=7, piece_id=3, chat_id=42, locale="ru", attempts=attempts)


@dataclass(frozen=True)
class Settled:
    verdict: Verdict
    attempts: int  # before this send
    state: DeliveryState | None  # None: send again once the pause is over
    error: str | None = "why"


SETTLED = [
    Settled(Verdict.PAUSE, 0, None),
    Settled(Verdict.PAUSE, 3, None),  # a 429 is never an attempt, even after retries
    Settled(Verdict.UNREACHABLE, 0, DeliveryState.UNREACHABLE),
    Settled(Verdict.FAILED, 0, DeliveryState.FAILED),
    Settled(Verdict.FAILED, 2, DeliveryState.FAILED),
    Settled(Verdict.RETRY, 0, DeliveryState.PENDING),
    Settled(Verdict.RETRY, 2, DeliveryState.PENDING),
    # retries exhausted: failed, with the count and the last reason
    Settled(Verdict.RETRY, 3, DeliveryState.FAILED, "gave up after 4 attempts: why"),
]


@pytest.mark.parametrize(
    "row", SETTLED, ids=lambda row: f"{row.verdict.name.lower()} after {row.attempts}"
)
def test_settle(row: Settled) -> None:
    claim = _claim(row.attempts)
    outcome = settle(claim, Ruling(row.verdict, "why", retry_after=5), POLICY, NOW)
    if row.state is None:
        assert outcome is None
        return
    assert outcome is not None
    assert (outcome.claim, outcome.state, outcome.attempts, outcome.error) == (
        claim,
        row.state,
        row.attempts + 1,
        row.error,
    )
    assert outcome.message_id is None
    if row.state is DeliveryState.PENDING:
        backoff = POLICY.base_delay * 2**row.attempts  # 2 s, 4 s, 8 s … ± jitter
        assert NOW + 0.8 * backoff <= outcome.next_attempt <= NOW + 1.2 * backoff
    else:
        assert outcome.next_attempt == 0.0


def test_settle_walks_every_verdict() -> None:
    assert {row.verdict for row in SETTLED} == set(Verdict)


def test_backoff_doubles_up_to_its_ceiling() -> None:
    policy = RetryPolicy(base_delay=2.0, max_delay=10.0, jitter=0.0)
    assert [policy.delay(n) for n in range(1, 6)] == [2.0, 4.0, 8.0, 10.0, 10.0]
    assert [RetryPolicy(max_attempts=3).gives_up(n) for n in (1, 2, 3, 4)] == [
        False,
        False,
        True,
        True,
    ]
