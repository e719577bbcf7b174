"""The tools of one answer, from every source: Hearth's own and those of the MCP servers the user switched on."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hearth.core.errors import HearthError, ToolError
from hearth.core.tools.builtin import Clock, builtin_entries, run_builtin
from hearth.core.tools.catalog import ToolEntry, unique_names
from hearth.core.tools.config import ServerConfig, ToolsConfig
from hearth.core.tools.mcp_client import McpManager
from hearth.core.tools.results import MAX_RESULT_CHARS, ToolOutput


@dataclass
class ToolSet:
    """The tools offered in one answer, and the servers that could not offer theirs.

    Attributes:
        entries: the tools, with unique model-facing names.
        failures: one error per server that could not be started or listed (the chat goes on without it).
    """

    entries: list[ToolEntry] = field(default_factory=list)
    failures: list[HearthError] = field(default_factory=list)

    def entry(self, name: str) -> ToolEntry | None:
        return next((e for e in self.entries if e.name == name), None)

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]


class Toolbox:
    """Lists and runs tools as the settings say.

    Args:
        config: the tool settings (``set_config`` replaces them).
        manager: the MCP servers (None: no servers, only built-in tools).
        clock: the date-and-time tool's clock (tests).
    """

    def __init__(self, config: ToolsConfig, manager: McpManager | None = None, clock: Clock | None = None) -> None:
        self._config = config
        self.manager = manager
        self._clock = clock
        self._lock = threading.Lock()

    @property
    def config(self) -> ToolsConfig:
        with self._lock:
            return self._config

    def set_config(self, config: ToolsConfig) -> None:
        with self._lock:
            self._config = config

    @property
    def any_enabled(self) -> bool:
        config = self.config
        return bool(config.builtins) or any(s.enabled for s in config.servers)

    def tool_set(self, extra_servers: Sequence[ServerConfig] = ()) -> ToolSet:
        """The tools switched on now; servers are started as needed (blocking: not on the GUI thread)."""
        config = self.config
        builtins = builtin_entries(config.builtins, config.files)
        found: list[ToolEntry] = []
        failures: list[HearthError] = []
        for server in [*config.servers, *extra_servers]:
            if not server.enabled:
                continue
            if self.manager is None:
                continue
            try:
                tools = self.manager.list_tools(server)
            except HearthError as exc:
                failures.append(exc)
                continue
            found += [t for t in tools if server.tool_enabled(t.tool)]
        return ToolSet(builtins + unique_names(found, reserved=[b.name for b in builtins]), failures)

    def run(self, entry: ToolEntry, arguments: str, *, cancel: threading.Event | None = None,
            limit: int = MAX_RESULT_CHARS, servers: Sequence[ServerConfig] = ()) -> ToolOutput:
        """Run one call (arguments as JSON text). Errors of the tool come back as a result with ``ok`` False.

        Raises:
            ToolError: the server failed (could not start, crashed, hung, answered nonsense) or the call was
                stopped.
        """
        try:
            values = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return ToolOutput("Error: the arguments are not valid JSON.", ok=False)
        if not isinstance(values, dict):
            return ToolOutput("Error: the arguments must be a JSON object.", ok=False)
        config = self.config
        if entry.builtin:
            return run_builtin(entry.tool, values, config.files, limit, self._clock)
        server = next((s for s in [*config.servers, *servers] if s.name == entry.server), None)
        if server is None or self.manager is None:
            raise ToolError(f"The tool server '{entry.server}' is no longer set up.", server=entry.server)
        return self.manager.call(server, entry.tool, values, cancel=cancel, limit=limit)


ErrorSink = Callable[[HearthError], None]
