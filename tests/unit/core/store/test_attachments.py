"""Attachments: one copy and one extraction per content, linked to messages, deleted when nothing uses them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.core.errors import StoreError, StoreNotFoundError
from hearth.core.store import NewAttachment, Store
from tests.unit.core.store.store_support import FakeClock, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "data") as s:
        yield s


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def copies(store: Store) -> list[Path]:
    return sorted(p for p in store.attachments.folder.rglob("*") if p.is_file())


def test_the_same_content_is_stored_once(store: Store, tmp_path: Path) -> None:
    data = b"%PDF-1.7\n" + bytes(range(256)) * 100
    first = store.attachments.store_file(write(tmp_path / "a.PDF", data), mime="application/pdf")
    second = store.attachments.store_file(write(tmp_path / "copy of a.pdf", data), mime="application/pdf")
    assert first == second
    assert first.sha256 == hashlib.sha256(data).hexdigest() and first.size == len(data)
    assert first.stored_path.endswith(".pdf") and not first.extracted
    path = store.attachments.path_of(first)
    assert path is not None and path.read_bytes() == data
    assert copies(store) == [path]  # no temporary files left behind


def test_extraction_is_recorded_once_for_every_message_that_attaches_it(store: Store, tmp_path: Path) -> None:
    stored = store.attachments.store_file(write(tmp_path / "notes.txt", b"hello notes"), mime="text/plain")
    updated = store.attachments.set_extraction(stored.sha256, text="hello notes", page_count=1, extractor="txt 1")
    assert updated.extracted and updated.extracted_text == "hello notes" and updated.page_count == 1
    # Attaching the same file again later: the documents code sees it is already read.
    again = store.attachments.store_file(write(tmp_path / "notes-again.txt", b"hello notes"))
    assert again.extracted and again.extractor == "txt 1"
    with pytest.raises(StoreNotFoundError):
        store.attachments.set_extraction("0" * 64, text="x")


def test_messages_list_their_attachments_in_order(store: Store, tmp_path: Path) -> None:
    a = store.attachments.store_file(write(tmp_path / "a.txt", b"A"))
    b = store.attachments.store_bytes(b"\x89PNG fake", suffix=".png", mime="image/png")
    conv = store.conversations.create()
    msg = store.messages.add_user_message(
        conv.id, "look", attachments=[NewAttachment(b.sha256, "screenshot.png"), NewAttachment(a.sha256, "a.txt")]
    )
    got = store.attachments.for_message(msg.id)
    assert [(x.file_name, x.file.sha256, x.file.mime) for x in got] == [
        ("screenshot.png", b.sha256, "image/png"), ("a.txt", a.sha256, ""),
    ]
    edited = store.messages.edit_and_resend(msg.id, "look again")
    assert [x.file_name for x in store.attachments.for_message(edited.id)] == ["screenshot.png", "a.txt"]
    bare = store.messages.edit_and_resend(msg.id, "no files", attachments=[])
    assert store.attachments.for_message(bare.id) == []
    by_message = store.attachments.for_messages([msg.id, edited.id, bare.id])
    assert set(by_message) == {msg.id, edited.id}


def test_an_unknown_file_cannot_be_attached(store: Store) -> None:
    conv = store.conversations.create()
    with pytest.raises(StoreNotFoundError):
        store.messages.add_user_message(conv.id, "x", attachments=[NewAttachment("f" * 64, "ghost.pdf")])
    # Nothing half-written: the message was not saved either.
    assert store.messages.all_messages(conv.id) == []


def test_copies_are_deleted_only_when_nothing_uses_them(store: Store, tmp_path: Path) -> None:
    shared = store.attachments.store_file(write(tmp_path / "shared.txt", b"shared"))
    own = store.attachments.store_file(write(tmp_path / "own.txt", b"own"))
    one = store.conversations.create()
    two = store.conversations.create()
    store.messages.add_user_message(one.id, "1", attachments=[NewAttachment(shared.sha256, "s"),
                                                               NewAttachment(own.sha256, "o")])
    store.messages.add_user_message(two.id, "2", attachments=[NewAttachment(shared.sha256, "s")])
    assert len(copies(store)) == 2

    store.conversations.purge(one.id)
    assert store.attachments.get_file(own.sha256) is None
    assert store.attachments.get_file(shared.sha256) is not None
    assert copies(store) == [store.attachments.path_of(shared)]

    store.conversations.purge(two.id)
    assert copies(store) == []
    with store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM files").fetchone()[0] == 0


def test_deleting_a_branch_deletes_its_files(store: Store, tmp_path: Path) -> None:
    f = store.attachments.store_file(write(tmp_path / "x.txt", b"x"))
    conv = store.conversations.create()
    msg = store.messages.add_user_message(conv.id, "with file", attachments=[NewAttachment(f.sha256, "x.txt")])
    store.messages.delete_branch(msg.id)
    assert store.attachments.get_file(f.sha256) is None and copies(store) == []


def test_orphans_from_the_composer_are_purged_after_a_day(tmp_path: Path) -> None:
    clock = FakeClock()
    with open_store(tmp_path, clock) as store:
        used = store.attachments.store_file(write(tmp_path / "used.txt", b"used"))
        unused = store.attachments.store_file(write(tmp_path / "unused.txt", b"unused"))
        conv = store.conversations.create()
        store.messages.add_user_message(conv.id, "x", attachments=[NewAttachment(used.sha256, "used.txt")])
        assert store.attachments.purge_orphans() == 0  # too recent: the user may still send it
        clock.advance(25 * 3600)
        assert store.attachments.purge_orphans() == 1
        assert store.attachments.get_file(unused.sha256) is None
        assert store.attachments.get_file(used.sha256) is not None


def test_a_lost_copy_is_stored_again(store: Store, tmp_path: Path) -> None:
    f = store.attachments.store_file(write(tmp_path / "x.txt", b"data"))
    path = store.attachments.path_of(f)
    assert path is not None
    path.unlink()
    assert store.attachments.path_of(f) is None
    again = store.attachments.store_file(tmp_path / "x.txt")
    assert store.attachments.path_of(again) is not None


def test_a_missing_source_file_is_a_plain_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="could not be copied"):
        store.attachments.store_file(tmp_path / "nope.pdf")
