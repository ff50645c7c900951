"""The bot's settings: its command lists (set/get/deleteMyCommands) and the menu button."""

from __future__ import annotations

import re
from typing import Any

from tests.fakegram.errors import bad
from tests.fakegram.state import EmulatorState

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


def commands_key(params: dict[str, Any]) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    if not isinstance(scope, dict) or "type" not in scope:
        raise bad("can't parse BotCommandScope JSON object")
    language = str(params.get("language_code") or "")
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad("invalid language code specified")
    return str(scope["type"]), language


class CommandMethods(EmulatorState):
    """setMyCommands, getMyCommands, deleteMyCommands, setChatMenuButton, getChatMenuButton."""

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if commands in (None, ""):
            commands = []
        if not isinstance(commands, list):
            raise bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad("too many commands specified")
        cleaned = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad("can't parse BotCommand: BotCommand must be an Object")
            command = str(item.get("command") or "")
            if command.startswith("/"):
                command = command[1:]
            if not command:
                raise bad("command must be non-empty")
            if len(command) > 32 or not _COMMAND_RE.match(command):
                raise bad("BOT_COMMAND_INVALID")
            description = str(item.get("description") or "").strip()
            if not description:
                raise bad("command description must be non-empty")
            if len(description) > 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command, "description": description})
        key = commands_key(params)
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.commands.get(commands_key(params), []))

    async def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(commands_key(params), None)
        return True

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
            raise bad("can't parse menu button JSON object")
        self.menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        return self.menu_buttons.get(chat_id, self.menu_buttons.get(None, {"type": "commands"}))
