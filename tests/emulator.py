"""A strict Telegram Bot API emulator served on loopback, for end-to-end tests.

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
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import json
import math
import mimetypes
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from aiogram import Bot

__all__ = ["ApiError", "BotAPIEmulator", "Call", "SentMessage", "parse_html"]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTONS_PER_ROW = 8
MAX_BUTTONS_TOTAL = 100
MAX_INLINE_RESULTS = 50
MAX_LONG_POLL_TIMEOUT = 50
MAX_FILE_DOWNLOAD_SIZE = 20 * 1024 * 1024

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
GET_UPDATES_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
BLOCKED = "Forbidden: bot was blocked by the user"
DEACTIVATED = "Forbidden: user is deactivated"

# Parameters whose values are JSON-serialized objects (aiogram sends them as strings).
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "results",
        "commands",
        "scope",
        "allowed_updates",
        "button",
        "link_preview_options",
        "reply_parameters",
        "menu_button",
        "media",
        "input_message_content",
    }
)
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "reply_to_message_id",
        "user_id",
        "message_thread_id",
        "max_connections",
        "from_chat_id",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "show_alert",
        "is_personal",
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "disable_content_type_detection",
    }
)
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_UPDATE_TYPES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
# Telegram's default when allowed_updates is an empty list: everything but these.
_NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_SEND_METHODS = frozenset({"sendmessage", "senddocument"})
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_START_PARAMETER_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_BOT_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
# files uploaded with the request being handled (multipart field name -> upload)
_UPLOADS: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("uploads")
# the Call being handled (so a long poll can mark itself processed while it waits)
_CURRENT_CALL: contextvars.ContextVar[Call] = contextvars.ContextVar("current_call")


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram would answer with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class Call:
    """One API request, recorded when it arrives and completed when it is answered.

    ``ok``/``error`` are final once ``answered`` is true; ``processed`` turns true when
    the request's effects are applied (for a long poll: once it is waiting).
    """

    method: str
    params: dict[str, Any]
    ok: bool
    error: str | None
    at: float
    answered: bool = False
    processed: bool = field(default=False, repr=False)


@dataclass
class SentMessage:
    """A bot message in its current state (after edits).

    ``text`` is what the reader sees (entities parsed; for documents it is the caption),
    ``html`` the raw text/caption as sent by the bot.
    """

    chat_id: int
    message_id: int
    text: str
    html: str
    entities: list[dict[str, Any]]
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    edited: int = 0
    document: dict[str, Any] | None = None
    caption: str | None = None
    date: int = 0
    method: str = "sendMessage"

    def buttons(self) -> list[dict[str, Any]]:
        """Inline keyboard buttons, flattened row by row."""
        if not self.reply_markup or "inline_keyboard" not in self.reply_markup:
            return []
        return [button for row in self.reply_markup["inline_keyboard"] for button in row]

    def button_texts(self) -> list[str]:
        """Visible texts of the inline keyboard buttons."""
        return [button.get("text", "") for button in self.buttons()]


@dataclass
class _Fault:
    method: str
    times: int
    status: int
    description: str
    retry_after: int | None
    chat_id: int | None


@dataclass
class _Delay:
    method: str
    seconds: float
    times: int


@dataclass
class _Chat:
    user_id: int
    first_name: str
    language_code: str
    next_message_id: int = 1
    # every message in the chat (user's and bot's) as Telegram Message dicts
    raw: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    document: dict[str, Any]


# --------------------------------------------------------------------------- HTML parsing


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _is_space(c: int) -> bool:
    # TDLib's is_space(): NUL counts as a space, so the end of text stops every scan.
    return c in (0x20, 0x09, 0x0D, 0x0A, 0x00, 0x0B)


def _is_alnum(c: int) -> bool:
    return 0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A


def _decode_html_entity(data: bytes, pos: int) -> tuple[int, int] | None:
    """Port of TDLib ``decode_html_entity``: (code point, position after it) or None."""

    def at(i: int) -> int:
        return data[i] if i < len(data) else 0

    end = pos + 1
    code = 0
    if at(pos + 1) == 0x23:  # '#'
        end += 1
        if at(pos + 2) == 0x78:  # 'x' (lower case only, as in TDLib)
            end += 1
            while chr(at(end)) in "0123456789abcdefABCDEF" and at(end):
                code = code * 16 + int(chr(at(end)), 16)
                end += 1
                if code >= 0x10FFFF:
                    break
        else:
            while 0x30 <= at(end) <= 0x39:
                code = code * 10 + at(end) - 0x30
                end += 1
                if code >= 0x10FFFF:
                    break
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
    else:
        while 0x41 <= at(end) <= 0x5A or 0x61 <= at(end) <= 0x7A:
            end += 1
        name = data[pos + 1 : end]
        named = {b"lt": 0x3C, b"gt": 0x3E, b"amp": 0x26, b"quot": 0x22}
        if name not in named:
            return None
        code = named[name]
    if at(end) == 0x3B:  # ';' is optional
        end += 1
    return code, end


_SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TAG_TYPES = {
    "i": "italic",
    "em": "italic",
    "b": "bold",
    "strong": "bold",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
}


def _checked_link(url: str) -> str | None:
    """A loose version of TDLib's LinkManager::get_checked_link (None = invalid)."""
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return None
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", url)
    if match:
        scheme = match.group(1).lower()
        if scheme in ("http", "https"):
            rest = url[len(scheme) + 1 :]
            if not rest.startswith("//") or len(rest) <= 2:
                return None
            if not re.search(r"[/?#]", rest[2:]):
                url += "/"  # Telegram normalizes "https://host" to "https://host/"
            return url
        if scheme in ("tg", "ton"):
            return url
        if scheme in ("mailto", "tel"):
            return None
        # "example.com:8080/x" style: treat as host with port below
    host = url.split("/", 1)[0].split(":", 1)[0]
    if "." not in host or host.startswith(".") or host.endswith("."):
        return None
    return _checked_link("http://" + url)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into (visible text, entities); raises ApiError like Telegram.

    A port of TDLib's ``parse_html``: same tag set, same error texts, byte offsets in
    UTF-8, entity offsets in UTF-16 code units.  Unknown ``&entities;`` stay literal.
    """
    data = text.encode("utf-8")
    n = len(data)

    def at(i: int) -> int:
        return data[i] if i < n else 0

    def fail(message: str) -> ApiError:
        return _bad(f"can't parse entities: {message}")

    result = bytearray()
    entities: list[dict[str, Any]] = []
    utf16_offset = 0
    # (tag name, argument, utf16 offset, byte position in result)
    nested: list[tuple[str, str, int, int]] = []
    i = 0
    while i < n:
        c = data[i]
        if c == 0x26:  # '&'
            decoded = _decode_html_entity(data, i)
            if decoded is not None:
                code, i = decoded
                if 0xD800 <= code <= 0xDFFF:
                    raise fail(
                        "Text contains invalid Unicode characters after decoding HTML "
                        "entities, check for unmatched surrogate code units"
                    )
                utf16_offset += 2 if code > 0xFFFF else 1
                result += chr(code).encode("utf-8")
                continue
        if c != 0x3C:  # not '<'
            if (c & 0xC0) != 0x80:
                utf16_offset += 2 if c >= 0xF0 else 1
            result.append(c)
            i += 1
            continue

        begin_pos = i
        i += 1
        if at(i) != 0x2F:  # start tag
            while not _is_space(at(i)) and at(i) != 0x3E:
                i += 1
            if at(i) == 0:
                raise fail(f"Unclosed start tag at byte offset {begin_pos}")
            tag_name = data[begin_pos + 1 : i].decode("utf-8", "replace").lower()
            if tag_name not in _SUPPORTED_TAGS:
                raise fail(f'Unsupported start tag "{tag_name}" at byte offset {begin_pos}')
            argument = ""
            while at(i) != 0x3E:
                while at(i) != 0 and _is_space(at(i)):
                    i += 1
                if at(i) == 0x3E:
                    break
                attribute_begin = i
                while not _is_space(at(i)) and at(i) not in (0x3D, 0x3E):
                    i += 1
                attribute_name = data[attribute_begin:i].decode("utf-8", "replace")
                if not attribute_name:
                    raise fail(
                        f'Empty attribute name in the tag "{tag_name}" at byte offset {begin_pos}'
                    )
                while at(i) != 0 and _is_space(at(i)):
                    i += 1
                if at(i) != 0x3D:  # '='
                    if tag_name == "blockquote" and attribute_name == "expandable":
                        argument = "expandable"
                        continue
                    raise fail(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag_name}" at byte offset {begin_pos}'
                    )
                i += 1
                while at(i) != 0 and _is_space(at(i)):
                    i += 1
                if at(i) == 0:
                    raise fail(f'Unclosed start tag "{tag_name}" at byte offset {begin_pos}')
                value = bytearray()
                if at(i) not in (0x27, 0x22):
                    token_begin = i
                    while _is_alnum(at(i)) or at(i) in (0x2E, 0x2D):
                        i += 1
                    value += data[token_begin:i].lower()
                    if not _is_space(at(i)) and at(i) != 0x3E:
                        raise fail(f"Unexpected end of name token at byte offset {token_begin}")
                else:
                    end_character = at(i)
                    i += 1
                    while at(i) != end_character and at(i) != 0:
                        if at(i) == 0x26:
                            decoded = _decode_html_entity(data, i)
                            if decoded is not None:
                                code, i = decoded
                                value += chr(code).encode("utf-8", "surrogatepass")
                                continue
                        value.append(at(i))
                        i += 1
                    if at(i) == end_character:
                        i += 1
                if at(i) == 0:
                    raise fail(f"Unclosed start tag at byte offset {begin_pos}")
                attribute_value = value.decode("utf-8", "replace")
                if tag_name == "a" and attribute_name == "href":
                    argument = attribute_value
                elif (
                    tag_name == "code"
                    and attribute_name == "class"
                    and attribute_value.startswith("language-")
                ):
                    argument = attribute_value[9:]
                elif (
                    tag_name == "span"
                    and attribute_name == "class"
                    and attribute_value.startswith("tg-")
                ):
                    argument = attribute_value[3:]
                elif tag_name == "tg-emoji" and attribute_name == "emoji-id":
                    argument = attribute_value
            if tag_name == "span" and argument != "spoiler":
                raise fail(f'Tag "span" must have class "tg-spoiler" at byte offset {begin_pos}')
            nested.append((tag_name, argument, utf16_offset, len(result)))
            i += 1  # skip '>'
            continue

        # end tag
        if not nested:
            raise fail(f"Unexpected end tag at byte offset {begin_pos}")
        while not _is_space(at(i)) and at(i) != 0x3E:
            i += 1
        end_tag_name = data[begin_pos + 2 : i].decode("utf-8", "replace").lower()
        while _is_space(at(i)) and at(i) != 0:
            i += 1
        if at(i) != 0x3E:
            raise fail(f"Unclosed end tag at byte offset {begin_pos}")
        i += 1
        tag_name, argument, entity_offset, entity_begin = nested[-1]
        if end_tag_name and end_tag_name != tag_name:
            raise fail(
                f'Unmatched end tag at byte offset {begin_pos}, expected "</{tag_name}>", '
                f'found "</{end_tag_name}>"'
            )
        nested.pop()
        length = utf16_offset - entity_offset
        if length <= 0:
            continue
        entity: dict[str, Any] = {"type": "", "offset": entity_offset, "length": length}
        if tag_name in _SIMPLE_TAG_TYPES:
            entity["type"] = _SIMPLE_TAG_TYPES[tag_name]
        elif tag_name == "span":
            entity["type"] = "spoiler"
        elif tag_name == "tg-emoji":
            if not re.fullmatch(r"-?\d{1,19}", argument) or int(argument) == 0:
                raise fail("Invalid custom emoji identifier specified")
            entity["type"] = "custom_emoji"
            entity["custom_emoji_id"] = argument
        elif tag_name == "a":
            url = argument or result[entity_begin:].decode("utf-8", "replace")
            user = re.fullmatch(r"tg://user\?id=(\d+)", url.strip())
            if user:
                entity["type"] = "text_mention"
                entity["user"] = {"id": int(user.group(1)), "is_bot": False, "first_name": ""}
            else:
                checked = _checked_link(url)
                if checked is None:
                    continue  # Telegram silently drops links it can't check
                entity["type"] = "text_link"
                entity["url"] = checked
        elif tag_name == "pre":
            last = entities[-1] if entities else None
            if (
                last is not None
                and last["type"] == "code"
                and last["offset"] == entity_offset
                and last["length"] == length
                and last.get("language")
            ):
                last["type"] = "pre"
                continue
            entity["type"] = "pre"
        elif tag_name == "code":
            last = entities[-1] if entities else None
            if (
                last is not None
                and last["type"] == "pre"
                and last["offset"] == entity_offset
                and last["length"] == length
                and argument
            ):
                last["language"] = argument
                continue
            entity["type"] = "code"
            if argument:
                entity["language"] = argument  # dropped below unless merged into pre
        elif tag_name == "blockquote":
            entity["type"] = "expandable_blockquote" if argument else "blockquote"
        entities.append(entity)

    if nested:
        raise fail(f'Can\'t find end tag corresponding to start tag "{nested[-1][0]}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    try:
        visible = result.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad("strings must be encoded in UTF-8") from exc
    return visible, entities


_TYPE_ORDER = {"blockquote": 0, "expandable_blockquote": 0, "pre": 1, "code": 2}


def _inline_rows(markup: dict[str, Any] | None) -> list[Any]:
    """The inline keyboard rows of a reply_markup ([] when it has none)."""
    if not markup:
        return []
    return list(markup.get("inline_keyboard") or [])


def _sort_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        entities, key=lambda e: (e["offset"], -e["length"], _TYPE_ORDER.get(e["type"], 5))
    )


_HIDDEN_DATA_ENTITIES = frozenset({"text_link", "text_mention", "custom_emoji"})
_EMPTY_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u2800\u3164\u115f\u1160\uffa0"


def _utf16_slice(text: str, offset: int, length: int) -> str:
    units = text.encode("utf-16-le")
    return units[2 * offset : 2 * (offset + length)].decode("utf-16-le", "surrogatepass")


def _is_blank(text: str) -> bool:
    return all(ch.isspace() or ch in _EMPTY_CHARS for ch in text)


def _finish_entities(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Port of the trimming part of TDLib ``fix_formatted_text``.

    Whitespace-only entities are dropped (except hidden-data ones such as text links),
    trailing spaces/newlines/tabs are cut (entities clipped), leading spaces and newlines
    are cut up to the first entity, and formatting nested in code/pre is removed.
    An empty result means "message text is empty".
    """
    total = utf16_len(text)
    fixed: list[dict[str, Any]] = []
    for entity in entities:
        offset = max(int(entity["offset"]), 0)
        end = min(offset + int(entity["length"]), total)
        if end <= offset:
            continue
        if entity["type"] not in _HIDDEN_DATA_ENTITIES and _is_blank(
            _utf16_slice(text, offset, end - offset)
        ):
            continue
        fixed.append({**entity, "offset": offset, "length": end - offset})
    if _is_blank(text):
        return "", []
    text = text.rstrip(" \n\t\r")
    total = utf16_len(text)
    clipped = []
    for entity in fixed:
        if entity["offset"] >= total:
            continue
        entity["length"] = min(entity["length"], total - entity["offset"])
        clipped.append(entity)
    first_entity = min((e["offset"] for e in clipped), default=total)
    lead = 0
    while lead < first_entity and text[lead] in " \n":
        lead += 1
    text = text[lead:]
    for entity in clipped:
        entity["offset"] -= lead
    # Telegram keeps no other entities inside code and pre blocks.
    kept: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = []
    for entity in _sort_entities(clipped):
        inside = any(
            b["offset"] <= entity["offset"]
            and entity["offset"] + entity["length"] <= b["offset"] + b["length"]
            for b in blocks
        )
        if inside and entity["type"] not in ("blockquote", "expandable_blockquote"):
            continue
        if entity["type"] in ("code", "pre"):
            blocks.append(entity)
        kept.append(entity)
    return text, _sort_entities(kept)


