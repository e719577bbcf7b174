"""The message tree: branches from edits and regenerations, the sibling switcher, answers' lives, deletion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.core.errors import StoreError, StoreNotFoundError
from hearth.core.store import MessageStatus, Role, RunInfo, Store
from tests.unit.core.store.store_support import open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path) as s:
        yield s


def answer(store: Store, parent_id: int, text: str) -> int:
    msg_id = store.messages.start_assistant_message(parent_id)
    store.messages.finish_message(msg_id, text)
    return msg_id


def contents(store: Store, conv_id: int) -> list[str]:
    return [m.content for m in store.messages.active_branch(conv_id)]


def test_a_simple_exchange_is_the_active_branch(store: Store) -> None:
    conv = store.conversations.create()
    assert store.messages.active_branch(conv.id) == []
    u1 = store.messages.add_user_message(conv.id, "Hi")
    a1 = answer(store, u1.id, "Hello!")
    u2 = store.messages.add_user_message(conv.id, "How are you?")
    assert u2.parent_id == a1
    answer(store, u2.id, "Fine.")
    branch = store.messages.active_branch(conv.id)
    assert [m.content for m in branch] == ["Hi", "Hello!", "How are you?", "Fine."]
    assert [m.role for m in branch] == [Role.USER, Role.ASSISTANT, Role.USER, Role.ASSISTANT]
    assert all(m.status is MessageStatus.COMPLETE for m in branch)
    assert store.conversations.get(conv.id).selected_leaf_id == branch[-1].id


def test_regenerate_makes_a_sibling_and_the_switcher_moves_between_them(store: Store) -> None:
    conv = store.conversations.create()
    u1 = store.messages.add_user_message(conv.id, "Tell me a joke")
    first = answer(store, u1.id, "joke one")
    second = store.messages.regenerate(first)
    assert store.messages.get(second).status is MessageStatus.STREAMING
    store.messages.finish_message(second, "joke two")
    third = store.messages.regenerate(second)
    store.messages.finish_message(third, "joke three")

    assert contents(store, conv.id) == ["Tell me a joke", "joke three"]
    assert store.messages.siblings(third) == (2, 3)
    assert store.messages.siblings(first) == (0, 3)
    assert store.messages.sibling_ids(second) == [first, second, third]

    branch = store.messages.select_sibling(third, -1)
    assert [m.content for m in branch] == ["Tell me a joke", "joke two"]
    branch = store.messages.select_sibling(second, -5)  # clamped at the first
    assert branch[-1].id == first
    branch = store.messages.select_sibling(first, +1)
    assert branch[-1].id == second
    assert store.conversations.get(conv.id).selected_leaf_id == second


def test_edit_and_resend_keeps_the_original_branch_and_returns_to_it(store: Store) -> None:
    conv = store.conversations.create()
    u1 = store.messages.add_user_message(conv.id, "What is 2+2?")
    a1 = answer(store, u1.id, "4")
    u2 = store.messages.add_user_message(conv.id, "And 3+3?")
    a2 = answer(store, u2.id, "6")

    edited = store.messages.edit_and_resend(u1.id, "What is 2+3?")
    assert edited.parent_id is None and edited.role is Role.USER
    assert contents(store, conv.id) == ["What is 2+3?"]
    answer(store, edited.id, "5")
    assert contents(store, conv.id) == ["What is 2+3?", "5"]
    assert store.messages.siblings(edited.id) == (1, 2)

    # Back to the original first message: the whole original branch below it comes back.
    branch = store.messages.select_sibling(edited.id, -1)
    assert [m.id for m in branch] == [u1.id, a1, u2.id, a2]
    # And forth again: the edited branch, with its answer.
    branch = store.messages.select_sibling(u1.id, +1)
    assert [m.content for m in branch] == ["What is 2+3?", "5"]


def test_switching_siblings_deep_in_the_tree_remembers_the_branch_below(store: Store) -> None:
    conv = store.conversations.create()
    u1 = store.messages.add_user_message(conv.id, "q1")
    a1 = answer(store, u1.id, "a1")
    u2 = store.messages.add_user_message(conv.id, "q2")
    a2 = answer(store, u2.id, "a2")
    a2b = store.messages.regenerate(a2)
    store.messages.finish_message(a2b, "a2b")
    # Regenerate the first answer: a new branch with nothing below it.
    a1b = store.messages.regenerate(a1)
    store.messages.finish_message(a1b, "a1b")
    assert contents(store, conv.id) == ["q1", "a1b"]
    # Back to a1: the branch below is the one last shown there (a2b, not a2).
    branch = store.messages.select_sibling(a1b, -1)
    assert [m.content for m in branch] == ["q1", "a1", "q2", "a2b"]


def test_select_jumps_to_a_message_on_another_branch(store: Store) -> None:
    conv = store.conversations.create()
    u1 = store.messages.add_user_message(conv.id, "q")
    a1 = answer(store, u1.id, "first")
    a2 = store.messages.regenerate(a1)
    store.messages.finish_message(a2, "second")
    branch = store.messages.select(a1)
    assert branch[-1].id == a1
    assert store.conversations.get(conv.id).selected_leaf_id == a1


def test_adding_after_an_explicit_parent_and_a_new_root(store: Store) -> None:
    conv = store.conversations.create()
    u1 = store.messages.add_user_message(conv.id, "first")
    root2 = store.messages.add_user_message(conv.id, "another start", parent_id=None)
    assert root2.parent_id is None
    assert store.messages.siblings(root2.id) == (1, 2)
    child = store.messages.add_user_message(conv.id, "follow-up", parent_id=u1.id)
    assert contents(store, conv.id) == ["first", "follow-up"]
    assert child.parent_id == u1.id


def test_a_parent_from_another_conversation_is_refused(store: Store) -> None:
    one = store.conversations.create()
    two = store.conversations.create()
    m = store.messages.add_user_message(one.id, "hello")
    with pytest.raises(StoreNotFoundError):
        store.messages.add_user_message(two.id, "sneaky", parent_id=m.id)
    assert store.messages.all_messages(two.id) == []


def test_finish_with_error_cancel_and_run_info(store: Store) -> None:
    conv = store.conversations.create()
    u = store.messages.add_user_message(conv.id, "q")
    failed = store.messages.start_assistant_message(u.id)
    msg = store.messages.finish_message(failed, "partial", MessageStatus.ERROR, error="The engine stopped.")
    assert msg.status is MessageStatus.ERROR and msg.error == "The engine stopped." and msg.content == "partial"

    run = RunInfo(model_file="m.gguf", model_sha256="ab" * 32, quant="Q4_K_M", plan_summary="all on CPU",
                  prompt_tokens=12, tokens=3, tokens_per_s=40.5, ttft_s=0.2, stop_reason="stop",
                  extra={"n_ctx": 4096})
    ok = store.messages.start_assistant_message(u.id)
    msg = store.messages.finish_message(ok, "done", run_info=run)
    assert store.messages.get(ok).run_info == run
    assert msg.run_info == run

    stopped = store.messages.start_assistant_message(u.id)
    msg = store.messages.finish_message(stopped, "half", MessageStatus.CANCELLED)
    assert msg.status is MessageStatus.CANCELLED
    with pytest.raises(ValueError):
        store.messages.finish_message(stopped, "x", MessageStatus.STREAMING)


def test_update_partial_only_touches_streaming_answers(store: Store) -> None:
    conv = store.conversations.create()
    u = store.messages.add_user_message(conv.id, "q")
    a = store.messages.start_assistant_message(u.id)
    assert store.messages.update_partial(a, "so far")
    assert store.messages.get(a).content == "so far"
    store.messages.finish_message(a, "final")
    assert not store.messages.update_partial(a, "late write")
    assert store.messages.get(a).content == "final"
    assert not store.messages.update_partial(u.id, "not an answer")


def test_streaming_answers_become_interrupted_on_reopen_and_can_be_continued(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    conv = store.conversations.create()
    u = store.messages.add_user_message(conv.id, "q")
    a = store.messages.start_assistant_message(u.id)
    store.messages.update_partial(a, "half an ans")
    store.close()  # as if the app died here

    store = open_store(tmp_path)
    assert store.recovered_message_ids == [a]
    msg = store.messages.get(a)
    assert msg.status is MessageStatus.INTERRUPTED and msg.content == "half an ans"

    resumed = store.messages.resume_message(a)
    assert resumed.status is MessageStatus.STREAMING and resumed.content == "half an ans"
    store.messages.finish_message(a, "half an answer, finished")
    assert store.messages.get(a).status is MessageStatus.COMPLETE
    with pytest.raises(StoreError):
        store.messages.resume_message(a)  # complete answers are not continued
    with pytest.raises(StoreError):
        store.messages.resume_message(u.id)
    # ...unless they were cut off: at the length limit or a full context, the model had more to say.
    for reason in ("length", "context_full"):
        cut = store.messages.start_assistant_message(u.id)
        store.messages.finish_message(cut, "cut", run_info=RunInfo(tokens=9, stop_reason=reason))
        assert store.messages.resume_message(cut).status is MessageStatus.STREAMING
        store.messages.finish_message(cut, "cut, then finished")
    store.close()

    store = open_store(tmp_path)
    assert store.recovered_message_ids == []
    store.close()


def test_a_second_reader_without_recovery_leaves_streaming_answers_alone(tmp_path: Path) -> None:
    owner = open_store(tmp_path)
    conv = owner.conversations.create()
    u = owner.messages.add_user_message(conv.id, "q")
    a = owner.messages.start_assistant_message(u.id)
    reader = open_store(tmp_path, recover=False)
    assert reader.messages.get(a).status is MessageStatus.STREAMING
    reader.close()
    owner.close()


def test_delete_branch_removes_the_subtree_and_selects_a_sibling(store: Store) -> None:
    conv = store.conversations.create()
    u1 = store.messages.add_user_message(conv.id, "q1")
    a1 = answer(store, u1.id, "a1")
    u2 = store.messages.add_user_message(conv.id, "q2")
    answer(store, u2.id, "a2")
    a1b = store.messages.regenerate(a1)
    store.messages.finish_message(a1b, "a1b")
    store.messages.select_sibling(a1b, -1)  # showing a1 → q2 → a2

    branch = store.messages.delete_branch(a1)
    assert [m.content for m in branch] == ["q1", "a1b"]
    assert [m.content for m in store.messages.all_messages(conv.id)] == ["q1", "a1b"]
    with pytest.raises(StoreNotFoundError):
        store.messages.get(u2.id)

    branch = store.messages.delete_branch(a1b)  # the last answer: its parent becomes the leaf
    assert [m.content for m in branch] == ["q1"]
    assert store.messages.delete_branch(u1.id) == []
    assert store.conversations.get(conv.id).selected_leaf_id is None


def test_deleting_a_branch_off_screen_keeps_the_selection(store: Store) -> None:
    conv = store.conversations.create()
    u = store.messages.add_user_message(conv.id, "q")
    a1 = answer(store, u.id, "a1")
    a2 = store.messages.regenerate(a1)
    store.messages.finish_message(a2, "a2")
    branch = store.messages.delete_branch(a1)
    assert branch[-1].id == a2


def test_a_very_long_conversation_is_read_and_deleted_in_one_go(store: Store) -> None:
    # Deep trees must not hit SQLite's recursion limits (1,000 trigger levels) when deleted.
    conv = store.conversations.create()
    with store.db.write():  # one transaction, to keep the test quick
        for i in range(1500):
            store.messages.add_message(conv.id, Role.USER if i % 2 == 0 else Role.ASSISTANT, f"m{i}")
    branch = store.messages.active_branch(conv.id)
    assert len(branch) == 1500 and branch[0].content == "m0" and branch[-1].content == "m1499"
    store.conversations.purge(conv.id)
    with store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []

    conv = store.conversations.create()
    first = store.messages.add_user_message(conv.id, "start")
    with store.db.write():
        for i in range(1200):
            store.messages.add_message(conv.id, Role.ASSISTANT, f"m{i}")
    assert store.messages.delete_branch(first.id) == []


def test_messages_of_a_missing_conversation_or_message(store: Store) -> None:
    with pytest.raises(StoreNotFoundError):
        store.messages.add_user_message(999, "hi")
    with pytest.raises(StoreNotFoundError):
        store.messages.get(999)
    with pytest.raises(StoreNotFoundError):
        store.messages.start_assistant_message(999)
    with pytest.raises(StoreNotFoundError):
        store.messages.finish_message(999, "x")
    with pytest.raises(StoreNotFoundError):
        store.messages.active_branch(999)


def test_only_answers_regenerate_and_only_user_messages_edit(store: Store) -> None:
    conv = store.conversations.create()
    u = store.messages.add_user_message(conv.id, "q")
    a = answer(store, u.id, "a")
    with pytest.raises(StoreError):
        store.messages.regenerate(u.id)
    with pytest.raises(StoreError):
        store.messages.edit_and_resend(a, "no")


def test_updated_time_moves_with_messages(tmp_path: Path) -> None:
    from tests.unit.core.store.store_support import FakeClock

    clock = FakeClock()
    with open_store(tmp_path, clock) as store:
        conv = store.conversations.create()
        clock.advance(10)
        u = store.messages.add_user_message(conv.id, "q")
        assert store.conversations.get(conv.id).updated == clock.now
        a = store.messages.start_assistant_message(u.id)
        clock.advance(5)
        store.messages.finish_message(a, "a")
        assert store.conversations.get(conv.id).updated == clock.now
        assert store.messages.get(a).updated == clock.now
