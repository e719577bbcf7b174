"""Export to Markdown and JSON, JSON import (round trip), and the whole-store archive."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from hearth.core.errors import StoreError
from hearth.core.store import (
    MessageStatus,
    NewAttachment,
    RunInfo,
    Store,
    conversation_to_json,
    conversation_to_markdown,
    export_archive,
    import_archive,
    import_conversation,
)
from tests.unit.core.store.store_support import open_store


def build_conversation(store: Store, tmp_path: Path) -> int:
    """A conversation with an edit, a regeneration, an error, run info, a system prompt and an attachment."""
    doc = tmp_path / "recipe.txt"
    doc.write_text("flour, water, salt", encoding="utf-8")
    stored = store.attachments.store_file(doc, mime="text/plain")
    store.attachments.set_extraction(stored.sha256, text="flour, water, salt", page_count=1, extractor="txt")
    conv = store.conversations.create(model="gemma.gguf", system_prompt="Be brief.\n\nAnd kind.",
                                      settings={"temperature": 0.6})
    u1 = store.messages.add_user_message(conv.id, "Bread recipe?", attachments=[NewAttachment(stored.sha256,
                                                                                             "recipe.txt")])
    a1 = store.messages.start_assistant_message(u1.id)
    store.messages.finish_message(a1, "Mix **flour** and water.", run_info=RunInfo(
        model_file="gemma.gguf", quant="Q4_K_M", tokens=5, tokens_per_s=48.0, ttft_s=0.06, stop_reason="stop"))
    a2 = store.messages.regenerate(a1)
    store.messages.finish_message(a2, "Partial answ", MessageStatus.ERROR, error="The model engine stopped.")
    store.messages.select_sibling(a2, -1)
    u2 = store.messages.add_user_message(conv.id, "Gluten-free?")
    a3 = store.messages.start_assistant_message(u2.id)
    store.messages.finish_message(a3, "Use rice flour.", MessageStatus.CANCELLED)
    store.messages.edit_and_resend(u2.id, "Gluten-free, please?")
    store.messages.select_sibling(u2.id, 0)
    store.conversations.set_ui_state(conv.id, {"scroll": 3})
    return conv.id


def tree(store: Store, conv_id: int) -> list[tuple[Any, ...]]:
    """The conversation's tree without database ids: each message with the contents of its path."""
    messages = store.messages.all_messages(conv_id)
    by_id = {m.id: m for m in messages}
    files = store.attachments.for_messages(by_id)

    def path(m_id: int | None) -> tuple[str, ...]:
        out: list[str] = []
        while m_id is not None:
            out.insert(0, by_id[m_id].content)
            m_id = by_id[m_id].parent_id
        return tuple(out)

    return sorted(
        (path(m.id), m.role, m.status, m.error, m.run_info, m.created,
         tuple((a.file_name, a.file.sha256) for a in files.get(m.id, [])))
        for m in messages
    )


def test_markdown_shows_the_active_branch(tmp_path: Path) -> None:
    with open_store(tmp_path / "a") as store:
        conv_id = build_conversation(store, tmp_path)
        md = conversation_to_markdown(store, conv_id)
    assert md.startswith("# Bread recipe?\n")
    assert "Model: gemma.gguf" in md
    assert "> **System prompt**\n>\n> Be brief.\n>\n> And kind." in md
    assert "## You\n\nBread recipe?\n\nAttached: recipe.txt (1 pages)" in md
    assert "## Assistant\n\nMix **flour** and water." in md
    assert "Use rice flour.\n\n*(stopped)*" in md
    assert "Partial answ" not in md and "Gluten-free, please?" not in md  # other branches


