"""A model spread over two real ``hearth worker`` processes; one is killed (SIGKILL) while the window shows an answer.

The window stays up, the answer so far is kept with a message naming the worker, and the next message loads the
model again without it and is answered.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.ui.model_session import ModelState
from tests.fixtures.rpc_workers import Worker, start_worker
from tests.ui.test_crash_containment import check_contained, check_next_message_works, send, shown_text
from tests.ui.window_support import Harness, build

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="signals to worker processes")


@pytest.fixture()
def harness_on_workers(qtbot: QtBot, tmp_path: Path, tiny_llama4: Path) -> Iterator[tuple[Harness, Worker, Worker]]:
    with start_worker(tmp_path) as one, start_worker(tmp_path) as two:
        h = build(qtbot, tmp_path, tiny_llama4)
        try:
            h.session.load_plan(LoadPlan(str(tiny_llama4), n_ctx=4096, n_gpu_layers=-1,
                                         workers=(one.endpoint, two.endpoint), tensor_split=(1.0, 1.0, 0.0),
                                         summary="2 workers"))
            qtbot.waitUntil(lambda: h.session.state is ModelState.READY, timeout=120_000)
            assert h.session.info is not None and all(w.bytes > 0 for w in h.session.info.workers)
            yield h, one, two
        finally:
            h.close()


def test_a_worker_killed_mid_answer(qtbot: QtBot, harness_on_workers: tuple[Harness, Worker, Worker]) -> None:
    h, one, two = harness_on_workers
    h.params[0] = SamplingParams(temperature=0.0, max_tokens=3000, seed=1)
    send(qtbot, h, "Tell me a long story.")
    answer_id = h.controller.branch()[-1].id
    qtbot.waitUntil(lambda: len(shown_text(h, answer_id)) > 20, timeout=60_000)
    os.kill(two.pid, signal.SIGKILL)
    two.process.wait(timeout=30)
    shown_before = shown_text(h, answer_id)
    stored = check_contained(qtbot, h, two.pid, [f"The worker {two.endpoint} stopped answering",
                                                 "The answer so far is kept"], shown_before)
    assert one.endpoint not in stored.error
    check_next_message_works(qtbot, h, two.pid)
    plan = h.bridge.client.plan
    assert plan is not None and plan.workers == (one.endpoint,), "loaded again without the lost worker"
