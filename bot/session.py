"""The HTTP session to the Bot API: aiogram's, with requests sent as UTF-8 JSON.

aiogram's ``AiohttpSession`` sends every request as an URL-encoded form, and the standard
library's form encoder percent-encodes text one byte at a time in Python: for a Russian answer
of a few kilobytes that was the largest single cost of an update (~20 % of the bot's CPU in
``make bench-updates``), and each Cyrillic letter went over the wire as 6 bytes (``%D0%B8``).
The Bot API takes ``application/json`` bodies for every method except uploads; as JSON the
body is encoded in C and a Cyrillic letter is 2 bytes. Requests that carry a file still go as
multipart forms, through aiogram's own code.

aiogram validates each response into ``Response[T]``, a pydantic generic created on first use
and kept only in pydantic's weak cache: after a garbage collection it is built again (~10 ms,
a stalled event loop, measured 64 times in a two-minute benchmark). ``RESPONSE_TYPES`` keeps
the ones the bot uses alive.
"""

from __future__ import annotations

import json
from typing import Any, cast

from aiogram import Bot, methods
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiohttp import ClientError, ClientTimeout

JSON_HEADERS = {"Content-Type": "application/json"}

# the results of the methods the bot calls; each Response[...] lives as long as the process
RESPONSE_TYPES: tuple[object, ...] = tuple(
    cast(Any, Response)[method.__returning__]
    for method in (
        methods.GetUpdates,
        methods.SendMessage,
        methods.EditMessageText,
        methods.AnswerCallbackQuery,
        methods.AnswerInlineQuery,
        methods.GetMe,
        methods.GetChat,
        methods.GetChatMember,
        methods.GetFile,
        methods.CopyMessage,
        methods.GetWebhookInfo,
        methods.GetMyCommands,
    )
)


def dumps(value: Any) -> str:
    """JSON as the Bot API reads it: UTF-8 text, no spaces."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class JsonSession(AiohttpSession):
    """``AiohttpSession`` that sends JSON bodies (multipart forms only for uploads)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("json_dumps", dumps)
        super().__init__(**kwargs)

    def build_json(self, bot: Bot, method: TelegramMethod[Any]) -> bytes | None:
        """The request body, or None when the method uploads a file."""
        files: dict[str, Any] = {}
        payload = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.plain(value, bot, files)
            if prepared is None or prepared == "":  # what aiogram's form leaves out
                continue
            payload[key] = prepared
        if files:
            return None
        return self.json_dumps(payload).encode()

    def plain(self, value: Any, bot: Bot, files: dict[str, Any]) -> Any:
        """``prepare_value`` for a JSON body, with the common cases first: a keyboard or a page
        of inline results is hundreds of strings in nested dicts and lists."""
        kind = type(value)
        if kind is str or kind is int or kind is bool or kind is float:
            return value
        if kind is dict:
            return {
                key: item
                for key, raw in value.items()
                if raw is not None and (item := self.plain(raw, bot, files)) is not None
            }
        if kind is list:
            return [
                item
                for raw in value
                if raw is not None and (item := self.plain(raw, bot, files)) is not None
            ]
        # None, aiogram's defaults, files, enums, dates, objects: as aiogram prepares them
        return self.prepare_value(value, bot=bot, files=files, _dumps_json=False)

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's interface
    ) -> TelegramType:
        body = self.build_json(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url,
                data=body,
                headers=JSON_HEADERS,
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as response:
                raw = await response.text()
        except TimeoutError as error:
            raise TelegramNetworkError(method=method, message="Request timeout error") from error
        except ClientError as error:
            message = f"{type(error).__name__}: {error}"
            raise TelegramNetworkError(method=method, message=message) from error
        checked = self.check_response(
            bot=bot, method=method, status_code=response.status, content=raw
        )
        return cast(TelegramType, checked.result)