def test_markdown_marks_errors(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        conv = store.conversations.create()
        u = store.messages.add_user_message(conv.id, "q")
        a = store.messages.start_assistant_message(u.id)
        store.messages.finish_message(a, "", MessageStatus.ERROR, error="Out of memory.")
        assert "*(error: Out of memory.)*" in conversation_to_markdown(store, conv.id)


def test_json_active_branch_and_all_branches(tmp_path: Path) -> None:
    with open_store(tmp_path / "a") as store:
        conv_id = build_conversation(store, tmp_path)
        active = conversation_to_json(store, conv_id)
        full = conversation_to_json(store, conv_id, all_branches=True)
        assert [m["content"] for m in active["messages"]] == [
            m.content for m in store.messages.active_branch(conv_id)]
        assert len(full["messages"]) == len(store.messages.all_messages(conv_id)) == 6
    assert active["format"] == "hearth.conversation" and active["version"] == 1
    assert active["branches"] == "active" and full["branches"] == "all"
    assert active["selected_leaf"] == active["messages"][-1]["id"]
    assert active["messages"][0]["attachments"][0]["file_name"] == "recipe.txt"
    assert active["messages"][1]["run_info"]["quant"] == "Q4_K_M"
    json.dumps(full)  # serialisable as it is


def test_json_round_trip_keeps_the_whole_tree(tmp_path: Path) -> None:
    with open_store(tmp_path / "a") as source:
        conv_id = build_conversation(source, tmp_path)
        exported = json.loads(json.dumps(conversation_to_json(source, conv_id, all_branches=True)))
        original_tree = tree(source, conv_id)
        original_branch = [m.content for m in source.messages.active_branch(conv_id)]
        original_conv = source.conversations.get(conv_id)
    with open_store(tmp_path / "b") as target:
        new_id = import_conversation(target, exported)
        assert new_id is not None
        assert tree(target, new_id) == original_tree
        assert [m.content for m in target.messages.active_branch(new_id)] == original_branch
        got = target.conversations.get(new_id)
        for field in ("uuid", "title", "title_source", "created", "updated", "model", "system_prompt",
                      "settings", "ui_state", "pinned"):
            assert getattr(got, field) == getattr(original_conv, field), field
        # The file came without its bytes: listed, no copy.
        att = target.attachments.for_message(target.messages.active_branch(new_id)[0].id)[0]
        assert att.file_name == "recipe.txt" and target.attachments.path_of(att.file) is None
        # Switching branches works on the imported tree.
        leaf = target.messages.active_branch(new_id)[1]
        assert target.messages.siblings(leaf.id) == (0, 2)
        # Importing again: skipped by default, or a copy with a new uuid.
        assert import_conversation(target, exported) is None
        copy_id = import_conversation(target, exported, if_exists="copy")
        assert copy_id is not None and target.conversations.get(copy_id).uuid != original_conv.uuid
        assert tree(target, copy_id) == original_tree


def test_streaming_messages_import_as_interrupted(tmp_path: Path) -> None:
    with open_store(tmp_path / "a") as store:
        conv = store.conversations.create()
        u = store.messages.add_user_message(conv.id, "q")
        store.messages.start_assistant_message(u.id)
        data = conversation_to_json(store, conv.id)
    with open_store(tmp_path / "b") as store:
        new_id = import_conversation(store, data)
        assert new_id is not None
        assert store.messages.active_branch(new_id)[-1].status is MessageStatus.INTERRUPTED


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"format": "something else"}, "not a Hearth conversation"),
        ({"format": "hearth.conversation", "version": 99, "conversation": {}, "messages": []}, "newer Hearth"),
        ({"format": "hearth.conversation", "version": 1, "conversation": {}, "messages": [
            {"id": 1, "parent": 2, "role": "user"}]}, "not a Hearth conversation"),
        ({"format": "hearth.conversation", "version": 1, "conversation": {}, "messages": [
            {"id": 1, "parent": 2, "role": "user"}, {"id": 2, "parent": 1, "role": "user"}]}, "not a Hearth"),
        ({"format": "hearth.conversation", "version": 1, "conversation": {}, "messages": [
            {"id": 1, "role": "wizard"}]}, "not a Hearth conversation"),
        ({"format": "hearth.conversation", "version": 1, "conversation": {}, "messages": [
            {"id": 1, "role": "user"}, {"id": 1, "role": "user"}]}, "not a Hearth conversation"),
        ([1, 2, 3], "not a Hearth conversation"),
    ],
)
def test_bad_imports_are_refused_and_change_nothing(tmp_path: Path, data: Any, words: str) -> None:
    with open_store(tmp_path) as store:
        with pytest.raises(StoreError, match=words):
            import_conversation(store, data)
        assert store.conversations.list_all() == []


def test_archive_round_trip_with_files(tmp_path: Path) -> None:
    archive = tmp_path / "everything.zip"
    with open_store(tmp_path / "a") as source:
        first = build_conversation(source, tmp_path)
        second = source.conversations.create(title="Second")
        source.messages.add_user_message(second.id, "just text")
        deleted = source.conversations.create(title="In the undo window")
        source.conversations.delete(deleted.id)
        seen: list[tuple[int, int]] = []
        summary = export_archive(source, archive, progress=lambda done, total: seen.append((done, total)))
        assert (summary.conversations, summary.files, summary.missing_files) == (2, 1, 0)
        assert seen == [(1, 2), (2, 2)]
        trees = {c.uuid: tree(source, c.id) for c in source.conversations.list_all()}
        first_uuid = source.conversations.get(first).uuid

    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        assert {"manifest.json", "files.json"} <= names
        assert sum(n.startswith("conversations/") for n in names) == 2
    assert not (tmp_path / "everything.zip.partial").exists()

    with open_store(tmp_path / "b") as target:
        result = import_archive(target, archive)
        assert (result.conversations, result.skipped, result.files) == (2, 0, 1)
        assert {c.uuid: tree(target, c.id) for c in target.conversations.list_all()} == trees
        conv = target.conversations.find_by_uuid(first_uuid)
        assert conv is not None
        att = target.attachments.for_message(target.messages.active_branch(conv.id)[0].id)[0]
        path = target.attachments.path_of(att.file)
        assert path is not None and path.read_text(encoding="utf-8") == "flour, water, salt"
        assert att.file.extracted_text == "flour, water, salt" and att.file.page_count == 1
        again = import_archive(target, archive)
        assert (again.conversations, again.skipped) == (0, 2)


def test_a_damaged_file_in_the_archive_is_not_restored(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with open_store(tmp_path / "a") as source:
        build_conversation(source, tmp_path)
        export_archive(source, archive)
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(damaged, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, b"tampered" if info.filename.startswith("files/") else data)
    with open_store(tmp_path / "b") as target:
        result = import_archive(target, damaged)
        assert (result.conversations, result.files, result.missing_files) == (1, 0, 1)
        conv = target.conversations.list_all()[0]
        att = target.attachments.for_message(target.messages.active_branch(conv.id)[0].id)[0]
        assert target.attachments.path_of(att.file) is None


def test_not_an_archive(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "someone.else"}))
    with open_store(tmp_path / "s") as store:
        with pytest.raises(StoreError, match="could not be read"):
            import_archive(store, junk)
        with pytest.raises(StoreError, match="not a Hearth archive"):
            import_archive(store, other)
