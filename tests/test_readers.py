"""Uploaded files → paragraphs with the bold-question and heading signal (bot.domain.sources)."""

from __future__ import annotations

import io
import json
import random
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from docx.document import Document as WordDocument
from docx.enum.style import WD_STYLE_TYPE

from bot.domain.parsing import (
    MAX_SOURCE_BYTES,
    ParseError,
    ParseProblem,
    decode_source,
    normalise,
)
from bot.domain.readers import docx_reader
from bot.domain.sources import Document, Paragraph, SourceKind, read_source

INGEST = Path(__file__).parent / "data" / "ingest"


def ingest(name: str) -> bytes:
    return (INGEST / name).read_bytes()


def truth(name: str) -> dict:
    return json.loads((INGEST / f"{name}.truth.json").read_text(encoding="utf-8"))


def flat(text: str) -> str:
    return " ".join(normalise(text).split())


def strong(document: Document) -> list[str]:
    return [p.text for p in document.paragraphs if p.strong]


def headings(document: Document) -> list[str]:
    return [p.text for p in document.paragraphs if p.heading]


# -- the ingest material -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("interview.docx", SourceKind.DOCX),
        ("interview.html", SourceKind.HTML),
        ("interview.md", SourceKind.MARKDOWN),
    ],
)
def test_the_strong_paragraphs_are_the_questions_and_the_heading_is_the_title(
    name: str, kind: SourceKind
) -> None:
    document = read_source(ingest(name), name)
    expected = truth(name)
    assert document.kind is kind
    assert document.text is None
    assert [text[:40] for text in strong(document)] == [
        turn["question"] for turn in expected["turns"]
    ]
    assert document.paragraphs[0] == Paragraph(expected["title"], heading=True)
    assert headings(document) == [expected["title"]]
    # every answer survives, from its first to its last words
    text = "\n".join(p.text for p in document.paragraphs)
    for turn in expected["turns"]:
        for segment in turn["segments"]:
            assert flat(segment["starts"]) in text
            assert flat(segment["ends"]) in text


def test_the_web_page_keeps_its_lead_and_drops_its_furniture() -> None:
    document = read_source(ingest("interview.html"), "interview.html")
    texts = [p.text for p in document.paragraphs]
    # the lead sits between the <h1> and the article body; trafilatura alone loses it
    assert texts[1].startswith("В Павлодарской области к 2027 году должны построить")
    assert texts[1].endswith("Ринат Касымов.")
    assert not document.paragraphs[1].strong
    text = "\n".join(texts)
    for furniture in truth("interview.html")["furniture"]:
        assert flat(furniture) not in text, furniture
    # navigation, meta line, tags, share buttons, footer links, JSON-LD and analytics scripts
    for noise in (
        "Главная",
        "Қазақша",
        "Поиск",
        "просмотров",
        "#образование",
        "WhatsApp",
        "Другие новости",
        "О редакции",
        "schema.org",
        "NewsArticle",
        "gtag",
        "dataLayer",
        "— Ertis Media",  # the <title>'s site suffix
    ):
        assert noise not in text, noise
    # the answer interrupted by the "Читайте также" aside is whole on both sides of it
    assert "120 интерактивных панелей" in text
    assert "70 процентов." in text  # &nbsp; is a plain space


def test_markdown_drops_markup_and_images_and_keeps_the_bio_unbold() -> None:
    document = read_source(ingest("interview.md"), "interview.md")
    text = "\n".join(p.text for p in document.paragraphs)
    assert "**" not in text and "](" not in text and "*Фото" not in text
    assert "Мадина Ержанова на съёмочной площадке в Жаркенте" not in text  # the image's alt
    assert "собрал 1,4 миллиарда тенге и" in text  # bold figure inside an answer
    assert "Правила публичные, протоколы экспертного совета выложены" in text  # link text kept
    bio = next(p for p in document.paragraphs if p.text.startswith("Справка."))
    assert not bio.strong  # only its first word is bold
    # what the reader cannot tell from the page's own text: the photo credit and the byline
    # are ordinary paragraphs (the parser's credit detection sets them apart)
    assert "Фото: архив киностудии «Дала Фильм»" in text
    assert "Беседовал Тимур Ахметов" in text


def test_word_bold_inside_answers_does_not_make_them_questions() -> None:
    document = read_source(ingest("interview.docx"), "interview.docx")
    by_start = {p.text[:12]: p for p in document.paragraphs}
    assert not by_start["Важно: базов"].strong
    assert not by_start["У «Сенім Фин"].strong
    # the question split over two bold runs is one paragraph
    assert "Жандос Маратович, кто сегодня типичный клиент" in strong(document)[0]
    assert document.paragraphs[-1] == Paragraph("Беседовала Алия Нуртаева")


