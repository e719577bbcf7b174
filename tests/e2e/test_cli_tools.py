"""``hearth chat --mcp/--tool-choice/--allow-tool`` as a real process: a real model, the real MCP test server over
stdio, each call and its result printed, the ``--json`` line's ``tool_calls``, and a call that may change things
refused (with the reason and the flag) unless allowed."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from tests.e2e.test_cli_chat import hearth, stats_lines
from tests.fixtures.mcp_server import SERVER_FILE, lookup_code


def server_line(notes: Path, *extra: str) -> str:
    return shlex.join([sys.executable, str(SERVER_FILE), "--notes", str(notes), *extra])


def test_a_forced_read_only_call_runs_and_is_reported(starter_model: Path, hearth_home: Path) -> None:
    # Two tools on offer: with the test server's six, this 135M model gets the argument wrong.
    line = server_line(hearth_home / "notes.txt", "--tools", "lookup_word,save_note")
    result = hearth("chat", "--model", str(starter_model), "--mcp", line, "--tool-choice", "lookup_word",
                    "--prompt", "What is the secret code of the word 'ember'?",
                    "--max-tokens", "48", "--temperature", "0", "--json", home=hearth_home)
    assert result.returncode == 0, result.stderr
    assert "Tools: lookup_word, save_note\n" in result.stderr
    # The real instruct model, forced to call the tool, gives it the word asked about.
    assert '→ lookup_word({"word": "ember"})' in result.stderr
    assert f"← {lookup_code('ember')}" in result.stderr
    (stats,) = stats_lines(result.stdout)
    assert stats["tool_calls"] == [{"name": "lookup_word", "arguments": {"word": "ember"}, "ok": True}]
    assert "<tool_call>" not in result.stdout  # the call is not shown as answer text


@pytest.mark.parametrize("allowed", [False, True])
def test_a_call_that_may_change_things_needs_allow_tool(tiny_llama4_tools: Path, hearth_home: Path,
                                                       allowed: bool) -> None:
    notes = hearth_home / "notes.txt"
    flags = ["--allow-tool", "save_note"] if allowed else []
    result = hearth("chat", "--model", str(tiny_llama4_tools), "--mcp", server_line(notes), "--tool-choice",
                    "save_note", *flags, "--prompt", "Save a note.", "--max-tokens", "64", "--no-loop-guard",
                    "--json", home=hearth_home)
    assert result.returncode == 0, result.stderr
    (stats,) = stats_lines(result.stdout)
    [call] = stats["tool_calls"]  # type: ignore[misc]
    assert call["name"] == "save_note" and isinstance(call["arguments"], dict)
    if allowed:
        assert call["ok"] is True and notes.exists()
        assert "← Saved:" in result.stderr
    else:
        assert call["ok"] is False and not notes.exists()  # the tool never ran
        assert "✗ not run: 'save_note' of" in result.stderr
        assert "Run again with --allow-tool save_note to allow it." in result.stderr


def test_a_tool_choice_that_is_not_offered_is_refused_in_words(tiny_llama4_tools: Path, hearth_home: Path) -> None:
    result = hearth("chat", "--model", str(tiny_llama4_tools), "--mcp", server_line(hearth_home / "notes.txt"),
                    "--tool-choice", "delete_everything", "--prompt", "Hi", home=hearth_home)
    assert result.returncode == 1
    assert "--tool-choice names 'delete_everything', which is not among the tools offered" in result.stderr
    assert "lookup_word" in result.stderr and "Traceback" not in result.stderr


def test_a_server_that_does_not_start_is_named_and_the_chat_goes_on(tiny_llama4_tools: Path,
                                                                    hearth_home: Path) -> None:
    result = hearth("chat", "--model", str(tiny_llama4_tools), "--mcp", "hearth-no-such-server --flag",
                    "--prompt", "Hi", "--max-tokens", "4", "--no-loop-guard", "--json", home=hearth_home)
    assert result.returncode == 0, result.stderr
    assert "hearth-no-such-server" in result.stderr and "Traceback" not in result.stderr
    (stats,) = stats_lines(result.stdout)
    assert json.dumps(stats) and stats["tokens"] == 4
