"""An uploaded file → paragraphs, keeping the formatting editors mark questions with.

Word documents and web pages mark questions in bold, Markdown with ``**…**``. A reader keeps
that signal (``Paragraph.strong``) and headings, and drops the rest of the formatting. The kind
is told by content first and by the file name second — a Word file renamed to .txt is read as
Word, not refused as binary:

=========  ==========================================================  =========================
kind       recognised by                                               read with
=========  ==========================================================  =========================
DOCX       a ZIP holding ``word/document.xml``                         python-docx
HTML       named .html/.htm, starting like a page, or text that        trafilatura + lxml
           ``decode_source`` refuses as a web page                     (see ``html_reader``)
MARKDOWN   named .md/.markdown (never guessed from content)            markdown-it-py
TEXT       anything else                                               ``decode_source``
=========  ==========================================================  =========================

A paragraph the author broke into lines (Shift+Enter in Word, ``<br>``, a Markdown line break)
is split where wholly bold lines meet lines that are not, so ``**Question?**`` on the line above
its answer is a paragraph of its own; otherwise its lines are one paragraph.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath

from bot.domain.parsing import ParseError, ParseProblem, check_size, decode_source, normalise
from bot.domain.readers import Block, Span
from bot.domain.readers.docx_reader import is_word, read_docx
from bot.domain.readers.html_reader import read_html
from bot.domain.readers.markdown_reader import read_markdown

_HTML_NAMES = frozenset({".html", ".htm", ".xhtml"})
_MARKDOWN_NAMES = frozenset({".md", ".markdown"})
_WORD_NAMES = frozenset({".docx", ".doc"})


class SourceKind(StrEnum):
    TEXT = "text"
    DOCX = "docx"
    HTML = "html"
    MARKDOWN = "markdown"


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One paragraph: inline formatting removed, whitespace normalised (``normalise``, then
    one line). List items keep their marker: ``"- "`` for bullets, ``"1. "`` when numbered."""

    text: str
    strong: bool = False  # every letter and digit is bold (punctuation and spaces may not be)
    heading: bool = False  # docx Title/Heading 1–3, html h1–h3 (and the page's h1), markdown #


@dataclass(frozen=True, slots=True)
class Document:
    kind: SourceKind
    paragraphs: tuple[Paragraph, ...]
    # TEXT only: the decoded text, unchanged, for the plain-text parser (its paragraphs are the
    # text's non-blank lines; the blank-line layout the parser relies on is only here)
    text: str | None = None


def read_source(data: bytes, name: str | None = None) -> Document:
    """Read an uploaded file. Raises ``ParseError`` when it cannot be read."""
    check_size(data)
    suffix = PurePath(name).suffix.lower() if name else ""
    if is_word(data):
        return _document(SourceKind.DOCX, read_docx(data))
    if suffix in _HTML_NAMES or _starts_like_a_page(data):
        return _document(SourceKind.HTML, read_html(data))
    if suffix in _MARKDOWN_NAMES:
        return _document(SourceKind.MARKDOWN, read_markdown(decode_source(data, allow_html=True)))
    try:
        text = decode_source(data)
    except ParseError as error:
        if error.code is ParseProblem.HTML:
            return _document(SourceKind.HTML, read_html(data))
        if error.code is ParseProblem.BINARY and suffix in _WORD_NAMES:
            raise ParseError(
                ParseProblem.BAD_DOCUMENT,
                "the file is not a .docx Word document (an old .doc, or damaged): save it as .docx",
            ) from error
        raise
    lines = (Paragraph(line) for line in normalise(text).split("\n") if line)
    return Document(SourceKind.TEXT, tuple(lines), text)


def _starts_like_a_page(data: bytes) -> bool:
    head = data[:256].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _document(kind: SourceKind, blocks: Iterable[Block]) -> Document:
    paragraphs = tuple(p for block in blocks for p in _paragraphs(block))
    if not paragraphs:
        raise ParseError(ParseProblem.EMPTY, f"the {kind} document has no text")
    return Document(kind, paragraphs)


def _paragraphs(block: Block) -> Iterator[Paragraph]:
    if block.heading:
        text = _clean("".join(text for text, _ in block.spans))
        if text:
            yield Paragraph(block.prefix + text, heading=True)
        return
    # A line break the author typed (<br>, Shift+Enter) ends a paragraph: pages that set turns
    # apart with <br> inside one <p> need their dash or labelled lines. Lines stay together
    # when they are all bold (one question broken over lines) or when the next line goes on
    # in lower case (a sentence wrapped by hand).
    groups: list[tuple[bool, list[str]]] = []
    for line in _lines(block.spans):
        text = _clean("".join(piece for piece, _ in line))
        if not text:
            continue
        bold = _all_bold(line)
        if groups and groups[-1][0] == bold and (bold or text[0].islower()):
            groups[-1][1].append(text)
        else:
            groups.append((bold, [text]))
    prefix = block.prefix
    for bold, texts in groups:
        yield Paragraph(prefix + " ".join(texts), strong=bold)
        prefix = ""


def _lines(spans: Iterable[Span]) -> Iterator[list[Span]]:
    line: list[Span] = []
    for text, bold in spans:
        first, *rest = text.split("\n")
        line.append((first, bold))
        for piece in rest:
            yield line
            line = [(piece, bold)]
    yield line


def _all_bold(line: list[Span]) -> bool:
    marks = [bold for text, bold in line for char in text if char.isalnum()]
    return bool(marks) and all(marks)


def _clean(text: str) -> str:
    return " ".join(normalise(text).split())