# -- telling the kind --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["interview.txt", "interview", None, "INTERVIEW.DOCX"])
def test_a_word_file_is_read_as_word_whatever_it_is_called(name: str | None) -> None:
    document = read_source(ingest("interview.docx"), name)
    assert document.kind is SourceKind.DOCX
    assert document == read_source(ingest("interview.docx"), "interview.docx")


def test_a_web_page_saved_as_txt_is_read_as_html() -> None:
    data = ingest("interview.html")
    with pytest.raises(ParseError) as error:
        decode_source(data)  # direct callers still get the refusal
    assert error.value.code is ParseProblem.HTML
    assert read_source(data, "interview.txt").kind is SourceKind.HTML
    assert read_source(data).kind is SourceKind.HTML


def test_markdown_is_told_by_its_name_only() -> None:
    data = ingest("interview.md")
    assert read_source(data, "notes.markdown").kind is SourceKind.MARKDOWN
    document = read_source(data, "interview.txt")
    assert document.kind is SourceKind.TEXT
    assert document.text == data.decode("utf-8")


@pytest.mark.parametrize(
    "name",
    [
        "numbered.txt",
        "web-furniture.txt",
        "two-experts-dash.txt",
        "english-qa.txt",
    ],
)
def test_plain_text_is_passed_through_as_decode_source_reads_it(name: str) -> None:
    data = ingest(name)
    document = read_source(data, name)
    assert document.kind is SourceKind.TEXT
    assert document.text == decode_source(data)
    lines = [line for line in normalise(document.text).split("\n") if line]
    assert document.paragraphs == tuple(Paragraph(line) for line in lines)


def test_cp1251_text_is_passed_through() -> None:
    text = "Заголовок\n\n— Как дела?\n— Хорошо.\n"
    document = read_source(text.encode("cp1251"), "x.txt")
    assert (document.kind, document.text) == (SourceKind.TEXT, text)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_decoded(codec: str) -> None:
    text = "Заголовок интервью\n\n— Как дела в отрасли?\n— Хорошо, спасибо, 2025 год удачный.\n"
    data = text.encode(codec)
    assert not data.startswith((b"\xff\xfe", b"\xfe\xff"))
    assert decode_source(data) == text
    document = read_source(data, "interview.txt")
    assert (document.kind, document.text) == (SourceKind.TEXT, text)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        bytes(range(256)) * 4,  # NULs in even places only, but few
        b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64,  # NULs in both places
        b"\x00\x01binary",  # NULs in one place, but UTF-16 of it is not text
        b"\x01\x00\x02\x00\x03\x00" * 40,
    ],
)
def test_binary_is_still_binary(data: bytes) -> None:
    with pytest.raises(ParseError) as error:
        read_source(data, "x.txt")
    assert error.value.code is ParseProblem.BINARY


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", ParseProblem.EMPTY),
        (b" \n ", ParseProblem.EMPTY),
        (b"x" * (MAX_SOURCE_BYTES + 1), ParseProblem.TOO_LARGE),
        (b"{\\rtf1\\ansi \\par - Question?\\par - Answer.}", ParseProblem.RTF),
    ],
)
def test_what_decode_source_refuses_is_refused(data: bytes, problem: ParseProblem) -> None:
    for name in ("x.txt", "x.docx", "x.html", "x.md", None):
        if problem is ParseProblem.RTF and name == "x.html":
            continue
        with pytest.raises(ParseError) as error:
            read_source(data, name)
        assert error.value.code is problem, name


# -- Word --------------------------------------------------------------------------------------


