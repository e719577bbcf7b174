"""The window chats with a model of a real OpenAI-compatible server (Starlette on uvicorn, real tokens from the real
engine) as with a local one: it streams, Stop works, and a server killed mid-answer gives a plain-words error and
keeps the answer so far. Also the Servers tab, the privacy badge and offline mode."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from hearth.core.engine import EngineClient
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.remote import RemoteServer, list_models, remote_plan
from hearth.core.engine.remote_keys import KeyStore
from hearth.core.engine.sampling import SamplingParams
from hearth.core.errors import HearthError
from hearth.core.paths import AppPaths
from hearth.core.settings import Settings
from hearth.core.store import MessageStatus, Store
from hearth.ui.app import AppSeams, build_app
from hearth.ui.model_session import ModelState
from hearth.ui.models.servers_view import ServersView
from hearth.ui.shell.privacy_badge import badge_words
from hearth.ui.tasks import TaskGroup
from tests.fixtures.rpc_workers import free_port
from tests.ui.test_crash_containment import send, shown_text
from tests.ui.window_support import Harness, qt_app

ROOT = Path(__file__).resolve().parents[2]


class Server:
    def __init__(self, model: Path, key: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "app"), str(ROOT)]))
        args = [sys.executable, "-m", "tests.fixtures.openai_server", "--model", str(model), "--port", str(self.port)]
        self.process = subprocess.Popen([*args, *(["--api-key", key] if key else [])], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = RemoteServer.parse(self.url, key or "")
        deadline = time.monotonic() + 120
        while True:  # polling the server's own answer, not a timed wait
            try:
                self.models = list_models(server, timeout=2)
                break
            except HearthError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.1)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


@pytest.fixture()
def server(gemma_path: Path) -> Iterator[Server]:
    s = Server(gemma_path, key="sekret")
    yield s
    s.kill()


def build_remote(qtbot: QtBot, tmp_path: Path, server: Server, key: str = "sekret",
                 offline: bool = False) -> Harness:
    """The real app (``build_app``), its key for the server saved, the server's model chosen."""
    paths = AppPaths.under(tmp_path / "app").ensure()
    KeyStore(paths.config_dir, use_keyring=False).set(server.url, key)
    params = [SamplingParams(temperature=0.0, max_tokens=24, seed=1)]
    app = build_app(qt_app(), paths, Settings(offline=offline), Store.open(tmp_path / "hearth.db"),
                    seams=AppSeams(sampling=lambda: params[0]))
    qtbot.addWidget(app.window)
    app.window.show()
    app.session.load_plan(remote_plan(RemoteServer(server.url), server.models[0]))
    qtbot.waitUntil(lambda: app.session.state in (ModelState.READY, ModelState.FAILED), timeout=60_000)
    return Harness(app, params)


@pytest.fixture()
def harness(qtbot: QtBot, tmp_path: Path, server: Server) -> Iterator[Harness]:
    h = build_remote(qtbot, tmp_path, server)
    yield h
    h.close()


def test_the_window_streams_from_a_server_like_from_a_local_model(qtbot: QtBot, harness: Harness, server: Server,
                                                                  gemma_path: Path) -> None:
    h = harness
    assert h.session.state is ModelState.READY and h.session.info is not None
    assert h.session.info.name == server.models[0] and "127.0.0.1" in h.window.status_model.text()
    assert h.window.privacy_badge.isHidden(), "a server on this computer: nothing leaves it"
    h.send(qtbot, "Tell me about rivers.")
    h.wait_idle(qtbot)
    answer = h.controller.branch()[-1]
    assert answer.status is MessageStatus.COMPLETE and answer.content.strip()
    assert answer.run_info is not None and answer.run_info.tokens == 24, "token counts from the server's usage"
    # The server runs the real engine: the same greedy answer as this computer's own engine would write.
    with EngineClient() as local:
        local.load(LoadPlan(str(gemma_path), n_ctx=2048))
        from hearth.core.engine import TokenDelta

        text = "".join(e.text for e in local.chat([{"role": "user", "content": "Tell me about rivers."}],
                                                  h.params[0]) if isinstance(e, TokenDelta))
    assert answer.content == text


