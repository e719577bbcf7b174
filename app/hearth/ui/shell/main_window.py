"""The main window: conversations on the left; the chat (or the Models page) in the centre; the model and its speed in
the status bar. Built by ``hearth.ui.app`` with everything it needs passed in.

A view: it reads and changes conversations only through the chat controller and its ``ConversationsController``
(it holds no store), and refreshes the title and the side list when that announces a change.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QUrl, Signal, Slot
from PySide6.QtGui import (
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

import hearth
from hearth.core.models.library.names import model_display_name
from hearth.core.models.library.starter import is_starter
from hearth.core.settings import Settings
from hearth.core.store import Role
from hearth.ui.chat.composer import Composer
from hearth.ui.chat.controller import ChatController
from hearth.ui.chat.conversation_list import ConversationList
from hearth.ui.chat.conversations import ChangeKind, ConversationsChange, ExportFormat
from hearth.ui.chat.empty_state import intro_for
from hearth.ui.chat.preset_picker import PresetPicker
from hearth.ui.chat.view import ChatView
from hearth.ui.model_session import ModelSession, ModelState
from hearth.ui.shell.notices import NO_MODEL, Notice, notice_for
from hearth.ui.shell.privacy_badge import PrivacyBadge
from hearth.ui.shell.style import window_stylesheet
from hearth.ui.shell.theme import Theme
from hearth.ui.shell.toast import Toast

CHAT_PAGE = 0
MODELS_PAGE = 1


class MainWindow(QMainWindow):
    """Hearth's window.

    Signals:
        settings_requested(): Ctrl+, or the gear button.
        models_requested(): the Models button or a "choose a model" link.
        zoom_requested(int): Ctrl+= (+1), Ctrl+- (-1), Ctrl+0 (0: back to 100%).
        api_panel_requested(): the status bar's local API button.
    """

    settings_requested = Signal()
    models_requested = Signal()
    zoom_requested = Signal(int)
    api_panel_requested = Signal()

    def __init__(
        self,
        *,
        session: ModelSession,
        chat_view: ChatView,
        controller_factory: Callable[[ChatView], ChatController],
        preset_picker: PresetPicker,
        settings: Settings,
        models_page: Callable[[], QWidget] | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle(hearth.APP_NAME)
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.resize(1240, 820)
        self.session = session
        self.settings = settings
        self._editing_message_id: int | None = None

        self.chat_view = chat_view
        self.composer = Composer()
        self.composer.set_send_on_enter(settings.send_on_enter)
        self.controller = controller_factory(chat_view)
        self.conversations = self.controller.conversations
        self.sidebar = ConversationList(self.conversations)
        self.sidebar.setMinimumWidth(220)

        self.model_button = QPushButton("No model")
        self.model_button.setObjectName("modelButton")
        self.model_button.setAccessibleName("Loaded model; open Models")
        self.model_button.setToolTip("Models (Ctrl+M)")
        self.model_button.clicked.connect(self.models_requested)
        settings_button = QPushButton("⚙")
        settings_button.setObjectName("settingsButton")
        settings_button.setAccessibleName("Settings")
        settings_button.setToolTip("Settings (Ctrl+,)")
        settings_button.clicked.connect(self.settings_requested)
        header = QHBoxLayout()
        header.setContentsMargins(16, 8, 12, 4)
        self.title_label = QLabel("New chat")
        self.title_label.setObjectName("chatTitle")
        header.addWidget(self.title_label, 1)
        self.preset_picker = preset_picker
        header.addWidget(self.preset_picker)
        header.addWidget(self.model_button)
        header.addWidget(settings_button)

        chat_page = QWidget()
        chat_page.setObjectName("chatPage")
        chat_layout = QVBoxLayout(chat_page)
        chat_layout.setContentsMargins(0, 0, 0, 0)
        chat_layout.setSpacing(0)
        chat_layout.addLayout(header)
        chat_layout.addWidget(chat_view, 1)
        chat_layout.addWidget(self.composer)

        self.pages = QStackedWidget()
        self.pages.addWidget(chat_page)
        self._make_models_page = models_page
        self._models_page: QWidget | None = None

        splitter = QSplitter()
        splitter.addWidget(self.sidebar)
        splitter.addWidget(self.pages)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([270, 970])
        splitter.setChildrenCollapsible(False)
        self.setCentralWidget(splitter)

        self.status_model = QLabel()
        self.status_model.setObjectName("statusModel")
        self.status_activity = QLabel()
        self.status_activity.setObjectName("statusActivity")
        self.status_context = QLabel()
        self.status_context.setObjectName("statusContext")
        self.load_bar = QProgressBar()
        self.load_bar.setMaximumWidth(160)
        self.load_bar.setRange(0, 100)
        self.load_bar.setAccessibleName("Model loading progress")
        self.load_bar.hide()
        self.privacy_badge = PrivacyBadge()
        bar = self.statusBar()
        bar.addWidget(self.status_model)
        bar.addWidget(self.privacy_badge)
        bar.addWidget(self.load_bar)
        bar.addWidget(self.status_activity, 1)
        bar.addPermanentWidget(self.status_context)
        self.status_api = QPushButton()
        self.status_api.setObjectName("statusApi")
        self.status_api.setFlat(True)
        self.status_api.setAccessibleName("Local API server")
        self.status_api.clicked.connect(self.api_panel_requested)
        self.status_api.hide()
        bar.addPermanentWidget(self.status_api)

        self.toast = Toast(self)
        self.toast.action_clicked.connect(self._on_toast_action_clicked)
        self._wire()
        self._shortcuts()
        self._on_session_state_changed()
        if self.controller.restore_unsent():
            self.toast.show_message("Your last message had not been sent when Hearth closed (its attachments were "
                                    "still being read); it is back in the message box.", seconds=9)

    # --- wiring --------------------------------------------------------------------------------------------------

    def _wire(self) -> None:
        c = self.controller
        self.composer.submitted.connect(self._on_composer_submitted)
        self.composer.stop_requested.connect(c.stop)
        self.composer.edit_last_requested.connect(self.edit_last_message)
        self.composer.choose_model_requested.connect(self.models_requested)
        self.composer.notice.connect(self._on_composer_notice)
        c.busy_changed.connect(self.composer.set_busy)
        c.status.connect(self.status_activity.setText)
        c.context_usage.connect(self._on_controller_context_usage)
        c.notice.connect(self.show_notice)
        c.conversation_changed.connect(self._on_controller_conversation_changed)
        c.restore_composer.connect(self._on_controller_restore_composer)
        self.conversations.changed.connect(self._on_conversations_changed)
        self.chat_view.edit_requested.connect(self._on_chat_view_edit_requested)
        self.chat_view.example_chosen.connect(self._on_chat_view_example_chosen)
        self.chat_view.models_requested.connect(self.models_requested)
        self.preset_picker.chosen.connect(c.set_system_prompt)
        self.preset_picker.failed.connect(self._on_composer_notice)
        self.sidebar.conversation_selected.connect(self._on_sidebar_conversation_selected)
        self.sidebar.search_hit_activated.connect(self._on_sidebar_search_hit_activated)
        self.sidebar.new_chat_requested.connect(self.new_chat)
        self.sidebar.export_requested.connect(self.export_conversation)
        self.session.state_changed.connect(self._on_session_state_changed)
        self.session.load_progress.connect(self._on_session_load_progress)
        self.session.notice.connect(self._on_session_notice)
        self.models_requested.connect(self.show_models)
        self.chat_view.copied.connect(self._on_chat_view_copied)
        self.chat_view.link_activated.connect(self._on_chat_view_link_activated)

    def _shortcuts(self) -> None:
        def bind(keys: QKeySequence | str, slot: Callable[[], object], name: str) -> None:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)
            shortcut.setObjectName(name)

        bind(QKeySequence(QKeySequence.StandardKey.New), self.new_chat, "newChat")
        bind("Ctrl+K", self.sidebar.focus_search, "searchChats")
        bind("Escape", self._on_escape, "stop")
        bind("Ctrl+Shift+C", self.copy_last_answer, "copyLastAnswer")
        bind("Ctrl+,", self.settings_requested.emit, "settings")
        bind("Ctrl+M", self.models_requested.emit, "models")
        bind("Ctrl+L", self.focus_composer, "focusComposer")
        bind(QKeySequence(QKeySequence.StandardKey.ZoomIn), lambda: self.zoom_requested.emit(1), "zoomIn")
        bind("Ctrl+=", lambda: self.zoom_requested.emit(1), "zoomInEquals")
        bind(QKeySequence(QKeySequence.StandardKey.ZoomOut), lambda: self.zoom_requested.emit(-1), "zoomOut")
        bind("Ctrl+0", lambda: self.zoom_requested.emit(0), "zoomReset")
        # Qt reads Ctrl as Cmd on macOS, so this is Cmd+Q there; Windows has no standard Quit key, so it is named.
        bind("Ctrl+Q", self._on_quit_shortcut, "quit")

    @Slot()
    def _on_quit_shortcut(self) -> None:
        self.window().close()  # the launched app's window frame when it holds this window, else this window

    def set_api_status(self, text: str, tooltip: str = "") -> None:
        """The local API's status bar entry ("API on :8080"); hidden when ``text`` is empty."""
        self.status_api.setText(text)
        self.status_api.setToolTip(tooltip)
        self.status_api.setVisible(bool(text))

    def set_theme(self, theme: Theme) -> None:
        self.setStyleSheet(window_stylesheet(theme))

    # --- actions -------------------------------------------------------------------------------------------------

    def new_chat(self) -> None:
        self.show_chat()
        self.controller.new_conversation()
        self.focus_composer()

    def open_conversation(self, conversation_id: int, message_id: int | None = None) -> None:
        self.show_chat()
        self.controller.save_ui_state()
        self.controller.open_conversation(conversation_id, message_id)

    def focus_composer(self) -> None:
        self.composer.editor.setFocus()

    def show_chat(self) -> None:
        self.pages.setCurrentIndex(CHAT_PAGE)

    @Slot()
    def show_models(self) -> None:
        self.pages.setCurrentWidget(self.models_page)

    @property
    def models_page(self) -> QWidget:
        """The Models page, built the first time it is shown: the window's first paint does not wait for it."""
        if self._models_page is None:
            self._models_page = self._make_models_page() if self._make_models_page else QLabel("Models")
            self.pages.insertWidget(MODELS_PAGE, self._models_page)
        return self._models_page

    def copy_last_answer(self) -> None:
        text = self.chat_view.last_assistant_text()
        if text:
            QGuiApplication.clipboard().setText(text)
            self.toast.show_message("Copied the last answer.", seconds=2.5)

    def edit_last_message(self) -> None:
        branch = self.controller.branch()
        for message in reversed(branch):
            if message.role is Role.USER:
                self._on_chat_view_edit_requested(message.id)
                return

    def show_notice(self, notice: Notice) -> None:
        action = {"retry": "", "models": "Models", "new_chat": "New chat", "login": ""}.get(notice.action, "")
        self.toast.show_message(notice.text, action, seconds=9)

    @Slot(int, ExportFormat)
    def export_conversation(self, conversation_id: int, export_format: ExportFormat) -> None:
        """Ask where to, then export."""
        name = self.conversations.export_file_name(conversation_id, export_format)
        target, _ = QFileDialog.getSaveFileName(self, "Export conversation", str(Path.home() / name),
                                                export_format.file_filter)
        if not target:
            return
        try:
            self.conversations.export(conversation_id, export_format, Path(target))
        except OSError as exc:
            self.show_notice(notice_for(exc))
            return
        self.toast.show_message(f"Exported to {Path(target).name}.", seconds=4)

    # --- events --------------------------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _local_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = _local_files(event.mimeData())
        if files:
            self.show_chat()
            self.composer.add_files(files)
            event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.controller.shutdown()
        self.conversations.purge_pending()
        self.sidebar.shutdown()
        super().closeEvent(event)

    @Slot(str, list)
    def _on_composer_submitted(self, text: str, attachments: list[object]) -> None:
        editing = self._editing_message_id
        if editing is not None:
            self._editing_message_id = None
            self.controller.edit_and_resend(editing, text)
            return
        self.controller.send(text, attachments)  # type: ignore[arg-type]

    @Slot(int)
    def _on_chat_view_edit_requested(self, message_id: int) -> None:
        message = self.controller.message(message_id)
        self._editing_message_id = message_id
        self.composer.set_text(message.content)
        self.toast.show_message("Editing your message: send it to get a new answer (the old one is kept).",
                                seconds=5)

    @Slot(str)
    def _on_chat_view_example_chosen(self, text: str) -> None:
        if self.session.state is ModelState.READY and not self.controller.busy:
            self.controller.send(text)
        else:
            self.composer.set_text(text)
            self.focus_composer()

    @Slot(str, list)
    def _on_controller_restore_composer(self, text: str, attachments: list[object]) -> None:
        self.composer.set_text(text)
        for attachment in attachments:
            self.composer.add_attachment(attachment)  # type: ignore[arg-type]

    @Slot(object)
    def _on_controller_conversation_changed(self, conversation_id: int | None) -> None:
        self.sidebar.set_current(conversation_id)
        self.preset_picker.set_current(*self.controller.system_prompt())
        self._show_title()

    def _show_title(self) -> None:
        self.title_label.setText(self.controller.title())

    @Slot(ConversationsChange)
    def _on_conversations_changed(self, change: ConversationsChange) -> None:
        if change.kind is ChangeKind.DELETED:
            self.toast.show_message("Conversation deleted.", "Undo")
        elif change.kind is ChangeKind.RESTORED:
            self.open_conversation(change.conversation_id)
        elif change.conversation_id == self.controller.conversation_id:
            self._show_title()  # renamed, or titled by its first answer

    @Slot(int)
    def _on_sidebar_conversation_selected(self, conversation_id: int) -> None:
        self.open_conversation(conversation_id)

    @Slot(int, int)
    def _on_sidebar_search_hit_activated(self, conversation_id: int, message_id: int) -> None:
        self.open_conversation(conversation_id, message_id)

    @Slot(int, int)
    def _on_controller_context_usage(self, used: int, size: int) -> None:
        if size:
            self.status_context.setText(f"Context {used:,} / {size:,}")

    @Slot(str)
    def _on_chat_view_copied(self, _text: str) -> None:
        self.toast.show_message("Copied.", seconds=2)

    @Slot(str)
    def _on_chat_view_link_activated(self, url: str) -> None:
        QDesktopServices.openUrl(QUrl(url))

    @Slot(str)
    def _on_composer_notice(self, text: str) -> None:
        self.toast.show_message(text, seconds=6)

    @Slot(str)
    def _on_session_notice(self, text: str) -> None:
        self.toast.show_message(text, seconds=9)

    @Slot(str)
    def _on_toast_action_clicked(self, action: str) -> None:
        if action == "Undo":
            self.conversations.undo_delete()
        elif action == "Models":
            self.show_models()
        elif action == "New chat":
            self.new_chat()

    def _on_escape(self) -> None:
        if self.controller.busy:
            self.controller.stop()
        elif self.pages.currentIndex() != CHAT_PAGE:
            self.show_chat()

    @Slot(float)
    def _on_session_load_progress(self, fraction: float) -> None:
        if self.session.state is ModelState.LOADING:
            self.load_bar.setValue(int(fraction * 100))
            self.status_model.setText(self.session.describe())

    @Slot()
    def _on_session_state_changed(self) -> None:
        session = self.session
        self.status_model.setText(session.describe())
        self.privacy_badge.show_for(session.plan if session.state in (ModelState.LOADING, ModelState.READY) else None)
        self.load_bar.setVisible(session.state is ModelState.LOADING)
        name = model_display_name(session.path) if session.path else "No model"
        self.model_button.setText(f"{name}  ▾" if session.state is not ModelState.NONE else "Choose a model  ▾")
        shown = session.state in (ModelState.READY, ModelState.LOADING) and session.path is not None
        info = session.info if session.state is ModelState.READY else None
        self.chat_view.set_intro(intro_for(
            name if shown else "", starter=session.path is not None and is_starter(session.path),
            vision=bool(info and info.vision), loading=session.state is ModelState.LOADING,
            family=info.architecture if info else ""))
        if session.state is ModelState.READY:
            self.composer.set_blocked("")
        elif session.state is ModelState.LOADING:
            self.composer.set_blocked("The model is loading — you can type while you wait.")
        elif session.state is ModelState.FAILED and session.error is not None:
            notice = notice_for(session.error)
            self.composer.set_blocked(f"{notice.message}", "Choose another model")
            self.show_notice(notice)
        else:
            self.composer.set_blocked(NO_MODEL.message, "Choose a model")


def _local_files(data: QMimeData) -> list[Path]:
    if not data.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in data.urls() if url.isLocalFile()]
