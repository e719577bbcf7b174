"""Logs stay local and hold no message text unless the user turns on debug logging.

A conversation with a distinctive sentence — typed, in an attached document, and in the model's answer, through a
crash of the engine and its restart, in the window and with ``hearth chat`` — then every file under ``HEARTH_HOME``
except the conversation database and the attachment copies is searched for it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.logs import LOG_FILE_NAME, configure_logging
from hearth.core.paths import AppPaths
from hearth.core.settings import Settings
from hearth.core.store import Store, default_db_path
from hearth.ui.app import AppSeams, build_app
from hearth.ui.model_session import ModelState
from tests.fixtures.documents import make_pdf, report_pages
from tests.ui.window_support import qt_app

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Aubergine lighthouses whisper to the quartermaster at noon"
DOCUMENT_SECRET = "The vault combination is seventeen marmalade"


def files_outside_the_conversations(home: Path) -> list[Path]:
    """Everything Hearth wrote under its home except the database (and its WAL) and the attachment copies."""
    paths = AppPaths.under(home)
    db = default_db_path(paths)
    skip = {db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"), db.with_name(db.name + "-journal")}
    attachments = paths.data_dir / "attachments"
    return [p for p in home.rglob("*") if p.is_file() and p not in skip and attachments not in p.parents]


def holding(files: list[Path], needles: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            if needle.encode() in data or needle.encode("utf-16-le") in data:
                found.setdefault(str(path), []).append(needle)
    return found


def chat_in_the_window(qtbot: QtBot, home: Path, model: Path, settings: Settings, tmp_path: Path) -> list[str]:
    """The app as ``build_app`` builds it (store, engine with its log, window), with a fixed load plan and sampling
    settings; returns the answers' texts."""
    paths = AppPaths.under(home).ensure()
    configure_logging(paths.log_dir, debug=settings.debug_logging)
    params = [SamplingParams(loop_guard=False, temperature=0.0, max_tokens=400, seed=1)]
    seams = AppSeams(plan_for=lambda p: LoadPlan(str(p), n_ctx=2048, summary="CPU"), sampling=lambda: params[0])
    app = build_app(qt_app(), paths, settings, Store.open(default_db_path(paths)), seams=seams)
    window, session = app.window, app.session
    try:
        session.load(model)
        qtbot.waitUntil(lambda: session.state is ModelState.READY, timeout=60_000)
        pdf = tmp_path / "vault.pdf"
        make_pdf(report_pages(4, facts={2: DOCUMENT_SECRET + "."}), pdf)
        window.composer.set_text(f"{SECRET}. Please repeat that sentence.")
        window.composer.add_files([pdf])
        with qtbot.waitSignal(window.controller.busy_changed, timeout=60_000):
            window.composer.submit()
        # The engine crashes mid-answer (its log tail becomes the error's details), and is restarted.
        qtbot.waitUntil(lambda: window.controller.streaming_message_id is not None
                        and len(window.chat_view.last_assistant_text()) >= 4, timeout=120_000)
        pid = app.client.pid
        assert pid is not None
        os.kill(pid, signal.SIGSEGV)
        qtbot.waitUntil(lambda: not window.controller.busy, timeout=120_000)
        params[0] = SamplingParams(loop_guard=False, temperature=0.0, max_tokens=24, seed=1)
        window.composer.set_text(f"Once more: {SECRET}.")
        with qtbot.waitSignal(window.controller.busy_changed, timeout=60_000):
            window.composer.submit()
        qtbot.waitUntil(lambda: not window.controller.busy, timeout=120_000)
        answers = [m.content for m in window.controller.branch() if m.role.value == "assistant"]
    finally:
        window.close()
        app.shutdown()
    return answers


def cli_chat(home: Path) -> None:
    env = {**os.environ, "HEARTH_HOME": str(home), "PYTHONPATH": str(ROOT / "app")}
    done = subprocess.run([sys.executable, "-m", "hearth", "chat", "--prompt", SECRET, "--max-tokens", "8"],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("debug", [False, True], ids=["default", "debug-logging"])
def test_logs_hold_no_message_text_unless_debug_logging_is_on(qtbot: QtBot, tmp_path: Path, hearth_home: Path,
                                                              gemma_path: Path, debug: bool) -> None:
    settings = Settings(first_run_done=True, debug_logging=debug)
    answers = chat_in_the_window(qtbot, hearth_home, gemma_path, settings, tmp_path)
    if not debug:
        cli_chat(hearth_home)
    configure_logging(None)  # close the log file before reading it
    needles = [SECRET, DOCUMENT_SECRET] + [a.strip()[:40] for a in answers if len(a.strip()) >= 24]
    files = files_outside_the_conversations(hearth_home)
    logs = AppPaths.under(hearth_home).log_dir
    assert (logs / "engine.log").is_file() and (logs / LOG_FILE_NAME).is_file(), sorted(map(str, files))
    log_text = (logs / LOG_FILE_NAME).read_text(encoding="utf-8")
    assert "The model engine stopped while writing the answer" in log_text, "the crash is in the app's log"
    found = holding(files, needles)
    if debug:
        # Debug logging is for finding a problem with a conversation: then the text is there, and only in the logs.
        assert SECRET in log_text and str(logs / LOG_FILE_NAME) in found
        assert all(Path(path).parent == logs for path in found), found
    else:
        assert found == {}, f"message text outside the conversations: {found}"
    # Logs stay on this computer: under Hearth's own folder, nowhere else.
    assert all(hearth_home in p.parents for p in files)
