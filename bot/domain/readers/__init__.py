"""Format readers behind ``bot.domain.sources``: bytes of one format → ``Block``s.

A reader knows its format (Word runs, a web page's tags, Markdown tokens) and nothing about
interviews; ``bot.domain.sources`` turns blocks into paragraphs the same way for every format.
"""

from __future__ import annotations

from dataclasses import dataclass

Span = tuple[str, bool]
"""A piece of text and whether it is bold. Inside a span, ``"\\n"`` is a line break the author
typed (Shift+Enter in Word, ``<br>``, a Markdown line break); readers turn the source's own
layout whitespace into spaces."""


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph-like block as its reader found it."""

    spans: tuple[Span, ...]
    heading: bool = False
    prefix: str = ""  # a list marker to keep in front of the text: "- ", "1. "
