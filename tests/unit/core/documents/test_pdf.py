"""PDF extraction on PDFs the tests write: page labels, progress and cancel, encrypted, scanned and damaged files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from hearth.core.documents import (
    AnchorKind,
    DocumentKind,
    ExtractedDocument,
    ExtractOptions,
    extract_bytes,
    extract_document,
    file_sha256,
    pdf_page_images,
)
from hearth.core.errors import (
    CorruptDocumentError,
    EmptyDocumentError,
    EncryptedDocumentError,
    ExtractionCancelled,
    FileTooLargeError,
    NoTextLayerError,
)
from tests.fixtures.documents import FACTS, encrypt_pdf, make_pdf, report_pages


@pytest.fixture(scope="module")
def report_bytes() -> bytes:
    return make_pdf(report_pages(30))


def test_every_page_is_a_section_with_its_page_label(report_bytes: bytes) -> None:
    doc = extract_bytes(report_bytes, "report.pdf")
    assert doc.kind is DocumentKind.PDF
    assert doc.page_count == 30
    assert [s.page for s in doc.sections] == list(range(1, 31))
    assert all(s.kind is AnchorKind.PAGE for s in doc.sections)
    for page, fact in FACTS.items():
        if page <= 30:
            section = doc.sections[page - 1]
            assert " ".join(fact.split()) in " ".join(section.text.split())
            assert doc.section_label(page - 1) == f"report.pdf p.{page}"


def test_passages_never_cross_pages_and_carry_the_page_label(report_bytes: bytes) -> None:
    doc = extract_bytes(report_bytes, "report.pdf")
    assert len(doc.passages) > doc.page_count  # pages of ~1,300 characters are cut in two
    for passage in doc.passages:
        section = doc.sections[passage.section]
        assert passage.label == f"report.pdf p.{section.page}"
        assert passage.text == section.text[passage.start:passage.end].strip()
        assert 0 <= passage.start < passage.end <= len(section.text)
    fact_passages = [p for p in doc.passages if "417 megawatts" in p.text]
    assert fact_passages and all(p.label == "report.pdf p.12" for p in fact_passages)


def test_progress_reports_each_page_and_cancel_stops(report_bytes: bytes) -> None:
    seen: list[tuple[int, int]] = []
    extract_bytes(report_bytes, "report.pdf", on_progress=lambda done, total: seen.append((done, total)))
    assert seen == [(n, 30) for n in range(1, 31)]

    calls = 0

    def cancel_after_five() -> bool:
        nonlocal calls
        calls += 1
        return calls > 5

    with pytest.raises(ExtractionCancelled, match="page 5 of 30"):
        extract_bytes(report_bytes, "report.pdf", should_cancel=cancel_after_five)


def test_sha256_and_serialization_round_trip(tmp_path: Path, report_bytes: bytes) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(report_bytes)
    doc = extract_document(path)
    assert doc.sha256 == file_sha256(path)
    restored = ExtractedDocument.from_dict(json.loads(json.dumps(doc.to_dict())))
    assert restored == doc
    assert restored.passages == doc.passages


def test_encrypted_pdf_asks_for_the_password_then_reads(tmp_path: Path, report_bytes: bytes) -> None:
    path = tmp_path / "secret.pdf"
    encrypt_pdf(make_pdf(report_pages(3)), "hunter2", path)
    with pytest.raises(EncryptedDocumentError) as asked:
        extract_document(path)
    assert "password" in str(asked.value) and not asked.value.wrong_password
    with pytest.raises(EncryptedDocumentError) as wrong:
        extract_document(path, password="nope")
    assert wrong.value.wrong_password
    doc = extract_document(path, password="hunter2")
    assert [s.page for s in doc.sections] == [1, 2, 3]


def test_scanned_pdf_says_so_and_offers_page_pictures() -> None:
    data = make_pdf([None, None, None])
    with pytest.raises(NoTextLayerError) as scanned:
        extract_bytes(data, "scan.pdf")
    assert scanned.value.needs_ocr and scanned.value.page_count == 3
    assert "scanned" in str(scanned.value)
    pictures = pdf_page_images("scan.pdf", data)
    assert [p.page for p in pictures.images] == [1, 2, 3]
    first = pictures.images[0].image
    assert first.mime == "image/png" and (first.width, first.height) == (120, 160)
    assert first.data.startswith(b"\x89PNG") and first.thumbnail.startswith(b"\xff\xd8")


def test_partly_scanned_pdf_reads_the_text_and_flags_the_pictures() -> None:
    data = make_pdf(["Page one has words.", None, "Page three has words too."])
    doc = extract_bytes(data, "mixed.pdf")
    assert [s.page for s in doc.sections] == [1, 3]
    assert doc.needs_ocr and doc.pages_without_text == (2,)
    assert any("page 2" in w for w in doc.warnings)
    pictures = pdf_page_images("mixed.pdf", data, doc.pages_without_text)
    assert [p.page for p in pictures.images] == [2]
    text_only = pdf_page_images("mixed.pdf", data, [1])
    assert not text_only.images and "no picture" in text_only.warnings[0]


@pytest.mark.parametrize("cut", [0.5, 0.1])
def test_truncated_pdf_is_reported_as_damaged(report_bytes: bytes, cut: float) -> None:
    with pytest.raises(CorruptDocumentError, match="damaged"):
        extract_bytes(report_bytes[: int(len(report_bytes) * cut)], "cut.pdf")


def test_garbage_named_pdf_is_damaged_and_text_named_pdf_is_read_as_text() -> None:
    with pytest.raises(CorruptDocumentError):
        extract_bytes(b"\x00\x01\x02binary" * 50, "fake.pdf")
    doc = extract_bytes(b"<html><body><p>Not a PDF at all.</p></body></html>", "saved.pdf")
    assert doc.kind is DocumentKind.HTML
    assert "not a PDF" in doc.warnings[0]


def test_blank_pdf_is_empty(tmp_path: Path) -> None:
    with pytest.raises(EmptyDocumentError):
        extract_bytes(make_pdf([""]), "blank.pdf")
    empty = tmp_path / "zero.pdf"
    empty.write_bytes(b"")
    with pytest.raises(EmptyDocumentError, match="0 bytes"):
        extract_document(empty)


def test_size_limit_is_configurable_and_named_in_the_message(tmp_path: Path, report_bytes: bytes) -> None:
    path = tmp_path / "big.pdf"
    path.write_bytes(report_bytes)
    with pytest.raises(FileTooLargeError) as too_big:
        extract_document(path, options=ExtractOptions(max_bytes=10_000))
    assert too_big.value.limit_bytes == 10_000 and too_big.value.size_bytes == len(report_bytes)
    assert "up to 10.0 kB" in str(too_big.value)
    # The default limit, checked on a sparse file so that nothing is written: 201 MB of nothing.
    sparse = tmp_path / "huge.pdf"
    with sparse.open("wb") as handle:
        handle.truncate(201_000_000)
    with pytest.raises(FileTooLargeError, match="is 201 MB; Hearth reads documents up to 200 MB"):
        extract_document(sparse)


def test_extraction_in_a_worker_thread_stops_on_an_event(report_bytes: bytes) -> None:
    """How the GUI runs it: a worker thread, progress reported back, a threading.Event as the cancel flag."""
    import threading

    stop = threading.Event()
    progress: list[int] = []
    outcome: list[BaseException | ExtractedDocument] = []

    def on_progress(done: int, total: int) -> None:
        progress.append(done)
        if done == 4:
            stop.set()  # the user pressed Cancel while page 4 was being read

    def work() -> None:
        try:
            outcome.append(extract_bytes(report_bytes, "report.pdf", on_progress=on_progress,
                                         should_cancel=stop.is_set))
        except ExtractionCancelled as exc:
            outcome.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert isinstance(outcome[0], ExtractionCancelled) and "page 5 of 30" in str(outcome[0])
    assert progress == [1, 2, 3, 4]


def test_pdf_locked_only_for_editing_opens_without_asking() -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Readable by anyone."]))))
    writer.encrypt(user_password="", owner_password="owner-only", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    assert extract_bytes(out.getvalue(), "restricted.pdf").sections[0].text == "Readable by anyone."


def test_pages_pypdf_cannot_read_are_reported_not_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection: pypdf raising on a page (as it does on some broken content streams)."""
    from pypdf import PageObject

    original = PageObject.extract_text

    def flaky(self: PageObject, *args: object, **kwargs: object) -> str:
        text = original(self, *args, **kwargs)  # type: ignore[arg-type]
        if "two" in text:
            raise ValueError("broken content stream")
        return text

    monkeypatch.setattr(PageObject, "extract_text", flaky)
    doc = extract_bytes(make_pdf(["Page one.", "Page two.", "Page three."]), "flaky.pdf")
    assert [s.page for s in doc.sections] == [1, 3]
    assert doc.warnings == ("1 page of flaky.pdf could not be read (page 2).",)
    with pytest.raises(CorruptDocumentError, match="none of its 2 pages could be read"):
        extract_bytes(make_pdf(["Page two.", "Also two."]), "broken.pdf")
