"""Bot messages: sendMessage, sendDocument, the edit methods, deleteMessage, chat actions."""

from __future__ import annotations

import time
from typing import Any, Literal

from tests.fakegram.errors import NOT_MODIFIED, ApiError, bad
from tests.fakegram.files import FileMethods
from tests.fakegram.markup import format_text, inline_rows, validate_markup
from tests.fakegram.state import Chat, SentMessage

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


DELETE_LIMIT_S = 48 * 3600


class MessageMethods(FileMethods):
    """sendMessage, sendDocument, editMessageText/Caption/ReplyMarkup, deleteMessage and
    sendChatAction."""

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        visible, entities = format_text(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
        markup = validate_markup(params.get("reply_markup"))
        chat = self._chat_for(params, sending=True)
        self._check_post_rights(chat)
        thread = self._thread(chat, params)
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
            thread_id=thread,
        )
        return self._record(chat, sent, reply_to)

    async def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        caption, entities = format_text(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
        markup = validate_markup(params.get("reply_markup"))
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

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, sent, (visible, entities), markup = self._checked_edit(params, "text")
        self._check_flood(chat.user_id)  # edits count against the flood limits like sends
        sent.text, sent.entities, sent.html = visible, entities, str(params["text"])
        sent.parse_mode = params.get("parse_mode")
        sent.reply_markup = markup  # no reply_markup in the request removes the keyboard
        return self._store_edit(chat, sent)

    async def _edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, sent, (caption, entities), markup = self._checked_edit(params, "caption")
        sent.text, sent.caption, sent.entities = caption, caption or None, entities
        sent.html = str(params.get("caption") or "")
        sent.reply_markup = markup
        return self._store_edit(chat, sent)

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, sent, _, markup = self._checked_edit(params, None)
        sent.reply_markup = markup
        return self._store_edit(chat, sent)

    def _checked_edit(
        self, params: dict[str, Any], content: Literal["text", "caption"] | None
    ) -> tuple[Chat, SentMessage, tuple[str, list[dict[str, Any]]], dict[str, Any] | None]:
        """The checks of editMessageText/Caption/ReplyMarkup, in the order they are made.

        ``content`` is what the edit replaces besides the keyboard ("text", "caption", or
        None for editMessageReplyMarkup).  Returns the chat, the message, the new visible
        content with its entities (``("", [])`` when None) and the new reply_markup.
        """
        new: tuple[str, list[dict[str, Any]]] = ("", [])
        if content == "text":
            new = format_text(params.get("text"), params.get("parse_mode"), params.get("entities"))
        elif content == "caption":
            new = format_text(
                params.get("caption"),
                params.get("parse_mode"),
                params.get("caption_entities"),
                caption=True,
            )
        markup = validate_markup(params.get("reply_markup"))
        # editMessageCaption takes any markup validate_markup accepts, the others an inline one
        if content != "caption" and markup is not None and "inline_keyboard" not in markup:
            raise bad("inline keyboard expected")
        chat, sent = self._edit_target(params)
        self._check_post_rights(chat)
        if content == "text" and sent.document is not None:
            raise bad("there is no text in the message to edit")
        if content == "caption" and sent.document is None:
            raise bad("there is no caption in the message to edit")
        unchanged = inline_rows(sent.reply_markup) == inline_rows(markup)
        if content is not None:
            current = sent.text if content == "text" else (sent.caption or "")
            unchanged = unchanged and (current, sent.entities) == new
        if unchanged:
            raise bad(NOT_MODIFIED[len("Bad Request: ") :])
        return chat, sent, new, markup

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._chat_for(params, sending=False)
        self._check_post_rights(chat)
        message_id = params.get("message_id")
        if message_id is None:
            raise bad("message identifier is not specified")
        if not isinstance(message_id, int) or message_id not in chat.raw:
            raise bad("message to delete not found")
        # a message can only be deleted for everyone within 48 hours of being sent
        if time.time() - int(chat.raw[message_id].get("date", 0)) > DELETE_LIMIT_S:
            raise bad("message can't be deleted for everyone")
        self._check_flood(chat.user_id)
        del chat.raw[message_id]
        self._sent[chat.user_id] = [
            m for m in self._sent[chat.user_id] if m.message_id != message_id
        ]
        return True

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        self._chat_for(params, sending=True)
        return True

    def _reply_to(self, chat: Chat, params: dict[str, Any]) -> int | None:
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
            raise bad("message to be replied not found")
        return int(message_id)

    def _check_post_rights(self, chat: Chat) -> None:
        """A channel takes posts, edits and deletions from an admin allowed to post; a group
        from a member that is not restricted."""
        if chat.kind == "private":
            return
        if chat.bot_status in ("left", "kicked"):
            kind = "channel" if chat.kind == "channel" else "supergroup"
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        if chat.kind == "channel" and (chat.bot_status != "administrator" or not chat.can_post):
            raise bad("need administrator rights in the channel chat")
        if not chat.can_post:
            raise bad("not enough rights to send text messages to the chat")

    def _thread(self, chat: Chat, params: dict[str, Any]) -> int | None:
        thread = params.get("message_thread_id")
        if thread is None:
            return None
        if not isinstance(thread, int) or thread not in chat.topics:
            raise bad("message thread not found")
        return thread

    def add_channel(
        self,
        chat_id: int,
        username: str | None = None,
        *,
        bot_status: str = "administrator",
        can_post: bool = True,
        kind: str = "channel",
        topics: frozenset[int] = frozenset(),
    ) -> None:
        """A channel (or, with ``kind="supergroup"``, a group; ``topics``: a forum's topic ids)
        with the bot's status there."""
        self._chats[chat_id] = Chat(
            chat_id,
            f"Newsroom {kind}",
            "",
            kind=kind,
            username=username,
            bot_status=bot_status,
            can_post=can_post,
            topics=topics,
        )
        self._sent[chat_id] = []

    async def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params, sending=False)
        return {
            **self._chat_dict(chat.user_id),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params, sending=False)
        user_id = params.get("user_id")
        if user_id != self.bot_id:
            raise bad("user not found")
        member: dict[str, Any] = {"status": chat.bot_status, "user": self._bot_user()}
        if chat.bot_status == "administrator":
            rights = [
                "can_manage_chat",
                "can_delete_messages",
                "can_manage_video_chats",
                "can_restrict_members",
                "can_promote_members",
                "can_change_info",
                "can_invite_users",
                "can_post_stories",
                "can_edit_stories",
                "can_delete_stories",
                "can_send_welcome_messages",
            ]
            member |= {name: False for name in rights}
            member |= {"can_be_edited": False, "is_anonymous": False, "can_delete_messages": True}
            if chat.kind == "channel":
                member |= {"can_post_messages": chat.can_post, "can_edit_messages": True}
        elif chat.bot_status == "restricted":
            member |= {"is_member": True, "until_date": 0, "can_send_messages": chat.can_post}
            member |= {
                name: True
                for name in [
                    "can_send_audios",
                    "can_send_documents",
                    "can_send_photos",
                    "can_send_videos",
                    "can_send_video_notes",
                    "can_send_voice_notes",
                    "can_send_polls",
                    "can_send_other_messages",
                    "can_add_web_page_previews",
                    "can_change_info",
                    "can_invite_users",
                    "can_pin_messages",
                    "can_manage_topics",
                    "can_react_to_messages",
                    "can_edit_tag",
                ]
            }
        return member

    def age_message(self, chat_id: int, message_id: int, seconds: float) -> None:
        """Make a message ``seconds`` older (e.g. past Telegram's 48-hour deletion limit)."""
        chat = self._chats[chat_id]
        chat.raw[message_id]["date"] = int(chat.raw[message_id]["date"] - seconds)
        sent = self._find_sent(chat_id, message_id)
        if sent is not None:
            sent.date = int(sent.date - seconds)

    def _record(self, chat: Chat, sent: SentMessage, reply_to: int | None) -> dict[str, Any]:
        self._sent[chat.user_id].append(sent)
        message = self._message_dict(sent)
        if reply_to is not None:
            message["reply_to_message"] = chat.raw[reply_to]
        chat.raw[sent.message_id] = message
        return message

    def _edit_target(self, params: dict[str, Any]) -> tuple[Chat, SentMessage]:
        if params.get("inline_message_id"):
            raise bad("MESSAGE_ID_INVALID")
        chat = self._chat_for(params, sending=False)
        message_id = params.get("message_id")
        if message_id is None:
            raise bad("message identifier is not specified")
        sent = self._find_sent(chat.user_id, message_id) if isinstance(message_id, int) else None
        if sent is None:
            if isinstance(message_id, int) and message_id in chat.raw:
                raise bad("message can't be edited")
            raise bad("message to edit not found")
        return chat, sent

    def _store_edit(self, chat: Chat, sent: SentMessage) -> dict[str, Any]:
        sent.edited += 1
        message = self._message_dict(sent)
        chat.raw[sent.message_id] = message
        return message
