"""Tool calls stored with their answer: in order, deleted with it, exported to Markdown (collapsible) and JSON, and
imported back."""

from __future__ import annotations

import json
from pathlib import Path

from hearth.core.store import (
    CallStatus,
    ToolCallRecord,
    conversation_to_json,
    conversation_to_markdown,
    import_conversation,
)
from tests.unit.core.store.store_support import open_store

CALLS = [
    ToolCallRecord("call_1", "lookup_word", "notes", "lookup_word", '{"word": "ember"}', "LOOKUP-EMBER-5",
                   CallStatus.OK, 1, 1_750_000_000.0, 0.42),
    ToolCallRecord("call_2", "save_note", "notes", "save_note", '{"text": "buy ```milk```"}',
                   "The user did not allow this call.", CallStatus.DENIED, 2, 1_750_000_001.0, 0.0),
]


def test_calls_kept_in_order_and_deleted_with_their_answer(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        conv = store.conversations.create()
        user = store.messages.add_user_message(conv.id, "What is the code of ember?")
        answer = store.messages.start_assistant_message(user.id)
        store.tool_calls.set_for_message(answer, CALLS)
        store.messages.finish_message(answer, "The code is LOOKUP-EMBER-5.")
        assert store.tool_calls.for_message(answer) == CALLS
        store.tool_calls.set_for_message(answer, CALLS[:1])
        assert store.tool_calls.for_message(answer) == CALLS[:1]
        assert store.conversations.purge(conv.id)
        with store.db.read() as conn:
            assert conn.execute("SELECT count(*) FROM tool_calls").fetchone()[0] == 0


def test_export_and_import(tmp_path: Path) -> None:
    with open_store(tmp_path / "a") as store:
        conv = store.conversations.create(model="m.gguf")
        user = store.messages.add_user_message(conv.id, "Code of ember?")
        answer = store.messages.start_assistant_message(user.id)
        store.tool_calls.set_for_message(answer, CALLS)
        store.messages.finish_message(answer, "LOOKUP-EMBER-5.")
        markdown = conversation_to_markdown(store, conv.id)
        data = json.loads(json.dumps(conversation_to_json(store, conv.id)))
    assert "<summary>Tool: lookup_word (notes) · ok · 0.4 s</summary>" in markdown
    assert "not allowed" in markdown
    # The arguments hold ``` : the fence around them is longer.
    assert '````json\n{\n  "text": "buy ```milk```"\n}\n````' in markdown
    assert markdown.index("<details>") < markdown.index("LOOKUP-EMBER-5.")
    exported = next(m for m in data["messages"] if m["role"] == "assistant")
    assert [c["name"] for c in exported["tool_calls"]] == ["lookup_word", "save_note"]
    with open_store(tmp_path / "b") as store:
        new = import_conversation(store, data)
        assert new is not None
        answer_id = next(m.id for m in store.messages.active_branch(new) if m.content == "LOOKUP-EMBER-5.")
        assert store.tool_calls.for_message(answer_id) == CALLS
