"""System-prompt presets: the built-ins and the user's own, stored with the conversations and exported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.core.chat.presets import BUILTIN_PRESETS, NO_PRESET, all_presets, find_preset
from hearth.core.errors import StoreError
from hearth.core.store import Store, conversation_to_json, conversation_to_markdown, import_conversation


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "hearth.db") as opened:
        yield opened


def test_builtins_cover_what_people_ask_for() -> None:
    names = {p.name for p in BUILTIN_PRESETS}
    assert {"Concise answers", "Teacher", "Translator", "Code reviewer"} <= names
    assert all(p.system_prompt and p.builtin for p in BUILTIN_PRESETS)


def test_own_presets_are_kept_listed_and_replaced_by_name(store: Store, tmp_path: Path) -> None:
    store.presets.save("  Pirate  ", "Talk like a pirate.")
    store.presets.save("pirate", "Talk like a polite pirate.")
    names = [p.name for p in all_presets(store)]
    assert names[0] == NO_PRESET.name and names.count("pirate") + names.count("Pirate") == 1
    found = find_preset(store, "PIRATE")
    assert found is not None and found.system_prompt == "Talk like a polite pirate." and not found.builtin
    store.presets.delete("Pirate")
    assert find_preset(store, "pirate") is None
    with pytest.raises(StoreError):
        store.presets.save("", "x")
    with pytest.raises(StoreError):
        store.presets.save("Empty", "  ")


def test_own_presets_survive_reopening(tmp_path: Path) -> None:
    with Store.open(tmp_path / "h.db") as store:
        store.presets.save("Haiku", "Answer in a haiku.")
    with Store.open(tmp_path / "h.db") as store:
        assert [p.name for p in store.presets.list()] == ["Haiku"]


def test_a_conversation_keeps_its_system_prompt_and_preset_and_exports_them(store: Store) -> None:
    teacher = next(p for p in BUILTIN_PRESETS if p.name == "Teacher")
    conv = store.conversations.create(system_prompt=teacher.system_prompt, preset=teacher.name)
    user = store.messages.add_user_message(conv.id, "What is a prime?")
    reply = store.messages.start_assistant_message(user.id)
    store.messages.finish_message(reply, "<think>Define it simply.</think>A number with two divisors.")
    assert store.conversations.get(conv.id).preset == "Teacher"
    markdown = conversation_to_markdown(store, conv.id)
    assert "> **System prompt** (Teacher)" in markdown
    assert "Define it simply" not in markdown and "A number with two divisors." in markdown
    with_thoughts = conversation_to_markdown(store, conv.id, thinking=True)
    assert "<details><summary>Thinking</summary>" in with_thoughts and "Define it simply." in with_thoughts
    data = json.loads(json.dumps(conversation_to_json(store, conv.id)))
    assert data["conversation"]["preset"] == "Teacher"
    assert "<think>" in data["messages"][1]["content"], "JSON keeps everything by default"
    bare = conversation_to_json(store, conv.id, thinking=False)
    assert bare["messages"][1]["content"] == "A number with two divisors."
    copy = import_conversation(store, data, if_exists="copy")
    assert copy is not None and store.conversations.get(copy).preset == "Teacher"
    store.conversations.set_system_prompt(conv.id, "Be brief.", "")
    changed = store.conversations.get(conv.id)
    assert (changed.system_prompt, changed.preset) == ("Be brief.", "")
