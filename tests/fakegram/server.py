"""``BotAPIEmulator``: the aiohttp application on loopback that routes Bot API requests to
the method handlers (after the injected delays and faults), and its lifecycle.

The handlers live in mixins, one group of methods each; they share ``EmulatorState``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakegram.commands import CommandMethods
from tests.fakegram.errors import ApiError, bad
from tests.fakegram.faults import FaultInjection
from tests.fakegram.messages import MessageMethods
from tests.fakegram.observe import Observation
from tests.fakegram.queries import QueryMethods
from tests.fakegram.state import CURRENT_CALL, UPLOADS, Call
from tests.fakegram.updates import UpdateMethods
from tests.fakegram.users import UserActions

if TYPE_CHECKING:
    from aiogram import Bot

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


class BotAPIEmulator(
    UserActions,
    Observation,
    FaultInjection,
    UpdateMethods,
    MessageMethods,
    QueryMethods,
    CommandMethods,
):
    """A Telegram Bot API server on 127.0.0.1 with an ephemeral port.

    Drive the bot with ``send_message``/``press``/``inline_query``..., observe it through
    ``calls``, ``messages(chat_id)``, ``callback_answers``..., inject faults with
    ``block``/``fail_next``/``delay``/``flood_limits``/``latency``.
    """

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        username: str = "interview_test_bot",
        port: int = 0,
    ):
        super().__init__(token, username=username)
        self._runner: web.AppRunner | None = None
        self._port = port

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
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
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
        """Serve on 127.0.0.1 (an ephemeral port unless one was given); sets ``base_url``."""
        self._runner = web.AppRunner(
            self.app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
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
                    raise bad("can't parse JSON object") from exc
                if not isinstance(body, dict):
                    raise bad("can't parse JSON object")
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
                    raise bad(f"can't parse {key} JSON object") from exc
            elif key in _INT_FIELDS and isinstance(item, str):
                with contextlib.suppress(ValueError):
                    decoded = int(item)
            elif key in _BOOL_FIELDS and isinstance(item, str):
                decoded = item.lower() in ("true", "1")
            params[key] = decoded
        return params, files

    def _latency_for(self, method: str, params: dict[str, Any]) -> tuple[float, float]:
        """Seconds to wait before processing a request and after it (``latency``): the time a
        request takes is drawn uniformly, and the server processes it — counts it against the
        flood limits — at a uniformly random point of it, so requests sent evenly arrive
        unevenly, as over a network. A long poll answers at once."""
        if self.latency is None or method == "getupdates":
            return 0.0, 0.0
        total = random.uniform(*self.latency)
        before = random.uniform(0.0, total)
        return before, total - before

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = Call(method=method, params={}, ok=False, error=None, at=time.monotonic())
        after = 0.0
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
                before, after = self._latency_for(name, call.params)
                seconds = self._take_delay(name) + before
                if seconds:
                    await asyncio.sleep(seconds)
                fault = self._take_fault(name, call.params)
                if fault is not None:
                    parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
                    raise ApiError(fault.status, fault.description, parameters)
                UPLOADS.set(files)
                CURRENT_CALL.set(call)
                result = await handler(call.params)
            except ApiError as error:
                call.error = error.description
                if after:
                    await asyncio.sleep(after)
                return web.json_response(error.payload(), status=error.code)
            call.ok = True
            if after:
                await asyncio.sleep(after)
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
