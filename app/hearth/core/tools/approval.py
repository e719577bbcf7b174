"""Who decides whether a tool call runs: the user.

A tool its server marks read-only (MCP ``readOnlyHint``; Hearth's own tools are all read-only) runs without asking
once the user allowed that (Settings → Tools, "Run read-only tools without asking"). Every other call asks every
time, showing the server, the tool and its arguments in full: "Allow once", "Allow for this chat" (that tool, in that
conversation, until Hearth quits) or "Deny". Where there is no one to ask (``hearth chat``), a call that would ask is
refused unless the tool was allowed beforehand (``--allow-tool NAME``), and the refusal says why.

``readOnlyHint`` is the server's claim, not a guarantee: allowing read-only tools to run unasked trusts the servers
the user installed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum

from hearth.core.tools.catalog import ToolEntry


class Decision(Enum):
    ALLOW_ONCE = "allow_once"
    ALLOW_CHAT = "allow_chat"
    DENY = "deny"

    @property
    def allows(self) -> bool:
        return self is not Decision.DENY


@dataclass(frozen=True)
class ApprovalRequest:
    """One call waiting for the user's decision.

    Attributes:
        server: the server's name (``Hearth`` for built-in tools).
        tool: the tool's own name.
        arguments: the arguments in full, as indented JSON.
        description: what the server says the tool does.
        read_only: the server marks the tool read-only.
    """

    server: str
    tool: str
    arguments: str
    description: str = ""
    read_only: bool = False

    @classmethod
    def for_call(cls, entry: ToolEntry, arguments: str) -> ApprovalRequest:
        try:
            shown = json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
        except ValueError:
            shown = arguments
        return cls(entry.server, entry.tool, shown, entry.description, entry.read_only)


Approver = Callable[[ApprovalRequest], Decision]


@dataclass
class ApprovalPolicy:
    """The rules for one conversation.

    Attributes:
        auto_read_only: read-only tools run without asking.
        allowed: tools (model-facing names) the user allowed for the whole conversation, or beforehand
            (``--allow-tool``).
    """

    auto_read_only: bool = False
    allowed: set[str] = field(default_factory=set)

    def needs_asking(self, entry: ToolEntry) -> bool:
        if entry.name in self.allowed or entry.tool in self.allowed:
            return False
        return not (entry.read_only and self.auto_read_only)

    def decide(self, entry: ToolEntry, arguments: str, ask: Approver | None) -> Decision:
        """Whether the call runs: without asking when the rules allow it, else as the user answers ``ask``
        (``ask`` None: no one to ask, so refused)."""
        if not self.needs_asking(entry):
            return Decision.ALLOW_ONCE
        if ask is None:
            return Decision.DENY
        decision = ask(ApprovalRequest.for_call(entry, arguments))
        if decision is Decision.ALLOW_CHAT:
            self.allowed.add(entry.name)
        return decision


def refusal_text(entry: ToolEntry, asked: bool) -> str:
    """What the model (and the transcript) is told when a call did not run."""
    if asked:
        return f"The user did not allow this call of {entry.name}. Do not try it again; answer without it."
    return (f"{entry.name} was not run: it may change things and there was no one to ask for permission. "
            f"Answer without it.")


def cli_refusal_hint(entry: ToolEntry) -> str:
    """The CLI's words for a refused call: why, and how to allow it."""
    what = "is not marked read-only, so it may change things" if not entry.read_only else "needs your permission"
    return (f"'{entry.tool}' of {entry.server} {what}, and hearth chat has no one to ask. "
            f"Run again with --allow-tool {entry.name} to allow it.")


def policy_for(auto_read_only: bool, allowed: Iterable[str] = ()) -> ApprovalPolicy:
    return ApprovalPolicy(auto_read_only, set(allowed))
