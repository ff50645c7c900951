"""Markdown → blocks, with markdown-it-py (CommonMark, plus tables).

``#`` headings (any level, ATX or underlined) are headings; ``**…**``/``__…__`` is bold; every
paragraph, list item and table cell is a block. List items keep their marker in front of the
text — ``"- "`` for any bullet, ``"1. "`` for a numbered item — so a reader can tell a bullet
from a dash turn. Emphasis, links and inline code keep their text; images, raw HTML, rules and
link definitions are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.domain.readers import Block, Span

_BULLETS = frozenset("-*+")


def read_markdown(text: str) -> list[Block]:
    blocks: list[Block] = []
    heading = False
    prefix = ""
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        match token.type:
            case "heading_open":
                heading = True
            case "heading_close":
                heading = False
            case "list_item_open":
                prefix = "- " if token.markup in _BULLETS else f"{token.info}{token.markup} "
            case "inline":
                blocks.append(Block(tuple(_spans(token.children or ())), heading, prefix))
                prefix = ""  # a loose item's later paragraphs carry no marker
            case "fence" | "code_block":
                blocks.append(Block(((token.content, False),), prefix=prefix))
                prefix = ""
    return blocks


def _spans(children: Iterable[Token]) -> Iterator[Span]:
    bold = 0
    for child in children:
        match child.type:
            case "text" | "code_inline":
                yield child.content, bold > 0
            case "strong_open":
                bold += 1
            case "strong_close":
                bold -= 1
            case "softbreak" | "hardbreak":
                yield "\n", False
