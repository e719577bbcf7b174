"""A scrolling column of readable width for the Models page's tabs (content centred, at most ~1,000 px wide)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QWidget

MAX_WIDTH = 1040


def scrolled(content: QWidget, max_width: int = MAX_WIDTH) -> QScrollArea:
    """``content`` in a vertical scroll area, centred and no wider than ``max_width``."""
    area = QScrollArea()
    area.setObjectName("modelsScroll")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    holder = QWidget()
    holder.setObjectName("modelsColumn")
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 12, 0, 28)
    content.setMaximumWidth(max_width)
    layout.addStretch(1)
    layout.addWidget(content, 100)
    layout.addStretch(1)
    area.setWidget(holder)
    return area
