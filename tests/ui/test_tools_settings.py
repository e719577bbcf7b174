"""Settings → Tools: Hearth's own tools off until switched on, files picked, servers added and imported, a real MCP
server's tools listed (started in the background) with a switch each, a server that cannot start saying why; the
approval dialog's three answers; tool-call blocks that open and close."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from hearth.core.store import CallStatus
from hearth.core.tools.approval import ApprovalRequest, Decision
from hearth.core.tools.builtin import CALCULATOR, READ_FILE
from hearth.core.tools.config import ServerConfig, ToolsConfig, import_servers
from hearth.core.tools.mcp_client import McpManager
from hearth.ui.chat.message_types import ToolCallView
from hearth.ui.chat.tool_approval import ApprovalBroker, ToolApprovalDialog
from hearth.ui.chat.tool_blocks import ToolCallsBox
from hearth.ui.shell.tools_settings import ToolsTab
from tests.fixtures.mcp_server import SERVER_FILE

TEST_SERVER = ServerConfig("notes", command=sys.executable, args=(str(SERVER_FILE),))


def test_builtins_files_and_servers(qtbot: QtBot, tmp_path: Path) -> None:
    edits: list[ServerConfig | None] = [ServerConfig("weather", command="weather-mcp")]
    imported = '{"mcpServers": {"fs": {"command": "npx", "args": ["-y", "server-filesystem", "/x"]}}}'
    tab = ToolsTab(ToolsConfig(), None, edit=lambda _parent, _old: edits.pop(0),
                   import_servers=lambda _parent: import_servers(imported))
    qtbot.addWidget(tab)
    assert tab.config() == ToolsConfig()  # nothing on by default
    assert not tab.files.isEnabled()
    tab.builtin_checks[CALCULATOR].setChecked(True)
    tab.builtin_checks[READ_FILE].setChecked(True)
    assert tab.files.isEnabled()
    tab.add_files([str(tmp_path / "notes.md"), str(tmp_path)])
    tab.auto_read_only.setChecked(True)
    tab.add_button.click()
    tab.import_button.click()
    config = tab.config()
    assert config.builtins == frozenset({CALCULATOR, READ_FILE})
    assert config.files == (str(tmp_path / "notes.md"), str(tmp_path))
    assert config.auto_read_only
    assert [s.name for s in config.servers] == ["weather", "fs"]
    # A server switched off keeps its settings.
    item = tab.server_item("weather")
    assert item is not None
    item.setCheckState(0, Qt.CheckState.Unchecked)
    assert not tab.config().server("weather").enabled  # type: ignore[union-attr]
    tab.tree.setCurrentItem(tab.server_item("fs"))
    tab.remove_button.click()
    assert [s.name for s in tab.config().servers] == ["weather"]


def test_a_real_servers_tools_with_switches(qtbot: QtBot, tmp_path: Path) -> None:
    manager = McpManager(tmp_path)
    broken = ServerConfig("broken", command="hearth-no-such-program")
    tab = ToolsTab(ToolsConfig(servers=(TEST_SERVER, broken)), manager)
    qtbot.addWidget(tab)
    try:
        with qtbot.waitSignal(tab.tools_listed, timeout=60_000):
            tab.list_tools("notes")
        item = tab.server_item("notes")
        assert item is not None
        tools = {item.child(i).text(0): item.child(i) for i in range(item.childCount())}
        assert tools["lookup_word"].text(2) == "read-only" and tools["save_note"].text(2) == "may change things"
        assert all(child.checkState(0) == Qt.CheckState.Checked for child in tools.values())
        tools["save_note"].setCheckState(0, Qt.CheckState.Unchecked)
        server = tab.config().server("notes")
        assert server is not None and not server.tool_enabled("save_note") and server.tool_enabled("lookup_word")
        with qtbot.waitSignal(tab.tools_listed, timeout=30_000):
            tab.list_tools("broken")
        broken_item = tab.server_item("broken")
        assert broken_item is not None and "could not start" in broken_item.text(2)
        # Listing again keeps the switches.
        with qtbot.waitSignal(tab.tools_listed, timeout=60_000):
            tab.list_tools("notes")
        item = tab.server_item("notes")
        assert item is not None
        save = next(item.child(i) for i in range(item.childCount()) if item.child(i).text(0) == "save_note")
        assert save.checkState(0) == Qt.CheckState.Unchecked
    finally:
        tab.stop_listing()
        manager.close()


def test_approval_dialog_answers(qtbot: QtBot) -> None:
    request = ApprovalRequest("notes", "save_note", '{\n  "text": "buy milk"\n}', "Save a note.", read_only=False)
    for button, expected in (("allow_once", Decision.ALLOW_ONCE), ("allow_chat", Decision.ALLOW_CHAT),
                             ("deny", Decision.DENY)):
        dialog = ToolApprovalDialog(request)
        qtbot.addWidget(dialog)
        assert dialog.arguments.toPlainText() == request.arguments  # in full
        assert any("may change things" in label.text() for label in dialog.findChildren(QLabel))
        getattr(dialog, button).click()
        assert dialog.decision is expected
    closed = ToolApprovalDialog(request)
    qtbot.addWidget(closed)
    closed.reject()  # Escape, or the window closed
    assert closed.decision is Decision.DENY


def test_broker_carries_questions_to_the_gui_thread(qtbot: QtBot) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    threads: list[bool] = []

    def ask(_parent: QWidget, request: ApprovalRequest) -> Decision:
        threads.append(threading.current_thread() is threading.main_thread())
        return Decision.ALLOW_ONCE if request.tool == "yes" else Decision.DENY

    broker = ApprovalBroker(parent, ask)
    answers: list[Decision] = []
    cancel = threading.Event()
    worker = threading.Thread(target=lambda: answers.extend(
        broker.ask(ApprovalRequest("s", name, "{}"), cancel) for name in ("yes", "no")))
    worker.start()
    qtbot.waitUntil(lambda: len(answers) == 2, timeout=10_000)
    worker.join()
    assert answers == [Decision.ALLOW_ONCE, Decision.DENY] and threads == [True, True]
    # Stop while the question waits: denied, and the late answer goes nowhere.
    cancel.set()
    assert broker.ask(ApprovalRequest("s", "yes", "{}"), cancel) is Decision.DENY


def test_tool_call_blocks_open_and_close(qtbot: QtBot) -> None:
    box = ToolCallsBox()
    qtbot.addWidget(box)
    running = ToolCallView("lookup_word", "notes", '{\n  "word": "ember"\n}')
    box.set_calls([running])
    block = box.blocks[0]
    assert block.header.text() == "Tool: lookup_word · notes · running…"
    assert not block.details.isVisibleTo(box)
    done = ToolCallView("lookup_word", "notes", running.arguments, "LOOKUP-EMBER-5", CallStatus.OK, "0.4 s")
    box.set_calls([done, ToolCallView("save_note", "notes", "{}", "not allowed", CallStatus.DENIED)])
    assert box.blocks[0] is block and block.header.text() == "Tool: lookup_word · notes · done · 0.4 s"
    block.header.click()
    assert block.details.isVisibleTo(box)
    assert '"word": "ember"' in block.details.toPlainText() and "LOOKUP-EMBER-5" in block.details.toPlainText()
    block.header.click()
    assert not block.details.isVisibleTo(box)
    assert box.blocks[1].header.text() == "Tool: save_note · notes · not allowed"
