"""getMe, close, getUpdates (long polling, ``allowed_updates``, conflicts) and webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

from tests.fakegram.errors import GET_UPDATES_CONFLICT, WEBHOOK_CONFLICT, ApiError, bad
from tests.fakegram.state import CURRENT_CALL, EmulatorState

MAX_LONG_POLL_TIMEOUT = 50
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


class UpdateMethods(EmulatorState):
    """getMe, close/logOut, getUpdates, setWebhook, deleteWebhook, getWebhookInfo."""

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
            raise bad("wrong parameter in request")
        if not 1 <= limit <= 100:
            limit = 100
        timeout = min(max(timeout, 0), MAX_LONG_POLL_TIMEOUT)
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            if not isinstance(allowed, list):
                raise bad("can't parse allowed_updates JSON object")
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
            CURRENT_CALL.get().processed = True
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
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        port = match.group(1)
        if port and port not in ("80", "88", "443", "8443"):
            raise bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
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
