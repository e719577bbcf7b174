"""Small building blocks shared by the Models page and the first-run wizard: labels with a style role, buttons,
badges, verdict chips, and the words for durations and speeds (sizes: ``hearth.core.units``).

Styling lives in ``window_style`` (object names and the ``role``/``kind`` properties set here); this module only
builds widgets and words.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from hearth.core.machine.hardware import Hardware
from hearth.core.models.planning.planner import VERDICT_WORDS, usable_ram, usable_vram
from hearth.core.units import format_size

VERDICT_OBJECT = {"fits_well": "verdictGood", "fits_slow": "verdictSlow", "does_not_fit": "verdictNo",
                  "unknown": "verdictUnknown"}


def text_label(text: str = "", role: str = "", *, wrap: bool = False, selectable: bool = False) -> QLabel:
    """A label; ``role`` ("heading", "title", "muted", "small", "error", "mono") picks its style."""
    label = QLabel(text)
    if role:
        label.setProperty("role", role)
    label.setWordWrap(wrap)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def button(text: str, kind: str = "secondary", *, accessible: str = "", tooltip: str = "") -> QPushButton:
    """A button; ``kind`` is "primary" (filled accent), "secondary" (outlined), "flat" (text only) or "danger"."""
    b = QPushButton(text)
    b.setProperty("kind", kind)
    b.setCursor(Qt.CursorShape.PointingHandCursor)
    b.setAccessibleName(accessible or text)
    if tooltip:
        b.setToolTip(tooltip)
    return b


def badge(text: str, kind: str = "plain") -> QLabel:
    """A small pill ("Vision", "Default", "Loaded", "Recommended")."""
    label = QLabel(text)
    label.setObjectName("badge")
    label.setProperty("kind", kind)
    return label


def avatar(name: str, size: int = 36) -> QLabel:
    """A rounded square with the model family's initial, like an app icon."""
    label = QLabel(next((c for c in name if c.isalnum()), "?").upper())
    label.setObjectName("modelAvatar")
    label.setFixedSize(size, size)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setAccessibleName("")
    return label


def verdict_chip(verdict: str) -> QLabel:
    words = VERDICT_WORDS.get(verdict, "not checked yet")
    chip = QLabel(f"●  {words[0].upper()}{words[1:]}")
    chip.setObjectName(VERDICT_OBJECT.get(verdict, "verdictUnknown"))
    chip.setAccessibleName(f"Verdict: {words}")
    return chip


def card(object_name: str = "modelCard") -> QFrame:
    frame = QFrame()
    frame.setObjectName(object_name)
    frame.setFrameShape(QFrame.Shape.NoFrame)
    return frame


def with_avatar(frame: QWidget, name: str) -> QVBoxLayout:
    """The card's layout: the model's initial on the left, a column for its content (returned) on the right."""
    outer = QHBoxLayout(frame)
    outer.setContentsMargins(18, 16, 18, 14)
    outer.setSpacing(14)
    outer.addWidget(avatar(name), 0, Qt.AlignmentFlag.AlignTop)
    column = QVBoxLayout()
    column.setSpacing(6)
    outer.addLayout(column, 1)
    return column


def row(*widgets: QWidget | None, stretch_at: int | None = None, spacing: int = 8) -> QHBoxLayout:
    """A horizontal layout of ``widgets``; a stretch goes before index ``stretch_at`` (None: at the end)."""
    layout = QHBoxLayout()
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(spacing)
    for i, w in enumerate(widgets):
        if i == stretch_at:
            layout.addStretch(1)
        if w is not None:
            layout.addWidget(w)
    if stretch_at is None:
        layout.addStretch(1)
    return layout


# --- words -----------------------------------------------------------------------------------------------------------

def duration_words(seconds: float | None) -> str:
    """"about 12 min left", "2 h 5 min left"."""
    if seconds is None:
        return ""
    s = int(seconds)
    if s < 60:
        return "less than a minute left"
    if s < 3600:
        return f"about {s // 60} min left"
    return f"about {s // 3600} h {s // 60 % 60} min left"


def tokens_words(tps: float | None) -> str:
    if tps is None:
        return ""
    return f"~{tps:.0f} tokens/s" if tps >= 2 else f"~{tps:.1f} tokens/s"


def speed_range_words(speeds: tuple[float, float] | None, calibrated: bool = False) -> str:
    """An estimated speed as the range it may fall in: "28–46 tokens/s" (and "measured here" once calibrated)."""
    if speeds is None:
        return ""
    low, high = speeds
    text = "–".join(f"{x:.0f}" if x >= 10 else f"{x:.2g}" for x in (low, high)) + " tokens/s"
    return f"{text} (measured here)" if calibrated else text


def hardware_facts(hw: Hardware) -> list[tuple[str, str]]:
    """What the machine has, as (what, words) pairs for a summary."""
    ram = f"{format_size(hw.ram_total)} ({format_size(usable_ram(hw))} usable for a model)"
    if hw.unified_memory and hw.gpus:
        gpu = f"{hw.gpus[0].name} (unified memory)"
    elif hw.gpus:
        names = ", ".join(g.name for g in hw.gpus)
        gpu = f"{names}, {format_size(hw.vram_total)} of video memory"
        if not hw.can_offload:
            gpu += " (this build of Hearth cannot use it)"
        elif usable_vram(hw):
            gpu += f" ({format_size(usable_vram(hw))} usable)"
    else:
        gpu = "None found: models run on the CPU"
    cpu = hw.cpu
    cores = f"{cpu.physical_cores} cores" if cpu.physical_cores else f"{cpu.logical_cores} threads"
    facts = [("Memory", ram), ("Graphics", gpu), ("Processor", f"{cpu.model} · {cores} · {cpu.feature_summary}")]
    if hw.disk_free is not None:
        facts.append(("Free disk", f"{format_size(hw.disk_free)} in the models folder"))
    return facts


def hardware_line(hw: Hardware) -> str:
    """The machine in one line for the Models page's header."""
    parts = [f"{format_size(hw.ram_total)} RAM"]
    if hw.gpus:
        parts.append(hw.gpus[0].name if hw.unified_memory else f"{hw.gpus[0].name} · {format_size(hw.vram_total)}")
    else:
        parts.append("no GPU")
    parts.append(hw.cpu.feature_summary)
    if hw.disk_free is not None:
        parts.append(f"{format_size(hw.disk_free)} free")
    label = f"{hw.label}: " if hw.label else "This computer: "
    return label + " · ".join(parts)
