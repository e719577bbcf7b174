"""The top-level window of a launched Hearth: shown before the rest of Hearth is imported, so the window is on screen
at once, then holding the main window for the rest of the run.

At launch the frame shows the window's shape in the theme's colours (the side list's column and the chat's area,
no words) for the moment it takes to import and build the app; then it adopts the ``MainWindow`` as its content.
Tests, the screenshot tool and benchmarks that build the app with ``build_app`` show the ``MainWindow`` on its own:
it works the same inside the frame and as a window of its own.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QCloseEvent, QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QMainWindow, QWidget

import hearth
from hearth.ui.shell.theme import Theme

WINDOW_SIZE = (1240, 820)
SIDEBAR_WIDTH = 270  # the main window's side list at its start-up width


class _Outline(QWidget):
    """The main window's shape, before it exists: the side list's column and the chat's area."""

    def __init__(self, theme: Theme) -> None:
        super().__init__()
        self.setObjectName("windowOutline")
        self._palette = theme.palette

    def paintEvent(self, event: QPaintEvent) -> None:
        p = self._palette
        painter = QPainter(self)
        rect = self.rect()
        painter.fillRect(rect, QColor(p.window))
        painter.fillRect(0, 0, SIDEBAR_WIDTH, rect.height(), QColor(p.sidebar))
        painter.fillRect(SIDEBAR_WIDTH, 0, 1, rect.height(), QColor(p.border))
        painter.end()


class WindowFrame(QMainWindow):
    """Hearth's top-level window when launched.

    Signals:
        first_painted(): the frame has been painted once (launch builds the app after this).
    """

    first_painted = Signal()

    def __init__(self, theme: Theme) -> None:
        super().__init__()
        self.setWindowTitle(hearth.APP_NAME)
        self.setObjectName("windowFrame")
        self.resize(*WINDOW_SIZE)
        self.content: QWidget | None = None
        self._painted = False
        outline = _Outline(theme)
        outline.installEventFilter(self)
        self.setCentralWidget(outline)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self._painted and event.type() == QEvent.Type.Paint:
            self._painted = True
            self.first_painted.emit()
        return False

    def adopt(self, content: QWidget) -> None:
        """Hold ``content`` (the main window) in place of the outline, which is deleted."""
        self.content = content
        outline = self.takeCentralWidget()
        self.setCentralWidget(content)  # reparents it: a window of its own becomes this frame's child
        if outline is not None:
            outline.deleteLater()

    def closeEvent(self, event: QCloseEvent) -> None:
        # The content's own close handling (stopping an answer, purging deleted chats) runs first; when it refuses,
        # the window stays open.
        if self.content is not None and self.content.isVisible() and not self.content.close():
            event.ignore()
            return
        super().closeEvent(event)
