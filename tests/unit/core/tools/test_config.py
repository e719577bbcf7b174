"""Tool settings: servers from Claude Desktop / LM Studio JSON and command lines, the file (0600), bad entries."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from hearth.core.errors import ToolConfigError
from hearth.core.tools.config import (
    ServerConfig,
    ServerKind,
    ToolsConfig,
    import_servers,
    load_tools_config,
    name_from_command,
    save_tools_config,
)

CLAUDE_DESKTOP = {
    "mcpServers": {
        "filesystem": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"],
        },
        "github": {
            "command": "docker",
            "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
            "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "secret"},
        },
        "remote": {"url": "http://127.0.0.1:8000/mcp", "headers": {"Authorization": "Bearer x"}},
    }
}


def test_claude_desktop_and_lm_studio_json_import() -> None:
    servers = import_servers(json.dumps(CLAUDE_DESKTOP))
    assert [s.name for s in servers] == ["filesystem", "github", "remote"]
    fs, gh, remote = servers
    assert fs.kind is ServerKind.STDIO and fs.command == "npx" and fs.args[-1] == "/Users/me/Desktop"
    assert gh.env == {"GITHUB_PERSONAL_ACCESS_TOKEN": "secret"}
    assert remote.kind is ServerKind.HTTP and remote.headers == {"Authorization": "Bearer x"}
    # VS Code's "servers" key, and the inner mapping alone.
    assert import_servers(json.dumps({"servers": CLAUDE_DESKTOP["mcpServers"]}))[0].name == "filesystem"
    assert len(import_servers(json.dumps(CLAUDE_DESKTOP["mcpServers"]))) == 3


@pytest.mark.parametrize(("text", "words"), [
    ("not json", "not JSON"),
    ("[1, 2]", "mcpServers"),
    ('{"mcpServers": {}}', "No servers"),
    ('{"mcpServers": {"x": {"args": ["a"]}}}', "either a command"),
    ('{"mcpServers": {"x": {"url": "ftp://host/x"}}}', "not an http(s) URL"),
    ('{"mcpServers": {"x": {"type": "sse", "url": "http://h/sse"}}}', "SSE"),
    ('{"mcpServers": {"x": {"command": "a", "args": "b"}}}', "not a list"),
])
def test_import_refuses_in_words(text: str, words: str) -> None:
    with pytest.raises(ToolConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
        import_servers(text)


def test_command_lines_and_their_names() -> None:
    server = ServerConfig.from_command_line("python3 /opt/tools/notes_server.py --db '/my notes/db'")
    assert server.command == "python3" and server.args == ("/opt/tools/notes_server.py", "--db", "/my notes/db")
    assert server.name == "notes_server"
    assert name_from_command(["npx", "-y", "@modelcontextprotocol/server-filesystem@1.2"]) == "server-filesystem"
    assert name_from_command(["/usr/local/bin/weather-mcp"]) == "weather-mcp"
    with pytest.raises(ToolConfigError):
        ServerConfig.from_command_line("   ")
    with pytest.raises(ToolConfigError):
        ServerConfig.from_command_line("python 'unclosed")


def test_file_round_trip_is_private_and_tolerates_bad_entries(tmp_path: Path) -> None:
    path = tmp_path / "config" / "tools.json"
    config, added = ToolsConfig().merged(import_servers(json.dumps(CLAUDE_DESKTOP)))
    config, again = config.merged([ServerConfig("github", command="gh-mcp")])
    assert added == ["filesystem", "github", "remote"] and again == ["github 2"]
    config = config.with_server(config.servers[0].with_tool("write_file", False)).with_builtin("calculator", True)
    config = config.with_changes(auto_read_only=True, files=("/home/me/notes.md",))
    save_tools_config(config, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_tools_config(path)
    assert loaded == config
    assert not loaded.servers[0].tool_enabled("write_file") and loaded.servers[0].tool_enabled("read_file")
    # An entry that cannot be used is left out; the others stay.
    data = json.loads(path.read_text())
    data["servers"].append({"name": "broken", "args": ["x"]})
    path.write_text(json.dumps(data))
    assert [s.name for s in load_tools_config(path).servers] == [s.name for s in config.servers]
    # A file that is not JSON is kept aside and gives empty settings.
    path.write_text("{oops")
    assert load_tools_config(path) == ToolsConfig()
    assert path.with_name("tools.json.broken").exists()
