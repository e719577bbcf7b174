"""The chat controller on a scripted engine (``FakeEngineClient``): send, stop, regenerate, edit, continue, branch
switch, a crash mid-answer, a refusal, a failed load and a deletion, in milliseconds and without llama.cpp.

The real engine drives the same controller in ``test_main_window.py``; here the engine's behaviour is exact and
scripted, so each test can check what reached the engine and what the store and the view hold afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from hearth.core.engine import StopReason
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.errors import ContextOverflowError, ModelFileError
from hearth.core.store import Message, MessageStatus, Role, Store
from hearth.ui.chat.controller import ChatController
from hearth.ui.chat.conversations import ChangeKind, ConversationsChange, ConversationsController
from hearth.ui.chat.view import ChatView
from hearth.ui.engine_bridge import EngineBridge
from hearth.ui.model_session import ModelSession, ModelState
from hearth.ui.shell.notices import Notice
from tests.fixtures.fake_engine import FakeEngineClient, ScriptedAnswer


def _no_questions(_parent: QWidget, title: str, text: str) -> bool:
    raise AssertionError(f"unexpected question: {title}: {text}")


def _no_password(_parent: QWidget, title: str, text: str) -> str | None:
    raise AssertionError(f"unexpected password question: {title}: {text}")


@dataclass
class Chat:
    engine: FakeEngineClient
    store: Store
    bridge: EngineBridge
    session: ModelSession
    view: ChatView
    conversations: ConversationsController
    controller: ChatController
    notices: list[Notice] = field(default_factory=list)
    changes: list[ConversationsChange] = field(default_factory=list)
    busy: list[bool] = field(default_factory=list)

    def send(self, qtbot: QtBot, text: str) -> None:
        self.controller.send(text)
        self.wait_idle(qtbot)

    def wait_idle(self, qtbot: QtBot) -> None:
        qtbot.waitUntil(lambda: not self.controller.busy, timeout=10_000)

    def stored(self, message_id: int) -> Message:
        return self.store.messages.get(message_id)


def build(qtbot: QtBot, tmp_path: Path, engine: FakeEngineClient, *, load: bool = True) -> Chat:
    store = Store.open(tmp_path / "hearth.db")
    bridge = EngineBridge(engine)
    session = ModelSession(bridge, lambda path: LoadPlan(str(path), n_ctx=4096, summary="CPU"))
    view = ChatView()
    qtbot.addWidget(view)
    conversations = ConversationsController(store)
    params = SamplingParams(temperature=0.0, max_tokens=64)
    controller = ChatController(store, bridge, session, view, lambda: params, lambda: "Be brief.",
                                conversations=conversations, ask=_no_questions, password=_no_password)
    chat = Chat(engine, store, bridge, session, view, conversations, controller)
    controller.notice.connect(chat.notices.append)
    controller.busy_changed.connect(chat.busy.append)
    conversations.changed.connect(chat.changes.append)
    if load:
        session.load(tmp_path / "fake-scout.gguf")
        qtbot.waitUntil(lambda: session.state is ModelState.READY, timeout=10_000)
    return chat


@pytest.fixture()
def engine() -> FakeEngineClient:
    return FakeEngineClient()


@pytest.fixture()
def chat(qtbot: QtBot, tmp_path: Path, engine: FakeEngineClient) -> Iterator[Chat]:
    built = build(qtbot, tmp_path, engine)
    yield built
    built.controller.shutdown()
    built.conversations.purge_pending()
    built.bridge.stop()
    built.store.close()


def test_send_streams_the_answer_into_the_view_and_the_store(qtbot: QtBot, chat: Chat) -> None:
    chat.engine.script(ScriptedAnswer(tokens=("Rivers", " flow", " downhill.")))
    chat.send(qtbot, "Tell me about rivers.")
    user, answer = chat.controller.branch()
    assert (user.role, user.content) == (Role.USER, "Tell me about rivers.")
    assert answer.role is Role.ASSISTANT and answer.parent_id == user.id
    assert answer.content == "Rivers flow downhill." and answer.status is MessageStatus.COMPLETE
    assert answer.run_info is not None and answer.run_info.tokens == 3
    assert answer.run_info.stop_reason == StopReason.EOS.value
    assert chat.stored(answer.id).content == "Rivers flow downhill.", "the final text is saved"
    shown = chat.view.messages()
    assert [(v.id, v.role, v.text, v.status) for v in shown] == [
        (user.id, Role.USER, "Tell me about rivers.", MessageStatus.COMPLETE),
        (answer.id, Role.ASSISTANT, "Rivers flow downhill.", MessageStatus.COMPLETE),
    ]
    assert chat.view.last_assistant_text() == "Rivers flow downhill."
    # What the engine was asked: the conversation's system prompt, then the question.
    (request,) = chat.engine.requests
    assert request.messages == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "Tell me about rivers."}]
    assert request.params.max_tokens == 64 and not request.continue_last
    assert chat.busy == [True, False]
    conversation = answer.conversation_id
    assert chat.store.conversations.get(conversation).title.startswith("Tell me about rivers")
    # One notification per change of the list: created, then updated by the question and by the answer.
    assert [c.kind for c in chat.changes] == [ChangeKind.CREATED, ChangeKind.UPDATED, ChangeKind.UPDATED]
    assert {c.conversation_id for c in chat.changes} == {conversation}


def test_stop_keeps_the_partial_answer(qtbot: QtBot, chat: Chat) -> None:
    answer = chat.engine.script(ScriptedAnswer(tokens=("One", " two", " three", " four"), hold_after=2))
    chat.controller.send("Count.")
    qtbot.waitUntil(answer.held.is_set, timeout=10_000)
    qtbot.waitUntil(lambda: chat.view.last_assistant_text() == "One two", timeout=10_000)
    assert chat.controller.busy
    chat.controller.stop()
    chat.wait_idle(qtbot)
    stopped = chat.controller.branch()[-1]
    assert stopped.status is MessageStatus.CANCELLED and stopped.content == "One two"
    assert chat.stored(stopped.id).content == "One two"
    view = chat.view.messages()[-1]
    assert view.status is MessageStatus.CANCELLED and view.can_continue


def test_regenerate_keeps_both_versions_and_switches_between_them(qtbot: QtBot, chat: Chat) -> None:
    chat.engine.script(ScriptedAnswer(tokens=("Blue.",)), ScriptedAnswer(tokens=("Green.",)))
    chat.send(qtbot, "Name a colour.")
    first = chat.controller.branch()[-1]
    chat.view.regenerate_requested.emit(first.id)
    chat.wait_idle(qtbot)
    second = chat.controller.branch()[-1]
    assert second.id != first.id and second.parent_id == first.parent_id and second.content == "Green."
    assert chat.store.messages.siblings(second.id) == (1, 2)
    # The new answer was asked for the same conversation, without the old answer in it.
    assert chat.engine.requests[1].messages == chat.engine.requests[0].messages
    view = chat.view.messages()[-1]
    assert (view.text, view.sibling_index, view.sibling_count) == ("Green.", 1, 2)
    chat.view.branch_requested.emit(second.id, -1)
    assert chat.controller.branch()[-1].id == first.id
    assert chat.view.messages()[-1].text == "Blue."
    chat.view.branch_requested.emit(first.id, +1)
    assert chat.view.messages()[-1].text == "Green."


def test_no_branch_switch_while_an_answer_streams(qtbot: QtBot, chat: Chat) -> None:
    chat.engine.script(ScriptedAnswer(tokens=("Blue.",)))
    chat.send(qtbot, "Name a colour.")
    first = chat.controller.branch()[-1]
    held = chat.engine.script(ScriptedAnswer(tokens=("Red", "."), hold_after=1))
    chat.controller.regenerate(first.id)
    qtbot.waitUntil(held.held.is_set, timeout=10_000)
    streaming = chat.controller.streaming_message_id
    chat.controller.switch_branch(streaming or 0, -1)
    assert chat.controller.branch()[-1].id == streaming, "the streaming answer stays on screen"
    held.release()
    chat.wait_idle(qtbot)
    assert chat.controller.branch()[-1].content == "Red."


def test_edit_and_resend_answers_the_edited_question(qtbot: QtBot, chat: Chat) -> None:
    chat.engine.script(ScriptedAnswer(tokens=("Four.",)), ScriptedAnswer(tokens=("Six.",)))
    chat.send(qtbot, "What is two plus two?")
    original = chat.controller.branch()[0]
    chat.controller.edit_and_resend(original.id, "What is three plus three?")
    chat.wait_idle(qtbot)
    edited, answer = chat.controller.branch()
    assert edited.content == "What is three plus three?" and answer.content == "Six."
    assert chat.store.messages.siblings(edited.id) == (1, 2)
    assert chat.engine.requests[1].messages[-1] == {"role": "user", "content": "What is three plus three?"}
    chat.controller.switch_branch(edited.id, -1)
    assert [m.content for m in chat.controller.branch()] == ["What is two plus two?", "Four."]


def test_continue_carries_on_a_cut_off_answer(qtbot: QtBot, chat: Chat) -> None:
    chat.engine.script(ScriptedAnswer(tokens=("Once", " upon"), stop_reason=StopReason.LENGTH),
                       ScriptedAnswer(tokens=(" a", " time.")))
    chat.send(qtbot, "Tell a story.")
    cut = chat.controller.branch()[-1]
    assert cut.status is MessageStatus.COMPLETE and cut.content == "Once upon"
    view = chat.view.messages()[-1]
    assert view.cut_off and view.can_continue and "cut off at the length limit" in view.stats
    chat.view.continue_requested.emit(cut.id)
    chat.wait_idle(qtbot)
    request = chat.engine.requests[1]
    assert request.continue_last
    assert request.messages[-1] == {"role": "assistant", "content": "Once upon"}
    finished = chat.controller.branch()[-1]
    assert finished.id == cut.id, "the same answer goes on"
    assert finished.content == "Once upon a time." and finished.status is MessageStatus.COMPLETE
    assert chat.view.messages()[-1].text == "Once upon a time." and not chat.view.messages()[-1].cut_off


def test_a_crash_mid_answer_keeps_the_partial_text_and_shows_the_error_on_it(qtbot: QtBot, chat: Chat) -> None:
    chat.engine.script(ScriptedAnswer(tokens=("Partial", " answer", " never", " sent"), crash_after=2))
    statuses: list[str] = []
    chat.controller.status.connect(statuses.append)
    chat.send(qtbot, "Explain tides.")
    user, answer = chat.controller.branch()
    assert answer.status is MessageStatus.ERROR
    assert answer.content == "Partial answer", "what was written before the crash is kept"
    assert "The model engine stopped while writing the answer" in answer.error
    assert "Your conversation is safe" in answer.error
    stored = chat.stored(answer.id)
    assert (stored.content, stored.status) == ("Partial answer", MessageStatus.ERROR)
    assert stored.run_info is not None and stored.run_info.stop_reason == StopReason.ERROR.value
    view = chat.view.messages()[-1]
    assert view.status is MessageStatus.ERROR and view.error == answer.error and view.text == "Partial answer"
    assert statuses[-1] == "The model engine stopped"
    # The app goes on: the next question is answered.
    chat.send(qtbot, "Try again, please.")
    assert chat.controller.branch()[-1].content == "Hello there."
    assert chat.controller.branch()[-1].status is MessageStatus.COMPLETE
    assert user.content == "Explain tides."


def test_a_refusal_before_any_token_is_shown_on_the_answer(qtbot: QtBot, chat: Chat) -> None:
    chat.engine.script(ScriptedAnswer(refuse=ContextOverflowError(
        "The conversation no longer fits in the model's context.", hint="Start a new conversation.")))
    chat.send(qtbot, "A very long question.")
    answer = chat.controller.branch()[-1]
    assert answer.status is MessageStatus.ERROR and answer.content == ""
    assert answer.error.startswith("The conversation no longer fits")


def test_an_engine_notice_reaches_the_session(qtbot: QtBot, chat: Chat) -> None:
    notices: list[str] = []
    chat.session.notice.connect(notices.append)
    chat.engine.script(ScriptedAnswer(notices=("Restarting the model engine…",)))
    chat.send(qtbot, "Hello?")
    assert notices == ["Restarting the model engine…"]
    assert chat.controller.branch()[-1].content == "Hello there."


def test_a_failed_load_is_reported_and_nothing_is_sent(qtbot: QtBot, tmp_path: Path) -> None:
    engine = FakeEngineClient()
    engine.fail_next_load(ModelFileError("model.gguf is incomplete or damaged.", hint="Download it again."))
    chat = build(qtbot, tmp_path, engine, load=False)
    try:
        progress: list[float] = []
        chat.session.load_progress.connect(progress.append)
        chat.session.load(tmp_path / "model.gguf")
        qtbot.waitUntil(lambda: chat.session.state is ModelState.FAILED, timeout=10_000)
        assert isinstance(chat.session.error, ModelFileError) and progress == [0.25, 0.5]
        chat.send(qtbot, "Hello?")  # the message is kept; no answer is started
        assert chat.notices[-1].message == "No model is loaded."
        assert not chat.controller.busy and chat.engine.requests == []
        # The next load works.
        chat.session.load(tmp_path / "model.gguf")
        qtbot.waitUntil(lambda: chat.session.state is ModelState.READY, timeout=10_000)
        chat.controller.regenerate(chat.controller.branch()[-1].id)  # not an answer: nothing is answered
        chat.wait_idle(qtbot)
        assert chat.engine.requests == []
    finally:
        chat.controller.shutdown()
        chat.bridge.stop()
        chat.store.close()


def test_deleting_the_conversation_on_screen_stops_its_answer(qtbot: QtBot, chat: Chat) -> None:
    held = chat.engine.script(ScriptedAnswer(tokens=("Some", " words", " more"), hold_after=1))
    chat.controller.send("Write something.")
    qtbot.waitUntil(held.held.is_set, timeout=10_000)
    conversation = chat.controller.conversation_id
    answer_id = chat.controller.streaming_message_id
    assert conversation is not None and answer_id is not None
    chat.conversations.delete(conversation)
    assert chat.controller.conversation_id is None and chat.view.messages() == []
    chat.wait_idle(qtbot)
    assert chat.stored(answer_id).status is MessageStatus.CANCELLED
    assert chat.conversations.undo_delete() == conversation
    chat.controller.open_conversation(conversation)
    assert [m.content for m in chat.controller.branch()] == ["Write something.", "Some"]


def test_the_conversation_on_screen_is_remembered(qtbot: QtBot, chat: Chat) -> None:
    chat.send(qtbot, "Remember this one.")
    conversation = chat.controller.conversation_id
    assert chat.controller.last_conversation_id() == conversation
    chat.controller.new_conversation()
    assert chat.controller.last_conversation_id() is None
    chat.controller.open_conversation(conversation or 0)
    assert chat.controller.last_conversation_id() == conversation
