"""The emulator's records and state: calls, bot messages, chats, files, injected faults,
and ``EmulatorState``, the base of every part of ``BotAPIEmulator``."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import mimetypes
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakegram.errors import BLOCKED, DEACTIVATED, ApiError, bad

# files uploaded with the request being handled (multipart field name -> upload)
UPLOADS: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("uploads")
# the Call being handled (so a long poll can mark itself processed while it waits)
CURRENT_CALL: contextvars.ContextVar[Call] = contextvars.ContextVar("current_call")


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
    thread_id: int | None = None  # the forum topic it was posted in

    def buttons(self) -> list[dict[str, Any]]:
        """Inline keyboard buttons, flattened row by row."""
        if not self.reply_markup or "inline_keyboard" not in self.reply_markup:
            return []
        return [button for row in self.reply_markup["inline_keyboard"] for button in row]

    def button_texts(self) -> list[str]:
        """Visible texts of the inline keyboard buttons."""
        return [button.get("text", "") for button in self.buttons()]


@dataclass
class Fault:
    method: str
    times: int
    status: int
    description: str
    retry_after: int | None
    chat_id: int | None


@dataclass
class Delay:
    method: str
    seconds: float
    times: int


@dataclass
class Chat:
    user_id: int
    first_name: str
    language_code: str
    next_message_id: int = 1
    # every message in the chat (user's and bot's) as Telegram Message dicts
    raw: dict[int, dict[str, Any]] = field(default_factory=dict)
    # a channel or group (``add_channel``/``add_group``): its kind, @username, the bot's
    # status there and right to post, and its forum topics
    kind: str = "private"
    username: str | None = None
    bot_status: str = "member"
    can_post: bool = True
    topics: frozenset[int] = frozenset()


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    document: dict[str, Any]


class EmulatorState:
    """What the emulator knows (chats, bot messages, queued updates, files, open queries,
    injected faults) and the helpers that every group of methods uses.
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
        # (messages per second from the bot, per chat): any request that would put more than
        # that many into some sliding second gets 429 and is counted in ``flood_rejected``
        self.flood_limits: tuple[float, float] | None = None
        self.flood_rejected = 0
        self.flood_exempt: set[int] = set()  # chats whose messages the limits do not count
        # (lowest, highest) seconds a request takes, uniformly, getUpdates aside; it is
        # processed at a random point of that time (see ``_handle_api``)
        self.latency: tuple[float, float] | None = None
        self.clock: Callable[[], float] = time.monotonic  # what the flood limits measure

        self._chats: dict[int, Chat] = {}
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
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_ids = itertools.count(1)
        self._faults: list[Fault] = []
        self._delays: list[Delay] = []
        self._send_times: deque[float] = deque()
        self._chat_send_times: dict[int, deque[float]] = {}

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
        if chat.kind == "private":
            return {"id": chat_id, "first_name": chat.first_name, "type": "private"}
        info: dict[str, Any] = {"id": chat_id, "title": chat.first_name, "type": chat.kind}
        if chat.username:
            info["username"] = chat.username
        if chat.topics:
            info["is_forum"] = True
        return info

    def add_chat(self, user_id: int, language_code: str = "ru") -> None:
        """Register a private chat (chat id == user id) whose user has started the bot."""
        chat = self._chats.get(user_id)
        if chat is None:
            self._chats[user_id] = Chat(user_id, "Reader", language_code)
            self._sent[user_id] = []
        else:
            chat.language_code = language_code

    def _touch_chat(self, user_id: int, language_code: str, first_name: str) -> Chat:
        self.add_chat(user_id, language_code)
        chat = self._chats[user_id]
        chat.first_name = first_name
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        chat = self._chats[chat_id]
        message_id = chat.next_message_id
        chat.next_message_id += 1
        return message_id

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

    def _find_sent(self, chat_id: int, message_id: int) -> SentMessage | None:
        for message in self._sent.get(chat_id, []):
            if message.message_id == message_id:
                return message
        return None

    def _store_file(self, content: bytes, file_name: str, mime_type: str | None) -> StoredFile:
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
        stored = StoredFile(file_id, unique, path, content, document)
        self._files[file_id] = stored
        self._files_by_path[path] = stored
        return stored

    def _chat_for(self, params: dict[str, Any], *, sending: bool) -> Chat:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad("chat_id is empty")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            found = [c for c in self._chats.values() if c.username == chat_id[1:]]
            chat_id = found[0].user_id if found else None
        if not isinstance(chat_id, int) or chat_id not in self._chats:
            raise bad("chat not found")
        if chat_id in self._deactivated:
            raise ApiError(403, DEACTIVATED)
        if sending and chat_id in self._blocked:
            raise ApiError(403, BLOCKED)
        return self._chats[chat_id]

    def _message_dict(self, sent: SentMessage) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "from": self._bot_user(),
            "chat": self._chat_dict(sent.chat_id),
            "date": sent.date,
        }
        if self._chats[sent.chat_id].kind == "channel":  # a channel post has no sender user
            del message["from"]
            message["sender_chat"] = message["chat"]
        if sent.thread_id is not None:
            message["message_thread_id"] = sent.thread_id
            message["is_topic_message"] = True
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