def test_stop_works(qtbot: QtBot, harness: Harness) -> None:
    h = harness
    h.params[0] = SamplingParams(temperature=0.0, max_tokens=2000, seed=1)
    send(qtbot, h, "Tell me a long story.")
    answer_id = h.controller.branch()[-1].id
    qtbot.waitUntil(lambda: len(shown_text(h, answer_id)) > 10, timeout=60_000)
    h.controller.stop()
    h.wait_idle(qtbot)
    stored = h.store.messages.get(answer_id)
    assert stored.status is not MessageStatus.ERROR and stored.content.strip()
    assert stored.run_info is None or stored.run_info.tokens < 2000


def test_server_killed_mid_answer(qtbot: QtBot, harness: Harness, server: Server) -> None:
    h = harness
    h.params[0] = SamplingParams(temperature=0.0, max_tokens=2000, seed=1)
    send(qtbot, h, "Tell me a long story.")
    answer_id = h.controller.branch()[-1].id
    qtbot.waitUntil(lambda: len(shown_text(h, answer_id)) > 10, timeout=60_000)
    server.kill()
    h.wait_idle(qtbot)
    stored = h.store.messages.get(answer_id)
    assert stored.status is MessageStatus.ERROR, stored
    assert "closed the connection in the middle of the answer" in stored.error and "kept" in stored.error
    shown = shown_text(h, answer_id)
    assert shown.strip() and stored.content == shown
    assert h.window.isVisible()


def test_a_wrong_key_and_offline_mode_are_refused_in_words(qtbot: QtBot, tmp_path: Path, server: Server) -> None:
    h = build_remote(qtbot, tmp_path / "wrong", server, key="nope")
    try:
        assert h.session.state is ModelState.FAILED and h.session.error is not None
        assert "refused the key" in h.session.error.message
    finally:
        h.close()
    h = build_remote(qtbot, tmp_path / "offline", server, offline=True)
    try:
        assert h.session.state is ModelState.FAILED and h.session.error is not None
        assert "offline" in h.session.error.message
    finally:
        h.close()


def test_the_servers_tab_lists_models_with_the_host(qtbot: QtBot, tmp_path: Path, server: Server) -> None:
    keys = KeyStore(tmp_path / "config", use_keyring=False)
    tasks = TaskGroup()
    view = ServersView([], keys, tasks, lambda: False)
    qtbot.addWidget(view)
    view.url.setText(server.url)
    view.key.setText("sekret")
    with qtbot.waitSignal(view.servers_changed) as changed:
        view.add_button.click()
    assert changed.args == [[server.url]]
    qtbot.waitUntil(lambda: view.models.get(server.url) == server.models, timeout=30_000)
    assert keys.get(server.url) == "sekret" and (keys.path.stat().st_mode & 0o777) == 0o600
    use = [b for b in view.findChildren(type(view.add_button)) if b.objectName() == "useRemoteModel"]
    assert len(use) == 1 and f"127.0.0.1:{server.port}" in use[0].accessibleName()
    with qtbot.waitSignal(view.use_requested) as used:
        use[0].click()
    assert used.args == [server.url, server.models[0]]
    view.url.setText("http://192.168.1.20:8080")
    assert "leave this computer" in view.warning.text() and "not encrypted" in view.warning.text()
    tasks.close()


def test_the_badge_for_a_server_on_another_computer() -> None:
    assert badge_words(remote_plan(RemoteServer.parse("https://box.lan:8443/v1"), "m")) == \
        "Runs on box.lan:8443: your messages leave this computer"
    assert "unencrypted" in badge_words(remote_plan(RemoteServer.parse("http://10.0.0.2:8080"), "m"))
    assert badge_words(remote_plan(RemoteServer.parse("http://localhost:8080"), "m")) == ""
    assert badge_words(LoadPlan("/models/a.gguf")) == ""
