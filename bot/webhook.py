"""Webhook mode: Telegram posts updates to an aiohttp server (behind an HTTPS proxy).

Requests must carry ``X-Telegram-Bot-Api-Secret-Token`` equal to ``WEBHOOK_SECRET`` (else 401,
checked by aiogram's ``SimpleRequestHandler``). ``webhook_serving`` starts in order — the
dispatcher's start-up (broadcaster), the HTTP server, the webhook registration — and undoes
what it started in reverse, whether start-up fails half-way or the bot stops. ``GET /healthz``
reports the database and the broadcaster.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from aiogram import Bot, Dispatcher
from aiogram.exceptions import AiogramError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.api_check import Patience, with_retries
from bot.config import Settings
from bot.failures import ExitCode, Fatal
from storage import Repository

logger = logging.getLogger(__name__)


def unlistenable(host: str, port: int, error: OSError) -> Fatal:
    """The one line for a WEBHOOK_HOST:WEBHOOK_PORT the bot cannot listen on."""
    return Fatal(
        ExitCode.CONFIG,
        f"WEBHOOK_HOST:WEBHOOK_PORT={host}:{port} cannot be listened on "
        f"({error.strerror or error}); choose another WEBHOOK_PORT or stop what uses it",
    )


def webhook_path(settings: Settings) -> str:
    """Validate the webhook settings (before any network call); the path Telegram posts to."""
    return settings.require_webhook()


def build_webhook_app(
    dp: Dispatcher, bot: Bot, repo: Repository, settings: Settings
) -> web.Application:
    """The HTTP side: the update handler at WEBHOOK_URL's path and ``/healthz``."""
    path = webhook_path(settings)
    app = web.Application()

    async def healthz(_request: web.Request) -> web.Response:
        database = "ok" if await repo.ping() else "error"
        broadcaster = dp.get("broadcaster")
        state = "stopped"
        if broadcaster is not None and broadcaster.running:
            # with several workers only one holds the broadcast lock; the others stand by
            state = "running" if broadcaster.ready else "standby"
        healthy = database == "ok" and state != "stopped"
        return web.json_response(
            {"status": "ok" if healthy else "degraded", "database": database, "broadcaster": state},
            status=200 if healthy else 503,
        )

    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=settings.webhook_secret).register(
        app, path=path
    )
    app.router.add_get("/healthz", healthz)
    return app


@contextlib.asynccontextmanager
async def webhook_serving(
    dp: Dispatcher,
    bot: Bot,
    repo: Repository,
    settings: Settings,
    patience: Patience,
    *,
    port: int | None = None,
    reuse_port: bool = False,
    register: bool = True,
) -> AsyncIterator[int]:
    """Serve the webhook on WEBHOOK_HOST:WEBHOOK_PORT (``port`` overrides; 0 picks a free one)
    and yield the port; on the way out, or when a step fails, undo the steps before it.

    A worker of several (``bot/workers.py``) listens with ``SO_REUSEPORT`` beside the others
    (``reuse_port``) and leaves the webhook's registration to the supervisor
    (``register=False``)."""
    host = settings.webhook_host
    port = settings.webhook_port if port is None else port
    app = build_webhook_app(dp, bot, repo, settings)
    workflow = {"dispatcher": dp, "bots": [bot], **dp.workflow_data}
    async with contextlib.AsyncExitStack() as stack:
        await dp.emit_startup(bot=bot, **workflow)
        stack.push_async_callback(dp.emit_shutdown, bot=bot, **workflow)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        try:
            await web.TCPSite(runner, host, port, reuse_port=reuse_port or None).start()
        except OSError as error:
            raise unlistenable(host, port, error) from error
        bound = int(runner.addresses[0][1])
        logger.info("Listening on %s:%d", host, bound)
        if register:
            await register_webhook(bot, settings, dp.resolve_used_update_types(), patience)
            stack.push_async_callback(remove_webhook, bot)
        yield bound


async def register_webhook(
    bot: Bot, settings: Settings, allowed_updates: list[str], patience: Patience
) -> None:
    """``setWebhook`` with the secret, transient trouble retried; a refusal is ``Fatal``."""
    await with_retries(
        lambda: bot.set_webhook(
            settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=allowed_updates,
        ),
        "setWebhook",
        patience,
        lambda reason: (
            f"the Bot API refused WEBHOOK_URL={settings.webhook_url} ({reason}); it must be "
            "the public https:// address of your reverse proxy, on port 443, 80, 88 or 8443"
        ),
    )
    logger.info("Webhook registered at %s", settings.webhook_url)


async def remove_webhook(bot: Bot) -> None:
    try:
        await bot.delete_webhook()
    except AiogramError as error:
        logger.warning("Could not remove the webhook: %s", error)
        return
    logger.info("Webhook removed")
