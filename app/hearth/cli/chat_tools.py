"""Tools in ``hearth chat``: ``--mcp``, ``--tool-choice`` and ``--allow-tool``, and an answer that calls them.

The tools are those switched on in Settings → Tools (``tools.json``) and the servers given with ``--mcp`` for this
session. There is no one to ask in a terminal: read-only tools run, any other call is refused with the reason and
the flag that allows it, unless ``--allow-tool NAME`` allowed it beforehand. Each call and its result is printed on
stderr as it happens; the answer streams on stdout as usual.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from hearth.core.engine.api import EngineApi
from hearth.core.engine.events import AnswerStats, EngineEvent, EngineNotice, Finished, LoadProgress, PromptProgress
from hearth.core.engine.events import TokenDelta as TokenEvent
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.tools import ToolChoice, ToolChoiceMode, ToolFormat, ToolSpec
from hearth.core.errors import HearthError, ToolConfigError
from hearth.core.paths import AppPaths
from hearth.core.settings import Settings
from hearth.core.store.tool_calls import CallStatus, ToolCallRecord, duration_words
from hearth.core.tools.approval import ApprovalPolicy, cli_refusal_hint
from hearth.core.tools.config import ServerConfig, load_tools_config, tools_path
from hearth.core.tools.loop import LoopEvents, LoopResult, ToolLoop
from hearth.core.tools.mcp_client import McpManager
from hearth.core.tools.toolbox import Toolbox, ToolSet

_SHOWN_RESULT_CHARS = 400
Chat = Callable[..., Any]


def add_tool_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("tools (MCP servers and Hearth's own; see Settings → Tools)")
    group.add_argument("--mcp", action="append", default=[], metavar='"COMMAND ARGS"',
                       help="an MCP server to start for this session, e.g. \"npx -y @modelcontextprotocol/"
                            "server-filesystem ~/Notes\"; repeatable")
    group.add_argument("--tool-choice", default="auto", metavar="auto|none|required|NAME",
                       help="whether the model may (auto), must not (none) or must call a tool (required, or the "
                            "named tool: its arguments are then forced to fit the tool's schema)")
    group.add_argument("--allow-tool", action="append", default=[], metavar="NAME",
                       help="let this tool run without asking even if it may change things (read-only tools always "
                            "may; there is no one to ask in a terminal); repeatable")


def tool_choice(text: str) -> ToolChoice:
    modes = {"auto": ToolChoiceMode.AUTO, "none": ToolChoiceMode.NONE, "required": ToolChoiceMode.REQUIRED}
    mode = modes.get(text.strip().lower())
    return ToolChoice(mode) if mode is not None else ToolChoice(ToolChoiceMode.NAMED, text.strip())


@dataclass
class CliTools:
    """The session's tools: the toolbox, what it offers, the rules, and the calls of the last answer."""

    toolbox: Toolbox
    tool_set: ToolSet
    servers: list[ServerConfig]
    choice: ToolChoice
    policy: ApprovalPolicy
    records: list[ToolCallRecord] = field(default_factory=list)
    cancel: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        if self.toolbox.manager is not None:
            self.toolbox.manager.close()


