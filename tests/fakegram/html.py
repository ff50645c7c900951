"""Telegram's HTML parse mode, a port of TDLib: ``parse_html``, ``utf16_len`` and the
trimming of formatted text that Telegram applies after parsing (``finish_entities``)."""

from __future__ import annotations

import re
from typing import Any

from tests.fakegram.errors import ApiError, bad


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
        return bad(f"can't parse entities: {message}")

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
        raise bad("strings must be encoded in UTF-8") from exc
    return visible, entities


_TYPE_ORDER = {"blockquote": 0, "expandable_blockquote": 0, "pre": 1, "code": 2}


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


def finish_entities(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
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
