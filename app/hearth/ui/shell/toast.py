"""A short message over the bottom of the window, with an optional action ("Undo"), that goes away by itself."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class Toast(QFrame):
    """Signals:
    action_clicked(str): the action's label, when the user clicks it.
    """

    action_clicked = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("toast")
        self.setAccessibleName("Notification")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 8, 8, 8)
        layout.setSpacing(12)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.button = QPushButton()
        self.button.setObjectName("toastAction")
        self.button.clicked.connect(self._on_button_clicked)
        layout.addWidget(self.button)
        close = QPushButton("✕")
        close.setObjectName("toastClose")
        close.setAccessibleName("Dismiss")
        close.setFlat(True)
        close.clicked.connect(self.hide)
        layout.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        parent.installEventFilter(self)
        self.hide()

    def show_message(self, text: str, action: str = "", seconds: float = 6.0) -> None:
        self.label.setText(text)
        self.button.setText(action)
        self.button.setVisible(bool(action))
        self.adjustSize()
        self._place()
        self.show()
        self.raise_()
        self._timer.start(int(seconds * 1000))

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()  # hidden by its close button, or with the window: nothing left to time
        super().hideEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parent() and event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        parent = self.parentWidget()
        if parent is None:
            return
        width = min(560, parent.width() - 40)
        self.setFixedWidth(max(200, width))
        self.adjustSize()
        self.move((parent.width() - self.width()) // 2, parent.height() - self.height() - 48)

    @Slot()
    def _on_button_clicked(self) -> None:
        self._timer.stop()
        self.hide()
        self.action_clicked.emit(self.button.text())
