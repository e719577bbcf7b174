"""Themes: light/dark palettes, following the OS scheme, manual override, zoom, and the chat view redrawn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from hearth.core.store import Role
from hearth.ui.chat.message_types import MessageView
from hearth.ui.chat.view import ChatView
from hearth.ui.shell.theme import DARK, LIGHT, ThemeController, apply_theme, resolve_theme


@pytest.fixture
def os_scheme(qapp: QApplication) -> Iterator[None]:
    """Restore the application's look after a test that changes it."""
    yield
    apply_theme(qapp, resolve_theme("light"))


def test_manual_modes_pick_their_palette(qapp: QApplication) -> None:
    assert resolve_theme("light").palette is LIGHT
    assert resolve_theme("dark").palette is DARK
    theme = resolve_theme("dark", zoom=1.25)
    assert theme.font_pt == pytest.approx(11.0 * 1.25)
    assert theme.font().pointSizeF() == pytest.approx(theme.font_pt)
    assert theme.sans_family and theme.mono_family
    style = theme.render_style()
    assert style.code_bg == DARK.code_bg and style.pygments_style == "github-dark"
    assert style.base_pt == pytest.approx(theme.font_pt)


def test_apply_theme_sets_the_application_palette(qapp: QApplication, os_scheme: None) -> None:
    apply_theme(qapp, resolve_theme("dark"))
    assert qapp.palette().color(QPalette.ColorRole.Window) == QColor(DARK.window)
    assert qapp.palette().color(QPalette.ColorRole.Text) == QColor(DARK.text)
    assert "QScrollBar" in qapp.styleSheet()


def test_system_mode_follows_the_os(qapp: QApplication, qtbot: QtBot, os_scheme: None) -> None:
    # The offscreen platform has no OS theme to switch, so the test plays the OS and announces the change.
    hints = QGuiApplication.styleHints()
    controller = ThemeController(qapp, mode="system")
    with qtbot.waitSignal(controller.theme_changed) as blocker:
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert blocker.args[0].palette is DARK
    assert qapp.palette().color(QPalette.ColorRole.Window) == QColor(DARK.window)
    with qtbot.waitSignal(controller.theme_changed) as blocker:
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert blocker.args[0].palette is LIGHT
    controller.set_mode("dark")  # a manual choice wins over the OS
    assert controller.theme.palette is DARK
    with qtbot.assertNotEmitted(controller.theme_changed):
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert controller.theme.palette is DARK
    controller.deleteLater()


def test_zoom_steps(qapp: QApplication, qtbot: QtBot, os_scheme: None) -> None:
    controller = ThemeController(qapp, mode="light")
    with qtbot.waitSignal(controller.theme_changed):
        controller.zoom_in()
    assert controller.theme.zoom == pytest.approx(1.1)
    controller.zoom_out()
    controller.zoom_out()
    assert controller.theme.zoom == pytest.approx(0.9)
    controller.deleteLater()


def test_zooming_the_chat_view_enlarges_its_text(qtbot: QtBot) -> None:
    view = ChatView(resolve_theme("light"))
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    view.set_messages([MessageView(1, Role.ASSISTANT, "Some text " * 80)])
    message = view.message_widget(1)
    assert message is not None
    before = message.body.view.height()
    view.set_theme(resolve_theme("light", zoom=1.5))
    bigger = view.message_widget(1)
    assert bigger is not None
    assert bigger.body.view.document().defaultFont().pointSizeF() == pytest.approx(16.5)
    qtbot.waitUntil(lambda: bigger.body.view.height() > before * 1.3)
