"""Quote search: inline mode in any chat (``@bot words``) and /search in the bot's chat.

Thin: the engine is ``Repository.search_quotes`` (storage/quote_index.py), rendering is
``bot/views/quotes.py``.

Inline answers are the same for every reader (the pieces' language, no per-user state), so
``is_personal=False`` lets Telegram serve a popular query from its cache to everyone typing it
during a news spike; ``cache_time=120`` bounds how long a newly published piece can be missing
from a cached query (Telegram's default is 300 s).
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import InlineQuery, Message

from bot.views.quotes import inline_results, no_quotes_text, search_screen, search_usage_text
from handlers.screens import send_screen
from storage import MAX_RESULTS, Repository

INLINE_PAGE = 20  # quotes looked up per answer; fewer are sent when they are long (a page
# is at most INLINE_PAGE_BYTES, bot/views/quotes.py), and Telegram asks for the next page with
# next_offset as the reader scrolls
INLINE_CACHE_SECONDS = 120
CHAT_HITS = 10


def parse_offset(raw: str) -> int:
    """The paging offset we sent as ``next_offset`` (anything else counts as the first page)."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        return 0
    return min(int(raw), MAX_RESULTS)


async def inline_search(inline_query: InlineQuery, bot: Bot, repo: Repository) -> None:
    offset = parse_offset(inline_query.offset)
    if inline_query.query.strip():
        hits = await repo.search_quotes(inline_query.query, limit=INLINE_PAGE, offset=offset)
    else:
        piece_id = await repo.latest_piece_id()
        hits = await repo.top_quotes(piece_id, INLINE_PAGE, offset=offset) if piece_id else []
    me = await bot.me()
    results = inline_results(hits, me.username or "")
    end = offset + len(results)
    more = (len(results) < len(hits) or len(hits) == INLINE_PAGE) and end < MAX_RESULTS
    await inline_query.answer(
        results,
        cache_time=INLINE_CACHE_SECONDS,
        is_personal=False,
        next_offset=str(end) if more else "",
    )


async def search_command(
    message: Message, command: CommandObject, bot: Bot, repo: Repository
) -> None:
    query = (command.args or "").strip()
    if not query:
        await message.answer(search_usage_text())
        return
    await answer_search(message, bot, repo, query)


async def answer_search(
    message: Message, bot: Bot, repo: Repository, query: str, *, quiet_if_empty: bool = False
) -> bool:
    """Reply to ``message`` with the quotes matching ``query``; returns whether any matched.

    With ``quiet_if_empty`` nothing is sent when nothing matched (the free-text fallback then
    shows its own hint)."""
    hits = await repo.search_quotes(query, limit=CHAT_HITS)
    if not hits:
        if not quiet_if_empty:
            await message.answer(no_quotes_text(query))
        return False
    await send_screen(bot, message.chat.id, search_screen(query, hits))
    return True


def create_router() -> Router:
    """A fresh router (each dispatcher — the bot, the console, each test — gets its own)."""
    router = Router(name="search")
    router.inline_query.register(inline_search)
    router.message.register(search_command, Command("search"))
    return router
