"""Word, HTML, Markdown, CSV, JSON, text and code: sections, labels and the bad inputs of each."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from hearth.core.documents import (
    AnchorKind,
    DocumentKind,
    ExtractOptions,
    ZipLimits,
    extract_bytes,
    extract_document,
)
from hearth.core.errors import (
    CorruptDocumentError,
    EmptyDocumentError,
    UnsafeDocumentError,
)
from tests.fixtures.documents import make_csv, make_docx, make_html, make_large_text, make_zip_bomb_docx


def test_docx_sections_by_heading_with_paragraph_numbers_before_the_first(tmp_path: Path) -> None:
    doc = extract_document(make_docx(tmp_path / "memo.docx"))
    assert doc.kind is DocumentKind.DOCX
    labels = [doc.section_label(i) for i in range(len(doc.sections))]
    assert labels == ["memo.docx ¶1", "memo.docx §Budget", "memo.docx §Equipment"]
    budget = [p for p in doc.passages if "12,400 euros" in p.text]
    assert [p.label for p in budget] == ["memo.docx §Budget"]
    equipment = doc.sections[2].text
    assert "walnut" in equipment and "Kettle | 3" in equipment  # the table, in document order


def test_docx_zip_bomb_is_refused_before_opening(tmp_path: Path) -> None:
    bomb = make_zip_bomb_docx(tmp_path / "bomb.docx")
    assert bomb.stat().st_size < 1024 * 1024
    with pytest.raises(UnsafeDocumentError, match="expand"):
        extract_document(bomb)


def test_zip_limits_are_configurable(tmp_path: Path) -> None:
    memo = make_docx(tmp_path / "memo.docx")
    with pytest.raises(UnsafeDocumentError, match="expand to"):
        extract_document(memo, options=ExtractOptions(zip_limits=ZipLimits(max_uncompressed_bytes=1000)))


def test_damaged_docx_is_reported(tmp_path: Path) -> None:
    data = make_docx(tmp_path / "memo.docx").read_bytes()
    with pytest.raises(CorruptDocumentError, match="damaged"):
        extract_bytes(data[: len(data) // 2], "memo.docx")
    # A zip without Word's parts inside, named .docx.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(CorruptDocumentError, match="not a Word document"):
        extract_bytes(buffer.getvalue(), "fake.docx")
    # Word's parts present, but the document XML broken.
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            body = source.read(item)
            target.writestr(item, body[:40] if item.filename == "word/document.xml" else body)
    with pytest.raises(CorruptDocumentError, match="Word's file structure"):
        extract_bytes(buffer.getvalue(), "broken.docx")


def test_html_keeps_visible_text_and_headings(tmp_path: Path) -> None:
    doc = extract_document(make_html(tmp_path / "guide.html"))
    assert doc.kind is DocumentKind.HTML
    labels = [doc.section_label(i) for i in range(len(doc.sections))]
    assert labels == ["guide.html §Harbour guide", "guide.html §Opening hours", "guide.html §Prices"]
    assert "06:45" in doc.sections[1].text
    assert "Adult | 9 €" in doc.sections[2].text and "- Bikes travel free" in doc.sections[2].text
    assert "secret" not in doc.text and "color" not in doc.text


def test_html_with_unclosed_head_and_no_title() -> None:
    doc = extract_bytes(b"<html><head><meta charset=utf-8><body><p>Visible words</p>", "bare.htm")
    assert [s.kind for s in doc.sections] == [AnchorKind.WHOLE]
    assert doc.passages[0].label == "bare.htm" and doc.passages[0].text == "Visible words"


def test_markdown_headings_ignore_code_fences_and_front_matter() -> None:
    text = (
        "---\ntitle: Notes\n---\nIntro line before headings.\n\n# Intro\nHello there.\n\n"
        "```bash\n# not a heading\necho hi\n```\n\n## Set up\nInstall the **kettle**.\n\n"
        "Usage\n-----\nPour water.\n\n# Intro\nA second intro.\n"
    )
    doc = extract_bytes(text.encode(), "notes.md")
    labels = [doc.section_label(i) for i in range(len(doc.sections))]
    assert labels == ["notes.md lines 1-4", "notes.md §Intro", "notes.md §Set up", "notes.md §Usage",
                      "notes.md §Intro (2)"]
    assert "# not a heading" in doc.sections[1].text


def test_csv_rows_are_labelled_and_the_header_repeats(tmp_path: Path) -> None:
    doc = extract_document(make_csv(tmp_path / "towns.csv"))
    assert doc.kind is DocumentKind.CSV
    section = doc.sections[0]
    assert section.kind is AnchorKind.ROWS and section.preamble == "id | city | population"
    assert len(doc.passages) > 1
    assert all(p.text.startswith("id | city | population\n") for p in doc.passages)
    trondheim = [p for p in doc.passages if "Trondheim" in p.text]
    first, last = (int(n) for n in trondheim[0].label.split("rows ")[1].split("-"))
    assert first <= 151 <= last  # row 1 is the header, so town 150 is row 151
    assert doc.passages[0].label.startswith("towns.csv rows 2-")


def test_large_text_labels_the_fact_by_line(tmp_path: Path) -> None:
    doc = extract_document(make_large_text(tmp_path / "server.log", lines=20_000, fact_line=12_345))
    assert doc.kind is DocumentKind.TEXT
    hits = [p for p in doc.passages if "ninth Tuesday" in p.text]
    assert hits
    for passage in hits:
        first, last = (int(n) for n in passage.label.removeprefix("server.log lines ").split("-"))
        assert first <= 12_345 <= last
    # Passages stay near the target size and cover every line.
    assert max(len(p.text) for p in doc.passages) <= ExtractOptions().chunking.target_chars
    assert doc.passages[0].label.startswith("server.log lines 1-")
    assert doc.passages[-1].label.endswith("-20000")


def test_code_and_json() -> None:
    code = "\n".join(f"def f{i}():\n    return {i}\n" for i in range(200))
    doc = extract_bytes(code.encode(), "main.py")
    assert doc.kind is DocumentKind.CODE and doc.passages[0].label.startswith("main.py lines 1-")
    minified = json.dumps({"items": [{"id": i, "name": f"item {i}"} for i in range(300)]})
    doc = extract_bytes(minified.encode(), "data.json")
    assert doc.kind is DocumentKind.JSON and "re-indented" in doc.warnings[0]
    assert '"name": "item 7"' in doc.text


def test_invalid_utf8_is_replaced_and_said() -> None:
    doc = extract_bytes("Café au lait\n".encode() + b"\xff\xfe broken \xc3(\n", "menu.txt")
    assert "Café au lait" in doc.text and "\ufffd" in doc.text
    assert "not valid UTF-8" in doc.warnings[0] and "3 unreadable" in doc.warnings[0]


def test_utf16_with_bom_and_windows_line_endings() -> None:
    doc = extract_bytes("first line\r\nsecond line\r\n".encode("utf-16"), "win.txt")
    assert doc.text == "first line\nsecond line" and not doc.warnings


def test_whitespace_only_text_is_empty() -> None:
    with pytest.raises(EmptyDocumentError):
        extract_bytes(b" \n\n\t \n", "blank.txt")


def test_html_declared_charset_is_honoured() -> None:
    page = '<html><head><meta charset="windows-1252"><title>Caf\xe9</title></head><body><p>Cr\xe8me br\xfbl\xe9e'
    doc = extract_bytes(page.encode("cp1252"), "menu.html")
    assert "Crème brûlée" in doc.text and not doc.warnings
    assert doc.passages[0].label == "menu.html §Café"


def test_semicolon_csv_from_a_european_spreadsheet() -> None:
    data = "Name;Ort;Betrag\nAnna;Köln;12,50\nBen;Graz;7,00\n".encode()
    doc = extract_bytes(data, "ausgaben.csv")
    assert doc.sections[0].preamble == "Name | Ort | Betrag"
    assert doc.passages[0].text == "Name | Ort | Betrag\nAnna | Köln | 12,50\nBen | Graz | 7,00"
    assert doc.passages[0].label == "ausgaben.csv rows 2-3"
