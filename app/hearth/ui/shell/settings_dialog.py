"""Settings: appearance, chat, privacy and storage for the app; placement and sampling for the current model;
tools."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from hearth.core.engine.plan import LoadPlan
from hearth.core.errors import HearthError
from hearth.core.models.library.model_settings import ModelSettings
from hearth.core.models.library.names import model_display_name
from hearth.core.models.library.recommended import recommended_sampling
from hearth.core.models.planning.context import ContextChoices
from hearth.core.settings import Settings
from hearth.core.tools.config import ToolsConfig
from hearth.ui.shell.api_server import LAN_WARNING
from hearth.ui.shell.context_table import ContextTable
from hearth.ui.shell.tools_settings import ToolsTab
from hearth.ui.tasks import BackgroundTask

_AUTO = -999  # spin-box value meaning "as recommended"


def _spin(minimum: int, maximum: int, auto_text: str = "Recommended") -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setSpecialValueText(auto_text)
    return box


def _dspin(minimum: float, maximum: float, step: float, decimals: int = 2) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    return box


class _ModelTab(QWidget):
    """Context, placement and sampling for one model, over the planner's recommendation."""

    def __init__(self, model_path: str | None, plan: LoadPlan | None, settings: ModelSettings,
                 context_choices: Callable[[], ContextChoices] | None = None) -> None:
        super().__init__()
        self._plan = plan
        self._context_task: BackgroundTask[ContextChoices, object] | None = None
        layout = QVBoxLayout(self)
        if model_path is None:
            layout.addWidget(QLabel("Load a model to change its settings."))
            layout.addStretch(1)
            self.available = False
            return
        self.available = True
        title = QLabel(f"<b>{html.escape(model_display_name(model_path))}</b>")
        title.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(title)
        if plan is not None:
            recommended = QLabel(f"Recommended: {plan.summary}, context {plan.n_ctx:,} tokens.")
            recommended.setWordWrap(True)
            layout.addWidget(recommended)
        form = QFormLayout()
        self.n_ctx = _spin(0, 10_000_000)
        self.n_ctx.setSingleStep(1024)
        self.n_ctx.setAccessibleName("Context size")
        form.addRow("Context size (tokens)", self.n_ctx)
        self.gpu_layers = _spin(-2, 999)
        self.gpu_layers.setAccessibleName("GPU layers")
        self.gpu_layers.setToolTip("-1 puts every layer on the GPU")
        form.addRow("GPU layers", self.gpu_layers)
        self.experts = QComboBox()
        self.experts.setAccessibleName("Expert placement")
        for label, value in (("Recommended", "auto"), ("All experts in RAM (--cpu-moe)", "cpu"),
                             ("Experts with their layers", "gpu"), ("First N layers' experts in RAM", "first")):
            self.experts.addItem(label, value)
        self.first_n = QSpinBox()
        self.first_n.setRange(1, 999)
        self.first_n.setAccessibleName("Layers whose experts stay in RAM")
        experts_row = QHBoxLayout()
        experts_row.addWidget(self.experts, 1)
        experts_row.addWidget(self.first_n)
        self.experts.currentIndexChanged.connect(self._on_experts_current_index_changed)
        form.addRow("Mixture-of-experts", experts_row)
        self.threads = _spin(0, 512)
        self.threads.setAccessibleName("CPU threads")
        form.addRow("CPU threads", self.threads)
        self.flash_attn = QComboBox()
        self.flash_attn.setAccessibleName("Flash attention")
        for label, value in (("Automatic (llama.cpp decides)", "auto"), ("On", "on"), ("Off", "off")):
            self.flash_attn.addItem(label, value)
        form.addRow("Flash attention", self.flash_attn)
        self.kv_type = QComboBox()
        self.kv_type.setAccessibleName("KV cache type")
        for label, value in (("Automatic (16-bit; 8-bit when only that fits)", "auto"), ("16-bit (f16)", "f16"),
                             ("8-bit (q8_0): about half the memory", "q8_0"),
                             ("4-bit (q4_0): about a quarter, answers may suffer", "q4_0")):
            self.kv_type.addItem(label, value)
        self.kv_type.setToolTip("The model's memory of the conversation. A quantized cache needs flash attention "
                                "for its values: with flash attention off, values stay 16-bit.")
        form.addRow("KV cache", self.kv_type)
        self.speculative = QComboBox()
        self.speculative.setAccessibleName("Drafting ahead")
        for label, value in (("Automatic (prompt lookup when a document or code is attached)", "auto"),
                             ("Prompt lookup, always", "lookup"), ("Off", "off"), ("A draft model", "draft")):
            self.speculative.addItem(label, value)
        self.speculative.setToolTip("Guesses the next tokens cheaply and lets the model check them in one step: "
                                    "faster answers, the same text.")
        self.draft_model = QLineEdit()
        self.draft_model.setAccessibleName("Draft model")
        self.draft_model.setPlaceholderText("A small GGUF with the same tokenizer")
        draft_browse = QPushButton("Choose…")
        draft_browse.clicked.connect(self._on_draft_browse_clicked)
        draft_row = QHBoxLayout()
        draft_row.addWidget(self.speculative, 1)
        draft_row.addWidget(self.draft_model, 1)
        draft_row.addWidget(draft_browse)
        self.speculative.currentIndexChanged.connect(self._on_speculative_current_index_changed)
        form.addRow("Drafting ahead", draft_row)
        self.system_prompt = QPlainTextEdit()
        self.system_prompt.setAccessibleName("System prompt")
        recommendation = recommended_sampling(model_path)
        self.system_prompt.setPlaceholderText(
            f"Recommended (used when this is empty): {recommendation.system_prompt}" if recommendation.system_prompt
            else "Instructions the model follows in every new chat (optional)")
        self.system_prompt.setFixedHeight(80)
        form.addRow("System prompt", self.system_prompt)
        advised = recommendation.params
        source = QLabel(f"Sampling marked “Recommended” comes from {recommendation.source}.")
        source.setObjectName("mutedLabel")
        source.setWordWrap(True)
        form.addRow("", source)
        self.temperature = _dspin(-0.01, 2.0, 0.05)
        self.temperature.setSpecialValueText(f"Recommended ({advised.temperature})")
        self.top_p = _dspin(-0.01, 1.0, 0.05)
        self.top_p.setSpecialValueText(f"Recommended ({advised.top_p})")
        self.top_k = _spin(-1, 1000, f"Recommended ({advised.top_k})")
        self.min_p = _dspin(-0.001, 1.0, 0.01, decimals=3)
        self.min_p.setSpecialValueText(f"Recommended ({advised.min_p})")
        self.repeat_penalty = _dspin(0.99, 2.0, 0.05)
        self.repeat_penalty.setSpecialValueText(f"Recommended ({advised.repeat_penalty})")
        self.max_tokens = _spin(0, 1_000_000, f"Recommended ({advised.max_tokens})")
        self.seed = _spin(-1, 2_000_000_000, "Random")
        self.dry = _dspin(-0.01, 5.0, 0.1)
        self.dry.setSpecialValueText(f"Recommended ({advised.dry_multiplier})")
        self.dry.setToolTip("How strongly the model is kept from repeating what it already wrote (DRY; 0 turns "
                            "it off)")
        self.loop_guard = QComboBox()
        guard_choices: tuple[tuple[str, bool | None], ...] = (
            (f"Recommended ({'on' if advised.loop_guard else 'off'})", None),
            ("On: end an answer that repeats itself", True), ("Off", False))
        for text, choice in guard_choices:
            self.loop_guard.addItem(text, choice)
        for label, widget in (("Temperature", self.temperature), ("Top P", self.top_p), ("Top K", self.top_k),
                              ("Min P", self.min_p), ("Repeat penalty", self.repeat_penalty),
                              ("Repetition guard", self.dry), ("Stop loops", self.loop_guard),
                              ("Max answer tokens", self.max_tokens), ("Seed", self.seed)):
            widget.setAccessibleName(label)
            form.addRow(label, widget)
        layout.addLayout(form)
        self.contexts = ContextTable()
        self.contexts.chosen.connect(self._on_contexts_chosen)
        layout.addWidget(self.contexts)
        if context_choices is not None:
            self._context_task = BackgroundTask(lambda _report: context_choices(), parent=self,
                                                name="context sizes") \
                .success(self._on_context_task_finished).failure(self._on_context_task_failed).run_in_background()
        else:
            self.contexts.hide()
        self.reset = QPushButton("Reset to recommended")
        self.reset.clicked.connect(self._on_reset_clicked)
        layout.addWidget(self.reset, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        self.set_values(settings)

    def set_values(self, s: ModelSettings) -> None:
        self.n_ctx.setValue(s.n_ctx or 0)
        self.gpu_layers.setValue(-2 if s.n_gpu_layers is None else s.n_gpu_layers)
        if s.expert_placement.startswith("first:"):
            self.experts.setCurrentIndex(self.experts.findData("first"))
            self.first_n.setValue(int(s.expert_placement.split(":", 1)[1] or 1))
        else:
            self.experts.setCurrentIndex(max(0, self.experts.findData(s.expert_placement)))
        self.first_n.setEnabled(self.experts.currentData() == "first")
        self.threads.setValue(s.n_threads or 0)
        self.flash_attn.setCurrentIndex(max(0, self.flash_attn.findData(s.flash_attn)))
        self.kv_type.setCurrentIndex(max(0, self.kv_type.findData(s.kv_type)))
        self.speculative.setCurrentIndex(max(0, self.speculative.findData(s.speculative)))
        self.draft_model.setText(s.draft_model)
        self.draft_model.setEnabled(s.speculative == "draft")
        self.system_prompt.setPlainText(s.system_prompt)
        self.temperature.setValue(-0.01 if s.temperature is None else s.temperature)
        self.top_p.setValue(-0.01 if s.top_p is None else s.top_p)
        self.top_k.setValue(-1 if s.top_k is None else s.top_k)
        self.min_p.setValue(-0.001 if s.min_p is None else s.min_p)
        self.repeat_penalty.setValue(0.99 if s.repeat_penalty is None else s.repeat_penalty)
        self.max_tokens.setValue(s.max_tokens or 0)
        self.seed.setValue(-1 if s.seed is None else s.seed)
        self.dry.setValue(-0.01 if s.dry_multiplier is None else s.dry_multiplier)
        self.loop_guard.setCurrentIndex({None: 0, True: 1, False: 2}[s.loop_guard])

    def values(self) -> ModelSettings:
        placement = str(self.experts.currentData())
        if placement == "first":
            placement = f"first:{self.first_n.value()}"
        return ModelSettings(
            n_ctx=self.n_ctx.value() or None,
            n_gpu_layers=None if self.gpu_layers.value() == -2 else self.gpu_layers.value(),
            expert_placement=placement,
            n_threads=self.threads.value() or None,
            flash_attn=str(self.flash_attn.currentData()),
            kv_type=str(self.kv_type.currentData()),
            speculative=str(self.speculative.currentData()),
            draft_model=self.draft_model.text().strip(),
            system_prompt=self.system_prompt.toPlainText().strip(),
            temperature=None if self.temperature.value() < 0 else self.temperature.value(),
            top_p=None if self.top_p.value() < 0 else self.top_p.value(),
            top_k=None if self.top_k.value() < 0 else self.top_k.value(),
            min_p=None if self.min_p.value() < 0 else self.min_p.value(),
            repeat_penalty=None if self.repeat_penalty.value() < 1 else self.repeat_penalty.value(),
            max_tokens=self.max_tokens.value() or None,
            seed=None if self.seed.value() < 0 else self.seed.value(),
            dry_multiplier=None if self.dry.value() < 0 else self.dry.value(),
            loop_guard=self.loop_guard.currentData(),
        )

    @Slot(int)
    def _on_experts_current_index_changed(self, _index: int) -> None:
        self.first_n.setEnabled(self.experts.currentData() == "first")

    @Slot()
    def _on_reset_clicked(self) -> None:
        self.set_values(ModelSettings())

    @Slot(int)
    def _on_speculative_current_index_changed(self, _index: int) -> None:
        self.draft_model.setEnabled(self.speculative.currentData() == "draft")

    @Slot()
    def _on_draft_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Draft model", self.draft_model.text(), "GGUF models (*.gguf)")
        if path:
            self.draft_model.setText(path)
            self.speculative.setCurrentIndex(self.speculative.findData("draft"))

    def _on_context_task_finished(self, choices: ContextChoices) -> None:
        self.contexts.set_choices(choices)

    def _on_context_task_failed(self, error: HearthError) -> None:
        self.contexts.set_error(error.message)

    @Slot(int, str)
    def _on_contexts_chosen(self, n_ctx: int, cache_type: str) -> None:
        """A cell of the context table picks that context size and cache type."""
        self.n_ctx.setValue(n_ctx)
        self.kv_type.setCurrentIndex(max(0, self.kv_type.findData(cache_type)))


class SettingsDialog(QDialog):
    """App settings and the current model's settings.

    Signals:
        settings_changed(Settings): the new settings.
        model_settings_changed(str, ModelSettings): model path and its new settings.
        tools_changed(ToolsConfig): the new tool settings (only with a Tools page).
    """

    settings_changed = Signal(Settings)
    model_settings_changed = Signal(str, ModelSettings)
    tools_changed = Signal(ToolsConfig)

    def __init__(
        self,
        settings: Settings,
        *,
        models_dir: Path,
        model_path: str | None = None,
        plan: LoadPlan | None = None,
        about_text: str = "",
        context_choices: Callable[[], ContextChoices] | None = None,
        tools_tab: ToolsTab | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._settings = settings
        self._model_path = model_path
        tabs = QTabWidget()
        tabs.addTab(self._general_tab(settings, models_dir), "General")
        self.model_tab = _ModelTab(model_path, plan, ModelSettings.from_dict(
            settings.model_overrides.get(model_path or "", {})), context_choices if model_path else None)
        model_scroll = QScrollArea()
        model_scroll.setWidgetResizable(True)
        model_scroll.setFrameShape(QFrame.Shape.NoFrame)
        model_scroll.setWidget(self.model_tab)
        tabs.addTab(model_scroll, "Model")
        tabs.addTab(self._api_tab(settings), "Local API server")
        self.tools_tab = tools_tab
        if tools_tab is not None:
            tabs.addTab(tools_tab, "Tools")
        about = QLabel(about_text or "Hearth")
        about.setWordWrap(True)
        about.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        about.setAlignment(Qt.AlignmentFlag.AlignTop)
        tabs.addTab(about, "About this computer")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_buttons_accepted)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(buttons)

    def _general_tab(self, s: Settings, models_dir: Path) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.theme = QComboBox()
        self.theme.setAccessibleName("Theme")
        for label, value in (("Follow the system", "system"), ("Light", "light"), ("Dark", "dark")):
            self.theme.addItem(label, value)
        self.theme.setCurrentIndex(max(0, self.theme.findData(s.theme)))
        form.addRow("Theme", self.theme)
        self.zoom = QSpinBox()
        self.zoom.setAccessibleName("Text size")
        self.zoom.setRange(70, 200)
        self.zoom.setSingleStep(10)
        self.zoom.setSuffix(" %")
        self.zoom.setValue(s.zoom)
        form.addRow("Text size", self.zoom)
        self.send_on_enter = QCheckBox("Enter sends, Shift+Enter adds a line (off: Ctrl+Enter sends)")
        self.send_on_enter.setChecked(s.send_on_enter)
        form.addRow("Sending", self.send_on_enter)
        self.offline = QCheckBox("Never connect to the internet (downloads and model search are off)")
        self.offline.setChecked(s.offline)
        form.addRow("Offline mode", self.offline)
        self.debug_logging = QCheckBox("Write detailed logs, including message text (stays on this computer)")
        self.debug_logging.setChecked(s.debug_logging)
        form.addRow("Debug logging", self.debug_logging)
        folder_row = QHBoxLayout()
        self.models_dir = QLineEdit(s.models_dir or str(models_dir))
        self.models_dir.setAccessibleName("Models folder")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._on_browse_clicked)
        folder_row.addWidget(self.models_dir, 1)
        folder_row.addWidget(browse)
        form.addRow("Models folder", folder_row)
        return page

    def _api_tab(self, s: Settings) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        about = QLabel("Let other apps on this computer (editors, scripts, notebooks) use the loaded model through an "
                       "OpenAI-compatible API. They need the API key, which the status bar's “API” button shows. "
                       "The window and the apps share the one model and take turns.")
        about.setWordWrap(True)
        layout.addWidget(about)
        form = QFormLayout()
        self.api_server = QCheckBox("Serve the loaded model to other apps")
        self.api_server.setChecked(s.api_server)
        form.addRow("Local API server", self.api_server)
        self.api_port = QSpinBox()
        self.api_port.setAccessibleName("API port")
        self.api_port.setRange(1024, 65535)
        self.api_port.setValue(s.api_port)
        form.addRow("Port", self.api_port)
        self.api_require_key = QCheckBox("Require the API key (recommended)")
        self.api_require_key.setChecked(s.api_require_key or s.api_lan)
        form.addRow("Key", self.api_require_key)
        self.api_lan = QCheckBox("Let other computers on my network connect")
        self.api_lan.setChecked(s.api_lan)
        self.api_lan.toggled.connect(self._on_api_lan_toggled)
        form.addRow("Network", self.api_lan)
        self.api_lan_warning = QLabel(f"⚠ {LAN_WARNING} The key is always required then.")
        self.api_lan_warning.setObjectName("apiLanWarning")
        self.api_lan_warning.setWordWrap(True)
        form.addRow("", self.api_lan_warning)
        self.api_origins = QLineEdit(", ".join(s.api_cors_origins))
        self.api_origins.setAccessibleName("Allowed web origins")
        self.api_origins.setPlaceholderText("none: web pages cannot call the API (e.g. http://localhost:3000)")
        form.addRow("Web pages allowed (CORS)", self.api_origins)
        self.api_model_switch = QCheckBox("Requests may load another installed model")
        self.api_model_switch.setChecked(s.api_model_switch)
        form.addRow("Models", self.api_model_switch)
        layout.addLayout(form)
        layout.addStretch(1)
        self._on_api_lan_toggled(s.api_lan)
        return page

    @Slot(bool)
    def _on_api_lan_toggled(self, on: bool) -> None:
        self.api_lan_warning.setVisible(on)
        if on:
            self.api_require_key.setChecked(True)
        self.api_require_key.setEnabled(not on)

    def values(self) -> Settings:
        overrides = dict(self._settings.model_overrides)
        if self._model_path and self.model_tab.available:
            model = self.model_tab.values()
            if model.is_default:
                overrides.pop(self._model_path, None)
            else:
                overrides[self._model_path] = model.to_dict()
        return self._settings.with_changes(
            theme=str(self.theme.currentData()),
            zoom=self.zoom.value(),
            send_on_enter=self.send_on_enter.isChecked(),
            offline=self.offline.isChecked(),
            debug_logging=self.debug_logging.isChecked(),
            models_dir=self.models_dir.text().strip() or None,
            model_overrides=overrides,
            api_server=self.api_server.isChecked(),
            api_port=self.api_port.value(),
            api_lan=self.api_lan.isChecked(),
            api_require_key=self.api_require_key.isChecked() or self.api_lan.isChecked(),
            api_cors_origins=[o.strip().rstrip("/") for o in self.api_origins.text().replace(";", ",").split(",")
                              if o.strip()],
            api_model_switch=self.api_model_switch.isChecked(),
        )

    @Slot()
    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Models folder", self.models_dir.text())
        if folder:
            self.models_dir.setText(folder)

    @Slot()
    def _on_buttons_accepted(self) -> None:
        new = self.values()
        if self._model_path and self.model_tab.available:
            old = ModelSettings.from_dict(self._settings.model_overrides.get(self._model_path))
            if self.model_tab.values() != old:
                self.model_settings_changed.emit(self._model_path, self.model_tab.values())
        self.settings_changed.emit(new)
        if self.tools_tab is not None:
            self.tools_changed.emit(self.tools_tab.config())
        self.accept()
