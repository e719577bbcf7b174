"""The engine wire: every command and event survives a round trip; a bad line is a ``ProtocolError``, and neither the
host's nor the client's reader dies of one."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hearth
from hearth.core.engine import EngineClient
from hearth.core.engine.events import AnswerStats, ModelInfo, StopReason
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.protocol import (
    CancelCommand,
    CancelLoadCommand,
    ChatCommand,
    Command,
    DoneEvent,
    ErrorEvent,
    Event,
    Kind,
    LoadCommand,
    LoadedEvent,
    LoadFailedEvent,
    LoadProgressEvent,
    PromptProgressEvent,
    ProtocolError,
    ReadyEvent,
    ShutdownCommand,
    TokenEvent,
    decode_command,
    decode_event,
    encode,
)
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.tools import ToolChoice, ToolChoiceMode, ToolSpec
from hearth.core.errors import ContextOverflowError, EngineNotReadyError, ModelFileError

COMMANDS: list[Command] = [
    LoadCommand(LoadPlan("/models/m.gguf", n_ctx=8192, cpu_tensor_patterns=(r"\.ffn_up_exps",), mmproj_path="/v.gguf",
                         use_extra_bufts=False, extra={"explanation": "why"})),
    ChatCommand(7, [{"role": "user", "content": "naïve 🔥\n", "images": [{"sha256": "ab", "path": "/p.png"}]}],
                SamplingParams(temperature=0.0, max_tokens=None, seed=3, stop=("</s>",)), continue_last=True,
                debug=True),
    ChatCommand(8, [{"role": "user", "content": "define ember"}], tools=[
        ToolSpec("lookup_word", "Looks a word up.", {"type": "object", "properties": {"word": {"type": "string"}},
                                                     "required": ["word"]}).to_openai()],
        tool_choice=ToolChoice(ToolChoiceMode.NAMED, "lookup_word", parallel=False).to_wire()),
    CancelCommand(7),
    CancelLoadCommand(),
    ShutdownCommand(),
]

INFO = ModelInfo.from_wire({"path": "/m.gguf", "architecture": "llama4", "name": "Scout", "n_ctx": 4096,
                            "expert_count": 16, "vision": True, "cpu_tensor_patterns": ["x"]})
STATS = AnswerStats(12, None, None, 30, StopReason.CONTEXT_FULL, cached_tokens=4, template="embedded",
                    host_ttft_s=0.25, images=1)

EVENTS: list[Event] = [
    ReadyEvent(4242),
    LoadProgressEvent(0.5),
    LoadedEvent(INFO),
    LoadFailedEvent(ModelFileError("The file is damaged.", hint="Download it again.", details="tensor x")),
    PromptProgressEvent(7, 512, 2048),
    TokenEvent(7, "naïve 🔥\n\"quoted\"\\"),
    DoneEvent(7, STATS),
    ErrorEvent(7, ContextOverflowError("Too long.", hint="Start a new chat.")),
]


def test_a_chat_without_tools_leaves_them_off_the_wire() -> None:
    wire = ChatCommand(1, []).to_wire()
    assert "tools" not in wire and "tool_choice" not in wire


def test_every_kind_has_a_message_here() -> None:
    assert {m.kind for m in [*COMMANDS, *EVENTS]} == set(Kind)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.kind.value)
def test_commands_round_trip(command: Command) -> None:
    line = encode(command)
    assert line.endswith(b"\n") and line.count(b"\n") == 1, "one message, one line"
    assert decode_command(line) == command


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.kind.value)
def test_events_round_trip(event: Event) -> None:
    line = encode(event)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    decoded = decode_event(line)
    if isinstance(event, (LoadFailedEvent, ErrorEvent)):
        # Errors come back as the same type with the same words (exceptions do not compare equal).
        assert isinstance(decoded, type(event))
        assert type(decoded.error) is type(event.error)
        assert decoded.error.to_wire() == event.error.to_wire()
    else:
        assert decoded == event


def test_loaded_info_keeps_what_the_host_reported_beyond_the_fields() -> None:
    decoded = decode_event(encode(LoadedEvent(INFO)))
    assert isinstance(decoded, LoadedEvent)
    assert decoded.info.raw["cpu_tensor_patterns"] == ["x"]
    assert decoded.info.is_moe and decoded.info.vision


def test_a_stop_reason_from_a_later_version_is_unknown_not_a_failure() -> None:
    decoded = decode_event(b'{"type":"done","id":1,"stats":{"tokens":3,"stop_reason":"grammar","novel":1}}\n')
    assert isinstance(decoded, DoneEvent)
    assert decoded.stats.stop_reason is StopReason.UNKNOWN and decoded.stats.tokens == 3


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b"", "not JSON"),
        (b"llama_model_loader: loaded meta data\n", "not JSON"),
        (b"\xff\xfe{\n", "not JSON"),
        (b"[1, 2]\n", "not a protocol message"),
        (b'{"id": 1}\n', "not a protocol message"),
        (b'{"type": 3}\n', "not a protocol message"),
        (b'{"type": "unloaded"}\n', "unknown message kind 'unloaded'"),
        (b'{"type": "chat", "id": 1}\n', "not an event: 'chat'"),
        (b'{"type": "token", "text": "hi"}\n', "malformed 'token' message"),
        (b'{"type": "token", "id": "1", "text": "hi"}\n', "'id' must be an integer"),
        (b'{"type": "token", "id": true, "text": "hi"}\n', "'id' must be an integer"),
        (b'{"type": "token", "id": 1, "text": null}\n', "'text' must be a string"),
        (b'{"type": "load_progress", "fraction": "half"}\n', "'fraction' must be a number"),
        (b'{"type": "loaded", "info": []}\n', "'info' must be an object"),
        (b'{"type": "done", "id": 1, "stats": {"tokens": 1, "bogus_type": 1, "n_ctx": 1, "images": 1}, "x": 1}\n',
         None),
    ],
)
def test_malformed_events_are_protocol_errors(line: bytes, words: str | None) -> None:
    if words is None:  # extra keys are not an error
        assert isinstance(decode_event(line), DoneEvent)
        return
    with pytest.raises(ProtocolError, match=words):
        decode_event(line)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b'{"type": "unload"}\n', "unknown message kind 'unload'"),
        (b'{"type": "token", "id": 1, "text": "x"}\n', "not a command: 'token'"),
        (b'{"type": "cancel", "id": "load"}\n', "'id' must be an integer"),
        (b'{"type": "chat", "id": 1, "messages": "hi", "params": {}}\n', "'messages' must be a list of objects"),
        (b'{"type": "chat", "id": 1, "messages": [], "params": {"temperature": 0, "nonsense": 1}}\n', None),
        (b'{"type": "load", "plan": {}}\n', "malformed 'load' message"),
        (b'{"type": "chat", "id": 1, "messages": [], "params": {}, "tools": {"x": 1}}\n',
         "'tools' must be a list of objects"),
    ],
)
def test_malformed_commands_are_protocol_errors(line: bytes, words: str | None) -> None:
    if words is None:
        command = decode_command(line)
        assert isinstance(command, ChatCommand) and command.params.temperature == 0
        return
    with pytest.raises(ProtocolError, match=words):
        decode_command(line)


def test_the_host_skips_lines_that_are_not_commands_and_goes_on() -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(hearth.__file__).resolve().parent.parent))
    commands = b"".join([
        b"this is not json\n",
        b'{"type": "unload"}\n',
        encode(TokenEvent(1, "an event, not a command")),
        b'{"type": "chat", "id": "x", "messages": [], "params": {}}\n',
        encode(ChatCommand(5, [{"role": "user", "content": "hello"}])),
        encode(ShutdownCommand()),
    ])
    done = subprocess.run([sys.executable, "-m", "hearth.core.engine.host"], input=commands, capture_output=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    events = [decode_event(line) for line in done.stdout.splitlines(keepends=True)]
    assert isinstance(events[0], ReadyEvent)
    # The valid request after the four bad lines is answered: no model is loaded.
    assert len(events) == 2 and isinstance(events[1], ErrorEvent) and events[1].request_id == 5
    assert isinstance(events[1].error, EngineNotReadyError)
    assert done.stderr.decode().count("hearth: ignored a line that is not a command") == 4


def test_the_client_skips_lines_that_are_not_events(caplog: pytest.LogCaptureFixture) -> None:
    # A stand-in host that greets with three bad lines before its "ready", then waits to be shut down.
    script = textwrap.dedent("""
        import sys
        out = sys.stdout.buffer
        out.write(b"llama.cpp wrote this by mistake\\n")
        out.write(b'{"type": "unloaded"}\\n')
        out.write(b'{"type": "token", "id": "one", "text": "x"}\\n')
        out.write(b'{"type": "ready", "pid": 1}\\n')
        out.flush()
        sys.stdin.buffer.read()
    """)
    caplog.set_level(logging.WARNING, logger="hearth.core.engine.client")
    with EngineClient(command=[sys.executable, "-c", script]) as client:
        client.start()
        assert client.alive
    skipped = [r.getMessage() for r in caplog.records if "not an event" in r.getMessage()]
    assert len(skipped) == 3
    assert "unknown message kind 'unloaded'" in skipped[1] and "'id' must be an integer" in skipped[2]
