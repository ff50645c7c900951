"""Web pages → blocks: trafilatura picks the article's blocks, the page gives their bold, and
lxml adds the headline and the lead.

Why trafilatura, and why not trafilatura alone — what trafilatura 2.3.1 did with
``tests/data/ingest/interview.html`` and small probe pages (``tests/test_readers.py`` fails if
any workaround below is taken out):

* It keeps ``<strong>``/``<b>`` as ``<hi rend="#b">`` (the same output with favor_precision,
  favor_recall or neither), so bold questions survive, and it drops the navigation, header,
  breadcrumbs, the "Читайте также" ``<aside>`` inside an answer (the answer continues
  whole), the photo caption, byline, tags, share buttons, subscribe banner, "Другие
  новости", footer, scripts and JSON-LD — all of the truth file's furniture.
* ``bare_extraction`` (its documented low-level call, an unserialised tree) is used rather
  than ``extract(output_format="xml")``: that XML is pretty-printed, which puts a line break
  between two bold runs of a paragraph — a space inside a word Word split over two runs.
* It keeps only the innermost formatting: ``<strong><em>Q?</em></strong>`` and Word's "save
  as web page" ``<b><i><span>Q?</span></i></b>`` come out italic, not bold, and
  ``<span style="font-weight:700">`` (Google Docs) comes out plain. So bold is made the
  innermost formatting first: formatting elements inside ``<b>``/``<strong>`` are unwrapped,
  inline elements styled ``font-weight`` bold or 600–900 become ``<b>``, and a
  ``<b style="font-weight:normal">`` wrapper (Google Docs' clipboard) is unwrapped.
* When its main extractor finds too little it takes the text of a backup extractor
  (readability, jusText), which keeps no formatting at all (seen on the ingest page with an
  unclosed ``</aside>``). So each block's bold is read again from the page element with the
  same text, when the page has one (or several that agree).
* It extracts the body container (``class="article__body"`` here) and so loses what news
  sites put between the headline and the body: the lead (``<p class="article__lead">``,
  which names the expert). The ``<h1>`` it keeps only as metadata when it lies outside the
  body, and inside the body not always (it dropped the ``<h1>`` of a Word-saved page). So the
  ``<h1>`` (else trafilatura's metadata title, else ``<title>``) becomes the first block, a
  heading, and the ``<p>`` paragraphs between the ``<h1>`` and the first block trafilatura
  kept (outside figures, asides, navigation, footers and forms, and not mostly links) are
  put back as the lead. When trafilatura's body holds the ``<h1>``, whatever it dropped
  after it was dropped on purpose and nothing is put back.
* A control character anywhere in the page makes it return nothing; they are dropped.

A walker of our own over ``<article>`` with a list of boilerplate class names would keep the
lead, but it would re-implement trafilatura's boilerplate rules, which are kept up to date
against far more sites than ours.
"""

from __future__ import annotations

import codecs
import copy
import re
from collections.abc import Iterator

import lxml.html
import trafilatura
from lxml import etree
from trafilatura.settings import Document as Extracted

from bot.domain.parsing import ParseError, ParseProblem
from bot.domain.readers import Block, Span

_FORMATTING = ("em", "i", "u", "span", "font", "mark", "small", "big", "cite", "dfn", "abbr")
_NOT_LEAD = ("figure", "figcaption", "aside", "nav", "footer", "form", "button", "noscript")
_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "button", "select"})
_BLOCKS = frozenset({"p", "head", "list", "item", "table", "row", "cell", "quote", "code"})
_FORMATTED = ("p", "li", "td", "th", "dd", "dt", "blockquote", "pre", "div", "section")
_COMPARED = ("p", "div", "section", "li", "td", "blockquote", "h2", "h3", "h4", "h5", "h6")
_WHITESPACE = re.compile(r"\s+")
_SPACES = re.compile(" +")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# the HTML standard's encoding prescan, reduced to <meta charset> / http-equiv content
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def read_html(data: bytes) -> list[Block]:
    root = _parse(_decode(data))
    _make_bold_innermost(root)
    headline = _headline(root)
    title = _plain_text(headline) if headline is not None else _fallback_title(root)
    body = _article(root)
    if not body:
        raise ParseError(
            ParseProblem.HTML,
            "found no article text in the web page: save the article as plain text (.txt)",
        )
    blocks = [Block(((title, False),), heading=True)] if title else []
    without_title = [block for block in body if _squash(block) != _squash_text(title)]
    if len(without_title) == len(body) and headline is not None:
        blocks += _lead(root, headline, body[0])
    return blocks + without_title