def open_tools(args: argparse.Namespace, paths: AppPaths, settings: Settings, err: TextIO) -> CliTools | None:
    """The session's tools (servers started and listed now), or None when there are none to offer.

    Raises:
        ToolConfigError: an ``--mcp`` line cannot be read, or ``--tool-choice`` names a tool that is not offered.
    """
    choice = tool_choice(args.tool_choice)
    config = load_tools_config(tools_path(paths.config_dir))
    servers = [ServerConfig.from_command_line(line) for line in args.mcp]
    taken = {s.name for s in config.servers}
    for index, server in enumerate(servers):
        if server.name in taken:
            servers[index] = ServerConfig(f"{server.name}-{index + 2}", server.command, server.args)
        taken.add(servers[index].name)
    if choice.mode is ToolChoiceMode.NONE or not (servers or config.builtins
                                                   or any(s.enabled for s in config.servers)):
        return None
    toolbox = Toolbox(config, McpManager(paths.log_dir, offline=lambda: settings.offline))
    tool_set = toolbox.tool_set(servers)
    for failure in tool_set.failures:
        err.write(f"hearth: {failure.message} {failure.hint}".rstrip() + "\n")
    if choice.mode is ToolChoiceMode.NAMED and tool_set.entry(choice.name) is None:
        CliTools(toolbox, tool_set, servers, choice, ApprovalPolicy()).close()
        offered = ", ".join(tool_set.names) or "none"
        raise ToolConfigError(f"--tool-choice names '{choice.name}', which is not among the tools offered.",
                              hint=f"The tools are: {offered}.")
    if not tool_set.entries:
        CliTools(toolbox, tool_set, servers, choice, ApprovalPolicy()).close()
        return None
    err.write("Tools: " + ", ".join(tool_set.names) + "\n")
    return CliTools(toolbox, tool_set, servers, choice, ApprovalPolicy(auto_read_only=True,
                                                                       allowed=set(args.allow_tool)))


def _shorten(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _SHOWN_RESULT_CHARS else line[:_SHOWN_RESULT_CHARS] + "…"


def print_call(record: ToolCallRecord, tools: CliTools, err: TextIO) -> None:
    """One finished call on stderr: the call, then its result (or why it did not run)."""
    err.write(f"\n→ {record.name}({record.arguments})\n")
    if record.status is CallStatus.DENIED:
        entry = tools.tool_set.entry(record.name)
        err.write(f"✗ not run: {cli_refusal_hint(entry) if entry else record.result}\n")
    elif record.status is CallStatus.OK:
        err.write(f"← {_shorten(record.result)} ({duration_words(record.duration_s)})\n")
    else:
        err.write(f"✗ {_shorten(record.result)}\n")
    err.flush()


def answer_with_tools(
    client: EngineApi,
    messages: list[dict[str, Any]],
    params: SamplingParams,
    tools: CliTools,
    fmt: ToolFormat,
    n_ctx: int,
    *,
    out: TextIO,
    err: TextIO,
    on_event: Callable[[EngineEvent], None],
) -> LoopResult:
    """One answer with tools, its text streamed to ``out``; the calls are in ``tools.records`` afterwards.

    Raises:
        HearthError: the engine failed (what was written so far is on ``out``).
    """
    tools.cancel.clear()
    tools.records = []

    def generate(history: list[dict[str, Any]], specs: Sequence[ToolSpec], choice: ToolChoice,
                 on_text: Callable[[str], None]) -> AnswerStats:
        stats: AnswerStats | None = None
        for event in client.chat(history, params, tools=specs, tool_choice=choice):
            if isinstance(event, TokenEvent):
                on_text(event.text)
            elif isinstance(event, Finished):
                stats = event.stats
            elif isinstance(event, (PromptProgress, LoadProgress, EngineNotice)):
                on_event(event)
        if stats is None:
            raise HearthError("The answer ended without its statistics.")
        return stats

    def text(piece: str) -> None:
        out.write(piece)
        out.flush()

    def finished(record: ToolCallRecord) -> None:
        tools.records.append(record)
        print_call(record, tools, err)

    def notice(words: str) -> None:
        err.write(f"\nhearth: {words}\n")

    def failed(error: HearthError) -> None:
        err.write(f"\nhearth: {error.message} {error.hint}".rstrip() + "\n")

    loop = ToolLoop(tools.toolbox, tools.tool_set, tools.policy, None, fmt=fmt, choice=tools.choice, n_ctx=n_ctx,
                    cancel=tools.cancel, servers=tools.servers)
    events = LoopEvents(text=text, call_finished=finished, notice=notice, error=failed)
    return loop.run(messages, generate, events)


def calls_summary(records: Sequence[ToolCallRecord]) -> list[dict[str, Any]]:
    """The ``--json`` line's ``tool_calls``."""
    return [record.summary() for record in records if record.status is not CallStatus.RUNNING]
