"""What quote search shows: inline results for any chat and the /search listing.

Plain functions of ``QuoteHit`` lists; everything from the archive or the reader is escaped.
Inline results are rendered in the pieces' language (``CONTENT_LOCALE``), not the sender's:
the message is posted into someone else's chat, and identical results for every reader let
Telegram share its cache of a query between readers (``is_personal=False``, see
``handlers/search.py``).
"""

from __future__ import annotations

from functools import lru_cache

from aiogram.types import (
    InlineQueryResultArticle,
    InlineQueryResultUnion,
    InputTextMessageContent,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.language import quote_marks, shorten
from bot.domain.matching import clean
from bot.domain.models import QuoteHit
from bot.i18n import DEFAULT_LOCALE
from bot.views.callbacks import AnswerView
from bot.views.follow_buttons import follow_words_button
from bot.views.keyboards import button, grid, markup, url_button
from bot.views.reader import Screen
from bot.views.render import Block, escape, render

CONTENT_LOCALE = DEFAULT_LOCALE  # the language of the published pieces
TITLE_CHARS = 100
DESCRIPTION_CHARS = 80
# the results of one inline answer, in bytes of UTF-8 JSON: with the request around them a full
# page stays under 40 KB (50 results at 1 KB each made 136 KB requests, re-sent on each keystroke)
INLINE_PAGE_BYTES = 36_000
ARTICLE_OVERHEAD = 200  # the JSON around an article's texts: keys, type, id, parse mode
QUOTE_CHARS = 3500  # a sentence this long is cut: the message must stay under 4096
LIST_QUOTE_CHARS = 300
ECHO_CHARS = 60
BUTTONS_PER_ROW = 5


def answer_link(bot_username: str, piece_id: int, turn_number: int) -> str:
    """Deep link that opens one answer in the bot (parsed by the /start handler)."""
    return f"https://t.me/{bot_username}?start={piece_id}_{turn_number}"


def attribution(hit: QuoteHit) -> str:
    """``Speaker, piece title`` (plain text), or the title alone when the speaker is unknown."""
    return f"{hit.speaker}, {hit.piece_title}" if hit.speaker else hit.piece_title


def quote_message(hit: QuoteHit) -> str:
    """The message an inline result sends: ``«quote» — Speaker, piece title`` (HTML), an
    English quote in “…”."""
    return f"{_quoted(shorten(hit.text, QUOTE_CHARS))} — {escape(attribution(hit))}"


def inline_results(
    hits: list[QuoteHit], bot_username: str, *, budget: int = INLINE_PAGE_BYTES
) -> list[InlineQueryResultUnion]:
    """One article per quote, in order, as many as fit in ``budget`` bytes (at least one): the
    quote as title, who said it where as description; it sends ``quote_message`` with a button
    that opens the full answer in the bot. The caller pages on from ``len(results)``."""
    labels = (_("Full answer", locale=CONTENT_LOCALE), _("answer {n}", locale=CONTENT_LOCALE))
    results: list[InlineQueryResultUnion] = []
    used = 0
    for hit in hits:
        article, size = _article(hit, bot_username, labels)
        if results and used + size > budget:
            break
        results.append(article)
        used += size
    return results


@lru_cache(maxsize=2048)
def _article(
    hit: QuoteHit, bot_username: str, labels: tuple[str, str]
) -> tuple[InlineQueryResultArticle, int]:
    """The article and its size as sent (UTF-8 JSON). Cached: consecutive keystrokes of a query
    mostly show the same quotes again, and quotes never change once published."""
    full_answer, answer_n = labels
    where = answer_n.format(n=hit.turn_number) + f" · {hit.piece_title}"
    title = shorten(hit.text, TITLE_CHARS) or "…"
    description = shorten(f"{hit.speaker} · {where}" if hit.speaker else where, DESCRIPTION_CHARS)
    message = quote_message(hit)
    link = answer_link(bot_username, hit.piece_id, hit.turn_number)
    article = InlineQueryResultArticle(
        id=str(hit.quote_id),
        title=title,
        description=description,
        input_message_content=InputTextMessageContent(message_text=message, parse_mode="HTML"),
        reply_markup=markup([url_button(full_answer, link)]),
    )
    texts = (article.id, title, description, message, full_answer, link)
    return article, ARTICLE_OVERHEAD + sum(len(text.encode()) for text in texts)


def search_screen(query: str, hits: list[QuoteHit]) -> Screen:
    """The /search listing: numbered quotes with speaker and answer number, and a button per
    quote that opens its answer. Rendered once per query, quotes and language: during a news
    spike many readers search the same name."""
    i18n = I18n.get_current(no_error=True)
    return _search_screen(query, tuple(hits), i18n.current_locale if i18n is not None else "")


@lru_cache(maxsize=256)
def _search_screen(query: str, hits: tuple[QuoteHit, ...], locale: str) -> Screen:
    blocks = [Block(_("Quotes for «{query}»:").format(query=_echo(query)), "b")]
    buttons = []
    for i, hit in enumerate(hits, start=1):
        answer = _("answer {n}").format(n=hit.turn_number)
        who = f"{hit.speaker}, {answer}" if hit.speaker else answer.capitalize()
        blocks.append(Block(f"{i}. {_quoted(shorten(hit.text, LIST_QUOTE_CHARS), html=False)}"))
        blocks.append(Block(f"— {who} · {shorten(hit.piece_title, 80)}", "i", gap=False))
        buttons.append(button(f"{i} · {answer}", AnswerView(piece=hit.piece_id, n=hit.turn_number)))
    keyboard = grid(buttons, BUTTONS_PER_ROW)
    follow = follow_words_button(query)
    if follow is not None:
        keyboard = markup(*keyboard.inline_keyboard, [follow])
    return Screen(render(blocks), keyboard)


def search_usage_text() -> str:
    return escape(_("Send /search and a few words, e.g. /search Tokayev"))


def no_quotes_text(query: str) -> str:
    return escape(
        _("No quotes found for «{query}». Try other words, or fewer of them.").format(
            query=_echo(query)
        )
    )


def _quoted(text: str, *, html: bool = True) -> str:
    """A quote in the marks of its language (escaped for HTML unless ``html`` is false)."""
    opening, closing = quote_marks(text)
    return opening + (escape(text) if html else text) + closing


def _echo(query: str) -> str:
    """The reader's query as it may be shown back: no control characters, short."""
    return shorten(clean(query), ECHO_CHARS)
