"""The crash-containment matrix: the engine host killed by SIGKILL, SIGSEGV and SIGABRT while loading the model,
while reading a long prompt and while writing the answer, and pushed over a memory limit while loading — each time in
the real window on the real engine.

Every case checks the same four things: the window stays up; the answer shows what happened in plain words on the
message (its status is "error" and the text names the phase and the cause); the partial answer is kept, the same in
the view and in the store; and the next message is answered after the automatic host restart.

Timing: the prompt is killed when the window hears the first ``prompt_progress`` of a ~1,200-token prompt to the 270M
Gemma (a few batches of 512); the answer after three tokens are shown. A load is stopped deterministically: the
host's dormant fault hook (``HEARTH_ENGINE_FAULT=stop-mid-load``) makes it SIGSTOP itself inside llama.cpp's load
half-way through, and the test delivers the real signal there (or lowers a memory limit and lets it continue).
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from hearth.core.engine.host import FAULT_ENV
from hearth.core.engine.sampling import SamplingParams
from hearth.core.store import Message, MessageStatus
from hearth.ui.model_session import ModelState
from tests.fixtures.memory_cgroup import MemoryCgroup
from tests.ui.window_support import Harness, build, composer_reason

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="signals to a stopped host; /proc")

KILLS = [signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT]
CAUSE = {
    signal.SIGKILL: "ran out of memory",  # what a SIGKILL from the system almost always means
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "internal check failed",
}
DURING = {"load": "while loading the model", "prompt": "while reading your message",
          "generate": "while writing the answer"}
LONG_PROMPT = "Summarise the following notes. " + " ".join(f"note{i} river stone" for i in range(240))  # ~1,400 tokens


def host_state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def wait_stopped(qtbot: QtBot, h: Harness) -> int:
    """Wait until the (restarted) host stops itself at the fault point; return its pid."""
    def stopped() -> bool:
        pid = h.bridge.client.pid
        return pid is not None and host_state(pid) == "T"

    qtbot.waitUntil(stopped, timeout=60_000)
    pid = h.bridge.client.pid
    assert pid is not None
    return pid


def deliver(pid: int, sig: signal.Signals) -> None:
    """A real signal to the host; a stopped host receives it when it continues (SIGKILL needs no continue)."""
    os.kill(pid, sig)
    if sig != signal.SIGKILL:
        os.kill(pid, signal.SIGCONT)


def vm_size(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmSize")


@pytest.fixture()
def open_harnesses() -> Iterator[list[Harness]]:
    made: list[Harness] = []
    yield made
    for h in made:
        h.close()


def start(qtbot: QtBot, tmp_path: Path, model: Path, made: list[Harness]) -> Harness:
    h = build(qtbot, tmp_path, model)
    made.append(h)
    return h


def send(qtbot: QtBot, h: Harness, text: str) -> None:
    """Type and send a message (the composer may be long: set its text rather than typing every key); returns once
    its answer started (the message and the answer are written by a worker first), or nothing is going on."""
    h.window.composer.set_text(text)
    with qtbot.waitSignal(h.controller.busy_changed, timeout=60_000):
        h.window.composer.submit()
    qtbot.waitUntil(h.attachments_read, timeout=60_000)


def shown_text(h: Harness, message_id: int) -> str:
    widget = h.window.chat_view.message_widget(message_id)
    assert widget is not None
    return widget.streamed_text


def check_contained(qtbot: QtBot, h: Harness, killed_pid: int, words: list[str], shown_before: str) -> Message:
    """After the crash: the window is up, the answer says what happened on itself, and what was shown is kept."""
    h.wait_idle(qtbot)
    assert h.window.isVisible() and QApplication.activeModalWidget() is None
    answer = h.controller.branch()[-1]
    stored = h.store.messages.get(answer.id)
    assert stored.status is MessageStatus.ERROR, stored
    for word in words:
        assert word in stored.error, f"{word!r} not in the message's error: {stored.error!r}"
    view = next(v for v in h.window.chat_view.messages() if v.id == answer.id)
    assert (view.status, view.error) == ("error", stored.error)
    widget = h.window.chat_view.message_widget(answer.id)
    assert widget is not None and stored.error in widget.notice_text, "the error is shown on the message"
    # The partial answer: what the view showed at the kill is still there, in the view and in the store.
    assert stored.content.startswith(shown_before)
    assert widget.streamed_text == view.text == stored.content
    assert host_state(killed_pid) == "gone"
    return stored


def check_next_message_works(qtbot: QtBot, h: Harness, killed_pid: int) -> None:
    h.params[0] = SamplingParams(loop_guard=False, temperature=0.0, max_tokens=8, seed=1)
    send(qtbot, h, "Are you back?")
    h.wait_idle(qtbot)
    answer = h.controller.branch()[-1]
    assert answer.status is MessageStatus.COMPLETE and answer.content, answer  # the tiny model writes noise
    assert answer.run_info is not None and answer.run_info.tokens == 8
    assert h.bridge.client.pid not in (None, killed_pid), "answered by a restarted host"
    assert h.session.state is ModelState.READY


def end_idle_host(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The host dies while idle (the system ended it); the next message restarts it, stopping at the fault point."""
    pid = h.bridge.client.pid
    assert pid is not None
    monkeypatch.setenv(FAULT_ENV, "stop-mid-load")
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while h.bridge.client.alive and time.monotonic() < deadline:
        time.sleep(0.01)


