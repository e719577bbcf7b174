"""Detection by name and by content: the bytes decide."""

from __future__ import annotations

import io
import zipfile

import pytest

from hearth.core.documents import DocumentKind, detect, extract_bytes, kind_from_name, readable_patterns
from hearth.core.errors import BinaryFileError, CorruptDocumentError, UnsupportedDocumentError
from tests.fixtures.documents import make_pdf


@pytest.mark.parametrize(
    ("name", "kind"),
    [("a.pdf", DocumentKind.PDF), ("a.DOCX", DocumentKind.DOCX), ("a.txt", DocumentKind.TEXT),
     ("a.md", DocumentKind.MARKDOWN), ("a.htm", DocumentKind.HTML), ("a.tsv", DocumentKind.CSV),
     ("a.json", DocumentKind.JSON), ("a.rs", DocumentKind.CODE), ("Makefile", DocumentKind.CODE),
     ("a.webp", DocumentKind.IMAGE), ("a.xyz", None), ("noext", None)],
)
def test_kind_from_name(name: str, kind: DocumentKind | None) -> None:
    assert kind_from_name(name) is kind


def test_content_wins_over_the_name() -> None:
    pdf = make_pdf(["Hello"])
    assert detect("notes.txt", pdf).kind is DocumentKind.PDF
    assert "PDF despite its name" in detect("notes.txt", pdf).note
    assert extract_bytes(pdf, "notes.txt").sections[0].page == 1


def test_unknown_names_are_sniffed() -> None:
    assert detect("README", b"# Title\n\nSome words.\n").kind is DocumentKind.MARKDOWN
    assert detect("page", b"<!DOCTYPE html><html><body>x</body></html>").kind is DocumentKind.HTML
    assert detect("dump", b'{"a": [1, 2]}').kind is DocumentKind.JSON
    assert detect("dump.dat", b"plain words\n").kind is DocumentKind.TEXT
    assert detect("photo", b"\x89PNG\r\n\x1a\n" + b"\0" * 20).kind is DocumentKind.IMAGE


def test_binary_with_a_text_name_is_refused() -> None:
    with pytest.raises(BinaryFileError, match="binary data"):
        detect("notes.txt", b"\x7fELF\x02\x01\x01" + bytes(range(256)))
    with pytest.raises(BinaryFileError):
        extract_bytes(bytes(range(256)) * 4, "data.csv")


def test_unsupported_kinds_say_what_to_do() -> None:
    with pytest.raises(UnsupportedDocumentError) as old_word:
        detect("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    assert ".docx" in old_word.value.hint
    workbook = io.BytesIO()
    with zipfile.ZipFile(workbook, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(UnsupportedDocumentError, match="Excel"):
        detect("sheet.xlsx", workbook.getvalue())
    with pytest.raises(UnsupportedDocumentError):
        detect("program.exe", b"MZ\x90\x00" + b"\0" * 100)
    with pytest.raises(UnsupportedDocumentError, match="picture"):
        extract_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "photo.png")
    with pytest.raises(UnsupportedDocumentError, match=r"\.rtf"):
        detect("letter.rtf", rb"{\rtf1\ansi Hello}")


def test_zip_named_docx_that_is_not_a_zip_is_damaged() -> None:
    with pytest.raises(CorruptDocumentError):
        detect("memo.docx", b"PK\x03\x04" + b"\x01" * 100)


def test_every_name_kind_from_name_knows_is_in_the_file_dialogs_filter() -> None:
    patterns = readable_patterns()
    assert {"*.pdf", "*.docx", "*.md", "*.png", "*.jpeg", "*.py", "*.tsv"} <= set(patterns)
    assert all(kind_from_name("x" + pattern[1:]) is not None for pattern in patterns)
