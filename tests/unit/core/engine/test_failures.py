"""The engine meeting bad files, crashes and impossible requests: a clear typed error, and the app goes on."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from hearth.core.engine import EngineClient, EngineNotice, Finished, TokenDelta
from hearth.core.engine.host import FAULT_ENV
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.errors import (
    ContextOverflowError,
    EngineNotReadyError,
    HostCrashedError,
    ModelFileError,
    ModelLoadError,
)

HELLO = [{"role": "user", "content": "hello"}]


def answer(client: EngineClient, messages: list[dict[str, str]] = HELLO, max_tokens: int = 8) -> Finished:
    done = None
    for event in client.chat(messages, SamplingParams(loop_guard=False, temperature=0.0, max_tokens=max_tokens)):
        if isinstance(event, Finished):
            done = event
    assert done is not None
    return done


def test_missing_file(tmp_path: Path) -> None:
    with EngineClient() as client, pytest.raises(ModelFileError, match="does not exist"):
        client.load(LoadPlan(str(tmp_path / "nope.gguf")))


def test_non_gguf_file(tmp_path: Path) -> None:
    page = tmp_path / "model.gguf"
    page.write_text("<!DOCTYPE html><html><body>Sign in to continue</body></html>")
    with EngineClient() as client, pytest.raises(ModelFileError, match="web page"):
        client.load(LoadPlan(str(page)))


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.gguf"
    empty.touch()
    with EngineClient() as client, pytest.raises(ModelFileError, match="empty"):
        client.load(LoadPlan(str(empty)))


def test_missing_shard(tiny_llama4_split: list[Path], tmp_path: Path) -> None:
    first = tmp_path / tiny_llama4_split[0].name
    first.write_bytes(tiny_llama4_split[0].read_bytes())
    with EngineClient() as client, pytest.raises(ModelFileError, match="1 of them is missing"):
        client.load(LoadPlan(str(first)))


def test_truncated_gguf_is_reported_and_the_client_goes_on(tiny_llama4: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.gguf"
    data = tiny_llama4.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with EngineClient() as client:
        with pytest.raises(ModelLoadError) as caught:
            client.load(LoadPlan(str(truncated), n_ctx=256))
        assert "incomplete or damaged" in str(caught.value)
        client.load(LoadPlan(str(tiny_llama4), n_ctx=256))
        assert answer(client).stats.tokens == 8


def test_garbage_after_a_valid_signature(tiny_llama4: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + os.urandom(4096))
    with EngineClient() as client:
        with pytest.raises(ModelLoadError):
            client.load(LoadPlan(str(broken), n_ctx=256))
        client.load(LoadPlan(str(tiny_llama4), n_ctx=256))
        assert answer(client).stats.tokens == 8


def test_chat_before_load_is_a_clear_error() -> None:
    with EngineClient() as client, pytest.raises(EngineNotReadyError):
        list(client.chat(HELLO))


def test_message_larger_than_the_context(tiny_llama4: Path) -> None:
    with EngineClient() as client:
        client.load(LoadPlan(str(tiny_llama4), n_ctx=128))
        with pytest.raises(ContextOverflowError, match=r"needs \d+ tokens but the model.s context holds"):
            answer(client, [{"role": "user", "content": "hello world " * 200}])
        assert answer(client).stats.tokens == 8, "the model is still loaded and answers"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT])
def test_host_killed_mid_answer_then_chat_again(gemma_path: Path, sig: signal.Signals) -> None:
    with EngineClient() as client:
        client.load(LoadPlan(str(gemma_path), n_ctx=1024))
        first_pid = client.pid
        assert first_pid is not None
        shown: list[str] = []
        with pytest.raises(HostCrashedError) as caught:
            for event in client.chat(HELLO, SamplingParams(loop_guard=False, temperature=0.0, max_tokens=500)):
                if isinstance(event, TokenDelta):
                    shown.append(event.text)
                    if len(shown) == 3:
                        os.kill(first_pid, sig)
        error = caught.value
        assert error.returncode == -sig
        assert error.during == "generate"
        assert sig.name in error.message and "while writing the answer" in error.message
        if sig == signal.SIGKILL:
            assert "ran out of memory" in error.message
        assert len(shown) >= 3, "what was shown before the crash stays with the caller"
        events = list(client.chat(HELLO, SamplingParams(loop_guard=False, temperature=0.0, max_tokens=8)))
        assert any(isinstance(e, EngineNotice) for e in events), "the restart is announced"
        finished = [e for e in events if isinstance(e, Finished)]
        assert finished and finished[0].stats.tokens == 8
        assert client.pid != first_pid


def test_host_that_died_while_idle_is_restarted_for_the_next_message(tiny_llama4: Path) -> None:
    with EngineClient() as client:
        client.load(LoadPlan(str(tiny_llama4), n_ctx=256))
        pid = client.pid
        assert pid is not None
        os.kill(pid, signal.SIGSEGV)
        while client.alive:
            time.sleep(0.01)
        events = list(client.chat(HELLO, SamplingParams(loop_guard=False, temperature=0.0, max_tokens=8)))
        assert isinstance(events[0], EngineNotice)
        assert next(e for e in events if isinstance(e, Finished)).stats.tokens == 8


def test_crash_while_loading_is_a_load_error(tiny_llama4: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAULT_ENV, "load")
    with EngineClient() as client:
        with pytest.raises(ModelLoadError, match="while loading") as caught:
            client.load(LoadPlan(str(tiny_llama4), n_ctx=256))
        assert isinstance(caught.value.__cause__, HostCrashedError)
        monkeypatch.delenv(FAULT_ENV)
        client.load(LoadPlan(str(tiny_llama4), n_ctx=256))
        assert answer(client).stats.tokens == 8


def test_first_answer_crash_with_repacked_weights_retries_in_safe_mode(
    tiny_llama4: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Imitates llama.cpp's AMX crash (no AMX CPU here): the host aborts on its first decode in fast mode."""
    monkeypatch.setenv(FAULT_ENV, "first-decode-extra-bufts")
    with EngineClient() as client:
        info = client.load(LoadPlan(str(tiny_llama4), n_ctx=256, use_extra_bufts=True))
        assert info.use_extra_bufts
        events = list(client.chat(HELLO, SamplingParams(loop_guard=False, temperature=0.0, max_tokens=8)))
        notices = [e.message for e in events if isinstance(e, EngineNotice)]
        assert any("safe mode" in n for n in notices)
        assert client.info is not None and not client.info.use_extra_bufts
        assert next(e for e in events if isinstance(e, Finished)).stats.tokens == 8


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_first_answer_killed_by_the_system_is_reported_not_retried(
    tiny_llama4: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIGKILL comes from outside the host (the OOM killer, a user): blaming llama.cpp's fast kernels and
    retrying would be wrong, so the crash is reported as it is."""
    monkeypatch.setenv(FAULT_ENV, "stop-first-decode-extra-bufts")
    with EngineClient() as client:
        client.load(LoadPlan(str(tiny_llama4), n_ctx=256, use_extra_bufts=True))
        pid = client.pid
        assert pid is not None

        def kill_when_stopped() -> None:
            while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
                time.sleep(0.01)
            os.kill(pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_when_stopped)
        killer.start()
        events: list[object] = []
        with pytest.raises(HostCrashedError, match="SIGKILL") as caught:
            events.extend(client.chat(HELLO, SamplingParams(loop_guard=False, temperature=0.0, max_tokens=8)))
        killer.join()
        assert caught.value.during == "prompt"
        assert not [e for e in events if isinstance(e, EngineNotice)], "no safe-mode retry"
        monkeypatch.delenv(FAULT_ENV)
        assert answer(client).stats.tokens == 8
