"""What Telegram accepts as message text, entities, reply markup and inline query results.

Stateless checks shared by the method handlers; each raises ``ApiError`` like Telegram.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakegram.errors import bad
from tests.fakegram.html import finish_entities, parse_html, utf16_len

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTONS_PER_ROW = 8
MAX_BUTTONS_TOTAL = 100

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


def inline_rows(markup: dict[str, Any] | None) -> list[Any]:
    """The inline keyboard rows of a reply_markup ([] when it has none)."""
    if not markup:
        return []
    return list(markup.get("inline_keyboard") or [])


def format_text(
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
        raise bad("message text is empty")
    if not isinstance(text, str):
        text = str(text)
    mode = (parse_mode or "").lower() if isinstance(parse_mode, str) else ""
    if mode and mode != "none":
        if mode == "html":
            visible, parsed = parse_html(text)
        elif mode in ("markdown", "markdownv2"):
            raise bad(
                f"can't parse entities: parse_mode {parse_mode} is not emulated "
                "(the emulator supports HTML only)"
            )
        else:
            raise bad("unsupported parse_mode")
    else:
        visible, parsed = text, plain_entities(text, entities)
    visible, parsed = finish_entities(visible, parsed)
    limit = MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH
    if not visible:
        if caption:
            return "", []
        raise bad("message text is empty")
    if utf16_len(visible) > limit:
        raise bad("message caption is too long" if caption else "message is too long")
    return visible, parsed


def plain_entities(text: str, entities: Any) -> list[dict[str, Any]]:
    if entities in (None, ""):
        return []
    if not isinstance(entities, list):
        raise bad("can't parse entities JSON object")
    total = utf16_len(text)
    result = []
    for entity in entities:
        if not isinstance(entity, dict) or not {"type", "offset", "length"} <= entity.keys():
            raise bad('can\'t parse MessageEntity: Field "type" must be of type String')
        offset, length = int(entity["offset"]), int(entity["length"])
        if offset < 0 or length <= 0 or offset >= total:
            continue
        result.append({**entity, "offset": offset, "length": min(length, total - offset)})
    return result


def validate_markup(markup: Any) -> dict[str, Any] | None:
    """Validate reply_markup like Telegram; returns it (None when absent)."""
    if markup in (None, ""):
        return None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        validate_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array')
        for row in rows:
            for button in row:
                label = button if isinstance(button, str) else button.get("text")
                if not label:
                    raise bad('can\'t parse keyboard button: Field "text" must be of type String')
    elif not ("remove_keyboard" in markup or "force_reply" in markup):
        raise bad('can\'t find field "inline_keyboard"')
    return markup


def validate_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    total = 0
    for row in rows:
        if len(row) > MAX_BUTTONS_PER_ROW:
            raise bad("BUTTONS_TOO_MUCH")
        for button in row:
            total += 1
            if not isinstance(button, dict):
                raise bad(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            label = button.get("text")
            if not isinstance(label, str):
                raise bad(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if not label.strip():
                raise bad("BUTTON_TEXT_INVALID")
            actions = [key for key in _BUTTON_ACTIONS if button.get(key) is not None]
            if not actions:
                raise bad(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            if len(actions) > 1:
                raise bad(
                    "can't parse inline keyboard button: exactly one of the optional fields "
                    f"must be used, got {actions}"
                )
            if "callback_data" in actions:
                data = button["callback_data"]
                if not isinstance(data, str) or not (
                    1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                ):
                    raise bad("BUTTON_DATA_INVALID")
            if "url" in actions:
                url = button["url"]
                if not isinstance(url, str) or not re.match(
                    r"^(https?://[^\s/$.?#][^\s]*|tg://\S+)$", url, re.IGNORECASE
                ):
                    raise bad("BUTTON_URL_INVALID")
    if total > MAX_BUTTONS_TOTAL:
        raise bad("BUTTONS_TOO_MUCH")


def validate_inline_result(result: Any) -> None:
    if not isinstance(result, dict):
        raise bad("can't parse inline query result: InlineQueryResult must be an Object")
    result_id = result.get("id")
    if not isinstance(result_id, str) or not 1 <= len(result_id.encode("utf-8")) <= 64:
        raise bad("RESULT_ID_INVALID")
    kind = result.get("type")
    if not isinstance(kind, str) or not kind:
        raise bad('can\'t parse inline query result: Field "type" must be of type String')
    if kind == "article":
        if not str(result.get("title") or "").strip():
            raise bad('can\'t parse inline query result: Field "title" must be of type String')
        if "input_message_content" not in result:
            raise bad("can't parse inline query result: Can't find field \"input_message_content\"")
    content = result.get("input_message_content")
    if content is not None:
        if not isinstance(content, dict):
            raise bad("can't parse inline query result: InputMessageContent must be an Object")
        if "message_text" in content:
            format_text(
                content.get("message_text"), content.get("parse_mode"), content.get("entities")
            )
    markup = result.get("reply_markup")
    if markup is not None:
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            raise bad("can't parse inline query result: inline keyboard expected")
        validate_inline_keyboard(markup["inline_keyboard"])
