"""Word documents (.docx) → blocks, with python-docx.

Paragraphs come in body order, table cells row by row (a merged cell once). A run is bold when
the run says so, else when its character style (or the styles it is based on) does, else when
the paragraph's style does. Headings are the "Title" and "Heading 1–3" styles (and styles based
on them). Tracked changes are refused: the text would mix the old and the new wording.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator

import docx
from docx.document import Document as WordDocument
from docx.opc.exceptions import OpcError
from docx.styles.style import BaseStyle, CharacterStyle
from docx.table import Table
from docx.text.hyperlink import Hyperlink
from docx.text.paragraph import Paragraph as WordParagraph
from docx.text.run import Run
from lxml import etree

from bot.domain.parsing import ParseError, ParseProblem
from bot.domain.readers import Block, Span

DOCUMENT_XML = "word/document.xml"
# zipfile never inflates a member past the size its directory entry declares (a lying entry
# fails its CRC check), so checking the declared sizes is enough to refuse a zip bomb.
MAX_DOCUMENT_XML_BYTES = 20_000_000
MAX_UNPACKED_BYTES = 60_000_000  # python-docx loads every part (images too) into memory

_ZIP_MAGIC = b"PK\x03\x04"
# built-in styles keep their English names inside the file; some templates localise them
_HEADING_STYLES = frozenset(
    {
        *("title", "heading 1", "heading 2", "heading 3"),
        *("название", "заголовок 1", "заголовок 2", "заголовок 3"),
    }
)
_TRACKED_CHANGES = ".//w:ins | .//w:del | .//w:moveFrom | .//w:moveTo"
# what python-docx and zipfile raise on a damaged package
_DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    KeyError,
    ValueError,
    EOFError,
    OSError,
    NotImplementedError,
    OpcError,
    etree.LxmlError,
)


def is_word(data: bytes) -> bool:
    """A ZIP package with a Word document in it, whatever the file is called.

    A damaged package whose local header still names the Word part counts too: it is a broken
    Word file, and saying so helps more than calling it binary.
    """
    if not data.startswith(_ZIP_MAGIC):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return DOCUMENT_XML in package.namelist()
    except _DAMAGED:
        return DOCUMENT_XML.encode() in data


def read_docx(data: bytes) -> list[Block]:
    """Blocks of a .docx file. Raises ``ParseError`` for a damaged, oversized or
    change-tracked document."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            _check_sizes(package)
        document = docx.Document(io.BytesIO(data))
        if document.element.body.xpath(_TRACKED_CHANGES):
            raise ParseError(
                ParseProblem.TRACKED_CHANGES,
                "the document has tracked changes: accept or reject them in Word and save again",
            )
        return list(_blocks(document))
    except ParseError:
        raise
    except _DAMAGED as exc:
        raise ParseError(
            ParseProblem.BAD_DOCUMENT,
            f"the Word document cannot be read ({type(exc).__name__}): save it again as .docx",
        ) from exc


def _check_sizes(package: zipfile.ZipFile) -> None:
    document = package.getinfo(DOCUMENT_XML)
    unpacked = sum(info.file_size for info in package.infolist())
    if document.file_size > MAX_DOCUMENT_XML_BYTES or unpacked > MAX_UNPACKED_BYTES:
        raise ParseError(
            ParseProblem.TOO_LARGE,
            f"the Word document unpacks to {unpacked:,} bytes; the limit is "
            f"{MAX_UNPACKED_BYTES:,} bytes ({MAX_DOCUMENT_XML_BYTES:,} for its text)",
        )


DATA_CELL_CHARS = 40  # a table whose cells average less is figures, not a Q&A laid out in cells
CAPTION_CHARS = 200


def _blocks(document: WordDocument) -> Iterator[Block]:
    """Body blocks in order. A table of figures is not part of the conversation: it is left
    out with its caption (the short paragraph above it that asks nothing)."""
    pending: Block | None = None
    for item in document.iter_inner_content():
        blocks = list(_item_blocks(item))
        if isinstance(item, Table) and _is_data(blocks):
            if pending is not None and not _caption(pending):
                yield pending
            pending = None
            continue
        if pending is not None:
            yield pending
        yield from blocks[:-1]
        pending = blocks[-1] if blocks else None
    if pending is not None:
        yield pending


def _text(block: Block) -> str:
    return "".join(text for text, _ in block.spans).strip()


def _is_data(cells: list[Block]) -> bool:
    """Short cells that ask nothing and are not sentences: figures and their labels."""
    texts = [_text(cell) for cell in cells if _text(cell)]
    if not texts or any(text.endswith("?") for text in texts):
        return False
    sentences = sum(text.endswith((".", "!", "…")) for text in texts)
    return sum(map(len, texts)) / len(texts) < DATA_CELL_CHARS and sentences * 5 <= len(texts)


def _caption(block: Block) -> bool:
    text = _text(block)
    return len(text) <= CAPTION_CHARS and not text.rstrip(' »"”').endswith("?")


def _item_blocks(item: WordParagraph | Table) -> Iterator[Block]:
    if isinstance(item, WordParagraph):
        style = item.style
        yield Block(tuple(_spans(item, style)), heading=_is_heading(style))
        return
    seen: set[int] = set()
    for row in item.rows:
        for cell in row.cells:
            # a cell merged across columns or rows is listed at every grid position it covers
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            for inner in cell.iter_inner_content():
                yield from _item_blocks(inner)


def _spans(paragraph: WordParagraph, style: BaseStyle | None) -> Iterator[Span]:
    for item in paragraph.iter_inner_content():
        runs = item.runs if isinstance(item, Hyperlink) else [item]
        for run in runs:
            text = run.text.replace("\t", " ")
            if text:
                yield text, _is_bold(run, style)


def _is_bold(run: Run, paragraph_style: BaseStyle | None) -> bool:
    for value in (run.bold, _style_bold(run.style), _style_bold(paragraph_style)):
        if value is not None:
            return value
    return False


def _style_chain(style: BaseStyle | None) -> Iterator[CharacterStyle]:
    """The style and the styles it is based on (paragraph styles are character styles too;
    table and numbering styles set no font and have no name that matters here)."""
    for _ in range(16):  # a damaged file may have a cycle of base styles
        if not isinstance(style, CharacterStyle):
            return
        yield style
        style = style.base_style


def _style_bold(style: BaseStyle | None) -> bool | None:
    for link in _style_chain(style):
        bold: bool | None = link.font.bold
        if bold is not None:
            return bold
    return None


def _is_heading(style: BaseStyle | None) -> bool:
    return any((link.name or "").lower() in _HEADING_STYLES for link in _style_chain(style))
