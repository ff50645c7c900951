"""The start-up path of ``run`` and ``webhook``: each resource opened in order and closed in
reverse, whatever step fails.

``bot.cli`` has already checked what needs no network and no aiogram (the token, the webhook
settings, the database path) and holds the instance lock (``bot/flock.py``: one serving
process per database). Here: the database; the bot's HTTP session; ``getMe`` against
``BOT_API_URL`` (``bot/api_check.py``: transient trouble retried, a refusal stops); the bundled
interview and the search index; the dispatcher with its broadcaster; polling or the webhook
server (``bot/webhook.py``). An ``AsyncExitStack`` holds each close, so a failure at any step
closes what came before it, in reverse, before the one-line error is printed — nothing is left
running. SIGINT/SIGTERM during start-up stop it the same way (exit 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import signal
from collections.abc import Iterator

from aiogram import Bot
from aiogram.exceptions import AiogramError

from bot.api_check import Patience, Verdict, judge_aiogram, wait_for_bot_api
from bot.app import build_bot, build_dispatcher, prepare_to_serve
from bot.config import Settings
from bot.failures import ExitCode, Fatal
from bot.webhook import webhook_serving
from bot.workers import supervise
from storage import Repository

logger = logging.getLogger(__name__)


class Mode(enum.Enum):
    POLLING = "run"
    WEBHOOK = "webhook"


@contextlib.contextmanager
def stop_on_signal() -> Iterator[list[int]]:
    """SIGINT/SIGTERM cancel the current task (start-up, or the webhook server's wait); the
    list yielded records the signals received. aiogram's polling installs its own."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    received: list[int] = []

    def stop(signum: int) -> None:
        if not received and task is not None:
            task.cancel()
        received.append(signum)

    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop, signum)
    try:
        yield received
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


async def serve(settings: Settings, mode: Mode) -> None:
    """Poll or serve the webhook until SIGINT/SIGTERM; ``Fatal`` for an expected failure."""
    token = settings.require_token()
    if mode is Mode.WEBHOOK:
        settings.require_webhook()  # https and a secret, before any network call
    with stop_on_signal() as received:
        try:
            if mode is Mode.WEBHOOK and settings.webhook_workers > 1:
                await supervise(settings, token)
            else:
                await _serve(settings, mode, token)
        except asyncio.CancelledError:
            if not received:
                raise
            logger.info("Stopped by signal %d", received[0])


async def _leave_webhook(bot: Bot) -> None:
    """Telegram refuses getUpdates while a webhook is set (a ``webhook`` process that did not
    stop cleanly, or another deployment): polling means this bot takes the updates, so remove
    it, keeping the updates that wait, and say so."""
    info = await bot.get_webhook_info()
    if info.url:
        await bot.delete_webhook(drop_pending_updates=False)
        logger.warning(
            "A webhook was set (%d updates pending there): removed it to poll",
            info.pending_update_count,
        )


async def _serve(settings: Settings, mode: Mode, token: str) -> None:
    database = settings.database_path
    async with contextlib.AsyncExitStack() as stack:
        repo = await Repository.open(database)
        stack.push_async_callback(repo.close)
        bot = build_bot(settings, token)
        stack.push_async_callback(bot.session.close)
        patience = Patience(settings.start_timeout)
        await wait_for_bot_api(settings.bot_api_url, token, patience)
        await prepare_to_serve(repo)
        dp = build_dispatcher(repo, settings)
        try:
            if mode is Mode.POLLING:
                await _leave_webhook(bot)
                await dp.start_polling(bot, handle_signals=True, close_bot_session=False)
            else:
                async with webhook_serving(dp, bot, repo, settings, patience):
                    await asyncio.Event().wait()  # until a signal cancels it
        except AiogramError as error:
            judgement = judge_aiogram(error, lambda reason: f"the Bot API refused: {reason}")
            code = ExitCode.CONFIG if judgement.verdict is Verdict.REFUSED else ExitCode.NETWORK
            raise Fatal(code, judgement.detail) from error