def rezip(data: bytes, change: Callable[[str, bytes], bytes | None]) -> bytes:
    """``data`` (a ZIP) with each member replaced by ``change(name, content)``, or dropped."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = change(info.filename, source.read(info.filename))
            if content is not None:
                target.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def edit_document_xml(data: bytes, edit: Callable[[str], str]) -> bytes:
    def change(name: str, content: bytes) -> bytes:
        if name != "word/document.xml":
            return content
        return edit(content.decode("utf-8")).encode("utf-8")

    return rezip(data, change)


def insertion(xml: str) -> str:
    """The first run becomes a tracked insertion (python-docx cannot write one)."""
    start = xml.index("<w:r>")
    end = xml.index("</w:r>", start) + len("</w:r>")
    mark = '<w:ins w:id="901" w:author="Редактор" w:date="2025-11-18T10:00:00Z">'
    return xml[:start] + mark + xml[start:end] + "</w:ins>" + xml[end:]


def deletion(xml: str) -> str:
    """A tracked deletion before the first run."""
    start = xml.index("<w:r>")
    deleted = (
        '<w:del w:id="902" w:author="Редактор" w:date="2025-11-18T10:00:00Z">'
        "<w:r><w:delText>старый текст </w:delText></w:r></w:del>"
    )
    return xml[:start] + deleted + xml[start:]


@pytest.mark.parametrize("edit", [insertion, deletion])
def test_tracked_changes_are_refused(edit: Callable[[str], str]) -> None:
    data = edit_document_xml(ingest("interview.docx"), edit)
    with pytest.raises(ParseError) as error:
        read_source(data, "interview.docx")
    assert error.value.code is ParseProblem.TRACKED_CHANGES
    assert "accept or reject them in Word" in str(error.value)


@pytest.mark.parametrize(
    ("damage", "name"),
    [
        (lambda data: data[: len(data) // 2], "interview.docx"),
        (lambda data: data[: len(data) // 2], None),  # the local header still says Word
        (lambda data: edit_document_xml(data, lambda xml: xml[:200]), "interview.docx"),
        (
            lambda data: rezip(data, lambda n, c: None if n == "[Content_Types].xml" else c),
            "interview.txt",
        ),
        (lambda data: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "interview.doc"),
        (lambda data: b"PK\x03\x04" + bytes(600), "interview.docx"),
    ],
)
def test_a_damaged_word_file_is_refused_as_such(
    damage: Callable[[bytes], bytes], name: str | None
) -> None:
    with pytest.raises(ParseError) as error:
        read_source(damage(ingest("interview.docx")), name)
    assert error.value.code is ParseProblem.BAD_DOCUMENT


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    size = docx_reader.MAX_DOCUMENT_XML_BYTES + 1

    def inflate(xml: str) -> str:
        return xml.replace("</w:body>", "<!--" + " " * size + "--></w:body>")

    data = edit_document_xml(ingest("interview.docx"), inflate)
    assert len(data) < MAX_SOURCE_BYTES
    with pytest.raises(ParseError) as error:
        read_source(data, "interview.docx")
    assert error.value.code is ParseProblem.TOO_LARGE


def word_file(build: Callable[[WordDocument], None]) -> bytes:
    document = docx.Document()
    build(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_word_styles_tables_and_line_breaks() -> None:
    def build(document: WordDocument) -> None:
        document.add_paragraph("Заголовок материала", style="Title")
        document.add_heading("Подзаголовок", level=2)
        question = document.styles.add_style("Вопрос", WD_STYLE_TYPE.PARAGRAPH)
        question.base_style = document.styles["Normal"]
        question.font.bold = True
        document.add_paragraph("Вопрос стилем абзаца?", style="Вопрос")
        document.add_paragraph().add_run("Вопрос стилем знака?", style="Strong")
        answer = document.add_paragraph("Ответ ")
        answer.add_run("с жирной цифрой").bold = True
        answer.add_run(".")
        lines = document.add_paragraph()
        lines.add_run("Вопрос в две").bold = True
        lines.add_run().add_break()
        lines.add_run("строки?").bold = True
        lines.add_run().add_break()
        lines.add_run("Ответ на следующей строке.")
        lines.add_run().add_break()
        lines.add_run("И ещё строка ответа, которую")
        lines.add_run().add_break()
        lines.add_run("перенесли вручную.")
        unbolded = document.add_paragraph(style="Вопрос")
        unbolded.add_run("Обычный текст в жирном стиле").bold = False
        table = document.add_table(rows=2, cols=2)
        table.cell(0, 0).merge(table.cell(0, 1)).text = "Объединённая ячейка?"
        table.cell(0, 0).paragraphs[0].runs[0].bold = True
        table.cell(1, 0).text = "Левая ячейка."
        table.cell(1, 1).text = "Правая ячейка."
        document.add_paragraph("После таблицы.")

    document = read_source(word_file(build), "styles.docx")
    assert document.paragraphs == (
        Paragraph("Заголовок материала", heading=True),
        Paragraph("Подзаголовок", heading=True),
        Paragraph("Вопрос стилем абзаца?", strong=True),
        Paragraph("Вопрос стилем знака?", strong=True),
        Paragraph("Ответ с жирной цифрой."),
        Paragraph("Вопрос в две строки?", strong=True),
        Paragraph("Ответ на следующей строке."),  # a line break typed is a paragraph break
        Paragraph("И ещё строка ответа, которую перенесли вручную."),  # unless it goes on
        Paragraph("Обычный текст в жирном стиле"),
        Paragraph("Объединённая ячейка?", strong=True),
        Paragraph("Левая ячейка."),
        Paragraph("Правая ячейка."),
        Paragraph("После таблицы."),
    )


def test_a_word_file_without_text_is_empty() -> None:
    with pytest.raises(ParseError) as error:
        read_source(word_file(lambda document: None), "blank.docx")
    assert error.value.code is ParseProblem.EMPTY


# -- web pages ---------------------------------------------------------------------------------

ANSWER = "Это подробный ответ эксперта, в котором много слов и есть цифра {n}. " * 3


def page(body: str, head: str = "<title>Заголовок — Сайт</title>") -> bytes:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>".encode()


def interview_body(*questions: str) -> str:
    turns = "".join(f"<p>{q}</p><p>{ANSWER.format(n=i)}</p>" for i, q in enumerate(questions))
    return f"<article><h1>Заголовок</h1>{turns}</article>"


@pytest.mark.parametrize(
    "question",
    [
        "<strong>Вопрос?</strong>",
        "<b>Вопрос?</b>",
        "<strong><em>Вопрос?</em></strong>",  # trafilatura alone keeps only the italics
        "<b><i><span lang=RU>Вопрос?</span></i></b>",  # Word's "save as web page"
        "<em><strong>Вопрос?</strong></em>",
        "<span style='font-weight: 700'>Вопрос?</span>",  # Google Docs
        "<span style='color:red;font-weight:bold'>Вопрос</span>?",
        "<b>Вопр</b><b>ос?</b>",  # one word over two runs: no space creeps in
        "— <strong>Вопрос?</strong>",
        "<strong>Вопрос <a href='/x'>со ссылкой</a>?</strong>",
    ],
)
def test_a_bold_question_on_a_page_is_strong(question: str) -> None:
    document = read_source(page(interview_body(question, "<b>Второй вопрос?</b>")), "x.html")
    assert strong(document)[0] in ("Вопрос?", "— Вопрос?", "Вопрос со ссылкой?")
    assert len(strong(document)) == 2


@pytest.mark.parametrize(
    "paragraph",
    [
        "<b style='font-weight:normal'>Не вопрос.</b>",  # Google Docs' clipboard wrapper
        "<span style='font-weight:400'>Не вопрос.</span>",
        "<strong>Важно:</strong> не вопрос.",
        "Не вопрос, <b>а цифра 112</b>.",
    ],
)
def test_partly_bold_or_unbolded_text_is_not_strong(paragraph: str) -> None:
    document = read_source(page(interview_body(paragraph, "<b>Вопрос?</b>")), "x.html")
    assert strong(document) == ["Вопрос?"]
    assert flat(re.sub(r"<[^>]+>", "", paragraph)) in [p.text for p in document.paragraphs]


def test_a_bold_line_above_its_answer_is_a_question_of_its_own() -> None:
    body = interview_body(f"<strong>Вопрос?</strong><br>{ANSWER.format(n=7)}", "<b>Второй?</b>")
    texts = [(p.text, p.strong) for p in read_source(page(body), "x.html").paragraphs]
    assert ("Вопрос?", True) in texts
    assert (flat(ANSWER.format(n=7)), False) in texts


def test_a_bold_question_over_two_lines_is_one_paragraph() -> None:
    body = interview_body("<b>Первая строка вопроса,<br>вторая строка?</b>", "<b>Ещё?</b>")
    assert strong(read_source(page(body), "x.html"))[0] == "Первая строка вопроса, вторая строка?"


def test_plain_lines_between_line_breaks_are_paragraphs() -> None:
    body = interview_body(
        "— Первый вопрос?<br>— Ответ, который редактор<br>перенёс вручную.<br>— Второй вопрос?",
        "Обычный абзац.",
    )
    texts = [p.text for p in read_source(page(body), "x.html").paragraphs]
    assert [t for t in texts if t.startswith("— ")] == [
        "— Первый вопрос?",
        "— Ответ, который редактор перенёс вручную.",
        "— Второй вопрос?",
    ]


def test_bold_survives_trafilaturas_backup_extractor() -> None:
    # an unclosed </aside> swallows the rest of the article; trafilatura's main extractor then
    # finds too little and its backup (which keeps no formatting) wins: bold and the headline
    # come from the page itself
    data = ingest("interview.html").replace(b"</aside>", b"</asid>")
    document = read_source(data, "interview.html")
    questions = [turn["question"] for turn in truth("interview.html")["turns"]]
    assert [text[:40] for text in strong(document)] == questions[:2]
    title = truth("interview.html")["title"]
    assert [p.text for p in document.paragraphs].count(title) == 1


def test_the_headline_comes_first_once_and_the_title_tag_is_the_fallback() -> None:
    inside = read_source(page(interview_body("<b>Вопрос?</b>", "<b>Ещё?</b>")), "x.html")
    assert headings(inside) == ["Заголовок"]
    assert inside.paragraphs[0].heading
    without_h1 = interview_body("<b>Вопрос?</b>", "<b>Ещё?</b>").replace("<h1>Заголовок</h1>", "")
    document = read_source(page(without_h1, "<title>Другой заголовок | Сайт</title>"), "x.html")
    assert document.paragraphs[0].heading
    assert document.paragraphs[0].text.startswith("Другой заголовок")


def test_a_logo_h1_in_the_site_header_is_not_the_headline() -> None:
    turns = "".join(f"<p><b>Вопрос {n}?</b></p><p>{ANSWER.format(n=n)}</p>" for n in range(3))
    body = f"<header><h1>Сайт</h1></header><div class='content'><h1>Заголовок</h1>{turns}</div>"
    assert read_source(page(body), "x.html").paragraphs[0] == Paragraph("Заголовок", heading=True)


def test_subheadings_and_lists_on_a_page() -> None:
    body = (
        "<article><h1>Заголовок</h1><p>" + ANSWER.format(n=1) + "</p><h2>Раздел</h2>"
        "<h4>Мелкий заголовок</h4><ul><li>пункт</li><li><b>жирный пункт</b></li></ul>"
        "<ol><li>первый</li><li>второй</li></ol><p>" + ANSWER.format(n=2) + "</p></article>"
    )
    paragraphs = read_source(page(body), "x.html").paragraphs
    assert Paragraph("Раздел", heading=True) in paragraphs
    assert Paragraph("Мелкий заголовок") in paragraphs
    assert Paragraph("- пункт") in paragraphs
    assert Paragraph("- жирный пункт", strong=True) in paragraphs
    assert [p.text for p in paragraphs if p.text[:1].isdigit()] == ["1. первый", "2. второй"]


def test_a_windows_1251_page_is_decoded_by_its_meta_charset() -> None:
    html = page(interview_body("<b>Вопрос?</b>", "<b>Ещё?</b>")).decode()
    html = html.replace("<head>", '<head><meta charset="windows-1251">')
    document = read_source(html.encode("cp1251"), "x.htm")
    assert strong(document) == ["Вопрос?", "Ещё?"]


def test_a_page_without_an_article_is_refused_as_a_web_page() -> None:
    with pytest.raises(ParseError) as error:
        read_source(page("<nav><a href='/'>Главная</a></nav>"), "x.html")
    assert error.value.code is ParseProblem.HTML


# -- Markdown ----------------------------------------------------------------------------------


def test_markdown_headings_strong_paragraphs_and_lists() -> None:
    text = (
        "Заголовок\n=========\n\n## Раздел *курсивом*\n\n__Вопрос подчёркиванием?__\n\n"
        "**Вопрос на строке?**\nОтвет сразу под ним,\nв две строки.\n\n"
        "Ответ с `кодом` и [ссылкой](https://example.kz) и ![картинкой](a.png).\n\n"
        "- пункт\n* **жирный пункт**\n\n1. первый\n2) второй\n\n> **Цитата?**\n\n"
        "<div>сырой HTML</div>\n\n---\n"
    )
    paragraphs = read_source(text.encode(), "x.md").paragraphs
    assert paragraphs == (
        Paragraph("Заголовок", heading=True),
        Paragraph("Раздел курсивом", heading=True),
        Paragraph("Вопрос подчёркиванием?", strong=True),
        Paragraph("Вопрос на строке?", strong=True),
        Paragraph("Ответ сразу под ним, в две строки."),
        Paragraph("Ответ с кодом и ссылкой и ."),
        Paragraph("- пункт"),
        Paragraph("- жирный пункт", strong=True),
        Paragraph("1. первый"),
        Paragraph("2) второй"),
        Paragraph("Цитата?", strong=True),
    )


# -- damage of any kind ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["interview.docx", "interview.html", "interview.md"])
def test_a_damaged_file_is_refused_or_read_never_a_crash(name: str) -> None:
    original = ingest(name)
    chance = random.Random(name)
    for _ in range(80):
        data = bytearray(original)
        for _ in range(chance.randint(1, 8)):
            at = chance.randrange(len(data))
            if chance.random() < 0.5:
                data[at] = chance.randrange(256)
            else:
                del data[at : at + chance.randint(1, 40)]
        try:
            read_source(bytes(data), chance.choice([name, "x.txt", None]))
        except ParseError as error:
            assert str(error) and "\n" not in str(error)
