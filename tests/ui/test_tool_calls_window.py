"""Tool calls in the window, end to end through ``build_app``: the tools of a real MCP server (the SDK's stdio test
server in tests/fixtures) offered with the answer, the approval dialog's decision obeyed (Deny: the tool does not
run; Allow once: it runs once and asks again next time; Allow for this chat: it asks no more in that chat), each call
shown as a block on the answer, stored with it and shown again when the chat is reopened, and Stop while the user is
being asked.

The model is the scripted ``FakeEngineClient`` (a fast seam: its answers are the text a model writes when it calls a
tool). That real models write such calls, forced by grammar, is tested on llama.cpp in tests/unit/core/engine and
tests/unit/core/tools/test_loop.py.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from hearth.core.store import CallStatus, MessageStatus, Role
from hearth.core.tools.approval import ApprovalRequest, Decision
from hearth.core.tools.config import ServerConfig, ToolsConfig, save_tools_config, tools_path
from hearth.ui.chat.tool_approval import AskTool
from hearth.ui.chat.tool_blocks import ToolCallsBox
from tests.fixtures.fake_engine import FakeEngineClient, ScriptedAnswer
from tests.fixtures.mcp_server import SERVER_FILE
from tests.ui.window_support import Harness, app_paths, build


def call_text(tool: str, **arguments: str) -> tuple[str, ...]:
    """What a Hermes-style model writes to call ``tool``, in the pieces it streams."""
    body = json.dumps({"name": tool, "arguments": arguments})
    return ("<tool_call>\n", body[:20], body[20:], "\n</tool_call>")


class Asker:
    """The approval dialog's stand-in: answers with the decisions given, in order, and keeps the questions."""

    def __init__(self, *decisions: Decision) -> None:
        self.decisions = list(decisions)
        self.questions: list[ApprovalRequest] = []

    def __call__(self, _parent: QWidget, request: ApprovalRequest) -> Decision:
        self.questions.append(request)
        return self.decisions.pop(0)


class ToolWindow:
    """The app with the test MCP server switched on in Settings → Tools, on the scripted engine."""

    def __init__(self, qtbot: QtBot, tmp_path: Path, asker: AskTool) -> None:
        self.notes = tmp_path / "notes.txt"
        server = ServerConfig("notes", command=sys.executable, args=(str(SERVER_FILE),),
                              env={"HEARTH_TEST_NOTES": str(self.notes)})
        save_tools_config(ToolsConfig(servers=(server,)), tools_path(app_paths(tmp_path).config_dir))
        self.engine = FakeEngineClient()
        self.asker = asker
        self.harness: Harness = build(qtbot, tmp_path, tmp_path / "fake.gguf", engine=self.engine, ask_tool=asker)

    def ask(self, qtbot: QtBot, text: str, *answers: ScriptedAnswer) -> int:
        """Send ``text`` with the model's answers scripted; wait for the answer to end; its message id."""
        self.engine.script(*answers)
        controller = self.harness.controller
        controller.send(text)
        qtbot.waitUntil(lambda: not controller.busy, timeout=60_000)
        branch = self.harness.store.messages.active_branch(controller.conversation_id or 0)
        assert branch[-1].role is Role.ASSISTANT
        return branch[-1].id

    def notes_saved(self) -> list[str]:
        return self.notes.read_text(encoding="utf-8").splitlines() if self.notes.exists() else []

    def blocks(self, message_id: int) -> ToolCallsBox:
        widget = self.harness.window.chat_view.message_widget(message_id)
        assert widget is not None
        box = widget.findChild(ToolCallsBox, "toolCalls")
        assert box is not None
        return box


MakeWindow = Callable[[AskTool], ToolWindow]


@pytest.fixture()
def make_window(qtbot: QtBot, tmp_path: Path) -> Iterator[MakeWindow]:
    made: list[ToolWindow] = []

    def make(asker: AskTool) -> ToolWindow:
        made.append(ToolWindow(qtbot, tmp_path, asker))
        return made[-1]

    yield make
    for window in made:
        window.harness.close()


def test_deny_keeps_the_tool_from_running_and_the_model_hears_why(qtbot: QtBot,
                                                                  make_window: MakeWindow) -> None:
    asker = Asker(Decision.DENY)
    win = make_window(asker)
    answer = win.ask(qtbot, "Save a note: buy milk",
                     ScriptedAnswer(tokens=call_text("save_note", text="buy milk")),
                     ScriptedAnswer(tokens=("I could not save it.",)))
    assert win.notes_saved() == []  # the tool never ran
    [question] = asker.questions
    assert (question.server, question.tool, question.read_only) == ("notes", "save_note", False)
    assert json.loads(question.arguments) == {"text": "buy milk"}
    # The tools were offered to the model; the refusal went back to it as the call's result.
    first, second = win.engine.requests[-2:]
    assert {"lookup_word", "save_note"} <= {tool.name for tool in first.tools}
    tool_message = next(m for m in second.messages if m["role"] == "tool")
    assert "did not allow" in tool_message["content"]
    [record] = win.harness.store.tool_calls.for_message(answer)
    assert record.status is CallStatus.DENIED and record.tool == "save_note"
    message = win.harness.store.messages.get(answer)
    assert message.status is MessageStatus.COMPLETE and message.content == "I could not save it."
    assert "<tool_call>" not in message.content
    [block] = win.blocks(answer).blocks
    assert "save_note" in block.call.summary and "not allowed" in block.call.summary


