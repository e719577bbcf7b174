"""``hearth chat --attach``: a file's content decides what it is, the same way as in the window."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from hearth.cli.attachments import read_attachments
from hearth.core.chat.attachments import AttachmentSource, prepare_attachments
from hearth.core.store import Store
from tests.fixtures.documents import make_pdf, report_pages


def test_pictures_and_documents_are_told_apart_by_content_as_in_the_window(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), "orange").save(photo)
    disguised = tmp_path / "scan-notes.txt"  # a JPEG under a text name
    Image.new("RGB", (40, 30), "navy").save(disguised, "JPEG")
    report = tmp_path / "report.png"  # a PDF under a picture name
    make_pdf(report_pages(3), report)
    files = [photo, disguised, report]

    err = io.StringIO()
    documents, pictures = read_attachments(files, err=err, page_limit=0)
    assert [d.name for d in documents] == ["report.png"] and documents[0].page_count == 3
    assert [p["name"] for p in pictures] == ["photo.png", "scan-notes.txt"]

    with Store.open(tmp_path / "hearth.db") as store:
        window = prepare_attachments(store, [AttachmentSource(f.name, f) for f in files])
    assert [d.name for d in window.documents] == [d.name for d in documents]
    assert len(window.images) == len(pictures)
    assert [p["sha256"] for p in pictures] == [i.sha256 for i in window.images]
