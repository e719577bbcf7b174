"""Hostile and broken attachments read the way the window reads them (``prepare_attachments``), each in a fresh
process whose peak memory is measured: a clear error in plain words (or, for text that is merely broken, a warning),
and memory bounded whatever the file claims to unpack to.

``HEARTH_HOSTILE_REPORT=path.json`` collects the figures (README, "Reliability").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.hostile_files import HOSTILE, text_near_the_limit

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="peak memory from /proc/self/status")

ROOT = Path(__file__).resolve().parents[4]
CHILD = Path(__file__).with_name("extract_rss_child.py")

# name -> (error class or None when accepted, words in the message or warning, peak MB allowed)
EXPECTED: dict[str, tuple[str | None, str, float]] = {
    "pdf-flate-bomb": ("UnsafeDocumentError", "would unpack to more than a real document", 400),
    "pdf-nested-flate-bomb": ("UnsafeDocumentError", "would unpack to more than a real document", 400),
    "pdf-nested-arrays": ("CorruptDocumentError", "is damaged", 400),
    "pdf-nested-dictionaries": ("CorruptDocumentError", "is damaged", 400),
    "pdf-deep-page-tree": ("CorruptDocumentError", "is damaged", 400),
    "docx-zip-bomb": ("UnsafeDocumentError", "would expand", 400),
    "text-1gb-sparse": ("FileTooLargeError", "reads documents up to 200 MB", 400),
    "text-invalid-utf8": (None, "not valid UTF-8", 400),
    "png-decompression-bomb": ("UnsafeDocumentError", "pixels", 400),
    "text-over-the-limit": ("FileTooLargeError", "up to 8 million characters", 400),
    "text-near-the-limit": (None, "", 400),
}


def read_in_child(path: Path, store_dir: Path) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "app"))
    done = subprocess.run([sys.executable, str(CHILD), str(path), str(store_dir)], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def record(name: str, result: dict[str, Any]) -> None:
    target = os.environ.get("HEARTH_HOSTILE_REPORT")
    if target:
        path = Path(target)
        figures = json.loads(path.read_text()) if path.is_file() else {}
        figures.setdefault(name, {}).update(result)
        path.write_text(json.dumps(figures, indent=1, sort_keys=True))


@pytest.mark.parametrize("name", [*HOSTILE, "text-near-the-limit"])
def test_hostile_file_is_refused_clearly_within_bounded_memory(name: str, tmp_path: Path) -> None:
    if name == "text-near-the-limit":
        path = text_near_the_limit(tmp_path / "big-log.txt")
    else:
        maker, file_name = HOSTILE[name]
        path = maker(tmp_path / file_name)
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    result = read_in_child(path, store_dir)
    record(name, {"file_bytes": path.stat().st_size, **result})
    error, words, peak_mb = EXPECTED[name]
    if error is None:
        assert result["ok"], result
        assert words in " ".join(result["warnings"]) if words else not result["warnings"], result
    else:
        assert not result["ok"] and result["error"] == error, result
        assert words in result["message"] and path.name in result["message"], result
        assert result["hint"], "every refusal says what to do next"
    assert result["peak_mb"] < peak_mb, f"{name}: peak {result['peak_mb']} MB"


# --- files that change, vanish or are not files -------------------------------------------------------------------

def test_file_deleted_as_it_is_about_to_be_read(tmp_path: Path) -> None:
    from hearth.core.chat.attachments import AttachmentSource, prepare_attachments
    from hearth.core.errors import DocumentError
    from hearth.core.store import Store
    from tests.fixtures.documents import make_pdf, report_pages

    pdf = tmp_path / "report.pdf"
    make_pdf(report_pages(5), pdf)
    with Store.open(tmp_path / "hearth.db") as store:
        with pytest.raises(DocumentError, match=r"report\.pdf is no longer there") as caught:
            prepare_attachments(store, [AttachmentSource("report.pdf", pdf)],
                                on_progress=lambda _name, fraction: pdf.unlink() if fraction == 0.0 else None)
        assert caught.value.hint
        assert store.attachments.folder.is_dir() is False or not any(store.attachments.folder.rglob("*.pdf"))


def test_file_replaced_while_it_is_read_is_stored_as_it_was_read(tmp_path: Path) -> None:
    """The file changes between its pages being read (a sync client, an editor saving): what is stored is exactly
    what was read, so the stored text always belongs to the stored copy."""
    import hashlib

    from hearth.core.chat.attachments import AttachmentSource, cached_document, prepare_attachments
    from hearth.core.store import Store
    from tests.fixtures.documents import make_pdf, report_pages

    pdf = tmp_path / "report.pdf"
    original = make_pdf(report_pages(20, facts={3: "The original third page."}), pdf)

    def replace_midway(_name: str, fraction: float) -> None:
        if 0.2 < fraction < 0.5:
            pdf.write_bytes(make_pdf(report_pages(2, facts={1: "A different file."})))

    with Store.open(tmp_path / "hearth.db") as store:
        prepared = prepare_attachments(store, [AttachmentSource("report.pdf", pdf)], on_progress=replace_midway)
        (document,) = prepared.documents
        assert pdf.read_bytes() != original, "the file did change meanwhile"
        assert document.sha256 == prepared.new[0].sha256 == hashlib.sha256(original).hexdigest()
        stored = store.attachments.get_file(document.sha256)
        assert stored is not None
        copy = store.attachments.path_of(stored)
        assert copy is not None and copy.read_bytes() == original
        kept = cached_document(stored, "report.pdf")
        assert kept is not None and "The original third page." in kept.text and document.page_count == 20


def test_not_a_regular_file_is_refused_without_blocking(tmp_path: Path) -> None:
    from hearth.core.chat.attachments import AttachmentSource, prepare_attachments
    from hearth.core.errors import DocumentError
    from hearth.core.store import Store

    fifo = tmp_path / "notes.txt"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    folder = tmp_path / "folder.pdf"
    folder.mkdir()
    with Store.open(tmp_path / "hearth.db") as store:
        for path in (fifo, folder):
            with pytest.raises(DocumentError, match="is not a regular file"):
                prepare_attachments(store, [AttachmentSource(path.name, path)])


def test_word_file_larger_than_the_detection_head_is_read(tmp_path: Path) -> None:
    """A .docx with a photo in it (hundreds of KB) was called damaged: detection looked at its first 64 KiB, which
    do not hold a zip's directory."""
    import io

    import docx
    from PIL import Image

    from hearth.core.chat.attachments import AttachmentSource, prepare_attachments
    from hearth.core.store import Store

    picture = io.BytesIO()
    Image.frombytes("RGB", (400, 400), os.urandom(400 * 400 * 3)).save(picture, "PNG")
    picture.seek(0)
    document = docx.Document()
    document.add_paragraph("The site visit is on Thursday at nine.")
    document.add_picture(picture)
    path = tmp_path / "visit.docx"
    document.save(str(path))
    assert path.stat().st_size > 256 * 1024
    with Store.open(tmp_path / "hearth.db") as store:
        prepared = prepare_attachments(store, [AttachmentSource("visit.docx", path)])
    assert "Thursday at nine" in prepared.documents[0].text
