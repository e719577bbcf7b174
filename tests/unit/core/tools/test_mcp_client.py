"""MCP servers over stdio and streamable HTTP with the official SDK: tools listed with their hints, calls, and every
way a server can fail - crashing mid-call, hanging, answering nonsense, not starting, not reachable - each a
plain-words error, after which the server starts again when next needed. Servers end when the manager closes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.core.errors import OfflineError, ToolError, ToolTimeoutError
from hearth.core.tools.config import ServerConfig
from hearth.core.tools.mcp_client import McpManager, ServerState
from tests.fixtures.mcp_server import SERVER_FILE, lookup_code

TEST_SERVER = ServerConfig("test", command=sys.executable, args=(str(SERVER_FILE),), timeout_s=2)


@pytest.fixture(scope="module")
def manager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpManager]:
    manager = McpManager(tmp_path_factory.mktemp("mcp-logs"))
    yield manager
    manager.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def test_tools_listed_with_hints_and_called(manager: McpManager) -> None:
    tools = {t.tool: t for t in manager.list_tools(TEST_SERVER)}
    assert {"lookup_word", "save_note", "crash_now", "hang", "odd_results"} <= set(tools)
    assert tools["lookup_word"].read_only and not tools["save_note"].read_only
    assert tools["lookup_word"].parameters["required"] == ["word"]
    assert manager.call(TEST_SERVER, "lookup_word", {"word": "ember"}).text == lookup_code("ember")
    assert manager.status("test").state is ServerState.RUNNING


def test_odd_results_are_text_for_the_model(manager: McpManager) -> None:
    image = manager.call(TEST_SERVER, "odd_results", {"kind": "image"})
    assert image.ok and "picture (image/png" in image.text and "not shown to the model" in image.text
    assert "application/octet-stream" in manager.call(TEST_SERVER, "odd_results", {"kind": "blob"}).text
    huge = manager.call(TEST_SERVER, "odd_results", {"kind": "huge"}, limit=5000)
    assert len(huge.text) < 5200 and "more characters left out" in huge.text
    markers = manager.call(TEST_SERVER, "odd_results", {"kind": "markers"}).text
    assert "<|eot|>" not in markers and "<tool_call>" not in markers and "\x00" not in markers
    error = manager.call(TEST_SERVER, "odd_results", {"kind": "error"})
    assert not error.ok and "locked" in error.text
    assert '"answer": 42' in manager.call(TEST_SERVER, "odd_results", {"kind": "structured"}).text
    refused = manager.call(TEST_SERVER, "lookup_word", {"wrong": "x"})
    assert not refused.ok and "word" in refused.text


def test_crash_mid_call_is_named_and_the_server_comes_back(manager: McpManager) -> None:
    with pytest.raises(ToolError) as caught:
        manager.call(TEST_SERVER, "crash_now", {})
    assert "'test' stopped while running 'crash_now'" in str(caught.value)
    assert "crashing on purpose" in caught.value.hint  # its last words, from its error output
    assert manager.call(TEST_SERVER, "lookup_word", {"word": "again"}).text == lookup_code("again")


def test_hung_server_times_out_and_is_restarted(manager: McpManager) -> None:
    pid = int(manager.call(TEST_SERVER, "server_pid", {}).text)
    with pytest.raises(ToolTimeoutError, match="did not answer within 2 seconds while running 'hang'"):
        manager.call(TEST_SERVER, "hang", {})
    assert not _alive(pid)  # stopped, not left hanging
    assert int(manager.call(TEST_SERVER, "server_pid", {}).text) != pid


def test_malformed_result(manager: McpManager) -> None:
    malformed = ServerConfig("malformed", command=sys.executable, args=(str(SERVER_FILE), "--malformed"))
    assert [t.tool for t in manager.list_tools(malformed)] == ["lookup_word"]
    with pytest.raises(ToolError, match="'malformed' answered with something that is not a valid reply"):
        manager.call(malformed, "lookup_word", {"word": "x"})


def test_servers_that_do_not_start(tmp_path: Path) -> None:
    manager = McpManager(tmp_path, start_timeout_s=1.5)
    try:
        with pytest.raises(ToolError, match="could not start the tool server 'missing'") as caught:
            manager.list_tools(ServerConfig("missing", command="hearth-no-such-program"))
        assert "installed" in caught.value.hint
        silent = ServerConfig("silent", command=sys.executable, args=("-c", "import time; time.sleep(600)"))
        with pytest.raises(ToolTimeoutError, match="'silent' did not start within 2 seconds"):
            manager.list_tools(silent)
        dies = ServerConfig("dies", command=sys.executable, args=("-c", "import sys; sys.exit('bad config file')"))
        with pytest.raises(ToolError, match="'dies' stopped while starting") as died:
            manager.list_tools(dies)
        assert "bad config file" in died.value.hint
        remote = ServerConfig("remote", url="http://192.0.2.1:8000/mcp")
        offline = McpManager(tmp_path, offline=lambda: True)
        with pytest.raises(OfflineError, match="offline mode"):
            offline.list_tools(remote)
        offline.close()
    finally:
        manager.close()


def test_servers_end_when_the_manager_closes(tmp_path: Path) -> None:
    manager = McpManager(tmp_path)
    pid = int(manager.call(TEST_SERVER, "server_pid", {}).text)
    assert _alive(pid)
    manager.close()
    assert not _alive(pid)
    with pytest.raises(ToolError, match="closing"):
        manager.list_tools(TEST_SERVER)
    assert os.getpid() != pid


def test_a_streamable_http_server(tmp_path: Path) -> None:
    """A server reached by URL (streamable HTTP, on loopback): listed and called like a local one; when it goes
    away, the call fails in words and names it."""
    process = subprocess.Popen([sys.executable, str(SERVER_FILE), "--http"], stdout=subprocess.PIPE, text=True,
                               stderr=subprocess.DEVNULL)
    manager = McpManager(tmp_path)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().split()[1])
        web = ServerConfig("web", url=f"http://127.0.0.1:{port}/mcp", timeout_s=10)
        tools = {t.tool: t for t in manager.list_tools(web)}
        assert tools["lookup_word"].read_only and not tools["save_note"].read_only
        assert manager.call(web, "lookup_word", {"word": "ember"}).text == lookup_code("ember")
        process.terminate()
        process.wait(timeout=30)
        with pytest.raises(ToolError, match=f"lost the connection to the tool server 'web' at {web.url} while "
                                            "running 'lookup_word'"):
            manager.call(web, "lookup_word", {"word": "ember"})
        # The next use connects again, and says the server cannot be reached.
        with pytest.raises(ToolError, match=f"could not reach the tool server 'web' at {web.url}"):
            manager.call(web, "lookup_word", {"word": "ember"})
    finally:
        manager.close()
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
