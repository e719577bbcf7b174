"""The prompt built for the engine from a stored conversation: pinned documents go whole, page pictures go along."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.core.chat.attachments import AttachmentSource, prepare_attachments
from hearth.core.chat.prompt import engine_messages
from hearth.core.store import Store
from tests.fixtures.documents import make_pdf, meeting_notes, report_pages


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "hearth.db") as opened:
        yield opened


def test_a_document_pinned_in_the_store_goes_whole_into_the_prompt(store: Store, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    make_pdf(report_pages(30), pdf)
    notes = tmp_path / "notes.txt"
    notes.write_text(meeting_notes())
    prepared = prepare_attachments(store, [AttachmentSource("notes.txt", notes), AttachmentSource("report.pdf", pdf)])
    conv = store.conversations.create(system_prompt="Answer from the documents.")
    user = store.messages.add_user_message(conv.id, "What did the committee decide?", attachments=prepared.new)
    answer = store.messages.get(store.messages.start_assistant_message(user.id))

    def prompt() -> tuple[str, dict[str, str]]:
        messages, retrieval = engine_messages(store, answer, [user], False, n_ctx=2048, max_tokens=24)
        assert [m["role"] for m in messages] == ["system", "user"] and retrieval is not None
        return messages[-1]["content"], {c.name: c.summary for c in retrieval.choices}

    content, choices = prompt()
    assert choices["notes.txt"] == "1 of 6 passages"
    assert sum(f"Meeting notes, part {i}." in content for i in range(6)) == 1
    store.conversations.set_whole_document(conv.id, prepared.new[0].sha256, True)
    content, choices = prompt()
    assert choices["notes.txt"] == "whole document (pinned)"
    assert all(f"Meeting notes, part {i}." in content for i in range(6)), "every part of the notes is sent"
    assert content.rstrip().endswith("What did the committee decide?")


def test_page_pictures_of_a_scan_go_with_their_message(store: Store, tmp_path: Path) -> None:
    scan = tmp_path / "scan.pdf"
    make_pdf([None, None, None], scan)
    prepared = prepare_attachments(store, [AttachmentSource("scan.pdf", scan, as_pages=True)], page_limit=2)
    conv = store.conversations.create()
    user = store.messages.add_user_message(conv.id, "What do the pages say?", attachments=prepared.new)
    answer = store.messages.get(store.messages.start_assistant_message(user.id))
    messages, retrieval = engine_messages(store, answer, [user], False, n_ctx=8192, max_tokens=64)
    assert retrieval is None, "page pictures are not documents"
    (question,) = messages
    assert question["content"] == "What do the pages say?"
    assert [ref["name"] for ref in question["images"]] == ["scan.pdf p.1", "scan.pdf p.2"]
    assert all(Path(ref["path"]).read_bytes() == image.data for ref, image in zip(question["images"],
                                                                                prepared.images, strict=True))


def test_thinking_is_never_sent_back_as_history(store: Store) -> None:
    conv = store.conversations.create()
    first = store.messages.add_user_message(conv.id, "How many r's in strawberry?")
    reply_id = store.messages.start_assistant_message(first.id)
    store.messages.finish_message(reply_id, "<think>s-t-r-a-w-b-e-r-r-y: three.</think>\n\nThree.")
    follow = store.messages.add_user_message(conv.id, "And in cherry?", parent_id=reply_id)
    answer = store.messages.get(store.messages.start_assistant_message(follow.id))
    history = [store.messages.get(first.id), store.messages.get(reply_id), follow]
    messages, _ = engine_messages(store, answer, history, False, n_ctx=2048, max_tokens=24)
    assert [m["content"] for m in messages] == ["How many r's in strawberry?", "Three.", "And in cherry?"]


def test_the_models_recommended_system_prompt_stands_in_for_none(store: Store) -> None:
    """A conversation with no system prompt gets the model's recommended one; its own always wins."""
    plain = store.conversations.create()
    user = store.messages.add_user_message(plain.id, "What is the capital of France?")
    answer = store.messages.get(store.messages.start_assistant_message(user.id))
    messages, _ = engine_messages(store, answer, [user], False, n_ctx=2048, max_tokens=64,
                                  default_system_prompt="Keep your answers short.")
    assert messages[0] == {"role": "system", "content": "Keep your answers short."}
    messages, _ = engine_messages(store, answer, [user], False, n_ctx=2048, max_tokens=24)
    assert [m["role"] for m in messages] == ["user"], "no recommendation: nothing is added"
    teacher = store.conversations.create(system_prompt="You are a patient teacher.")
    user = store.messages.add_user_message(teacher.id, "What is a prime number?")
    answer = store.messages.get(store.messages.start_assistant_message(user.id))
    messages, _ = engine_messages(store, answer, [user], False, n_ctx=2048, max_tokens=24,
                                  default_system_prompt="Keep your answers short.")
    assert messages[0] == {"role": "system", "content": "You are a patient teacher."}
