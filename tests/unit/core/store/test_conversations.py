"""Conversations: the list, titles, per-conversation state, app state, delete with undo and real delete."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.core.errors import StoreNotFoundError
from hearth.core.store import Store, TitleSource
from tests.unit.core.store.store_support import FakeClock, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path) as s:
        yield s


def test_create_and_read_back_every_field(store: Store) -> None:
    conv = store.conversations.create(
        model="gemma-3-270m-Q4_K_M.gguf", system_prompt="Be brief.", settings={"temperature": 0.6, "n_ctx": 4096}
    )
    again = store.conversations.get(conv.id)
    assert again == conv
    assert conv.title == "" and conv.title_source is TitleSource.NONE
    assert conv.model == "gemma-3-270m-Q4_K_M.gguf" and conv.system_prompt == "Be brief."
    assert conv.settings == {"temperature": 0.6, "n_ctx": 4096}
    assert conv.ui_state == {} and conv.deleted_at is None and not conv.pinned
    assert len(conv.uuid) == 36 and store.conversations.find_by_uuid(conv.uuid) == conv


def test_setters_change_what_they_say(store: Store) -> None:
    conv = store.conversations.create()
    store.conversations.set_model(conv.id, "scout.gguf")
    store.conversations.set_system_prompt(conv.id, "You are a pirate.")
    store.conversations.set_settings(conv.id, {"top_p": 0.9})
    store.conversations.set_ui_state(conv.id, {"scroll": 0.75, "anchor_message": 12})
    store.conversations.set_pinned(conv.id, True)
    got = store.conversations.get(conv.id)
    assert (got.model, got.system_prompt, got.settings, got.ui_state, got.pinned) == (
        "scout.gguf", "You are a pirate.", {"top_p": 0.9}, {"scroll": 0.75, "anchor_message": 12}, True,
    )
    with pytest.raises(StoreNotFoundError):
        store.conversations.set_pinned(12345, True)


def test_ui_state_and_settings_survive_a_restart(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        conv = store.conversations.create()
        m = store.messages.add_user_message(conv.id, "hi")
        store.conversations.set_ui_state(conv.id, {"scroll": 120})
        store.set_state("last_conversation_id", conv.id)
    with open_store(tmp_path) as store:
        last = store.get_state("last_conversation_id")
        assert last == conv.id
        got = store.conversations.get(last)
        assert got.ui_state == {"scroll": 120} and got.selected_leaf_id == m.id
        store.set_state("last_conversation_id", None)
        assert store.get_state("last_conversation_id", "none") == "none"


def test_list_orders_pinned_first_then_recent(tmp_path: Path) -> None:
    clock = FakeClock()
    with open_store(tmp_path, clock) as store:
        ids = []
        for i in range(4):
            clock.advance(1)
            ids.append(store.conversations.create(title=f"c{i}").id)
        clock.advance(1)
        store.messages.add_user_message(ids[0], "bump")  # c0 becomes the most recent
        store.conversations.set_pinned(ids[2], True)
        listed = [c.title for c in store.conversations.list_all()]
        assert listed == ["c2", "c0", "c3", "c1"]
        assert [c.title for c in store.conversations.list_all(limit=2, offset=1)] == ["c0", "c3"]
        assert store.conversations.count() == 4


def test_title_filter_matches_literally(store: Store) -> None:
    store.conversations.create(title="100% sure")
    store.conversations.create(title="Cooking pasta")
    store.conversations.create(title="snake_case names")
    assert [c.title for c in store.conversations.list_all(title_filter="pasta")] == ["Cooking pasta"]
    assert [c.title for c in store.conversations.list_all(title_filter="100%")] == ["100% sure"]
    assert [c.title for c in store.conversations.list_all(title_filter="_")] == ["snake_case names"]
    assert len(store.conversations.list_all(title_filter="  ")) == 3


def test_first_user_message_gives_the_title_and_later_ones_do_not(store: Store) -> None:
    conv = store.conversations.create()
    text = "  How do I   make sourdough bread at home without a scale or any special tools?"
    store.messages.add_user_message(conv.id, text)
    got = store.conversations.get(conv.id)
    assert got.title_source is TitleSource.AUTO
    assert got.title.startswith("How do I make sourdough bread") and got.title.endswith("…")
    assert len(got.title) <= 60
    store.messages.add_user_message(conv.id, "Something else entirely")
    assert store.conversations.get(conv.id).title == got.title


def test_model_title_replaces_the_automatic_one_but_never_the_users(store: Store) -> None:
    conv = store.conversations.create()
    store.messages.add_user_message(conv.id, "a long question about bread")
    assert store.conversations.set_model_title(conv.id, "Sourdough   basics\n")
    got = store.conversations.get(conv.id)
    assert got.title == "Sourdough basics"
    assert got.title_source is TitleSource.MODEL

    store.conversations.rename(conv.id, "My bread notes")
    assert not store.conversations.set_model_title(conv.id, "Other")
    assert not store.conversations.set_auto_title(conv.id, "Other")
    assert store.conversations.get(conv.id).title == "My bread notes"

    named = store.conversations.create(title="Named at birth")
    store.messages.add_user_message(named.id, "first message")
    assert store.conversations.get(named.id).title == "Named at birth"
    assert not store.conversations.set_model_title(named.id, "   ")


def test_attachment_only_message_is_titled_by_the_file_name(store: Store, tmp_path: Path) -> None:
    from hearth.core.store import NewAttachment

    doc = tmp_path / "report.pdf"
    doc.write_bytes(b"%PDF-1.4 fake")
    stored = store.attachments.store_file(doc, mime="application/pdf")
    conv = store.conversations.create()
    store.messages.add_user_message(conv.id, "", attachments=[NewAttachment(stored.sha256, "report.pdf")])
    assert store.conversations.get(conv.id).title == "report.pdf"


def test_delete_hides_restore_brings_back(store: Store) -> None:
    conv = store.conversations.create(title="keep me")
    m = store.messages.add_user_message(conv.id, "findable words")
    store.conversations.delete(conv.id)
    assert store.conversations.list_all() == []
    assert store.search.messages("findable") == []
    with pytest.raises(StoreNotFoundError):
        store.conversations.get(conv.id)
    with pytest.raises(StoreNotFoundError):
        store.messages.add_user_message(conv.id, "into a deleted conversation")
    assert [c.id for c in store.conversations.deleted()] == [conv.id]
    assert store.conversations.get(conv.id, include_deleted=True).deleted_at is not None

    restored = store.conversations.restore(conv.id)
    assert restored.deleted_at is None
    assert [c.id for c in store.conversations.list_all()] == [conv.id]
    assert [h.message_id for h in store.search.messages("findable")] == [m.id]


def test_purge_deletes_rows_and_search_entries(store: Store) -> None:
    conv = store.conversations.create()
    u = store.messages.add_user_message(conv.id, "platypus facts")
    a = store.messages.start_assistant_message(u.id)
    store.messages.finish_message(a, "the platypus lays eggs")
    other = store.conversations.create()
    store.messages.add_user_message(other.id, "platypus again")

    store.conversations.delete(conv.id)
    assert store.conversations.purge(conv.id)
    assert not store.conversations.purge(conv.id)
    with store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM messages WHERE conversation_id = ?", (conv.id,)).fetchone()[0] == 0
        # The FTS index holds nothing for the deleted rows: its own consistency check passes and only one hit is left.
        conn.execute("INSERT INTO message_fts(message_fts) VALUES ('integrity-check')")
        assert conn.execute("SELECT count(*) FROM message_fts WHERE message_fts MATCH 'platypus'").fetchone()[0] == 1
    with pytest.raises(StoreNotFoundError):
        store.conversations.restore(conv.id)


def test_conversations_left_in_the_undo_window_are_purged_at_next_open(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        gone = store.conversations.create(title="gone")
        kept = store.conversations.create(title="kept")
        store.conversations.delete(gone.id)
    with open_store(tmp_path) as store:
        assert store.purged_conversation_ids == [gone.id]
        assert [c.id for c in store.conversations.list_all()] == [kept.id]
        assert store.conversations.deleted() == []


def test_purge_deleted_respects_the_age(tmp_path: Path) -> None:
    clock = FakeClock()
    with open_store(tmp_path, clock) as store:
        a = store.conversations.create()
        store.conversations.delete(a.id)
        clock.advance(5)
        b = store.conversations.create()
        store.conversations.delete(b.id)
        assert store.conversations.purge_deleted(older_than_s=3) == [a.id]
        assert [c.id for c in store.conversations.deleted()] == [b.id]


def test_documents_pinned_whole_are_kept_in_the_settings_snapshot(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        conv = store.conversations.create(settings={"temperature": 0.6})
        assert conv.whole_documents == ()
        store.conversations.set_whole_document(conv.id, "a" * 64, True)
        store.conversations.set_whole_document(conv.id, "b" * 64, True)
        store.conversations.set_whole_document(conv.id, "a" * 64, True)  # twice is once
        store.conversations.set_whole_document(conv.id, "b" * 64, False)
        with pytest.raises(StoreNotFoundError):
            store.conversations.set_whole_document(conv.id + 1, "a" * 64, True)
    with open_store(tmp_path) as store:
        again = store.conversations.get(conv.id)
        assert again.whole_documents == ("a" * 64,)
        assert again.settings["temperature"] == 0.6, "the rest of the snapshot is kept"
