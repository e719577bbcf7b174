"""An answer with tools, against the real MCP test server: forced calls through real models and their chat
templates (a tools-aware Llama 4 template, and SmolLM2's ChatML template through the fallback), approval, the round
limit, and servers that crash or hang mid-answer (the answer goes on).

The rules of the loop (limit, approval, failures) are driven by ``scripted_model``: a scripted stand-in for the
model that writes given texts, so those tests are fast and exact; the calls still go to the real server.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from hearth.core.engine import EngineClient, Finished, TokenDelta
from hearth.core.engine.events import AnswerStats
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.tools import ToolChoice, ToolChoiceMode, ToolFormat, ToolSpec, hermes_call_text
from hearth.core.errors import ContextOverflowError, HearthError
from hearth.core.store.tool_calls import CallStatus, ToolCallRecord
from hearth.core.tools.approval import ApprovalPolicy, ApprovalRequest, Decision
from hearth.core.tools.config import ServerConfig, ToolsConfig
from hearth.core.tools.loop import Generate, LoopEvents, ToolLoop
from hearth.core.tools.mcp_client import McpManager
from hearth.core.tools.toolbox import Toolbox, ToolSet
from tests.fixtures.mcp_server import SERVER_FILE, lookup_code

SERVER = ServerConfig("notes", command=sys.executable, args=(str(SERVER_FILE),), timeout_s=3)


@pytest.fixture(scope="module")
def toolbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Toolbox]:
    box = Toolbox(ToolsConfig(servers=(SERVER,)), McpManager(tmp_path_factory.mktemp("mcp-logs")))
    yield box
    assert box.manager is not None
    box.manager.close()


def only(tool_set: ToolSet, *names: str) -> ToolSet:
    return ToolSet([e for e in tool_set.entries if e.name in names])


def engine_generate(client: EngineClient, seen: list[list[dict[str, Any]]]) -> Generate:
    """Rounds on the real engine: room for the forced call, then a few words (the machine is shared)."""

    def generate(messages: list[dict[str, Any]], tools: Sequence[ToolSpec], choice: ToolChoice,
                 on_text: Callable[[str], None]) -> AnswerStats:
        seen.append([dict(m) for m in messages])
        forced = choice.mode is ToolChoiceMode.NAMED
        params = SamplingParams(temperature=0.0, max_tokens=64 if forced else 8, seed=1)
        stats = None
        for event in client.chat(messages, params, tools=tools, tool_choice=choice):
            if isinstance(event, TokenDelta):
                on_text(event.text)
            elif isinstance(event, Finished):
                stats = event.stats
        assert stats is not None
        return stats

    return generate


@pytest.mark.parametrize("model", ["tiny_llama4_tools", "smollm2_path"])
def test_forced_call_through_a_real_template(model: str, request: pytest.FixtureRequest, toolbox: Toolbox) -> None:
    path: Path = request.getfixturevalue(model)
    client = EngineClient()
    try:
        info = client.load(LoadPlan(str(path), n_ctx=2048, n_threads=2))
        # Llama 4's template renders tools itself; SmolLM2's ChatML does not (they go in the system message).
        assert info.tools_in_template is (model == "tiny_llama4_tools")
        seen: list[list[dict[str, Any]]] = []
        finished: list[ToolCallRecord] = []
        loop = ToolLoop(toolbox, only(toolbox.tool_set(), "lookup_word", "save_note"), ApprovalPolicy(True), None,
                        fmt=ToolFormat(info.tool_format), choice=ToolChoice(ToolChoiceMode.NAMED, "lookup_word"),
                        n_ctx=info.n_ctx, max_rounds=2)
        result = loop.run([{"role": "user", "content": "What is the secret code of the word 'ember'?"}],
                          engine_generate(client, seen),
                          LoopEvents(call_finished=finished.append))
    finally:
        client.close()
    call = result.records[0]
    assert call.round == 1 and call.status is CallStatus.OK and finished[0] == call
    word = json.loads(call.arguments)["word"]  # the grammar made a valid call of the named tool
    assert call.result == lookup_code(word)
    if model == "smollm2_path":
        assert word == "ember"  # a real instruct model picks the right argument
    # The result went back to the model, which carried on in a second round (no longer forced).
    assert len(seen) == 2 and result.rounds == 2
    tool_message = seen[1][-1]
    assert tool_message == {"role": "tool", "tool_call_id": call.call_id, "name": "lookup_word",
                            "content": lookup_code(word)}
    assert seen[1][-2]["tool_calls"][0]["function"]["name"] == "lookup_word"
    assert result.stats is not None and result.stats.tokens > 0


def test_tools_that_fill_the_context_are_named_in_the_error(tiny_llama4_tools: Path, toolbox: Toolbox) -> None:
    client = EngineClient()
    try:
        client.load(LoadPlan(str(tiny_llama4_tools), n_ctx=256, n_threads=2))
        specs = [ToolSpec(e.name, e.description, dict(e.parameters)) for e in toolbox.tool_set().entries]
        words = f"descriptions of the {len(specs)} tools offered with it take part of that: fewer tools make room"
        with pytest.raises(ContextOverflowError, match=words):
            list(client.chat([{"role": "user", "content": "Hi"}], SamplingParams(max_tokens=16), tools=specs))
        # Without them the same message fits.
        assert any(isinstance(e, Finished) for e in client.chat([{"role": "user", "content": "Hi"}],
                                                                SamplingParams(max_tokens=4)))
    finally:
        client.close()


def scripted_model(*answers: str, seen: list[tuple[list[str], ToolChoice, list[dict[str, Any]]]] | None = None
                   ) -> Generate:
    """A scripted stand-in for the model: round N writes ``answers[N]`` (the last one again after that)."""
    rounds = [0]

    def generate(messages: list[dict[str, Any]], tools: Sequence[ToolSpec], choice: ToolChoice,
                 on_text: Callable[[str], None]) -> AnswerStats:
        text = answers[min(rounds[0], len(answers) - 1)]
        rounds[0] += 1
        if seen is not None:
            seen.append(([t.name for t in tools], choice, [dict(m) for m in messages]))
        for piece in (text[:5], text[5:]):
            on_text(piece)
        return AnswerStats(len(text), 0.01, 10.0, 10, "stop")

    return generate


def call(name: str, **arguments: Any) -> str:
    return hermes_call_text(name, arguments)


def test_approval_decides_and_denied_tools_do_not_run(toolbox: Toolbox, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    notes = tmp_path / "notes.txt"
    # The server reads the notes file's name from its environment: a server of its own for this test.
    server = ServerConfig("writer", command=sys.executable, args=(str(SERVER_FILE),),
                          env={"HEARTH_TEST_NOTES": str(notes)})
    box = Toolbox(ToolsConfig(servers=(server,)), McpManager(tmp_path))
    try:
        tools = only(box.tool_set(), "save_note", "lookup_word")
        asked: list[ApprovalRequest] = []
        answers = [Decision.DENY, Decision.ALLOW_ONCE]

        def ask(request: ApprovalRequest) -> Decision:
            asked.append(request)
            return answers.pop(0)

        model = scripted_model(call("save_note", text="buy milk"), call("save_note", text="buy eggs"), "Done.")
        result = ToolLoop(box, tools, ApprovalPolicy(auto_read_only=True), ask).run(
            [{"role": "user", "content": "note"}], model)
        assert [r.status for r in result.records] == [CallStatus.DENIED, CallStatus.OK]
        assert notes.read_text() == "buy eggs\n"  # the denied call never ran; the allowed one ran once
        assert asked[0].tool == "save_note" and '"text": "buy milk"' in asked[0].arguments and not asked[0].read_only
        assert "did not allow" in result.records[0].result
        assert result.text == "Done."
        # No one to ask (the CLI): refused, unless allowed beforehand.
        cli = ToolLoop(box, tools, ApprovalPolicy(auto_read_only=True), None).run(
            [{"role": "user", "content": "note"}], scripted_model(call("save_note", text="x"), "ok"))
        assert cli.records[0].status is CallStatus.DENIED and "no one to ask" in cli.records[0].result
        allowed = ToolLoop(box, tools, ApprovalPolicy(auto_read_only=True, allowed={"save_note"}), None).run(
            [{"role": "user", "content": "note"}], scripted_model(call("save_note", text="y"), "ok"))
        assert allowed.records[0].status is CallStatus.OK
        assert notes.read_text() == "buy eggs\ny\n"
        # Read-only tools ask too until the user allows them to run unasked.
        asked.clear()
        answers[:] = [Decision.ALLOW_ONCE]
        ToolLoop(box, tools, ApprovalPolicy(auto_read_only=False), ask).run(
            [{"role": "user", "content": "x"}], scripted_model(call("lookup_word", word="a"), "ok"))
        assert [r.tool for r in asked] == ["lookup_word"]
    finally:
        assert box.manager is not None
        box.manager.close()


def test_round_limit_stops_with_a_notice(toolbox: Toolbox) -> None:
    notices: list[str] = []
    seen: list[tuple[list[str], ToolChoice, list[dict[str, Any]]]] = []
    result = ToolLoop(toolbox, only(toolbox.tool_set(), "lookup_word"), ApprovalPolicy(True), None,
                      choice=ToolChoice(ToolChoiceMode.REQUIRED)).run(
        [{"role": "user", "content": "loop"}], scripted_model(call("lookup_word", word="w"), seen=seen),
        LoopEvents(notice=notices.append))
    assert result.rounds == 8 and result.limit_reached
    assert [r.status for r in result.records] == [CallStatus.OK] * 7 + [CallStatus.SKIPPED]
    assert len(notices) == 1 and "8 rounds" in notices[0]
    # Only the first round is forced; later ones let the model answer.
    assert seen[0][1].mode is ToolChoiceMode.REQUIRED
    assert all(choice.mode is ToolChoiceMode.AUTO for _, choice, _ in seen[1:])


def test_choice_none_offers_no_tools(toolbox: Toolbox) -> None:
    seen: list[tuple[list[str], ToolChoice, list[dict[str, Any]]]] = []
    result = ToolLoop(toolbox, toolbox.tool_set(), ApprovalPolicy(True), None,
                      choice=ToolChoice(ToolChoiceMode.NONE)).run(
        [{"role": "user", "content": "hi"}], scripted_model(call("lookup_word", word="w"), seen=seen))
    assert seen[0][0] == [] and result.records == [] and result.rounds == 1
    assert "lookup_word" in result.text  # not offered, so not a call: it stays text


@pytest.mark.parametrize(("tool", "words"), [("crash_now", "stopped while running 'crash_now'"),
                                             ("hang", "did not answer within 3 seconds")])
def test_a_failing_server_does_not_end_the_answer(toolbox: Toolbox, tool: str, words: str) -> None:
    errors: list[HearthError] = []
    seen: list[tuple[list[str], ToolChoice, list[dict[str, Any]]]] = []
    result = ToolLoop(toolbox, only(toolbox.tool_set(), tool, "lookup_word"),
                      ApprovalPolicy(True, allowed={tool}), None).run(
        [{"role": "user", "content": "go"}],
        scripted_model(call(tool), call("lookup_word", word="after"), "The end.", seen=seen),
        LoopEvents(error=errors.append))
    assert result.records[0].status is CallStatus.ERROR and words in result.records[0].result
    assert len(errors) == 1 and words in str(errors[0])
    # The model read the error, the server came back for the next call, and the answer finished.
    assert seen[1][2][-1]["content"].startswith("Error: ")
    assert result.records[1].status is CallStatus.OK and result.records[1].result == lookup_code("after")
    assert result.text == "The end."


def test_stop_while_asking(toolbox: Toolbox) -> None:
    cancel = threading.Event()

    def ask(_request: ApprovalRequest) -> Decision:
        cancel.set()  # Stop pressed while the dialog was open
        return Decision.ALLOW_ONCE

    result = ToolLoop(toolbox, only(toolbox.tool_set(), "save_note"), ApprovalPolicy(True), ask, cancel=cancel).run(
        [{"role": "user", "content": "x"}], scripted_model(call("save_note", text="never"), "more"))
    assert [r.status for r in result.records] == [CallStatus.SKIPPED] and result.rounds == 1
