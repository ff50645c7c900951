"""Building the bot and the dispatcher, and what they need before the first update."""

from __future__ import annotations

import gc
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import AiogramError
from aiogram.types import BotCommand, TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.answers import AnswerFinder
from bot.broadcast import BroadcastConfig, Broadcaster
from bot.channel import check_channel
from bot.config import Settings
from bot.domain.language import morph
from bot.i18n import N_, build_i18n, reader_locale
from bot.middlewares import LatestInlineQuery, ThrottlingMiddleware, UpdateLogMiddleware
from bot.publishing import ensure_seed
from bot.session import JsonSession
from bot.shared_throttle import SharedBuckets, SharedThrottlingMiddleware
from handlers import get_routers
from storage import Repository

logger = logging.getLogger(__name__)

# (command, description) — descriptions are translated per menu language
COMMANDS = (
    ("start", N_("Start and main menu")),
    ("summary", N_("Summary of the piece")),
    ("questions", N_("List of questions")),
    ("answer", N_("Answer number N")),
    ("pieces", N_("All published pieces")),
    ("search", N_("Find quotes")),
    ("ask", N_("Ask a question in your own words")),
    ("subscribe", N_("Get each new piece as it comes out")),
    ("unsubscribe", N_("Stop notifications about new pieces")),
    ("follow", N_("Get pieces about a person or a topic")),
    ("following", N_("What you follow")),
    ("settings", N_("What comes to you, silence, a daily digest")),
    ("help", N_("How to use the bot")),
)


class ReaderLocaleMiddleware(I18nMiddleware):
    """The reader's Telegram language when we speak it, else the default (Russian)."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        return reader_locale(self.i18n, user.language_code if user else None)


def build_bot(settings: Settings, token: str | None = None) -> Bot:
    session = JsonSession(api=TelegramAPIServer.from_base(settings.bot_api_url))
    return Bot(
        token or settings.require_token(),
        session=session,
        default=DefaultBotProperties(
            parse_mode=ParseMode.HTML,
            link_preview_is_disabled=True,
        ),
    )


def build_dispatcher(
    repo: Repository,
    settings: Settings,
    i18n: I18n | None = None,
    *,
    shared_buckets: SharedBuckets | None = None,
) -> Dispatcher:
    """``shared_buckets``: one of several webhook workers, throttling in the table they share
    (``bot/shared_throttle.py``) rather than in this process alone."""
    i18n = i18n or build_i18n()
    broadcaster = Broadcaster(repo, BroadcastConfig.from_settings(settings), i18n)
    answers = AnswerFinder(repo, embeddings=settings.ask_embeddings)
    dp = Dispatcher(
        repo=repo, settings=settings, i18n=i18n, broadcaster=broadcaster, answers=answers
    )
    dp.update.outer_middleware(UpdateLogMiddleware())
    if settings.throttle_rate > 0 and shared_buckets is not None:
        dp.update.outer_middleware(
            SharedThrottlingMiddleware(
                i18n, shared_buckets, rate=settings.throttle_rate, burst=settings.throttle_burst
            )
        )
    elif settings.throttle_rate > 0:
        dp.update.outer_middleware(
            ThrottlingMiddleware(i18n, rate=settings.throttle_rate, burst=settings.throttle_burst)
        )
    dp.inline_query.outer_middleware(LatestInlineQuery())
    ReaderLocaleMiddleware(i18n).setup(dp)
    dp.include_routers(*get_routers())
    dp.startup.register(_set_commands)
    dp.startup.register(check_channel)  # before the broadcaster reads it
    dp.startup.register(_start_broadcaster)
    dp.startup.register(_start_answers)
    dp.shutdown.register(_stop_broadcaster)
    dp.shutdown.register(_stop_answers)
    return dp


async def _start_answers(answers: AnswerFinder) -> None:
    """The answer index current; the embedding model loads in the background."""
    await answers.start()


async def _stop_answers(answers: AnswerFinder) -> None:
    await answers.stop()


async def _start_broadcaster(bot: Bot, broadcaster: Broadcaster) -> None:
    """Send the outbox while the bot runs (``dp["broadcaster"]`` may be replaced before)."""
    await broadcaster.start(bot)


async def _stop_broadcaster(broadcaster: Broadcaster) -> None:
    await broadcaster.stop()


async def _set_commands(bot: Bot, i18n: I18n) -> None:
    for locale in i18n.available_locales:
        commands = [
            BotCommand(command=name, description=i18n.gettext(text, locale=locale))
            for name, text in COMMANDS
        ]
        language = None if locale == i18n.default_locale else locale
        try:
            await bot.set_my_commands(commands, language_code=language)
        except AiogramError as error:  # the menu is a convenience: serve without it
            logger.warning("Could not set the %s command menu: %s", locale, error)


async def prepare_to_serve(repo: Repository) -> None:
    """Before the first update: the bundled interview in an empty store, the search index
    current (an outdated one is rebuilt in the background), pymorphy3's dictionaries loaded,
    and everything allocated so far frozen out of the garbage collector's sight — otherwise
    each full collection walks aiogram's and pymorphy3's ~240k long-lived objects and stalls
    a reply by up to ~170 ms."""
    seeded = await ensure_seed(repo)
    if seeded:
        logger.info("Empty store: published the bundled interview as piece %d", seeded)
    await repo.prepare_search()
    morph()
    gc.collect()
    gc.freeze()
