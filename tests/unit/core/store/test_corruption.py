"""Damaged databases: a typed error in plain words, the bad file moved aside untouched, a fresh start."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from hearth.core.errors import StoreCorruptError, StoreError
from hearth.core.store import Store, quarantine, salvage
from tests.unit.core.store.store_support import FakeClock


def make_database(path: Path, conversations: int = 40) -> None:
    """A real database of several hundred pages, closed cleanly (WAL folded into the main file)."""
    with Store.open(path) as store, store.db.write():
        for i in range(conversations):
            conv = store.conversations.create(title=f"conversation {i}")
            for j in range(10):
                store.messages.add_user_message(conv.id, f"message {j} of {i}: " + "lorem ipsum dolor " * 40)
    assert not Path(str(path) + "-wal").exists()


def open_fails_as_corrupt(path: Path) -> StoreCorruptError:
    with pytest.raises(StoreCorruptError) as info:
        Store.open(path)
    error = info.value
    assert "damaged" in str(error) and error.hint and error.path == str(path)
    assert "Traceback" not in str(error)
    return error


def test_garbage_bytes(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    junk = random.Random(1).randbytes(50_000)
    path.write_bytes(junk)
    open_fails_as_corrupt(path)
    assert path.read_bytes() == junk  # opening never writes to a bad file


def test_a_text_file_and_a_tiny_file(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    path.write_text("my notes, saved here by mistake\n", encoding="utf-8")
    open_fails_as_corrupt(path)
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 20)  # the header cut short
    open_fails_as_corrupt(path)


def test_a_truncated_database(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    make_database(path)
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.truncate(size // 2)
    open_fails_as_corrupt(path)


def test_a_good_header_over_damaged_pages(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    make_database(path)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    rng = random.Random(7)
    # Pages 3 to 12 (after the schema page) become noise; the 100-byte header stays valid.
    for offset in range(2 * page, 12 * page, 16):
        data[offset : offset + 16] = rng.randbytes(16)
    path.write_bytes(bytes(data))
    open_fails_as_corrupt(path)


def test_damage_found_later_is_the_same_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    make_database(path)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for offset in range(len(data) // 2 // page * page, len(data), page):
        data[offset + 8 : offset + 64] = b"\xff" * 56  # wreck the cell pointers of the later half's pages
    path.write_bytes(bytes(data))
    store = Store.open(path, check=False, recover=False)
    try:
        with pytest.raises(StoreCorruptError):
            for conv in store.conversations.list_all():
                store.messages.active_branch(conv.id)
            store.search.messages("lorem")
    finally:
        store.close()


def test_quarantine_moves_everything_aside_and_a_fresh_database_opens(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    junk = b"\x00garbage" * 1000
    path.write_bytes(junk)
    wal = Path(str(path) + "-wal")
    wal.write_bytes(b"wal bytes that may hold the newest chats")
    open_fails_as_corrupt(path)

    clock = FakeClock()
    moved = quarantine(path, clock=clock)
    assert moved.parent == tmp_path and moved.name.startswith("hearth.db.damaged-")
    assert moved.read_bytes() == junk
    assert Path(str(moved) + "-wal").read_bytes() == b"wal bytes that may hold the newest chats"
    assert not path.exists() and not wal.exists()

    with Store.open(path) as store:
        assert store.report.created
        store.conversations.create(title="a new start")

    # A second quarantine in the same second gets its own name; nothing is ever overwritten.
    os.replace(path, tmp_path / "elsewhere.db")
    path.write_bytes(junk + b"second")
    for side in ("-wal", "-shm"):
        Path(str(path) + side).unlink(missing_ok=True)
    moved_again = quarantine(path, clock=clock)
    assert moved_again != moved and moved_again.read_bytes() == junk + b"second"
    assert moved.read_bytes() == junk


def test_a_folder_where_the_database_should_be(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    path.mkdir()
    with pytest.raises(StoreError) as info:
        Store.open(path)
    assert not isinstance(info.value, StoreCorruptError)
    assert "folder" in str(info.value)


def test_an_empty_file_is_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    path.touch()
    with Store.open(path) as store:
        assert store.report.created


def recovered(store: Store) -> dict[str, list[str]]:
    return {c.title: [m.content for m in store.messages.all_messages(c.id)] for c in store.conversations.list_all()}


def test_salvage_rescues_every_readable_conversation(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    make_database(path)
    with Store.open(path) as store:
        original = recovered(store)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    rng = random.Random(3)
    for n in range(len(data) // page // 3, len(data) // page // 3 + 6):  # six pages in the middle become noise
        data[n * page : (n + 1) * page] = rng.randbytes(page)
    path.write_bytes(bytes(data))
    open_fails_as_corrupt(path)

    moved = quarantine(path)
    damaged_bytes = moved.read_bytes()
    with Store.open(path) as store:
        report = salvage(store, moved)
        assert report.error == "" and report.conversations >= 1
        assert report.conversations + report.lost_conversations <= 40
        got = recovered(store)
        assert len(got) == report.conversations
        for title, contents in got.items():
            # What came back is the original text, never garbage (messages on lost pages may be missing).
            assert set(contents) <= set(original[title]), title
        assert store.integrity_check() == []
        again = salvage(store, moved)  # running it twice adds nothing
        assert again.conversations == 0 and len(recovered(store)) == report.conversations
    assert moved.read_bytes() == damaged_bytes  # the damaged original is never modified


def test_salvage_of_a_sound_file_recovers_everything(tmp_path: Path) -> None:
    old = tmp_path / "old" / "hearth.db"
    make_database(old, conversations=5)
    with Store.open(old) as store:
        original = recovered(store)
    with Store.open(tmp_path / "new" / "hearth.db") as store:
        report = salvage(store, old)
        assert (report.conversations, report.messages, report.lost_conversations) == (5, 50, 0)
        assert recovered(store) == original


def test_salvage_of_garbage_reports_why(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"nothing to see" * 100)
    with Store.open(tmp_path / "hearth.db") as store:
        report = salvage(store, junk)
        assert report.conversations == 0 and report.error