# --- the matrix ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sig", KILLS, ids=lambda s: s.name)
def test_killed_while_loading_for_a_message(qtbot: QtBot, tmp_path: Path, tiny_llama4: Path, sig: signal.Signals,
                                            monkeypatch: pytest.MonkeyPatch, open_harnesses: list[Harness]) -> None:
    h = start(qtbot, tmp_path, tiny_llama4, open_harnesses)
    end_idle_host(h, monkeypatch)
    send(qtbot, h, "Hello after a crash.")
    pid = wait_stopped(qtbot, h)
    monkeypatch.delenv(FAULT_ENV)
    deliver(pid, sig)
    check_contained(qtbot, h, pid, [DURING["load"], sig.name, CAUSE[sig]], "")
    check_next_message_works(qtbot, h, pid)


@pytest.mark.parametrize("sig", KILLS, ids=lambda s: s.name)
def test_killed_while_reading_a_long_prompt(qtbot: QtBot, tmp_path: Path, gemma_path: Path, sig: signal.Signals,
                                            open_harnesses: list[Harness]) -> None:
    h = start(qtbot, tmp_path, gemma_path, open_harnesses)
    # Not the first answer after a load: a crash there, before any token, is retried once in safe mode (the AMX case).
    send(qtbot, h, "Hello.")
    h.wait_idle(qtbot)
    reading: list[tuple[int, int]] = []
    pid = h.bridge.client.pid
    assert pid is not None

    def on_progress(_rid: int, done: int, total: int) -> None:
        if 0 < done < total and not reading:
            reading.append((done, total))
            os.kill(pid, sig)  # in the middle of llama.cpp's prompt evaluation

    h.bridge.worker.prompt_progress.connect(on_progress)
    send(qtbot, h, LONG_PROMPT)
    qtbot.waitUntil(lambda: bool(reading), timeout=120_000)
    assert reading[0][1] > 1000
    check_contained(qtbot, h, pid, [DURING["prompt"], sig.name, CAUSE[sig]], "")
    check_next_message_works(qtbot, h, pid)


@pytest.mark.parametrize("sig", KILLS, ids=lambda s: s.name)
def test_killed_while_writing_the_answer(qtbot: QtBot, tmp_path: Path, tiny_llama4: Path, sig: signal.Signals,
                                         open_harnesses: list[Harness]) -> None:
    h = start(qtbot, tmp_path, tiny_llama4, open_harnesses)
    h.params[0] = SamplingParams(loop_guard=False, temperature=0.0, max_tokens=1500, seed=1)
    pid = h.bridge.client.pid
    assert pid is not None
    send(qtbot, h, "Tell me a long story.")
    answer_id = h.controller.streaming_message_id
    assert answer_id is not None
    qtbot.waitUntil(lambda: len(h.shown_answer()) >= 8, timeout=60_000)
    shown = shown_text(h, answer_id)
    os.kill(pid, sig)
    assert shown
    stored = check_contained(qtbot, h, pid, [DURING["generate"], sig.name, CAUSE[sig]], shown)
    assert stored.run_info is not None and stored.run_info.stop_reason == "error"
    check_next_message_works(qtbot, h, pid)


