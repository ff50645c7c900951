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

from razdel import sentenize

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
    """HTML messages holding all the blocks in order, each within ``limit`` visible characters.

    A paragraph that fits in a message is never split (it moves to the next message whole); a
    longer one fills the current message sentence by sentence and continues in the next.
    """
    messages: list[str] = []
    current: list[str] = []
    used = 0

    def flush() -> None:
        nonlocal current, used
        if current:
            messages.append("".join(current))
        current, used = [], 0

    for block in blocks:
        text = block.text.strip()
        gap = block.gap
        while text:
            sep = ("\n\n" if gap else "\n") if current else ""
            room = limit - used - utf16_len(sep)
            size = utf16_len(text)
            if size <= room:
                head, text = text, ""
            elif size <= limit or room <= 0:
                flush()
                continue
            else:
                head, text = _split_prefix(text, room, whole_words_only=bool(current))
                if not head:
                    flush()
                    continue
            current.append(sep + to_html(Block(head, block.style, url=block.url)))
            used += utf16_len(sep) + utf16_len(head)
            gap = False
            if text:
                flush()
    flush()
    return messages


def _split_prefix(text: str, room: int, *, whole_words_only: bool) -> tuple[str, str]:
    """The longest run of whole sentences of ``text`` within ``room``, and the rest.

    When not even one sentence fits, an empty message takes as many whole words as fit (a
    message that already holds something is flushed instead: ``whole_words_only``).
    """
    end = 0
    for sentence in sentenize(text):
        if utf16_len(text[: sentence.stop]) > room:
            break
        end = sentence.stop
    if end == 0:
        if whole_words_only:
            return "", text
        end = _word_cut(text, room)
    return text[:end].rstrip(), text[end:].lstrip()


def _word_cut(text: str, room: int) -> int:
    """Index to cut ``text`` at the last space within ``room``; mid-word only for a giant word."""
    cut = 0
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > room:
            break
        if char.isspace():
            cut = index
    if cut == 0:  # one word longer than a message: no better place to cut
        cut = len(text[:room].encode("utf-16-le")[: room * 2].decode("utf-16-le", "ignore"))
    return cut
