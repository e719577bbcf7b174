"""Attachments of a chat message: stored once, read once, turned into cited context; images prepared."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from hearth.core.chat.attachments import (
    MAX_PAGE_PICTURES,
    AttachmentSource,
    branch_documents,
    branch_images,
    cached_document,
    json_in_slices,
    page_picture_limit,
    page_pictures_question,
    prepare_attachments,
)
from hearth.core.chat.budget import question_with_documents
from hearth.core.errors import DocumentError, NoTextLayerError
from hearth.core.store import Store
from tests.fixtures.documents import FACTS, encrypt_pdf, make_pdf, meeting_notes, report_pages


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    with Store.open(tmp_path / "hearth.db") as opened:
        yield opened


def test_document_is_read_once_and_kept_with_the_file(store: Store, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    make_pdf(report_pages(30), pdf)
    progress: list[tuple[str, float]] = []
    first = prepare_attachments(store, [AttachmentSource("report.pdf", pdf)],
                                on_progress=lambda n, f: progress.append((n, f)))
    assert [d.name for d in first.documents] == ["report.pdf"] and first.documents[0].page_count == 30
    assert progress[0] == ("report.pdf", 0.0) and progress[-1] == ("report.pdf", 1.0)
    stored = store.attachments.get_file(first.new[0].sha256)
    assert stored is not None and cached_document(stored, "report.pdf") is not None

    # The same content under another name is not read again, and keeps the new name in its labels.
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(pdf.read_bytes())
    again = prepare_attachments(store, [AttachmentSource("copy.pdf", copy)],
                                on_progress=lambda n, f: progress.append((n, f)))
    assert again.new[0].sha256 == first.new[0].sha256
    assert again.documents[0].passages[0].label.startswith("copy.pdf")


def test_branch_documents_feed_retrieval_with_page_labels(store: Store, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    make_pdf(report_pages(40), pdf)
    prepared = prepare_attachments(store, [AttachmentSource("report.pdf", pdf)])
    conv = store.conversations.create()
    store.messages.add_user_message(conv.id, "Read this", attachments=prepared.new)
    branch = store.messages.active_branch(conv.id)
    documents = branch_documents(store, branch)
    assert [d.name for d in documents] == ["report.pdf"]
    text, result = question_with_documents(
        "How many megawatts did the Zanzibar reactor produce?", documents, n_ctx=2048, max_tokens=256)
    assert result is not None
    assert "report.pdf p.12" in result.labels
    assert FACTS[12] in text


def test_pasted_text_and_images(store: Store) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 1000), "orange").save(buffer, "PNG")
    prepared = prepare_attachments(store, [
        AttachmentSource("Pasted text.txt", data=b"The launch code is tangerine.\n" * 10),
        AttachmentSource("photo.png", data=buffer.getvalue()),
    ])
    assert len(prepared.documents) == 1 and len(prepared.images) == 1
    assert max(prepared.images[0].width, prepared.images[0].height) <= 1536
    assert len(prepared.new) == 2


def test_encrypted_pdf_is_refused_in_words(store: Store, tmp_path: Path) -> None:
    locked = tmp_path / "locked.pdf"
    encrypt_pdf(make_pdf(report_pages(3)), "secret", locked)
    with pytest.raises(DocumentError, match=r"(?i)password"):
        prepare_attachments(store, [AttachmentSource("locked.pdf", locked)])
    unlocked = prepare_attachments(store, [AttachmentSource("locked.pdf", locked)], passwords={"locked.pdf": "secret"})
    assert unlocked.documents[0].page_count == 3


def test_vanished_file(store: Store, tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="no longer there"):
        prepare_attachments(store, [AttachmentSource("gone.pdf", tmp_path / "gone.pdf")])


def test_a_document_pinned_whole_in_the_conversation_goes_whole(store: Store, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    make_pdf(report_pages(30), pdf)
    notes = tmp_path / "notes.txt"
    notes.write_text(meeting_notes())
    prepared = prepare_attachments(store, [AttachmentSource("notes.txt", notes), AttachmentSource("report.pdf", pdf)])
    conv = store.conversations.create()
    store.messages.add_user_message(conv.id, "What did the committee decide?", attachments=prepared.new)
    documents = branch_documents(store, store.messages.active_branch(conv.id))

    def ask() -> dict[str, str]:
        pinned = store.conversations.get(conv.id).whole_documents
        _text, result = question_with_documents("What did the committee decide?", documents, n_ctx=2048,
                                                max_tokens=24, pinned=pinned)
        assert result is not None
        return {choice.name: choice.summary for choice in result.choices}

    # Too big to go whole beside the report by default: a fair share of passages each.
    assert ask()["notes.txt"] == "1 of 6 passages"
    notes_sha, report_sha = (new.sha256 for new in prepared.new)
    store.conversations.set_whole_document(conv.id, notes_sha, True)
    pinned_notes = ask()
    assert pinned_notes["notes.txt"] == "whole document (pinned)"
    assert pinned_notes["report.pdf"].endswith(" of 60 passages"), "the report gets what is left"
    store.conversations.set_whole_document(conv.id, report_sha, True)
    assert ask()["report.pdf"] == f"pinned, but too long for this model's context: {pinned_notes['report.pdf']}"
    store.conversations.set_whole_document(conv.id, notes_sha, False)
    store.conversations.set_whole_document(conv.id, report_sha, False)
    assert ask()["notes.txt"] == "1 of 6 passages"


def test_a_scanned_pdf_goes_as_its_page_pictures(store: Store, tmp_path: Path) -> None:
    scan = tmp_path / "scan.pdf"
    make_pdf([None, None, None], scan)
    with pytest.raises(NoTextLayerError) as scanned:
        prepare_attachments(store, [AttachmentSource("scan.pdf", scan)])
    assert scanned.value.name == "scan.pdf" and scanned.value.page_count == 3
    assert page_pictures_question("scan.pdf", 3, 2) == (
        "scan.pdf has no text: its 3 pages are scanned pictures. Send the pages as pictures to the model? "
        "The model's context holds the first 2; the other 1 will be left out.")

    progress: list[tuple[str, float]] = []
    prepared = prepare_attachments(store, [AttachmentSource("scan.pdf", scan, as_pages=True)], page_limit=2,
                                   on_progress=lambda n, f: progress.append((n, f)))
    assert [new.file_name for new in prepared.new] == ["scan.pdf p.1", "scan.pdf p.2"]
    assert [(i.width, i.height, i.mime) for i in prepared.images] == [(120, 160, "image/png")] * 2
    assert prepared.documents == [] and progress[-1] == ("scan.pdf", 1.0)
    assert prepared.notes == ["2 of the 3 pages of scan.pdf went as pictures (the first ones): the model's context "
                              "holds no more (a larger context size takes more)."]
    conv = store.conversations.create()
    user = store.messages.add_user_message(conv.id, "What do the pages say?", attachments=prepared.new)
    assert branch_images(store, user) == [image.data for image in prepared.images]
    assert branch_documents(store, [user]) == [], "page pictures are not documents"


def test_page_pictures_are_capped_by_the_context() -> None:
    assert page_picture_limit(2048) == 1
    assert page_picture_limit(8192) == 2
    assert page_picture_limit(32768) == 11
    assert page_picture_limit(1_000_000) == MAX_PAGE_PICTURES


def test_a_pdf_with_no_page_pictures_is_refused_in_words(store: Store, tmp_path: Path) -> None:
    text = tmp_path / "text.pdf"
    make_pdf(["Only words here."], text)
    with pytest.raises(DocumentError, match=r"None of the pages of text\.pdf has a picture"):
        prepare_attachments(store, [AttachmentSource("text.pdf", text, as_pages=True)])


def test_a_reading_encoded_in_slices_is_the_same_json() -> None:
    # Longer than a slice, with every kind of character JSON escapes or keeps, across the slices' edges.
    text = "".join(["plain ", '"quoted" ', "back\\slash ", "line\n", "tab\t", "\x01", "é", "😀", "\u2028"] * 20_000)
    value = {"name": "notes.txt", "sections": [{"text": text, "page": 3}, {"text": "short"}], "pages": [1, 2.5],
             "empty": None, "flag": True, 'key "with" quotes': text[:70_000]}
    encoded = json_in_slices(value)
    assert json.loads(encoded) == value
    assert json.loads(encoded)["sections"][0]["text"] == text