def test_address_space_limit_while_loading(qtbot: QtBot, tmp_path: Path, gemma_path: Path,
                                           monkeypatch: pytest.MonkeyPatch, open_harnesses: list[Harness]) -> None:
    """RLIMIT_AS just above what the host has mapped half-way through llama.cpp's load: the context's buffers
    cannot be allocated (llama.cpp asserts on the NULL buffer and aborts)."""
    h = start(qtbot, tmp_path, gemma_path, open_harnesses)
    end_idle_host(h, monkeypatch)
    send(qtbot, h, "Hello after a crash.")
    pid = wait_stopped(qtbot, h)
    monkeypatch.delenv(FAULT_ENV)
    limit = vm_size(pid) + 16 * 2**20
    resource.prlimit(pid, resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
    os.kill(pid, signal.SIGCONT)
    stored = check_contained(qtbot, h, pid, [DURING["load"], "ran out of memory"], "")
    assert "smaller quantization" in stored.error
    check_next_message_works(qtbot, h, pid)


def test_memory_cgroup_limit_while_loading(qtbot: QtBot, tmp_path: Path, gemma_path: Path,
                                           monkeypatch: pytest.MonkeyPatch, open_harnesses: list[Harness]) -> None:
    """A memory cgroup with 8 MiB of room: the kernel's OOM killer ends the host as llama.cpp fills its buffers."""
    cgroup = MemoryCgroup.create("hearth-test-oom", limit_bytes=8 * 2**20)
    if cgroup is None:
        pytest.skip("no writable memory cgroup on this machine")
    try:
        h = start(qtbot, tmp_path, gemma_path, open_harnesses)
        end_idle_host(h, monkeypatch)
        send(qtbot, h, "Hello after a crash.")
        pid = wait_stopped(qtbot, h)
        monkeypatch.delenv(FAULT_ENV)
        cgroup.add(pid)
        os.kill(pid, signal.SIGCONT)
        check_contained(qtbot, h, pid, [DURING["load"], "SIGKILL", "ran out of memory"], "")
        assert cgroup.oom_kills() >= 1, "the kernel's OOM killer ended it"
        check_next_message_works(qtbot, h, pid)
    finally:
        cgroup.remove()


@pytest.mark.parametrize("sig", KILLS, ids=lambda s: s.name)
def test_killed_while_loading_a_chosen_model(qtbot: QtBot, tmp_path: Path, tiny_llama4: Path, sig: signal.Signals,
                                             monkeypatch: pytest.MonkeyPatch, open_harnesses: list[Harness]) -> None:
    """The user picks a model and the host dies loading it: the window says why, and loading again works."""
    h = start(qtbot, tmp_path, tiny_llama4, open_harnesses)
    monkeypatch.setenv(FAULT_ENV, "stop-mid-load")
    h.bridge.client.unload()  # a fresh host for the next load
    h.session.load(tiny_llama4)
    pid = wait_stopped(qtbot, h)
    monkeypatch.delenv(FAULT_ENV)
    deliver(pid, sig)
    qtbot.waitUntil(lambda: h.session.state is ModelState.FAILED, timeout=60_000)
    assert h.window.isVisible()
    error = h.session.error
    assert error is not None and DURING["load"] in error.message and sig.name in error.message
    assert error.message in composer_reason(h.window.composer).text(), "the composer says why it cannot send"
    h.session.load(tiny_llama4)
    qtbot.waitUntil(lambda: h.session.state is ModelState.READY, timeout=60_000)
    check_next_message_works(qtbot, h, pid)
