"""The real app for the window's tests, built by ``build_app`` like ``hearth`` builds it: the real engine, store,
session, Models page and main window, with a fixed load plan (a small context, the planner's choice is not what these
tests are about), the test's sampling settings and its answers to the app's questions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QScrollArea, QWidget
from pytestqt.qtbot import QtBot

from hearth.core.engine import EngineApi
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.paths import AppPaths
from hearth.core.settings import Settings
from hearth.core.store import Store
from hearth.core.tools.approval import ApprovalRequest, Decision
from hearth.ui.app import AppSeams, HearthApp, build_app
from hearth.ui.chat.composer import Composer
from hearth.ui.chat.controller import ChatController
from hearth.ui.chat.tool_approval import AskTool
from hearth.ui.chat.view import ChatView
from hearth.ui.engine_bridge import EngineBridge
from hearth.ui.model_session import ModelSession, ModelState
from hearth.ui.shell.dialogs import Ask, AskPassword
from hearth.ui.shell.main_window import MainWindow


@dataclass
class Harness:
    app: HearthApp
    params: list[SamplingParams]

    @property
    def window(self) -> MainWindow:
        return self.app.window

    @property
    def store(self) -> Store:
        return self.app.store

    @property
    def session(self) -> ModelSession:
        return self.app.session

    @property
    def bridge(self) -> EngineBridge:
        return self.app.bridge

    @property
    def controller(self) -> ChatController:
        return self.window.controller

    def send(self, qtbot: QtBot, text: str) -> None:
        qtbot.keyClicks(self.window.composer.editor, text)
        with qtbot.waitSignal(self.controller.busy_changed, timeout=60_000):
            qtbot.keyClick(self.window.composer.editor, Qt.Key.Key_Return)
        # The message and its answer are written by a worker: back once the answer started (or nothing goes on).
        qtbot.waitUntil(self.attachments_read, timeout=120_000)

    def wait_idle(self, qtbot: QtBot) -> None:
        qtbot.waitUntil(lambda: not self.controller.busy, timeout=120_000)

    def attachments_read(self) -> bool:
        """The message's attachments are read (or refused): its answer started, or nothing is going on."""
        return self.controller.streaming_message_id is not None or not self.controller.busy

    def shown_answer(self) -> str:
        """The text the chat view shows of the answer being written ("" when none is)."""
        answer = self.controller.streaming_message_id
        widget = self.window.chat_view.message_widget(answer) if answer is not None else None
        return widget.streamed_text if widget is not None else ""

    def close(self) -> None:
        self.window.close()
        self.app.shutdown()


def qt_app() -> QApplication:
    """The test session's QApplication (pytest-qt's ``qapp``)."""
    qapp = QApplication.instance()
    assert isinstance(qapp, QApplication)
    return qapp


def app_paths(tmp_path: Path) -> AppPaths:
    """Where ``build`` keeps the app's settings and data for a test (a test may write settings there first)."""
    return AppPaths.under(tmp_path / "app").ensure()


def _no_tool_calls(_parent: QWidget, request: ApprovalRequest) -> Decision:
    raise AssertionError(f"unexpected tool approval question: {request.tool}")


def _no_questions(_parent: QWidget, title: str, text: str) -> bool:
    raise AssertionError(f"unexpected question: {title}: {text}")


def _no_password(_parent: QWidget, title: str, text: str) -> str | None:
    raise AssertionError(f"unexpected password question: {title}: {text}")


def build(qtbot: QtBot, tmp_path: Path, model: Path | None, store: Store | None = None,
          mmproj: Path | None = None, n_ctx: int = 2048, ask: Ask = _no_questions,
          password: AskPassword = _no_password, n_threads: int | None = None,
          engine: EngineApi | None = None, ask_tool: AskTool | None = None) -> Harness:
    """The app on ``store`` (default: a new one in ``tmp_path``), its window shown, ``model`` loaded (None: none);
    ``engine`` replaces the real one (e.g. a ``FakeEngineClient``); ``ask_tool`` answers the tool approval dialog
    (default: no tool call expected). The app's settings live under ``app_paths(tmp_path)``."""
    paths = app_paths(tmp_path)
    store = store or Store.open(tmp_path / "hearth.db")
    # The loop guard is off: tests of the window need a model that writes to the token limit (the base model
    # loops, and the guard would end its answers early); tests/ui/test_answers.py tests the guarded defaults.
    params = [SamplingParams(loop_guard=False, temperature=0.0, max_tokens=24, seed=1)]

    def plan_for(path: Path) -> LoadPlan:
        plan = LoadPlan(str(path), n_ctx=n_ctx, summary="CPU", mmproj_path=str(mmproj) if mmproj else None)
        return plan.with_changes(n_threads=n_threads) if n_threads else plan

    def sampling() -> SamplingParams:
        return params[0]

    app = build_app(qt_app(), paths, Settings(), store,
                    seams=AppSeams(engine=engine, plan_for=plan_for, sampling=sampling, ask=ask, password=password,
                                   ask_tool=ask_tool or _no_tool_calls))
    qtbot.addWidget(app.window)
    app.window.show()
    if model is not None:
        app.session.load(model)
        qtbot.waitUntil(lambda: app.session.state is ModelState.READY, timeout=60_000)
    return Harness(app, params)


def chat_scroll_area(view: ChatView) -> QScrollArea:
    """The chat view's scroll area (by its object name)."""
    area = view.findChild(QScrollArea, "chatScroll")
    assert area is not None
    return area


def composer_reason(composer: Composer) -> QLabel:
    """The line that says why the composer cannot send (by its object name)."""
    label = composer.findChild(QLabel, "composerReason")
    assert label is not None
    return label