# --------------------------------------------------------------------------- emulator


class BotAPIEmulator:
    """A Telegram Bot API server on 127.0.0.1 with an ephemeral port.

    Drive the bot with ``send_message``/``press``/``inline_query``..., observe it through
    ``calls``, ``messages(chat_id)``, ``callback_answers``..., inject faults with
    ``block``/``fail_next``/``delay``/``flood_limits``.
    """

    def __init__(self, token: str = "123456:TEST-token", *, username: str = "interview_test_bot"):
        self.token = token
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.username = username
        self.base_url = ""
        self.calls: list[Call] = []
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.inline_answers: dict[str, dict[str, Any]] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.dropped_updates: list[dict[str, Any]] = []
        self.flood_limits: tuple[float, float] | None = None

        self._chats: dict[int, _Chat] = {}
        self._sent: dict[int, list[SentMessage]] = {}
        self._blocked: set[int] = set()
        self._deactivated: set[int] = set()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._allowed_updates: set[str] | None = None
        self._long_poll: asyncio.Future[str] | None = None
        self._open_callback_queries: set[str] = set()
        self._open_inline_queries: set[str] = set()
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._file_ids = itertools.count(1)
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._send_times: deque[float] = deque()
        self._chat_send_times: dict[int, deque[float]] = {}
        self._runner: web.AppRunner | None = None

        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)

        self._methods: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "senddocument": self._send_document,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "answerinlinequery": self._answer_inline_query,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendchataction": self._send_chat_action,
            "getfile": self._get_file,
            "setchatmenubutton": self._set_chat_menu_button,
            "getchatmenubutton": self._get_chat_menu_button,
            "close": self._close,
            "logout": self._close,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Serve on 127.0.0.1 with an ephemeral port; sets ``base_url``."""
        self._runner = web.AppRunner(
            self.app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        """Wake any pending long poll and shut the server down."""
        if self._long_poll is not None and not self._long_poll.done():
            self._long_poll.set_result("stop")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def make_bot(self, token: str | None = None) -> Bot:
        """An aiogram ``Bot`` (HTML parse mode) wired to this emulator.

        Its session closes without aiogram's 0.25 s SSL grace sleep, which loopback
        HTTP does not need, to keep test teardown fast.
        """
        from aiogram import Bot
        from aiogram.client.default import DefaultBotProperties
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer
        from aiogram.enums import ParseMode

        class _LoopbackSession(AiohttpSession):
            async def close(self) -> None:
                if self._session is not None and not self._session.closed:
                    await self._session.close()

        session = _LoopbackSession(api=TelegramAPIServer.from_base(self.base_url))
        return Bot(
            token or self.token,
            session=session,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )

    async def __aenter__(self) -> BotAPIEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ users and chats

    def _user(self, user_id: int) -> dict[str, Any]:
        chat = self._chats.get(user_id)
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": chat.first_name if chat else "Reader",
        }
        if chat and chat.language_code:
            user["language_code"] = chat.language_code
        return user

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Interview Test Bot",
            "username": self.username,
        }

    def _chat_dict(self, chat_id: int) -> dict[str, Any]:
        chat = self._chats[chat_id]
        return {"id": chat_id, "first_name": chat.first_name, "type": "private"}

    def add_chat(self, user_id: int, language_code: str = "ru") -> None:
        """Register a private chat (chat id == user id) whose user has started the bot."""
        chat = self._chats.get(user_id)
        if chat is None:
            self._chats[user_id] = _Chat(user_id, "Reader", language_code)
            self._sent[user_id] = []
        else:
            chat.language_code = language_code

    def _touch_chat(self, user_id: int, language_code: str, first_name: str) -> _Chat:
        self.add_chat(user_id, language_code)
        chat = self._chats[user_id]
        chat.first_name = first_name
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        chat = self._chats[chat_id]
        message_id = chat.next_message_id
        chat.next_message_id += 1
        return message_id

    # ------------------------------------------------------------------ updates

    def _enqueue(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), kind: payload}
        allowed = self._allowed_updates
        if allowed is not None and kind not in allowed:
            # Telegram does not even create updates of types the bot opted out of.
            self.dropped_updates.append(update)
            return update
        self._updates.append(update)
        if self._long_poll is not None and not self._long_poll.done():
            self._long_poll.set_result("wake")
        return update

    async def send_message(
        self,
        user_id: int,
        text: str | None = None,
        *,
        language_code: str = "ru",
        first_name: str = "Reader",
        document: dict[str, Any] | None = None,
        caption: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """The user writes to the bot; returns the Message dict put in a queued Update.

        Registers the chat, and un-blocks it: a user who writes has unblocked the bot.
        """
        if text is None and document is None:
            raise AssertionError("send_message needs text or document")
        chat = self._touch_chat(user_id, language_code, first_name)
        self._blocked.discard(user_id)  # writing to the bot implies it is not blocked
        message: dict[str, Any] = {
            "message_id": self._next_message_id(user_id),
            "from": self._user(user_id),
            "chat": self._chat_dict(user_id),
            "date": int(time.time()),
        }
        if reply_to_message_id is not None:
            replied = chat.raw.get(reply_to_message_id)
            if replied is None:
                raise AssertionError(f"no message {reply_to_message_id} in chat {user_id}")
            message["reply_to_message"] = replied
        if text is not None:
            message["text"] = text
            entities = self._command_entities(text)
            if entities:
                message["entities"] = entities
        if document is not None:
            message["document"] = document
            if caption is not None:
                message["caption"] = caption
                entities = self._command_entities(caption)
                if entities:
                    message["caption_entities"] = entities
        chat.raw[message["message_id"]] = message
        self._enqueue("message", message)
        return message

    @staticmethod
    def _command_entities(text: str) -> list[dict[str, Any]]:
        match = _BOT_COMMAND_RE.match(text)
        if not match:
            return []
        return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]

    def _find_sent(self, chat_id: int, message_id: int) -> SentMessage | None:
        for message in self._sent.get(chat_id, []):
            if message.message_id == message_id:
                return message
        return None

    async def press(
        self, user_id: int, message_id: int, callback_data: str, *, language_code: str = "ru"
    ) -> str:
        """The user presses an inline button with ``callback_data``; returns the query id."""
        sent = self._find_sent(user_id, message_id)
        if sent is None:
            raise AssertionError(f"no bot message {message_id} in chat {user_id}")
        datas = [b.get("callback_data") for b in sent.buttons()]
        if callback_data not in datas:
            raise AssertionError(
                f"message {message_id} has no button with callback_data {callback_data!r}; "
                f"buttons: {sent.buttons()!r}"
            )
        return self._callback_query(user_id, sent, callback_data, language_code)

    async def press_button(
        self, user_id: int, message_id: int, text: str, *, language_code: str = "ru"
    ) -> str:
        """Press the callback button whose text is ``text`` (exact, else unique substring)."""
        sent = self._find_sent(user_id, message_id)
        if sent is None:
            raise AssertionError(f"no bot message {message_id} in chat {user_id}")
        buttons = [b for b in sent.buttons() if "callback_data" in b]
        exact = [b for b in buttons if b.get("text") == text]
        candidates = exact or [b for b in buttons if text in b.get("text", "")]
        if len(candidates) != 1:
            raise AssertionError(
                f"{len(candidates)} callback buttons match {text!r} in message {message_id}: "
                f"{sent.button_texts()!r}"
            )
        return self._callback_query(user_id, sent, candidates[0]["callback_data"], language_code)

    def _callback_query(
        self, user_id: int, sent: SentMessage, data: str, language_code: str
    ) -> str:
        chat = self._chats[user_id]
        chat.language_code = language_code
        query_id = str(next(self._query_ids))
        self._open_callback_queries.add(query_id)
        self._enqueue(
            "callback_query",
            {
                "id": query_id,
                "from": self._user(user_id),
                "message": self._message_dict(sent),
                "chat_instance": str(-(10**18) - user_id),
                "data": data,
            },
        )
        return query_id

    async def inline_query(
        self, user_id: int, query: str, *, offset: str = "", language_code: str = "ru"
    ) -> str:
        """The user types ``@bot query`` somewhere; returns the inline query id."""
        if user_id in self._chats:
            self._chats[user_id].language_code = language_code
            user = self._user(user_id)
        else:
            user = {
                "id": user_id,
                "is_bot": False,
                "first_name": "Reader",
                "language_code": language_code,
            }
        query_id = str(next(self._query_ids))
        self._open_inline_queries.add(query_id)
        self._enqueue(
            "inline_query",
            {"id": query_id, "from": user, "query": query, "offset": offset},
        )
        return query_id

    async def chat_member_update(self, user_id: int, new_status: str) -> None:
        """A my_chat_member update: "kicked" (user blocked the bot) or "member"."""
        if new_status not in ("kicked", "member"):
            raise ValueError("new_status must be 'kicked' or 'member'")
        self.add_chat(
            user_id, self._chats[user_id].language_code if user_id in self._chats else "ru"
        )
        old_status = "member" if new_status == "kicked" else "kicked"

        def member(status: str) -> dict[str, Any]:
            item: dict[str, Any] = {"status": status, "user": self._bot_user()}
            if status == "kicked":
                item["until_date"] = 0
            return item

        if new_status == "kicked":
            self._blocked.add(user_id)
        else:
            self._blocked.discard(user_id)
        self._enqueue(
            "my_chat_member",
            {
                "chat": self._chat_dict(user_id),
                "from": self._user(user_id),
                "date": int(time.time()),
                "old_chat_member": member(old_status),
                "new_chat_member": member(new_status),
            },
        )

    def upload_file(
        self, content: bytes, file_name: str, mime_type: str = "text/plain"
    ) -> dict[str, Any]:
        """Store a file as if a user had uploaded it; returns a Document dict."""
        return self._store_file(content, file_name, mime_type).document

    def _store_file(self, content: bytes, file_name: str, mime_type: str | None) -> _StoredFile:
        number = next(self._file_ids)
        file_id = f"BQACAgIAAxkBAAI{number:08d}emu{self.bot_id}"
        unique = f"AgAD{number:06d}"
        extension = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
        path = f"documents/file_{number}.{extension}"
        document: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_name": file_name,
            "file_size": len(content),
        }
        if not mime_type or mime_type == "application/octet-stream":
            # Telegram derives the MIME type of an upload from the file name
            mime_type = mimetypes.guess_type(file_name)[0] or mime_type
        if mime_type:
            document["mime_type"] = mime_type
        stored = _StoredFile(file_id, unique, path, content, document)
        self._files[file_id] = stored
        self._files_by_path[path] = stored
        return stored

    # ------------------------------------------------------------------ observing

    def messages(self, chat_id: int) -> list[SentMessage]:
        """Bot messages in the chat, in order, in their current state."""
        return list(self._sent.get(chat_id, []))

    def last_message(self, chat_id: int) -> SentMessage:
        """The latest bot message in the chat (AssertionError if none)."""
        sent = self._sent.get(chat_id)
        if not sent:
            raise AssertionError(f"the bot sent nothing to chat {chat_id}")
        return sent[-1]

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - public interface
    ) -> None:
        """Poll ``predicate`` until it holds; TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            await asyncio.sleep(0.005)

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109 - public interface
    ) -> list[SentMessage]:
        """Wait until the chat has at least ``count`` bot messages; returns them all."""
        try:
            await self.wait_until(lambda: len(self._sent.get(chat_id, [])) >= count, timeout)
        except TimeoutError:
            have = [m.text for m in self._sent.get(chat_id, [])]
            raise TimeoutError(
                f"chat {chat_id}: expected {count} bot messages within {timeout} s, got "
                f"{len(have)}: {have!r}; failed calls: "
                f"{[(c.method, c.error) for c in self.calls if c.answered and not c.ok]!r}; "
                f"updates dropped by allowed_updates: {self.dropped_updates!r}"
            ) from None
        return self.messages(chat_id)

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], bool] = lambda call: True,
        *,
        since: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109 - public interface
    ) -> Call:
        """First call of ``method`` at index >= ``since`` matching ``predicate``.

        Returns once the call has been processed (its effects applied; a long poll counts
        as soon as it is waiting), so ``ok``/``error`` may still be pending for getUpdates.
        """
        wanted = method.lower()
        found: list[Call] = []

        def check() -> bool:
            for call in self.calls[since:]:
                if call.processed and call.method.lower() == wanted and predicate(call):
                    found.append(call)
                    return True
            return False

        try:
            await self.wait_until(check, timeout)
        except TimeoutError:
            raise TimeoutError(f"no matching {method} call within {timeout} s") from None
        return found[0]

    # ------------------------------------------------------------------ fault injection

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sends to this chat get 403."""
        self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        """Undo ``block``."""
        self._blocked.discard(user_id)

    def deactivate(self, user_id: int) -> None:
        """The user deletes the account: calls for this chat get 403 "user is deactivated"."""
        self._deactivated.add(user_id)

    def fail_next(
        self,
        method: str,
        *,
        times: int = 1,
        status: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (optionally for one chat) fail."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = {
                400: "Bad Request",
                401: "Unauthorized",
                403: "Forbidden",
                404: "Not Found",
                409: "Conflict",
                429: f"Too Many Requests: retry after {retry_after}",
                500: "Internal Server Error",
                502: "Bad Gateway",
                503: "Service Unavailable",
                504: "Gateway Timeout",
            }.get(status, "Internal Server Error")
        self._faults.append(
            _Fault(method.lower(), times, status, description, retry_after, chat_id)
        )

    def delay(self, method: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` hang ``seconds`` before being processed."""
        self._delays.append(_Delay(method.lower(), seconds, times))

    def _take_fault(self, method: str, params: dict[str, Any]) -> _Fault | None:
        for fault in self._faults:
            if fault.method != method:
                continue
            if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            return fault
        return None

    def _take_delay(self, method: str) -> float:
        for item in self._delays:
            if item.method == method:
                item.times -= 1
                if item.times <= 0:
                    self._delays.remove(item)
                return item.seconds
        return 0.0

    def _check_flood(self, chat_id: int) -> None:
        if self.flood_limits is None:
            return
        global_rate, chat_rate = self.flood_limits
        now = time.monotonic()
        window = self._chat_send_times.setdefault(chat_id, deque())
        for times in (self._send_times, window):
            while times and now - times[0] >= 1.0:
                times.popleft()
        for times, rate in ((self._send_times, global_rate), (window, chat_rate)):
            if rate > 0 and len(times) >= rate:
                # the oldest send in the window must age out before another fits
                index = len(times) - math.floor(rate)
                wait = 1.0 - (now - times[max(index, 0)])
                retry_after = max(1, math.ceil(wait))
                raise ApiError(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after},
                )
        self._send_times.append(now)
        window.append(now)

    # ------------------------------------------------------------------ HTTP plumbing

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
        """Decode query string + body into (params, uploaded files by field name)."""
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, Any] = {}
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise _bad("can't parse JSON object") from exc
                if not isinstance(body, dict):
                    raise _bad("can't parse JSON object")
                raw.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        content = value.file.read()
                        files[key] = {
                            "filename": value.filename,
                            "content_type": value.content_type,
                            "content": content,
                        }
                        raw[key] = {"file_name": value.filename, "size": len(content)}
                    else:
                        raw[key] = value
        params: dict[str, Any] = {}
        for key, item in raw.items():
            decoded: Any = item
            if key in _JSON_FIELDS and isinstance(item, str):
                try:
                    decoded = json.loads(item)
                except ValueError as exc:
                    raise _bad(f"can't parse {key} JSON object") from exc
            elif key in _INT_FIELDS and isinstance(item, str):
                with contextlib.suppress(ValueError):
                    decoded = int(item)
            elif key in _BOOL_FIELDS and isinstance(item, str):
                decoded = item.lower() in ("true", "1")
            params[key] = decoded
        return params, files

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = Call(method=method, params={}, ok=False, error=None, at=time.monotonic())
        try:
            try:
                try:
                    call.params, files = await self._read_params(request)
                finally:
                    self.calls.append(call)
                if request.match_info["token"] != self.token:
                    raise ApiError(401, "Unauthorized")
                name = method.lower()
                handler = self._methods.get(name)
                if handler is None:
                    raise ApiError(404, "Not Found: method not found")
                seconds = self._take_delay(name)
                if seconds:
                    await asyncio.sleep(seconds)
                fault = self._take_fault(name, call.params)
                if fault is not None:
                    parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
                    raise ApiError(fault.status, fault.description, parameters)
                _UPLOADS.set(files)
                _CURRENT_CALL.set(call)
                result = await handler(call.params)
            except ApiError as error:
                call.error = error.description
                return web.json_response(error.payload(), status=error.code)
            call.ok = True
            return web.json_response({"ok": True, "result": result})
        except asyncio.CancelledError:
            call.error = "client disconnected"
            raise
        finally:
            call.answered = call.processed = True

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=stored.content, content_type="application/octet-stream")

    # ------------------------------------------------------------------ validation helpers

    def _chat_for(self, params: dict[str, Any], *, sending: bool) -> _Chat:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if not isinstance(chat_id, int) or chat_id not in self._chats:
            raise _bad("chat not found")
        if chat_id in self._deactivated:
            raise ApiError(403, DEACTIVATED)
        if sending and chat_id in self._blocked:
            raise ApiError(403, BLOCKED)
        return self._chats[chat_id]

    def _format_text(
        self,
        text: Any,
        parse_mode: Any,
        entities: Any,
        *,
        caption: bool = False,
    ) -> tuple[str, list[dict[str, Any]]]:
        """Visible text + entities, validated like Telegram (length after parsing)."""
        if text is None or text == "":
            if caption:
                return "", []
            raise _bad("message text is empty")
        if not isinstance(text, str):
            text = str(text)
        mode = (parse_mode or "").lower() if isinstance(parse_mode, str) else ""
        if mode and mode != "none":
            if mode == "html":
                visible, parsed = parse_html(text)
            elif mode in ("markdown", "markdownv2"):
                raise _bad(
                    f"can't parse entities: parse_mode {parse_mode} is not emulated "
                    "(the emulator supports HTML only)"
                )
            else:
                raise _bad("unsupported parse_mode")
        else:
            visible, parsed = text, self._plain_entities(text, entities)
        visible, parsed = _finish_entities(visible, parsed)
        limit = MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH
        if not visible:
            if caption:
                return "", []
            raise _bad("message text is empty")
        if utf16_len(visible) > limit:
            raise _bad("message caption is too long" if caption else "message is too long")
        return visible, parsed

    @staticmethod
    def _plain_entities(text: str, entities: Any) -> list[dict[str, Any]]:
        if entities in (None, ""):
            return []
        if not isinstance(entities, list):
            raise _bad("can't parse entities JSON object")
        total = utf16_len(text)
        result = []
        for entity in entities:
            if not isinstance(entity, dict) or not {"type", "offset", "length"} <= entity.keys():
                raise _bad('can\'t parse MessageEntity: Field "type" must be of type String')
            offset, length = int(entity["offset"]), int(entity["length"])
            if offset < 0 or length <= 0 or offset >= total:
                continue
            result.append({**entity, "offset": offset, "length": min(length, total - offset)})
        return result

    @staticmethod
    def _validate_markup(markup: Any) -> dict[str, Any] | None:
        """Validate reply_markup like Telegram; returns it (None when absent)."""
        if markup in (None, ""):
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            BotAPIEmulator._validate_inline_keyboard(markup["inline_keyboard"])
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array')
            for row in rows:
                for button in row:
                    label = button if isinstance(button, str) else button.get("text")
                    if not label:
                        raise _bad(
                            'can\'t parse keyboard button: Field "text" must be of type String'
                        )
        elif not ("remove_keyboard" in markup or "force_reply" in markup):
            raise _bad('can\'t find field "inline_keyboard"')
        return markup

    @staticmethod
    def _validate_inline_keyboard(rows: Any) -> None:
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        total = 0
        for row in rows:
            if len(row) > MAX_BUTTONS_PER_ROW:
                raise _bad("BUTTONS_TOO_MUCH")
            for button in row:
                total += 1
                if not isinstance(button, dict):
                    raise _bad(
                        "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                    )
                label = button.get("text")
                if not isinstance(label, str):
                    raise _bad(
                        'can\'t parse inline keyboard button: Field "text" must be of type String'
                    )
                if not label.strip():
                    raise _bad("BUTTON_TEXT_INVALID")
                actions = [key for key in _BUTTON_ACTIONS if button.get(key) is not None]
                if not actions:
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the "
                        "inline keyboard"
                    )
                if len(actions) > 1:
                    raise _bad(
                        "can't parse inline keyboard button: exactly one of the optional fields "
                        f"must be used, got {actions}"
                    )
                if "callback_data" in actions:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not (
                        1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                    ):
                        raise _bad("BUTTON_DATA_INVALID")
                if "url" in actions:
                    url = button["url"]
                    if not isinstance(url, str) or not re.match(
                        r"^(https?://[^\s/$.?#][^\s]*|tg://\S+)$", url, re.IGNORECASE
                    ):
                        raise _bad("BUTTON_URL_INVALID")
        if total > MAX_BUTTONS_TOTAL:
            raise _bad("BUTTONS_TOO_MUCH")

    def _reply_to(self, chat: _Chat, params: dict[str, Any]) -> int | None:
        reply = params.get("reply_parameters")
        message_id = params.get("reply_to_message_id")
        allow = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow = allow or bool(reply.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        if message_id not in chat.raw:
            if allow:
                return None
            raise _bad("message to be replied not found")
        return int(message_id)

    def _message_dict(self, sent: SentMessage) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "from": self._bot_user(),
            "chat": self._chat_dict(sent.chat_id),
            "date": sent.date,
        }
        if sent.edited:
            message["edit_date"] = int(time.time())
        if sent.document is not None:
            message["document"] = sent.document
            if sent.caption:
                message["caption"] = sent.caption
                if sent.entities:
                    message["caption_entities"] = sent.entities
        else:
            message["text"] = sent.text
            if sent.entities:
                message["entities"] = sent.entities
        if sent.reply_markup and "inline_keyboard" in sent.reply_markup:
            message["reply_markup"] = {"inline_keyboard": sent.reply_markup["inline_keyboard"]}
        return message

    def _record(self, chat: _Chat, sent: SentMessage, reply_to: int | None) -> dict[str, Any]:
        self._sent[chat.user_id].append(sent)
        message = self._message_dict(sent)
        if reply_to is not None:
            message["reply_to_message"] = chat.raw[reply_to]
        chat.raw[sent.message_id] = message
        return message

    def _edit_target(self, params: dict[str, Any]) -> tuple[_Chat, SentMessage]:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat = self._chat_for(params, sending=False)
        message_id = params.get("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        sent = self._find_sent(chat.user_id, message_id) if isinstance(message_id, int) else None
        if sent is None:
            if isinstance(message_id, int) and message_id in chat.raw:
                raise _bad("message can't be edited")
            raise _bad("message to edit not found")
        return chat, sent

    def _store_edit(self, chat: _Chat, sent: SentMessage) -> dict[str, Any]:
        sent.edited += 1
        message = self._message_dict(sent)
        chat.raw[sent.message_id] = message
        return message

    # ------------------------------------------------------------------ methods

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _close(self, params: dict[str, Any]) -> bool:
        return True

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = params.get("offset", 0) or 0
        limit = params.get("limit", 100) or 100
        timeout = params.get("timeout", 0) or 0
        if not all(isinstance(v, int) for v in (offset, limit, timeout)):
            raise _bad("wrong parameter in request")
        if not 1 <= limit <= 100:
            limit = 100
        timeout = min(max(timeout, 0), MAX_LONG_POLL_TIMEOUT)
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            if not isinstance(allowed, list):
                raise _bad("can't parse allowed_updates JSON object")
            self._allowed_updates = (
                {str(kind) for kind in allowed} if allowed else set(_UPDATE_TYPES) - _NOT_BY_DEFAULT
            )
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        if self._updates or timeout == 0:
            return self._updates[:limit]

        loop = asyncio.get_running_loop()
        if self._long_poll is not None and not self._long_poll.done():
            self._long_poll.set_result("conflict")  # the older request gets the 409
        waiter: asyncio.Future[str] = loop.create_future()
        self._long_poll = waiter
        with contextlib.suppress(LookupError):
            _CURRENT_CALL.get().processed = True
        try:
            done, _ = await asyncio.wait({waiter}, timeout=timeout)
            outcome = waiter.result() if done else "timeout"
        finally:
            if self._long_poll is waiter:
                self._long_poll = None
            if not waiter.done():
                waiter.cancel()
        if outcome == "conflict":
            raise ApiError(409, GET_UPDATES_CONFLICT)
        if outcome == "setwebhook":
            raise ApiError(409, "Conflict: terminated by setWebhook request")
        return self._updates[:limit]

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url") or ""
        if not url:
            self.webhook = None
            return True
        match = re.match(r"^https://[^/:]+(?::(\d+))?(?:/.*)?$", str(url), re.IGNORECASE)
        if not match:
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        port = match.group(1)
        if port and port not in ("80", "88", "443", "8443"):
            raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {k: v for k, v in params.items() if k != "certificate"}
        if self._long_poll is not None and not self._long_poll.done():
            self._long_poll.set_result("setwebhook")
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook:
            info["max_connections"] = int(self.webhook.get("max_connections") or 40)
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        visible, entities = self._format_text(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
        markup = self._validate_markup(params.get("reply_markup"))
        chat = self._chat_for(params, sending=True)
        reply_to = self._reply_to(chat, params)
        self._check_flood(chat.user_id)
        sent = SentMessage(
            chat_id=chat.user_id,
            message_id=self._next_message_id(chat.user_id),
            text=visible,
            html=str(params["text"]),
            entities=entities,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            date=int(time.time()),
        )
        return self._record(chat, sent, reply_to)

    async def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        caption, entities = self._format_text(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
        markup = self._validate_markup(params.get("reply_markup"))
        document = self._resolve_document(params.get("document"))
        chat = self._chat_for(params, sending=True)
        reply_to = self._reply_to(chat, params)
        self._check_flood(chat.user_id)
        sent = SentMessage(
            chat_id=chat.user_id,
            message_id=self._next_message_id(chat.user_id),
            text=caption,
            html=str(params.get("caption") or ""),
            entities=entities,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            document=document,
            caption=caption or None,
            date=int(time.time()),
            method="sendDocument",
        )
        return self._record(chat, sent, reply_to)

    def _resolve_document(self, value: Any) -> dict[str, Any]:
        files = _UPLOADS.get({})
        if isinstance(value, dict) and "file_name" in value:
            upload = files.get("document")
            if upload:
                return self._store_file(
                    upload["content"], upload["filename"] or "document", upload["content_type"]
                ).document
        if not isinstance(value, str) or not value:
            raise _bad("there is no document in the request")
        if value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
            if upload is None:
                raise _bad("wrong file identifier/HTTP URL specified")
            return self._store_file(
                upload["content"], upload["filename"] or "document", upload["content_type"]
            ).document
        if re.match(r"^https?://", value, re.IGNORECASE):
            name = value.rstrip("/").rsplit("/", 1)[-1] or "document"
            return self._store_file(b"", name, None).document
        stored = self._files.get(value)
        if stored is None:
            raise _bad("wrong file identifier/HTTP URL specified")
        return stored.document

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        visible, entities = self._format_text(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
        markup = self._validate_markup(params.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        chat, sent = self._edit_target(params)
        if sent.document is not None:
            raise _bad("there is no text in the message to edit")
        if (
            sent.text == visible
            and sent.entities == entities
            and _inline_rows(sent.reply_markup) == _inline_rows(markup)
        ):
            raise _bad(NOT_MODIFIED[len("Bad Request: ") :])
        sent.text, sent.entities, sent.html = visible, entities, str(params["text"])
        sent.parse_mode = params.get("parse_mode")
        sent.reply_markup = markup  # no reply_markup in the request removes the keyboard
        return self._store_edit(chat, sent)

    async def _edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any]:
        caption, entities = self._format_text(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
        markup = self._validate_markup(params.get("reply_markup"))
        chat, sent = self._edit_target(params)
        if sent.document is None:
            raise _bad("there is no caption in the message to edit")
        if (
            (sent.caption or "") == caption
            and sent.entities == entities
            and _inline_rows(sent.reply_markup) == _inline_rows(markup)
        ):
            raise _bad(NOT_MODIFIED[len("Bad Request: ") :])
        sent.text, sent.caption, sent.entities = caption, caption or None, entities
        sent.html = str(params.get("caption") or "")
        sent.reply_markup = markup
        return self._store_edit(chat, sent)

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        markup = self._validate_markup(params.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        chat, sent = self._edit_target(params)
        if _inline_rows(sent.reply_markup) == _inline_rows(markup):
            raise _bad(NOT_MODIFIED[len("Bad Request: ") :])
        sent.reply_markup = markup
        return self._store_edit(chat, sent)

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._chat_for(params, sending=False)
        message_id = params.get("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        if not isinstance(message_id, int) or message_id not in chat.raw:
            raise _bad("message to delete not found")
        del chat.raw[message_id]
        self._sent[chat.user_id] = [
            m for m in self._sent[chat.user_id] if m.message_id != message_id
        ]
        return True

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callback_queries:
            raise ApiError(400, QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        url = params.get("url")
        if url and not re.match(r"^(https?|tg)://", str(url), re.IGNORECASE):
            raise _bad("URL_INVALID")
        self._open_callback_queries.discard(query_id)
        self.callback_answers[query_id] = dict(params)
        return True

    async def _answer_inline_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("inline_query_id") or "")
        results = params.get("results", [])
        if results in (None, ""):
            results = []
        if not isinstance(results, list):
            raise _bad("can't parse JSON encoded inline query results")
        if query_id not in self._open_inline_queries:
            raise ApiError(400, QUERY_TOO_OLD)
        if len(results) > MAX_INLINE_RESULTS:
            raise _bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            self._validate_inline_result(result)
            if result["id"] in seen:
                raise _bad("RESULT_ID_DUPLICATE")
            seen.add(result["id"])
        next_offset = params.get("next_offset")
        if next_offset is not None and len(str(next_offset).encode("utf-8")) > 64:
            raise _bad("NEXT_OFFSET_INVALID")
        button = params.get("button")
        if button is not None:
            if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                raise _bad(
                    'can\'t parse InlineQueryResultsButton: Field "text" must be of type String'
                )
            start = button.get("start_parameter")
            web_app = button.get("web_app")
            if (start is None) == (web_app is None):
                raise _bad(
                    "InlineQueryResultsButton must have exactly one of start_parameter, web_app"
                )
            if start is not None and not _START_PARAMETER_RE.match(str(start)):
                raise _bad("START_PARAM_INVALID")
        cache_time = params.get("cache_time")
        if cache_time is not None and (not isinstance(cache_time, int) or cache_time < 0):
            raise _bad("wrong parameter cache_time in request")
        self._open_inline_queries.discard(query_id)
        self.inline_answers[query_id] = dict(params, results=results)
        return True

    def _validate_inline_result(self, result: Any) -> None:
        if not isinstance(result, dict):
            raise _bad("can't parse inline query result: InlineQueryResult must be an Object")
        result_id = result.get("id")
        if not isinstance(result_id, str) or not 1 <= len(result_id.encode("utf-8")) <= 64:
            raise _bad("RESULT_ID_INVALID")
        kind = result.get("type")
        if not isinstance(kind, str) or not kind:
            raise _bad('can\'t parse inline query result: Field "type" must be of type String')
        if kind == "article":
            if not str(result.get("title") or "").strip():
                raise _bad('can\'t parse inline query result: Field "title" must be of type String')
            if "input_message_content" not in result:
                raise _bad(
                    "can't parse inline query result: Can't find field \"input_message_content\""
                )
        content = result.get("input_message_content")
        if content is not None:
            if not isinstance(content, dict):
                raise _bad("can't parse inline query result: InputMessageContent must be an Object")
            if "message_text" in content:
                self._format_text(
                    content.get("message_text"), content.get("parse_mode"), content.get("entities")
                )
        markup = result.get("reply_markup")
        if markup is not None:
            if not isinstance(markup, dict) or "inline_keyboard" not in markup:
                raise _bad("can't parse inline query result: inline keyboard expected")
            self._validate_inline_keyboard(markup["inline_keyboard"])

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad("can't parse BotCommandScope JSON object")
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad("invalid language code specified")
        return str(scope["type"]), language

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if commands in (None, ""):
            commands = []
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        cleaned = []
        for item in commands:
            if not isinstance(item, dict):
                raise _bad("can't parse BotCommand: BotCommand must be an Object")
            command = str(item.get("command") or "")
            if command.startswith("/"):
                command = command[1:]
            if not command:
                raise _bad("command must be non-empty")
            if len(command) > 32 or not _COMMAND_RE.match(command):
                raise _bad("BOT_COMMAND_INVALID")
            description = str(item.get("description") or "").strip()
            if not description:
                raise _bad("command description must be non-empty")
            if len(description) > 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command, "description": description})
        key = self._commands_key(params)
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self._chat_for(params, sending=True)
        return True

    async def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id") or "")
        if not file_id:
            raise _bad("file_id not specified")
        stored = self._files.get(file_id)
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.content) > MAX_FILE_DOWNLOAD_SIZE:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    async def _set_chat_menu_button(self, params: dict[str, Any]) -> bool:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            self._chat_for(params, sending=False)
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise _bad("can't parse menu button JSON object")
        self.menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        return self.menu_buttons.get(chat_id, self.menu_buttons.get(None, {"type": "commands"}))