# -- decoding and parsing ----------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """BOM, else UTF-8, else the declared charset, else Windows-1251; a page that is none of
    them cleanly is read as a browser would, invalid bytes replaced. Control characters, which
    make trafilatura give up on the whole page, are dropped."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return _CONTROL.sub("", data.decode(encoding, errors="replace"))
    found = _CHARSET.search(data[:4096])
    declared = found.group(1).decode("ascii") if found else "utf-8"
    try:
        codecs.lookup(declared)
    except LookupError:
        declared = "utf-8"
    for encoding in ("utf-8", declared, "cp1251"):
        try:
            return _CONTROL.sub("", data.decode(encoding))
        except UnicodeDecodeError:
            continue
    return _CONTROL.sub("", data.decode(declared, errors="replace"))


def _parse(text: str) -> lxml.html.HtmlElement:
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True)
    try:
        root: lxml.html.HtmlElement = lxml.html.document_fromstring(
            text.encode("utf-8"), parser=parser
        )
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(ParseProblem.HTML, "the web page cannot be read") from exc
    return root


def _make_bold_innermost(root: lxml.html.HtmlElement) -> None:
    """Rewrite bold so that trafilatura, which keeps only the innermost formatting, keeps it."""
    for element in list(root.iter()):
        weight = _bold_style(element.get("style"))
        if weight is False and element.tag in ("b", "strong"):
            element.drop_tag()
        elif weight and element.tag in _FORMATTING:
            element.tag = "b"
    for bold in list(root.iter("b", "strong")):
        for inner in list(bold.iterdescendants(*_FORMATTING)):
            inner.drop_tag()


def _bold_style(style: str | None) -> bool | None:
    """What an inline ``style`` says about bold: True, False, or nothing."""
    for declaration in (style or "").split(";"):
        name, _, value = declaration.partition(":")
        if name.strip().lower() == "font-weight":
            value = value.strip().lower().removesuffix("!important").strip()
            return value in ("bold", "bolder") or (value.isdigit() and int(value) >= 600)
    return None


# -- headline, lead and article ----------------------------------------------------------------


