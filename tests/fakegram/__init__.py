"""fakegram: a strict Telegram Bot API emulator served on loopback, for end-to-end tests.

The emulator is an aiohttp application that speaks the Bot API at
``POST /bot<token>/<method>`` and serves file downloads at
``GET /file/bot<token>/<file_path>``.  A real aiogram ``Bot`` connects to it through
``TelegramAPIServer.from_base(emu.base_url)`` and gets Telegram-shaped JSON back, so
aiogram raises its real exceptions (``TelegramBadRequest``, ``TelegramRetryAfter`` ...).

It is deliberately as strict as Telegram where the bot under test can go wrong:
the HTML parse mode is a port of TDLib's ``parse_html`` (same error messages, UTF-8
byte offsets, UTF-16 entity offsets), length limits are counted after entity parsing,
inline keyboards, inline query results and bot commands are validated, callback and
inline queries can be answered only once, and so on.

Only ``parse_mode="HTML"`` (or no parse mode) is emulated: ``Markdown``/``MarkdownV2``
are rejected with a 400 that names the emulator, because the bot under test uses HTML.

Behaviours worth knowing when writing tests:

* Like TDLib's server, a new long poll terminates the *older* waiting ``getUpdates``
  (that one gets the 409 "Conflict: terminated by other getUpdates request; ...").
* ``allowed_updates`` is applied when an update is created, as on Telegram: updates of
  types the bot opted out of are not queued (see ``dropped_updates``).
* ``editMessageText``/``editMessageReplyMarkup`` without ``reply_markup`` remove the
  inline keyboard; "message is not modified" compares visible text, entities and keyboard.
* Text is trimmed like TDLib (trailing whitespace; leading spaces/newlines before the first
  entity); whitespace-only entities and entities inside code/pre are dropped.
* ``delay()`` sleeps before the request is processed: if the client gives up first, the
  request has no effect and its ``Call`` ends with error "client disconnected".
* ``chat_member_update(uid, "kicked")`` also blocks the chat, "member" unblocks it, and a
  user who writes (``send_message``) is unblocked too.
* Not emulated: automatic url/mention/hashtag entities in bot messages, webhook delivery,
  the 3-second throttle of repeated getUpdates conflicts, groups/channels, media other than
  documents, inline_message_id edits, callback-query expiry by time.

Modules: ``server`` (``BotAPIEmulator``: the aiohttp app, lifecycle, routing), ``state``
(records and ``EmulatorState``), ``users`` and ``observe`` (the test's side), ``faults``
(fault injection), the method handlers ``updates``, ``messages``, ``files``, ``queries`` and
``commands``, and the checks they share: ``html`` (the HTML parse mode), ``markup`` (text,
keyboards, inline results) and ``errors``.
"""

from tests.fakegram.errors import ApiError
from tests.fakegram.html import parse_html, utf16_len
from tests.fakegram.server import BotAPIEmulator
from tests.fakegram.state import Call, SentMessage

__all__ = ["ApiError", "BotAPIEmulator", "Call", "SentMessage", "parse_html", "utf16_len"]
