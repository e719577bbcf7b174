"""Nothing Hearth does on its own opens a network connection: the whole flow, with every socket connect attempt of
the app and of the engine host recorded (and refused)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from hearth.core.engine.tools import ToolChoice, ToolChoiceMode
from hearth.core.store import CallStatus, conversation_to_json, conversation_to_markdown
from hearth.core.tools.approval import ApprovalRequest, Decision
from hearth.core.tools.config import ServerConfig, ToolsConfig, save_tools_config, tools_path
from tests.fixtures.documents import make_pdf, report_pages
from tests.fixtures.mcp_server import SERVER_FILE
from tests.ui.window_support import app_paths, build

GUARD = Path(__file__).resolve().parents[1] / "fixtures" / "netguard"


def test_chat_attach_search_export_make_no_connections(qtbot: QtBot, tmp_path: Path, gemma_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "connections.log"
    log.touch()
    monkeypatch.setenv("HEARTH_NETGUARD_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", str(GUARD))  # the engine host loads the guard at start
    # The same guard in this process (the app).
    spec = importlib.util.spec_from_file_location("hearth_netguard", GUARD / "sitecustomize.py")
    assert spec is not None and spec.loader is not None
    import socket

    original = (socket.socket.connect, socket.socket.connect_ex)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        h = build(qtbot, tmp_path, gemma_path)
        try:
            pdf = tmp_path / "report.pdf"
            make_pdf(report_pages(12), pdf)
            h.window.composer.add_files([pdf])
            h.send(qtbot, "What does page 7 say?")
            h.wait_idle(qtbot)
            h.send(qtbot, "And a follow-up question.")
            h.wait_idle(qtbot)
            h.window.sidebar.search.setText("follow-up")
            qtbot.waitUntil(lambda: "Messages" in [
                str(h.window.sidebar.view.model().index(i, 0).data())
                for i in range(h.window.sidebar.view.model().rowCount())], timeout=5000)
            conversation = h.controller.conversation_id
            assert conversation is not None
            assert "follow-up" in conversation_to_markdown(h.store, conversation)
            json.dumps(conversation_to_json(h.store, conversation, all_branches=True))
            host_pid = h.bridge.client.pid
            assert host_pid is not None
        finally:
            h.close()
    finally:
        socket.socket.connect, socket.socket.connect_ex = original  # type: ignore[method-assign]
    attempts = log.read_text().splitlines()
    assert attempts == [], f"connection attempts: {attempts}"
    # The guard really was active in the engine host.
    assert str(host_pid) in Path(str(log) + ".loaded").read_text().split()


def test_a_stdio_tool_call_makes_no_connections(qtbot: QtBot, tmp_path: Path, tiny_llama4_tools: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer that calls a tool of a stdio MCP server: the app, the engine host and the tool server (guarded too)
    open no connection."""
    log = tmp_path / "connections.log"
    log.touch()
    monkeypatch.setenv("HEARTH_NETGUARD_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", str(GUARD))
    # The SDK starts a server with a small set of environment variables plus its own: the guard goes in them.
    server = ServerConfig("notes", command=sys.executable, args=(str(SERVER_FILE),),
                          env={"PYTHONPATH": str(GUARD), "HEARTH_NETGUARD_LOG": str(log)},
                          # One tool on offer: the tiny model's context is small.
                          disabled_tools=frozenset({"save_note", "server_pid", "crash_now", "hang", "odd_results"}))
    save_tools_config(ToolsConfig(servers=(server,)), tools_path(app_paths(tmp_path).config_dir))
    asked: list[ApprovalRequest] = []

    def allow_once(_parent: QWidget, request: ApprovalRequest) -> Decision:
        asked.append(request)
        return Decision.ALLOW_ONCE

    spec = importlib.util.spec_from_file_location("hearth_netguard", GUARD / "sitecustomize.py")
    assert spec is not None and spec.loader is not None
    import socket

    original = (socket.socket.connect, socket.socket.connect_ex)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        h = build(qtbot, tmp_path, tiny_llama4_tools, ask_tool=allow_once)
        try:
            tools = h.controller.tools
            assert tools is not None
            # The tiny model's weights are random: the call is forced (by grammar) and given room.
            tools.choice = ToolChoice(ToolChoiceMode.NAMED, "lookup_word")
            h.params[0] = h.params[0].with_changes(max_tokens=64)
            h.send(qtbot, "What is the code of ember?")
            h.wait_idle(qtbot)
            answer = h.store.messages.active_branch(h.controller.conversation_id or 0)[-1]
            [call] = h.store.tool_calls.for_message(answer.id)
            assert call.status is CallStatus.OK and call.result.startswith("LOOKUP-")
            assert [q.tool for q in asked] == ["lookup_word"]
            manager = h.app.toolbox.manager
            assert manager is not None
            server_pid = manager.call(server, "server_pid", {}).text
        finally:
            h.close()
    finally:
        socket.socket.connect, socket.socket.connect_ex = original  # type: ignore[method-assign]
    attempts = log.read_text().splitlines()
    assert attempts == [], f"connection attempts: {attempts}"
    # The guard really was active in the tool server.
    assert server_pid in Path(str(log) + ".loaded").read_text().split()


def test_the_guard_sees_connections(tmp_path: Path) -> None:
    """The recorder catches a real attempt (so the test above can be trusted)."""
    import os
    import subprocess
    import sys

    log = tmp_path / "connections.log"
    env = {**os.environ, "HEARTH_NETGUARD_LOG": str(log), "PYTHONPATH": str(GUARD)}
    code = "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9), timeout=1)\nexcept OSError:\n    pass\n"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert "AF_INET ('127.0.0.1', 9)" in log.read_text()
