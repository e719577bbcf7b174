"""The prompt is built on the engine's thread: reading back a big attachment and ranking its passages, for every
message of its conversation, never holds up the window; and Stop works while it happens."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from hearth.core.engine.sampling import SamplingParams
from hearth.core.store import MessageStatus
from tests.fixtures.hostile_files import text_near_the_limit
from tests.ui.lateness import FREEZE_MS, LatenessProbe
from tests.ui.window_support import build


def test_follow_ups_in_a_conversation_with_a_big_document(qtbot: QtBot, tmp_path: Path, gemma_path: Path) -> None:
    h = build(qtbot, tmp_path, gemma_path)
    try:
        h.params[0] = SamplingParams(loop_guard=False, temperature=0.0, max_tokens=2, seed=1)
        h.window.composer.set_text("Summarise the log.")
        h.window.composer.add_files([text_near_the_limit(tmp_path / "server.log", mb=3)])
        with qtbot.waitSignal(h.controller.busy_changed, timeout=60_000):
            assert h.window.composer.submit()
        h.wait_idle(qtbot)

        # A follow-up: the log's 3 MB are read back from the store and its passages ranked again, off the window.
        probe = LatenessProbe()
        probe.start()
        h.send(qtbot, "And what about the errors?")
        h.wait_idle(qtbot)
        probe.stop()
        answer = h.controller.branch()[-1]
        assert answer.status is MessageStatus.COMPLETE, answer
        assert answer.run_info is not None and answer.run_info.extra.get("retrieval"), "passages were chosen"
        assert probe.ticks > 0
        assert probe.worst_busy_ms < FREEZE_MS, f"the GUI thread worked {probe.worst_busy_ms:.0f} ms without turning"

        # Stop at once, while the engine's thread is still preparing the prompt.
        h.params[0] = SamplingParams(loop_guard=False, temperature=0.0, max_tokens=500, seed=1)
        h.send(qtbot, "One more question.")
        h.controller.stop()
        h.wait_idle(qtbot)
        stopped = h.controller.branch()[-1]
        assert stopped.status is MessageStatus.CANCELLED
        assert stopped.run_info is not None and (stopped.run_info.tokens or 0) < 500
        h.params[0] = SamplingParams(loop_guard=False, temperature=0.0, max_tokens=2, seed=1)
        h.send(qtbot, "And now?")
        h.wait_idle(qtbot)
        assert h.controller.branch()[-1].status is MessageStatus.COMPLETE
    finally:
        h.close()