def _headline(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    # outside an article or main, a site's header may hold an <h1> logo
    for path, outside in (
        ("//article//h1", _NOT_LEAD),
        ("//main//h1", _NOT_LEAD),
        ("//h1", (*_NOT_LEAD, "header")),
    ):
        for h1 in root.xpath(path):
            if _plain_text(h1) and not any(True for _ in h1.iterancestors(*outside)):
                return h1
    return None


def _fallback_title(root: lxml.html.HtmlElement) -> str:
    metadata = trafilatura.extract_metadata(copy.deepcopy(root))
    title = metadata.title if metadata is not None else None
    if not title:
        found = root.find(".//title")
        title = found.text_content() if found is not None else ""
    return _WHITESPACE.sub(" ", str(title)).strip()


def _article(root: lxml.html.HtmlElement) -> list[Block]:
    try:
        extracted = trafilatura.bare_extraction(
            copy.deepcopy(root),
            include_formatting=True,
            include_links=False,
            include_images=False,
            include_comments=False,
            include_tables=True,
            deduplicate=False,
            with_metadata=False,
        )
    except ValueError:
        return []
    if not isinstance(extracted, Extracted) or extracted.body is None:
        return []
    blocks: list[Block] = []
    for element in extracted.body:
        blocks += _xml_blocks(element)
    return _with_page_bold(root, [block for block in blocks if _squash(block)])


def _with_page_bold(root: lxml.html.HtmlElement, blocks: list[Block]) -> list[Block]:
    """Each block with its bold as the page has it, where one page element has the same text
    (several with the same text and the same bold do too); otherwise as trafilatura kept it."""
    wanted = {_squash(block) for block in blocks if not block.heading}
    found: dict[str, set[tuple[Span, ...]]] = {}
    for element in root.iter(*_FORMATTED):
        key = _squash_text(element.text_content())
        if key in wanted:
            found.setdefault(key, set()).add(_bold_shape(tuple(_spans(element, html=True))))
    result = []
    for block in blocks:
        shapes = found.get(_squash(block), set())
        result.append(
            Block(shapes.pop(), block.heading, block.prefix) if len(shapes) == 1 else block
        )
    return result


def _bold_shape(spans: tuple[Span, ...]) -> tuple[Span, ...]:
    """``spans`` merged into runs of the same boldness, spaces settled, so that two elements
    with the same text and the same bold compare equal."""
    runs: list[Span] = []
    for text, bold in spans:
        if runs and runs[-1][1] == bold:
            runs[-1] = (runs[-1][0] + text, bold)
        else:
            runs.append((text, bold))
    return tuple((_SPACES.sub(" ", text), bold) for text, bold in runs)


def _lead(root: lxml.html.HtmlElement, headline: etree._Element, first: Block) -> list[Block]:
    """The ``<p>`` paragraphs between the headline and the first block kept (see above)."""
    target = _squash(first)
    inside_headline = set(headline.iterdescendants())
    lead: list[Block] = []
    for element in _after(root, headline):
        if element in inside_headline or not isinstance(element.tag, str):
            continue
        if element.tag in _COMPARED and _squash_text(element.text_content()) == target:
            return lead
        if (
            element.tag == "p"
            and not any(True for _ in element.iterancestors(*_NOT_LEAD))
            and not _mostly_links(element)
        ):
            block = Block(tuple(_spans(element, html=True)))
            if _squash(block):
                lead.append(block)
    return []  # the article's first block was not found after the headline: add nothing


def _after(root: lxml.html.HtmlElement, start: etree._Element) -> Iterator[etree._Element]:
    elements = root.iter()
    for element in elements:
        if element is start:
            break
    yield from elements


def _mostly_links(element: etree._Element) -> bool:
    text = _squash_text(element.text_content())
    linked = sum(len(_squash_text(a.text_content())) for a in element.iter("a"))
    return bool(text) and linked * 2 > len(text)


# -- blocks and spans --------------------------------------------------------------------------


def _xml_blocks(element: etree._Element, prefix: str = "") -> list[Block]:
    """Blocks of one element of trafilatura's output (p, head, list/item, table/row/cell,
    quote, code); inline content is text, ``hi`` and ``lb``."""
    if element.tag == "list":
        ordered = element.get("rend") == "ol"
        blocks: list[Block] = []
        for number, item in enumerate(element, start=1):
            blocks += _xml_blocks(item, f"{number}. " if ordered else "- ")
        return blocks
    heading = element.tag == "head" and element.get("rend", "h2") in ("h1", "h2", "h3")
    blocks = []
    spans: list[Span] = [(_space(element.text), False)] if element.text else []
    for child in element:
        if child.tag in _BLOCKS:
            if spans:
                blocks.append(Block(tuple(spans), heading, prefix))
                spans, prefix = [], ""
            blocks += _xml_blocks(child)
        else:
            spans += _spans(child, html=False)
        if child.tail:
            spans.append((_space(child.tail), False))
    if spans:
        blocks.append(Block(tuple(spans), heading, prefix))
    return blocks


def _spans(element: etree._Element, *, html: bool, bold: bool = False) -> Iterator[Span]:
    """Text of ``element`` and its descendants (not its tail), bold where it is."""
    tag = element.tag
    if not isinstance(tag, str) or tag in _SKIPPED:
        return
    if tag == ("br" if html else "lb"):
        yield "\n", False
        return
    if html:
        bold = bold or tag in ("b", "strong")
    else:
        bold = bold or (tag == "hi" and "#b" in element.get("rend", ""))
    if element.text:
        yield _space(element.text), bold
    for child in element:
        yield from _spans(child, html=html, bold=bold)
        if child.tail:
            yield _space(child.tail), bold


def _space(text: str) -> str:
    """Layout whitespace in markup (line ends included) is one space."""
    return _WHITESPACE.sub(" ", text)


def _plain_text(element: etree._Element) -> str:
    return _WHITESPACE.sub(" ", "".join(text for text, _ in _spans(element, html=True))).strip()


def _squash(block: Block) -> str:
    return _squash_text("".join(text for text, _ in block.spans))


def _squash_text(text: str) -> str:
    """Text without any whitespace, to compare what trafilatura kept with the page."""
    return "".join(text.split())
