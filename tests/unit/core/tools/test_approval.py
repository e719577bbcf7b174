"""Who decides: read-only tools run unasked only once allowed; others ask every time; no one to ask means no."""

from __future__ import annotations

from hearth.core.tools.approval import ApprovalPolicy, ApprovalRequest, Decision, cli_refusal_hint
from hearth.core.tools.catalog import ToolEntry, unique_names

READER = ToolEntry("lookup", "notes", "lookup", read_only=True)
WRITER = ToolEntry("save_note", "notes", "save_note", read_only=False)


def test_read_only_runs_unasked_only_when_allowed() -> None:
    asked: list[ApprovalRequest] = []

    def ask(request: ApprovalRequest) -> Decision:
        asked.append(request)
        return Decision.ALLOW_ONCE

    assert ApprovalPolicy(auto_read_only=False).decide(READER, "{}", ask) is Decision.ALLOW_ONCE
    assert len(asked) == 1
    assert ApprovalPolicy(auto_read_only=True).decide(READER, "{}", ask) is Decision.ALLOW_ONCE
    assert len(asked) == 1


def test_other_tools_ask_every_time_unless_allowed_for_the_chat() -> None:
    answers = [Decision.ALLOW_ONCE, Decision.DENY, Decision.ALLOW_CHAT]
    asked: list[ApprovalRequest] = []

    def ask(request: ApprovalRequest) -> Decision:
        asked.append(request)
        return answers.pop(0)

    policy = ApprovalPolicy(auto_read_only=True)
    assert policy.decide(WRITER, '{"text": "a"}', ask) is Decision.ALLOW_ONCE
    assert policy.decide(WRITER, '{"text": "b"}', ask) is Decision.DENY
    assert policy.decide(WRITER, '{"text": "c"}', ask) is Decision.ALLOW_CHAT
    assert policy.decide(WRITER, '{"text": "d"}', ask) is Decision.ALLOW_ONCE  # allowed for this chat now
    assert len(asked) == 3
    assert asked[0].server == "notes" and asked[0].tool == "save_note" and asked[0].arguments == '{\n  "text": "a"\n}'


def test_no_one_to_ask_refuses_unless_allowed_beforehand() -> None:
    assert ApprovalPolicy().decide(WRITER, "{}", None) is Decision.DENY
    assert ApprovalPolicy(allowed={"save_note"}).decide(WRITER, "{}", None) is Decision.ALLOW_ONCE
    assert "--allow-tool save_note" in cli_refusal_hint(WRITER)


def test_names_unique_across_servers() -> None:
    entries = unique_names([ToolEntry("", "files", "search"), ToolEntry("", "web", "search"),
                            ToolEntry("", "x", "has space!"), ToolEntry("", "y", "calculator")],
                           reserved=["calculator"])
    assert [e.name for e in entries] == ["files_search", "web_search", "x_has_space", "y_calculator"]
