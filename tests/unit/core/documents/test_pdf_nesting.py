"""The nesting pre-check: a PDF nested past ``MAX_NESTING`` levels is refused before pypdf sees it; real documents,
and brackets inside strings, comments and stream data, pass."""

from __future__ import annotations

from pathlib import Path

import pypdf
import pytest

from hearth.core.documents.pdf import open_pdf, pdf_text
from hearth.core.documents.pdf_nesting import MAX_NESTING, nesting_depth, too_deeply_nested
from hearth.core.errors import CorruptDocumentError
from tests.fixtures.documents import encrypt_pdf, make_pdf, pdf_file, report_pages
from tests.fixtures.hostile_files import pdf_nested_dictionaries


def test_real_documents_nest_a_few_levels() -> None:
    for data in (make_pdf(report_pages(40)), make_pdf([None, "Text after a scanned page."]),
                 encrypt_pdf(make_pdf(["secret"]), "pw")):
        assert 1 <= nesting_depth(data) <= 6
        assert not too_deeply_nested(data)


def test_brackets_in_strings_comments_and_streams_do_not_count() -> None:
    content = b"BT (a string with (nested) brackets [[[[ << and \\( an escaped one) Tj ET\n" + b"[" * 500
    data = pdf_file([
        b"<< /Type /Catalog /Pages 2 0 R >> % a comment with << << << [[[[",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 /Title (<<<<[[[[) >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Page /Parent 2 0 R /Contents 3 0 R /MediaBox [0 0 612 792] >>",
    ])
    assert nesting_depth(data) == 2


def test_the_scan_stops_past_the_limit() -> None:
    data = b"<<" * 100_000
    assert nesting_depth(data, limit=10) == 11
    assert too_deeply_nested(data)


def test_each_object_starts_afresh() -> None:
    """A stray unbalanced bracket in one object does not add up across a large file."""
    objects = [b"<< /Broken [1 2 3 >>" for _ in range(200)]
    assert nesting_depth(pdf_file(objects)) <= 3


def test_deep_nesting_is_refused_before_pypdf_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = pdf_nested_dictionaries(tmp_path / "deep.pdf").read_bytes()
    assert too_deeply_nested(data) and nesting_depth(data) == MAX_NESTING + 1

    def no_parse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("pypdf was asked to parse a file the pre-check refuses")

    monkeypatch.setattr(pypdf, "PdfReader", no_parse)
    with pytest.raises(CorruptDocumentError) as refused:
        open_pdf("deep.pdf", data, None)
    assert "deep.pdf is damaged" in refused.value.message and "levels deep" in refused.value.message
    with pytest.raises(CorruptDocumentError):
        pdf_text("deep.pdf", data)


def test_a_real_pdf_still_opens() -> None:
    reader = open_pdf("report.pdf", make_pdf(report_pages(3)), None)
    assert len(reader.pages) == 3
