"""Messages built from blocks of plain text, escaped for HTML and split to fit Telegram.

A block is one paragraph with an optional style. Long content is split between blocks first, then
between sentences, then between words — never inside a word and never inside a tag, because
markup is applied per piece after splitting. Lengths are counted as Telegram counts them: visible
characters after entity parsing, in UTF-16 code units.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Literal

from bot.language import split_sentences

MESSAGE_LIMIT = 4096

Style = Literal["b", "i", "bi", "code", ""]


@dataclass(frozen=True, slots=True)
class Block:
    text: str
    style: Style = ""
    gap: bool = True  # a blank line before this block (else a plain line break)
    url: str | None = None


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def to_html(block: Block) -> str:
    body = escape(block.text)
    if block.url:
        body = f'<a href="{html.escape(block.url, quote=True)}">{body}</a>'
    for tag in reversed(_tags(block.style)):
        body = f"<{tag}>{body}</{tag}>"
    return body


def _tags(style: Style) -> list[str]:
    if style == "bi":
        return ["b", "i"]
    return [style] if style else []


def render(blocks: list[Block], limit: int = MESSAGE_LIMIT) -> list[str]:
    """HTML messages holding all the blocks in order, each within ``limit`` visible characters."""
    pieces = [part for block in blocks if block.text.strip() for part in _fit(block, limit)]
    messages: list[str] = []
    current: list[str] = []
    used = 0
    for block in pieces:
        sep = ("\n\n" if block.gap else "\n") if current else ""
        size = utf16_len(sep) + utf16_len(block.text)
        if current and used + size > limit:
            messages.append("".join(current))
            current, used, sep = [], 0, ""
            size = utf16_len(block.text)
        current.append(sep + to_html(block))
        used += size
    if current:
        messages.append("".join(current))
    return messages


def _fit(block: Block, limit: int) -> list[Block]:
    """One block split into blocks of at most ``limit`` characters each."""
    if utf16_len(block.text) <= limit:
        return [block]
    parts = _pack(split_sentences(block.text), limit)
    return [
        Block(text, block.style, gap=block.gap if i == 0 else False, url=block.url)
        for i, text in enumerate(parts)
    ]


def _pack(units: list[str], limit: int) -> list[str]:
    """Join sentences with spaces into runs within ``limit``; split over-long ones by words."""
    runs: list[str] = []
    current = ""
    for unit in units:
        for piece in _words_within(unit, limit):
            candidate = f"{current} {piece}" if current else piece
            if utf16_len(candidate) <= limit:
                current = candidate
            else:
                runs.append(current)
                current = piece
    if current:
        runs.append(current)
    return runs


def _words_within(sentence: str, limit: int) -> list[str]:
    if utf16_len(sentence) <= limit:
        return [sentence]
    parts: list[str] = []
    current = ""
    for word in sentence.split(" "):
        while utf16_len(word) > limit:  # a "word" longer than a message: no better place to cut
            head = word[:limit]
            if current:
                parts.append(current)
                current = ""
            parts.append(head)
            word = word[limit:]
        candidate = f"{current} {word}" if current else word
        if utf16_len(candidate) <= limit:
            current = candidate
        else:
            parts.append(current)
            current = word
    if current:
        parts.append(current)
    return parts


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(' ,;:—–-(«"') + "…"
