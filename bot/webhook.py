"""Webhook mode: Telegram posts updates to an aiohttp server (behind an HTTPS proxy).

Requests must carry ``X-Telegram-Bot-Api-Secret-Token`` equal to ``WEBHOOK_SECRET`` (else 401,
checked by aiogram's ``SimpleRequestHandler``). The webhook is registered on start and removed on
shutdown. ``GET /healthz`` reports the database and the broadcaster.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.app import build_bot, build_dispatcher, prepare_to_serve
from bot.config import Settings, SettingsError
from storage import Repository

logger = logging.getLogger(__name__)

_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def webhook_path(settings: Settings) -> str:
    """Validate the webhook settings; the path Telegram will post to."""
    if not settings.webhook_url:
        raise SettingsError("WEBHOOK_URL is not set: the public https:// URL Telegram posts to")
    parts = urlsplit(settings.webhook_url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise SettingsError(f"WEBHOOK_URL must be an https:// URL, got {settings.webhook_url!r}")
    if not _SECRET.match(settings.webhook_secret):
        raise SettingsError(
            "WEBHOOK_SECRET is required: 1-256 characters of A-Z, a-z, 0-9, _ and -"
        )
    return parts.path or "/"


def build_webhook_app(
    dp: Dispatcher, bot: Bot, repo: Repository, settings: Settings
) -> web.Application:
    path = webhook_path(settings)
    app = web.Application()

    async def register_webhook(_app: web.Application) -> None:
        await bot.set_webhook(
            settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=dp.resolve_used_update_types(),
        )
        logger.info("Webhook registered at %s", settings.webhook_url)

    async def remove_webhook(_app: web.Application) -> None:
        await bot.delete_webhook()
        logger.info("Webhook removed")

    async def healthz(_request: web.Request) -> web.Response:
        database = "ok" if await repo.ping() else "error"
        broadcaster = dp.get("broadcaster")
        state = "running" if broadcaster is not None and broadcaster.running else "stopped"
        healthy = database == "ok" and state == "running"
        return web.json_response(
            {"status": "ok" if healthy else "degraded", "database": database, "broadcaster": state},
            status=200 if healthy else 503,
        )

    # shutdown order: remove the webhook, stop the dispatcher (broadcaster), close the session
    app.on_shutdown.append(remove_webhook)
    setup_application(app, dp, bot=bot)
    app.on_startup.append(register_webhook)
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=settings.webhook_secret).register(
        app, path=path
    )
    app.router.add_get("/healthz", healthz)
    return app


async def run_webhook(settings: Settings) -> None:
    """Serve the webhook on WEBHOOK_HOST:WEBHOOK_PORT until SIGINT/SIGTERM."""
    token = settings.require_token()
    webhook_path(settings)
    repo = await Repository.open(settings.database_path)
    try:
        await prepare_to_serve(repo)
        bot = build_bot(settings, token)
        dp = build_dispatcher(repo, settings)
        runner = web.AppRunner(build_webhook_app(dp, bot, repo, settings), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
            await site.start()
            logger.info("Listening on %s:%d", settings.webhook_host, settings.webhook_port)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
        finally:
            await runner.cleanup()
    finally:
        await repo.close()
