"""What the user set up for tools: MCP servers, which of their tools are on, and Hearth's own tools.

Kept in its own file (``tools.json`` in the config folder, readable by this user only) rather than in the settings:
a server's environment often carries a token (``GITHUB_TOKEN``...), as it does in Claude Desktop's and LM Studio's
``mcpServers`` JSON, which ``import_servers`` reads.

A server is either a program Hearth starts and talks to over its standard input and output (``command``, ``args``,
``env``, ``cwd``) or a streamable-HTTP endpoint (``url``, ``headers``). Every tool of a server is on unless switched
off; Hearth's own tools are off until switched on.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hearth.core.errors import ToolConfigError

TOOLS_FILE = "tools.json"
CONFIG_VERSION = 1
DEFAULT_CALL_TIMEOUT_S = 60.0
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\- ]+")
# Programs that run the script named after them: the server is better named after the script.
_RUNNERS = {"python", "python3", "py", "node", "npx", "uvx", "uv", "deno", "bun", "bunx", "pipx", "docker", "pnpm",
            "yarn", "npm"}


class ServerKind(Enum):
    STDIO = "stdio"
    HTTP = "http"


@dataclass(frozen=True)
class ServerConfig:
    """One MCP server.

    Attributes:
        name: what the user calls it (unique among the servers).
        command: the program to start (stdio servers).
        args: its arguments.
        env: extra environment variables for it (merged over a small safe set the SDK passes on).
        cwd: its working folder ("" for Hearth's).
        url: the endpoint of a streamable-HTTP server ("" for stdio servers).
        headers: extra HTTP headers (an ``Authorization`` header, say).
        enabled: off keeps the server's tools away from the model without forgetting the server.
        disabled_tools: names of this server's tools the user switched off.
        timeout_s: how long one call may take before the server is given up and stopped.
    """

    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str = ""
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True
    disabled_tools: frozenset[str] = frozenset()
    timeout_s: float = DEFAULT_CALL_TIMEOUT_S

    @property
    def kind(self) -> ServerKind:
        return ServerKind.HTTP if self.url else ServerKind.STDIO

    @property
    def summary(self) -> str:
        """The command line or URL, for lists."""
        if self.url:
            return self.url
        return shlex.join([self.command, *self.args])

    def tool_enabled(self, tool: str) -> bool:
        return tool not in self.disabled_tools

    def with_tool(self, tool: str, enabled: bool) -> ServerConfig:
        disabled = set(self.disabled_tools)
        if enabled:
            disabled.discard(tool)
        else:
            disabled.add(tool)
        return replace(self, disabled_tools=frozenset(disabled))

    def check(self) -> ServerConfig:
        """The config itself, once it is usable.

        Raises:
            ToolConfigError: no name, neither or both of a command and a URL, or a URL that is not http(s).
        """
        if not self.name.strip():
            raise ToolConfigError("A tool server needs a name.")
        if bool(self.command) == bool(self.url):
            raise ToolConfigError(f"The tool server '{self.name}' needs either a command to start or a URL.",
                                  hint="Give a command (and its arguments) for a local server, or the URL of a "
                                       "streamable-HTTP server.")
        if self.url:
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ToolConfigError(f"The address of the tool server '{self.name}' is not an http(s) URL: "
                                      f"{self.url!r}.", hint="For example: http://127.0.0.1:8000/mcp")
        if self.timeout_s <= 0:
            raise ToolConfigError(f"The time limit of the tool server '{self.name}' must be above zero.")
        return self

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "enabled": self.enabled}
        if self.url:
            data["url"] = self.url
            if self.headers:
                data["headers"] = dict(self.headers)
        else:
            data["command"] = self.command
            data["args"] = list(self.args)
            if self.env:
                data["env"] = dict(self.env)
            if self.cwd:
                data["cwd"] = self.cwd
        if self.disabled_tools:
            data["disabled_tools"] = sorted(self.disabled_tools)
        if self.timeout_s != DEFAULT_CALL_TIMEOUT_S:
            data["timeout_s"] = self.timeout_s
        return data

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> ServerConfig:
        """Read one server from Hearth's file or an ``mcpServers`` entry.

        Raises:
            ToolConfigError: a field has the wrong type, or the server is of a kind Hearth cannot talk to.
        """
        if not isinstance(data, Mapping):
            raise ToolConfigError(f"The tool server '{name}' is not described by an object.")
        kind = str(data.get("type") or data.get("transport") or "")
        if kind in ("sse",):
            raise ToolConfigError(
                f"The tool server '{name}' uses the older SSE transport, which Hearth does not speak.",
                hint="Most servers also offer streamable HTTP (often at /mcp instead of /sse); use that URL.")
        url = data.get("url") or data.get("serverUrl") or ""
        command = data.get("command") or ""
        args = data.get("args") or []
        env = data.get("env") or {}
        headers = data.get("headers") or {}
        if not isinstance(url, str) or not isinstance(command, str):
            raise ToolConfigError(f"The command or URL of the tool server '{name}' is not text.")
        if not isinstance(args, list) or not all(isinstance(a, (str, int, float)) for a in args):
            raise ToolConfigError(f"The arguments of the tool server '{name}' are not a list of words.")
        if not _text_map(env) or not _text_map(headers):
            raise ToolConfigError(f"The environment or headers of the tool server '{name}' are not name-value text.")
        disabled = data.get("disabled_tools") or data.get("disabledTools") or []
        try:
            timeout = float(data.get("timeout_s", DEFAULT_CALL_TIMEOUT_S))
        except (TypeError, ValueError):
            timeout = DEFAULT_CALL_TIMEOUT_S
        return cls(
            name=clean_name(name),
            command=command,
            args=tuple(str(a) for a in args),
            env={str(k): str(v) for k, v in env.items()},
            cwd=str(data.get("cwd") or ""),
            url=url,
            headers={str(k): str(v) for k, v in headers.items()},
            enabled=not bool(data.get("disabled", False)) and bool(data.get("enabled", True)),
            disabled_tools=frozenset(str(t) for t in disabled if isinstance(t, str)),
            timeout_s=timeout,
        ).check()

    @classmethod
    def from_command_line(cls, text: str, name: str = "") -> ServerConfig:
        """A stdio server from one line such as ``"npx -y @modelcontextprotocol/server-filesystem ~/notes"``.

        Raises:
            ToolConfigError: the line is empty or its quotes do not close.
        """
        try:
            words = shlex.split(text)
        except ValueError as exc:
            raise ToolConfigError(f"The tool server command {text!r} cannot be read: {exc}.") from exc
        if not words:
            raise ToolConfigError("The tool server command is empty.")
        return cls(name=name or name_from_command(words), command=words[0], args=tuple(words[1:])).check()


def _text_map(value: Any) -> bool:
    return isinstance(value, Mapping) and all(isinstance(v, (str, int, float, bool)) for v in value.values())


def clean_name(name: str) -> str:
    cleaned = _NAME_CHARS.sub("-", str(name)).strip(" -")
    return cleaned[:48] or "server"


def name_from_command(words: list[str]) -> str:
    """A short name for a server started by ``words``: the script it runs, else the program."""
    program = Path(words[0]).name
    stem = program.lower().removesuffix(".exe")
    if stem.rstrip("0123456789.") in _RUNNERS:
        for word in words[1:]:
            if not word.startswith("-") and word not in ("run", "exec", "x", "dlx"):
                return clean_name(Path(word.rstrip("/")).name.removesuffix(".py").removesuffix(".js")
                                  .rsplit("@", 1)[0] or word)
    return clean_name(program.removesuffix(".exe"))


@dataclass(frozen=True)
class ToolsConfig:
    """All the tool settings.

    Attributes:
        servers: the MCP servers, in the order the user added them.
        builtins: Hearth's own tools the user switched on (all are off by default).
        auto_read_only: tools marked read-only run without asking (every other tool always asks).
        files: files and folders the user picked for the "read a file" tool; it reads nothing else.
    """

    servers: tuple[ServerConfig, ...] = ()
    builtins: frozenset[str] = frozenset()
    auto_read_only: bool = False
    files: tuple[str, ...] = ()

    def server(self, name: str) -> ServerConfig | None:
        return next((s for s in self.servers if s.name == name), None)

    def with_server(self, server: ServerConfig, replacing: str | None = None) -> ToolsConfig:
        """Add ``server``, or put it in the place of the server named ``replacing`` (or of its own name)."""
        old = replacing or server.name
        if any(s.name == old for s in self.servers):
            return replace(self, servers=tuple(server if s.name == old else s for s in self.servers))
        return replace(self, servers=(*self.servers, server))

    def without_server(self, name: str) -> ToolsConfig:
        return replace(self, servers=tuple(s for s in self.servers if s.name != name))

    def with_builtin(self, name: str, enabled: bool) -> ToolsConfig:
        chosen = set(self.builtins)
        if enabled:
            chosen.add(name)
        else:
            chosen.discard(name)
        return replace(self, builtins=frozenset(chosen))

    def with_changes(self, **changes: Any) -> ToolsConfig:
        return replace(self, **changes)

    def merged(self, servers: Iterable[ServerConfig]) -> tuple[ToolsConfig, list[str]]:
        """These settings with ``servers`` added; a name already taken gets a number. Returns the added names."""
        config = self
        added = []
        for server in servers:
            name = server.name
            taken = {s.name for s in config.servers}
            number = 2
            while name in taken:
                name = f"{server.name} {number}"
                number += 1
            config = config.with_server(replace(server, name=name))
            added.append(name)
        return config, added

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": CONFIG_VERSION,
            "servers": [s.to_dict() for s in self.servers],
            "builtins": sorted(self.builtins),
            "auto_read_only": self.auto_read_only,
            "files": list(self.files),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolsConfig:
        """Read Hearth's own file; entries that cannot be used are left out rather than failing the whole file."""
        servers = []
        seen: set[str] = set()
        for item in data.get("servers") or []:
            if not isinstance(item, Mapping):
                continue
            try:
                server = ServerConfig.from_dict(str(item.get("name") or ""), item)
            except ToolConfigError:
                continue
            if server.name not in seen:
                seen.add(server.name)
                servers.append(server)
        builtins = data.get("builtins") or []
        files = data.get("files") or []
        return cls(
            servers=tuple(servers),
            builtins=frozenset(b for b in builtins if isinstance(b, str)),
            auto_read_only=data.get("auto_read_only") is True,
            files=tuple(f for f in files if isinstance(f, str)),
        )


def import_servers(text: str) -> list[ServerConfig]:
    """Servers from the JSON that Claude Desktop (``claude_desktop_config.json``), LM Studio (``mcp.json``), Cursor
    and VS Code use: ``{"mcpServers": {"name": {"command": ..., "args": [...], "env": {...}}, "other": {"url":
    ...}}}`` (VS Code's ``"servers"`` key too, or the inner mapping alone).

    Raises:
        ToolConfigError: not JSON, no servers in it, or a server that cannot be used (the message names it).
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ToolConfigError(f"This is not JSON: {exc}.",
                              hint='Paste the whole file, starting with {"mcpServers": ...}.') from exc
    if not isinstance(data, dict):
        raise ToolConfigError("This JSON is not an object with an \"mcpServers\" list.")
    entries = data.get("mcpServers", data.get("servers"))
    if entries is None and data and all(isinstance(v, dict) and ("command" in v or "url" in v) for v in data.values()):
        entries = data
    if not isinstance(entries, dict) or not entries:
        raise ToolConfigError("No servers found: the JSON has no \"mcpServers\" entries.",
                              hint='It should look like {"mcpServers": {"name": {"command": "...", "args": [...]}}}.')
    return [ServerConfig.from_dict(str(name), entry) for name, entry in entries.items()]


def tools_path(config_dir: Path) -> Path:
    return config_dir / TOOLS_FILE


def load_tools_config(path: Path) -> ToolsConfig:
    """Read the tool settings; a missing file gives none, an unreadable one is kept aside and gives none."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError:
        return ToolsConfig()
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return ToolsConfig.from_dict(data)
    except (ValueError, TypeError):
        try:
            os.replace(path, path.with_name(path.name + ".broken"))
        except OSError:
            pass
        return ToolsConfig()


def save_tools_config(config: ToolsConfig, path: Path) -> None:
    """Write the tool settings atomically, readable by this user only (they may hold tokens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(config.to_dict(), handle, indent=2, sort_keys=True)
    os.chmod(temp, 0o600)
    os.replace(temp, path)
