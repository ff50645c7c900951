"""A local console preview: the real dispatcher and handlers, with the terminal as Telegram.

Type commands (``/summary``, ``/questions``…) or any text as a reader would; type a button's
number to press it; ``q`` quits. Works without a token or network: an aiogram session that
renders the Bot API calls it receives instead of sending them. Lines can also be piped in.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
from collections.abc import AsyncGenerator
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, TextIO, cast

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Update

from bot.app import build_dispatcher
from bot.config import Settings
from bot.publishing import ensure_seed
from storage import Repository

BOT_USER = {"id": 1, "is_bot": True, "first_name": "Interview bot", "username": "interview_bot"}
READER_ID = 1001
_STYLES = {"b": "1", "strong": "1", "i": "3", "em": "3", "u": "4", "a": "4", "code": "2"}


class _TerminalHTML(HTMLParser):
    """Telegram HTML → terminal text (ANSI styles when the output is a terminal)."""

    def __init__(self, ansi: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.ansi = ansi
        self.out: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)
        self._restyle()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            self.stack.remove(tag)
        self._restyle()

    def handle_data(self, data: str) -> None:
        self.out.append(data)

    def _restyle(self) -> None:
        if self.ansi:
            codes = sorted({_STYLES[t] for t in self.stack if t in _STYLES})
            self.out.append("\033[0m" + (f"\033[{';'.join(codes)}m" if codes else ""))


def html_to_terminal(text: str, ansi: bool = False) -> str:
    parser = _TerminalHTML(ansi)
    parser.feed(text)
    parser.close()
    return "".join(parser.out) + ("\033[0m" if ansi else "")


class ConsoleSession(BaseSession):
    """Answers Bot API calls locally and prints what a reader would see."""

    def __init__(self, out: TextIO, ansi: bool) -> None:
        super().__init__()
        self.out = out
        self.ansi = ansi
        self.message_ids = itertools.count(1)
        self.messages: dict[int, dict[str, Any]] = {}
        self.buttons: list[dict[str, Any]] = []  # numbered buttons of the last keyboard shown
        self.button_message_id = 0

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - aiogram's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:  # pragma: no cover - no files in the preview
        raise NotImplementedError("files are not available in the console preview")
        yield b""

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109
    ) -> TelegramType:
        params = {
            key: self.prepare_value(value, bot=bot, files={}, _dumps_json=False)
            for key, value in method.model_dump(warnings=False).items()
        }
        result = self._handle(method.__api_method__, params)
        response = self.check_response(
            bot=bot,
            method=method,
            status_code=200,
            content=json.dumps({"ok": True, "result": result}),
        )
        return cast(TelegramType, response.result)

    def _handle(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return BOT_USER
        if name == "sendMessage":
            message = self._message(next(self.message_ids), params)
            self._show(message, edited=False)
            return message
        if name in ("editMessageText", "editMessageReplyMarkup"):
            old = self.messages.get(int(params.get("message_id") or 0), {})
            message = self._message(int(params.get("message_id") or 0), {**old, **params})
            self._show(message, edited=True)
            return message
        if name == "answerCallbackQuery" and params.get("text"):
            self._print(f"  [{params['text']}]")
        return True

    def _message(self, message_id: int, params: dict[str, Any]) -> dict[str, Any]:
        message = {
            "message_id": message_id,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": int(params.get("chat_id") or READER_ID), "type": "private"},
            "from": BOT_USER,
            "text": params.get("text", ""),
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[message_id] = message
        return message

    def _show(self, message: dict[str, Any], edited: bool) -> None:
        rule = "─" * 60
        self._print(rule + (" (edited)" if edited else ""))
        self._print(html_to_terminal(str(message["text"]), self.ansi))
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        if rows:
            self.buttons = [button for row in rows for button in row]
            self.button_message_id = int(message["message_id"])
            number = itertools.count(1)
            for row in rows:
                self._print("  ".join(f"[{next(number)}] {b['text']}" for b in row))

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


class ConsolePreview:
    def __init__(self, dp: Dispatcher, bot: Bot, session: ConsoleSession, language: str) -> None:
        self.dp, self.bot, self.session, self.language = dp, bot, session, language
        self.update_ids = itertools.count(1)

    def _user(self) -> dict[str, Any]:
        return {
            "id": READER_ID,
            "is_bot": False,
            "first_name": "Reader",
            "language_code": self.language,
        }

    async def send(self, text: str) -> None:
        message = {
            "message_id": next(self.session.message_ids),
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": READER_ID, "type": "private", "first_name": "Reader"},
            "from": self._user(),
            "text": text,
        }
        await self._feed({"message": message})

    async def press(self, number: int) -> bool:
        if not 1 <= number <= len(self.session.buttons):
            return False
        button = self.session.buttons[number - 1]
        if "callback_data" not in button:
            self.session._print(f"  (link: {button.get('url') or button})")
            return True
        message = self.session.messages[self.session.button_message_id]
        callback = {
            "id": str(next(self.update_ids)),
            "from": self._user(),
            "chat_instance": "console",
            "message": message,
            "data": button["callback_data"],
        }
        await self._feed({"callback_query": callback})
        return True

    async def _feed(self, payload: dict[str, Any]) -> None:
        update = Update.model_validate({"update_id": next(self.update_ids), **payload})
        await self.dp.feed_update(self.bot, update)

    async def handle_line(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        if line.isdigit() and await self.press(int(line)):
            return
        await self.send(line)


async def run_console(
    settings: Settings, *, language: str = "ru", stdin: TextIO | None = None
) -> None:
    stdin = stdin or sys.stdin
    interactive = stdin.isatty()
    session = ConsoleSession(sys.stdout, ansi=sys.stdout.isatty())
    repo = await Repository.open(settings.database_path)
    try:
        await ensure_seed(repo)
        await repo.prepare_search()
        bot = Bot(
            "1:console-preview",
            session=session,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )
        # one editor at the keyboard, checking a piece: per-user flood control guards the bot
        # against Telegram users and has nothing to guard here (piped commands arrive at once)
        dp = build_dispatcher(repo, replace(settings, throttle_rate=0.0))
        preview = ConsolePreview(dp, bot, session, language)
        print(
            f"Console preview of the bot ({settings.database_path}). Type /summary, /questions, "
            "/answer N, /pieces, any words to search, a button's number to press it, q to quit.",
            flush=True,
        )
        await preview.send("/start")
        while (line := await _next_line(stdin, interactive)) is not None:
            if line.strip().lower() in ("q", "quit", "exit"):
                break
            await preview.handle_line(line)
    finally:
        await repo.close()


async def _next_line(stdin: TextIO, interactive: bool) -> str | None:
    """The reader's next line, or ``None`` at the end of input."""
    if interactive:
        return await asyncio.to_thread(_prompt)
    line = stdin.readline()
    if not line:
        return None
    print(f"> {line.rstrip()}", flush=True)
    return line


def _prompt() -> str | None:
    try:
        return input("> ")
    except EOFError:
        return None
