"""The users' side of the chats: they write, press buttons, type inline queries, block the
bot and upload files; each action queues the update Telegram would send."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.fakegram.html import utf16_len
from tests.fakegram.state import EmulatorState, SentMessage

_BOT_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


def command_entities(text: str) -> list[dict[str, Any]]:
    match = _BOT_COMMAND_RE.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]


class UserActions(EmulatorState):
    """What the users do, as test drivers: ``send_message``, ``press``, ``inline_query``..."""

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
            entities = command_entities(text)
            if entities:
                message["entities"] = entities
        if document is not None:
            message["document"] = document
            if caption is not None:
                message["caption"] = caption
                entities = command_entities(caption)
                if entities:
                    message["caption_entities"] = entities
        chat.raw[message["message_id"]] = message
        self._enqueue("message", message)
        return message

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