def test_allow_once_runs_once_and_asks_again_next_time(qtbot: QtBot, make_window: MakeWindow) -> None:
    asker = Asker(Decision.ALLOW_ONCE, Decision.DENY)
    win = make_window(asker)
    answer = win.ask(qtbot, "Save a note: buy milk",
                     ScriptedAnswer(tokens=call_text("save_note", text="buy milk")),
                     ScriptedAnswer(tokens=("Saved your note.",)))
    assert win.notes_saved() == ["buy milk"]
    [record] = win.harness.store.tool_calls.for_message(answer)
    assert record.status is CallStatus.OK and record.result == "Saved: buy milk" and record.duration_s > 0
    tool_message = next(m for m in win.engine.requests[-1].messages if m["role"] == "tool")
    assert tool_message["content"] == "Saved: buy milk"
    [block] = win.blocks(answer).blocks
    assert "done" in block.call.summary
    assert not block.details.isVisible()  # closed until opened
    block.header.click()
    assert block.details.isVisible() and "Saved: buy milk" in block.details.toPlainText()
    # "Allow once" is once: the next call asks again (and is denied this time).
    win.ask(qtbot, "And another: eggs",
            ScriptedAnswer(tokens=call_text("save_note", text="eggs")), ScriptedAnswer(tokens=("Not saved.",)))
    assert len(asker.questions) == 2 and win.notes_saved() == ["buy milk"]


def test_allow_for_this_chat_asks_no_more_in_that_chat_only(qtbot: QtBot, make_window: MakeWindow) -> None:
    asker = Asker(Decision.ALLOW_CHAT, Decision.DENY)
    win = make_window(asker)
    win.ask(qtbot, "Save: one", ScriptedAnswer(tokens=call_text("save_note", text="one")),
            ScriptedAnswer(tokens=("Saved.",)))
    win.ask(qtbot, "Save: two", ScriptedAnswer(tokens=call_text("save_note", text="two")),
            ScriptedAnswer(tokens=("Saved.",)))
    assert len(asker.questions) == 1 and win.notes_saved() == ["one", "two"]
    # Another chat asks again.
    win.harness.controller.new_conversation()
    win.ask(qtbot, "Save: three", ScriptedAnswer(tokens=call_text("save_note", text="three")),
            ScriptedAnswer(tokens=("Not saved.",)))
    assert len(asker.questions) == 2 and win.notes_saved() == ["one", "two"]


def test_calls_are_stored_and_shown_again_when_the_chat_is_reopened(qtbot: QtBot,
                                                                    make_window: MakeWindow) -> None:
    win = make_window(Asker())
    controller = win.harness.controller
    # A read-only tool still asks unless the user allowed that in Settings; here the model calls lookup_word after
    # the user allowed read-only tools to run unasked.
    config = win.harness.app.toolbox.config
    win.harness.app.toolbox.set_config(ToolsConfig(servers=config.servers, auto_read_only=True))
    answer = win.ask(qtbot, "What is the code of ember?",
                     ScriptedAnswer(tokens=("Let me look.", *call_text("lookup_word", word="ember"))),
                     ScriptedAnswer(tokens=("The code is LOOKUP-EMBER-5.",)))
    message = win.harness.store.messages.get(answer)
    assert message.content.startswith("Let me look.") and message.content.endswith("The code is LOOKUP-EMBER-5.")
    conversation = controller.conversation_id
    assert conversation is not None
    controller.new_conversation()
    controller.open_conversation(conversation)
    [block] = win.blocks(answer).blocks
    assert block.call.result == "LOOKUP-EMBER-5" and block.call.status is CallStatus.OK


def test_stop_while_the_user_is_asked_runs_nothing(qtbot: QtBot, make_window: MakeWindow) -> None:
    asked = threading.Event()
    decided: list[Decision] = []

    def ask_then_stop(parent: QWidget, request: ApprovalRequest) -> Decision:
        asked.set()
        win.harness.controller.stop()  # the user pressed Stop while the dialog was open...
        decided.append(Decision.ALLOW_ONCE)
        return Decision.ALLOW_ONCE  # ...and then clicked Allow: too late, the answer was stopped

    win = make_window(ask_then_stop)
    answer = win.ask(qtbot, "Save a note: buy milk",
                     ScriptedAnswer(tokens=call_text("save_note", text="buy milk")),
                     ScriptedAnswer(tokens=("Should not be asked for.",)))
    assert asked.is_set() and decided and win.notes_saved() == []
    [record] = win.harness.store.tool_calls.for_message(answer)
    assert record.status is CallStatus.SKIPPED
    assert win.harness.store.messages.get(answer).status is MessageStatus.CANCELLED
