"""The chat header's system-prompt picker: built-in presets, the user's own, and "Custom instructions…" (write one,
optionally save it as a preset). The choice applies to the conversation on screen from its next answer on."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hearth.core.chat.presets import NO_PRESET, Preset, all_presets
from hearth.core.errors import HearthError
from hearth.core.store import Store

CUSTOM_LABEL = "Custom instructions"


class PresetDialog(QDialog):
    """Write a system prompt; optionally keep it as a preset under a name."""

    def __init__(self, system_prompt: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Instructions for this chat")
        self.setObjectName("presetDialog")
        layout = QVBoxLayout(self)
        intro = QLabel("The model follows these instructions in every answer of this chat (a system prompt).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.editor = QPlainTextEdit(system_prompt)
        self.editor.setAccessibleName("Instructions")
        self.editor.setPlaceholderText("For example: Answer like a friendly pharmacist. Keep answers short.")
        self.editor.setMinimumSize(460, 140)
        layout.addWidget(self.editor)
        self.save_box = QCheckBox("Save as a preset named")
        self.name = QLineEdit()
        self.name.setAccessibleName("Preset name")
        self.name.setPlaceholderText("My preset")
        self.name.setEnabled(False)
        self.save_box.toggled.connect(self.name.setEnabled)
        layout.addWidget(self.save_box)
        layout.addWidget(self.name)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class PresetPicker(QToolButton):
    """A header button that shows the chat's preset and opens the list.

    Signals:
        chosen(str, str): a system prompt was picked (its text, and the preset's name or "" for the user's own).
        failed(str): a preset could not be saved (the reason in words).
    """

    chosen = Signal(str, str)
    failed = Signal(str)

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self.setObjectName("presetButton")
        self.setAccessibleName("Instructions for this chat")
        self.setToolTip("Instructions for this chat (system prompt and presets)")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.menu_ = QMenu(self)
        self.menu_.setObjectName("presetMenu")
        self.menu_.aboutToShow.connect(self._on_menu_about_to_show)
        self.setMenu(self.menu_)
        self._prompt = ""
        self._preset = ""
        self.dialog_factory = PresetDialog
        self.set_current("", "")

    def set_current(self, system_prompt: str, preset: str) -> None:
        """Show the chat's current instructions on the button."""
        self._prompt, self._preset = system_prompt, preset
        if preset:
            label = preset
        elif system_prompt.strip():
            label = CUSTOM_LABEL
        else:
            label = NO_PRESET.name
        self.setText(f"{label}  ▾")
        self.setToolTip(system_prompt.strip() or "No special instructions. Click to choose a preset.")

    def build_menu(self) -> list[QAction]:
        """Fill the menu (done each time it opens, so new presets show); returns the preset actions."""
        self.menu_.clear()
        actions = []
        presets = all_presets(self._store)
        group = QActionGroup(self.menu_)
        group.setExclusive(True)
        previous: Preset | None = None
        for preset in presets:
            if previous is not None and (previous is NO_PRESET or previous.builtin != preset.builtin):
                self.menu_.addSeparator()
            previous = preset
            # The description goes in the menu's right-hand column (where shortcuts usually are).
            action = self.menu_.addAction(f"{preset.name}\t{preset.description}" if preset.description
                                          else preset.name)
            action.setActionGroup(group)
            action.setCheckable(True)
            action.setChecked(preset.name == self._preset or (preset is NO_PRESET and not self._prompt.strip()))
            action.setToolTip(preset.description or preset.system_prompt)
            action.setStatusTip(preset.description)
            action.setData(preset.name)
            action.triggered.connect(self._on_preset_triggered)
            actions.append(action)
        self.menu_.addSeparator()
        custom = self.menu_.addAction(f"{CUSTOM_LABEL}…")
        custom.setObjectName("customInstructions")
        custom.triggered.connect(self._on_custom_triggered)
        if self._preset and not any(p.builtin and p.name == self._preset for p in presets):
            remove = self.menu_.addAction(f"Delete the preset “{self._preset}”")
            remove.triggered.connect(self._on_delete_triggered)
        return actions

    def preset(self, name: str) -> Preset | None:
        return next((p for p in all_presets(self._store) if p.name == name), None)

    @Slot()
    def _on_menu_about_to_show(self) -> None:
        self.build_menu()

    @Slot()
    def _on_preset_triggered(self) -> None:
        action = self.sender()
        if not isinstance(action, QAction):
            return
        preset = self.preset(str(action.data()))
        if preset is None:
            return
        name = "" if preset is NO_PRESET else preset.name
        self.set_current(preset.system_prompt, name)
        self.chosen.emit(preset.system_prompt, name)

    @Slot()
    def _on_custom_triggered(self) -> None:
        dialog = self.dialog_factory(self._prompt, self.window())
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        text = dialog.editor.toPlainText().strip()
        name = ""
        if dialog.save_box.isChecked():
            try:
                name = self._store.presets.save(dialog.name.text() or "My preset", text).name
            except HearthError as exc:
                self.failed.emit(f"{exc.message} {exc.hint}".strip())
        self.set_current(text, name)
        self.chosen.emit(text, name)

    @Slot()
    def _on_delete_triggered(self) -> None:
        self._store.presets.delete(self._preset)
        self.set_current(self._prompt, "")
        self.chosen.emit(self._prompt, "")
