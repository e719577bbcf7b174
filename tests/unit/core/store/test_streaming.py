"""The streaming saver: partial text at most once per interval (on an injected clock), final text at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.core.store import MessageStatus, RunInfo, Store, StreamingSaver
from tests.unit.core.store.store_support import FakeClock, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path) as s:
        yield s


def new_answer(store: Store) -> int:
    conv = store.conversations.create()
    user = store.messages.add_user_message(conv.id, "Tell me a story")
    return store.messages.start_assistant_message(user.id)


def test_saves_at_most_once_per_interval(store: Store) -> None:
    clock = FakeClock(100.0)
    msg_id = new_answer(store)
    saver = StreamingSaver(store.messages, msg_id, clock=clock)
    # 138 tokens at 64 tokens/s (a step that floats represent exactly): a little over 2 seconds of streaming.
    writes = []
    for i in range(138):
        clock.advance(1 / 64)
        if saver.add(f"t{i} "):
            writes.append(clock.now - 100.0)
            assert store.messages.get(msg_id).content == saver.text
    assert writes == [1.0, 2.0]
    assert saver.saves == 2
    # The last 10 tokens (less than an interval) are not written yet; what is saved is an exact prefix.
    saved = store.messages.get(msg_id).content
    assert saved == "".join(f"t{i} " for i in range(128))
    assert saver.text == saved + "".join(f"t{i} " for i in range(128, 138))


def test_nothing_is_written_between_saves(store: Store) -> None:
    clock = FakeClock()
    msg_id = new_answer(store)
    saver = StreamingSaver(store.messages, msg_id, clock=clock, interval_s=1.0)
    saver.add("Once")
    clock.advance(0.5)
    assert not saver.add(" upon")
    assert store.messages.get(msg_id).content == ""
    clock.advance(0.5)
    assert saver.add(" a time")
    assert store.messages.get(msg_id).content == "Once upon a time"
    assert not saver.dirty


def test_tick_saves_text_that_arrived_before_a_pause(store: Store) -> None:
    clock = FakeClock()
    msg_id = new_answer(store)
    saver = StreamingSaver(store.messages, msg_id, clock=clock)
    saver.add("thinking")
    assert not saver.tick()  # too soon
    clock.advance(3.0)  # the model pauses; no token arrives
    assert saver.tick()
    assert store.messages.get(msg_id).content == "thinking"
    clock.advance(3.0)
    assert not saver.tick()  # nothing new: no write


def test_finish_writes_everything_with_run_info(store: Store) -> None:
    clock = FakeClock()
    msg_id = new_answer(store)
    saver = StreamingSaver(store.messages, msg_id, clock=clock)
    for word in ["The ", "end", "."]:
        saver.add(word)
    run = RunInfo(model_file="gemma.gguf", tokens=3, tokens_per_s=50.0, ttft_s=0.1, stop_reason="stop")
    msg = saver.finish(run_info=run)
    assert msg.content == "The end." and msg.status is MessageStatus.COMPLETE and msg.run_info == run
    assert saver.finished
    with pytest.raises(RuntimeError):
        saver.add("more")
    with pytest.raises(RuntimeError):
        saver.finish()
    assert not saver.tick()


def test_cancel_and_fail_keep_the_text_so_far(store: Store) -> None:
    first, second = new_answer(store), new_answer(store)
    saver = StreamingSaver(store.messages, first, clock=FakeClock())
    saver.add("half")
    assert saver.cancel().status is MessageStatus.CANCELLED
    assert store.messages.get(first).content == "half"
    saver = StreamingSaver(store.messages, second, clock=FakeClock())
    saver.add("broken")
    msg = saver.fail("The model engine stopped.")
    assert (msg.status, msg.content, msg.error) == (MessageStatus.ERROR, "broken", "The model engine stopped.")


def test_continue_an_interrupted_answer(store: Store) -> None:
    clock = FakeClock()
    msg_id = new_answer(store)
    store.messages.update_partial(msg_id, "Once upon")
    store.messages.finish_message(msg_id, "Once upon", MessageStatus.INTERRUPTED)
    resumed = store.messages.resume_message(msg_id)
    saver = StreamingSaver(store.messages, msg_id, initial_text=resumed.content, clock=clock)
    assert not saver.dirty
    saver.add(" a time")
    clock.advance(1.0)
    saver.add(",")
    assert store.messages.get(msg_id).content == "Once upon a time,"
    assert saver.finish().content == "Once upon a time,"


def test_flush_writes_now(store: Store) -> None:
    msg_id = new_answer(store)
    saver = StreamingSaver(store.messages, msg_id, clock=FakeClock())
    saver.add("abc")
    saver.flush()
    assert store.messages.get(msg_id).content == "abc"
    saver.flush()  # nothing new
    assert saver.saves == 1
