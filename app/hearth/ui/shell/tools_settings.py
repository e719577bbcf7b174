"""Settings → Tools: Hearth's own tools, the files the "read a file" tool may read, the MCP servers and a switch
for each of their tools, and whether read-only tools run without asking.

A server's tools are listed by starting it ("Show tools"), in the background; a server that cannot start says why
on its row. Nothing is saved until the settings dialog's OK (``config``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hearth.core.errors import HearthError
from hearth.core.tools.builtin import BUILTINS, READ_FILE
from hearth.core.tools.catalog import ToolEntry
from hearth.core.tools.config import ServerConfig, ToolsConfig
from hearth.core.tools.mcp_client import McpManager
from hearth.ui.shell.tool_server_dialog import ImportDialog, ServerDialog
from hearth.ui.tasks import BackgroundTask, TaskGroup

_SERVER_ROLE = Qt.ItemDataRole.UserRole
_TOOL_ROLE = Qt.ItemDataRole.UserRole + 1

EditServer = Callable[[QWidget, ServerConfig | None], ServerConfig | None]
ImportServers = Callable[[QWidget], list[ServerConfig]]


def edit_server(parent: QWidget, server: ServerConfig | None) -> ServerConfig | None:
    dialog = ServerDialog(server, parent)
    accepted = dialog.exec() == ServerDialog.DialogCode.Accepted
    result = dialog.server if accepted else None
    dialog.deleteLater()
    return result


def ask_import(parent: QWidget) -> list[ServerConfig]:
    dialog = ImportDialog(parent)
    accepted = dialog.exec() == ImportDialog.DialogCode.Accepted
    servers = dialog.servers if accepted else []
    dialog.deleteLater()
    return servers


class ToolsTab(QWidget):
    """The Tools page of the settings.

    Args:
        config: the tool settings to start from.
        manager: starts servers to list their tools.
        edit: asks for a server's settings (tests pass their own).
        import_servers: asks for an ``mcpServers`` JSON (tests pass their own).

    Signals:
        tools_listed(str): a server's tools were listed (its name), or it failed to list them.
    """

    tools_listed = Signal(str)

    def __init__(self, config: ToolsConfig, manager: McpManager | None, *, edit: EditServer = edit_server,
                 import_servers: ImportServers = ask_import, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolsTab")
        self._config = config
        self._manager = manager
        self._edit = edit
        self._import = import_servers
        self._listed: dict[str, list[ToolEntry]] = {}
        self._errors: dict[str, str] = {}
        self._tasks = TaskGroup()
        layout = QVBoxLayout(self)
        intro = QLabel("Tools let the model look things up and do things for you. Tools that may change things "
                       "always ask first, showing what they will be given.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.auto_read_only = QCheckBox("Run read-only tools without asking (those their server marks read-only, "
                                        "and Hearth's own)")
        self.auto_read_only.setChecked(config.auto_read_only)
        layout.addWidget(self.auto_read_only)
        layout.addWidget(self._builtins_box(config))
        layout.addWidget(self._servers_box(), 1)
        self._fill_servers()

    # --- Hearth's own ----------------------------------------------------------------------------------------------

    def _builtins_box(self, config: ToolsConfig) -> QGroupBox:
        box = QGroupBox("Hearth's tools (off until you switch them on)")
        layout = QVBoxLayout(box)
        self.builtin_checks: dict[str, QCheckBox] = {}
        for info in BUILTINS:
            check = QCheckBox(f"{info.title} — {info.what}")
            check.setObjectName(f"builtin_{info.name}")
            check.setChecked(info.name in config.builtins)
            self.builtin_checks[info.name] = check
            layout.addWidget(check)
        self.files = QListWidget()
        self.files.setAccessibleName("Files the model may read")
        self.files.addItems(list(config.files))
        self.files.setMaximumHeight(90)
        layout.addWidget(self.files)
        row = QHBoxLayout()
        add_files = QPushButton("Add files…")
        add_folder = QPushButton("Add a folder…")
        self.remove_file = QPushButton("Remove")
        add_files.clicked.connect(self._on_add_files_clicked)
        add_folder.clicked.connect(self._on_add_folder_clicked)
        self.remove_file.clicked.connect(self._on_remove_file_clicked)
        for button in (add_files, add_folder, self.remove_file):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.builtin_checks[READ_FILE].toggled.connect(self._on_read_file_toggled)
        self._on_read_file_toggled(self.builtin_checks[READ_FILE].isChecked())
        return box

    def add_files(self, paths: list[str]) -> None:
        known = {self.files.item(i).text() for i in range(self.files.count())}
        self.files.addItems([p for p in paths if p not in known])

    @Slot(bool)
    def _on_read_file_toggled(self, on: bool) -> None:
        self.files.setEnabled(on)

    @Slot()
    def _on_add_files_clicked(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Files the model may read")
        self.add_files(names)

    @Slot()
    def _on_add_folder_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder whose files the model may read")
        if folder:
            self.add_files([folder])

    @Slot()
    def _on_remove_file_clicked(self) -> None:
        for item in self.files.selectedItems():
            self.files.takeItem(self.files.row(item))

    # --- servers ---------------------------------------------------------------------------------------------------

    def _servers_box(self) -> QGroupBox:
        box = QGroupBox("Tool servers (MCP)")
        layout = QVBoxLayout(box)
        self.tree = QTreeWidget()
        self.tree.setObjectName("toolServers")
        self.tree.setAccessibleName("Tool servers and their tools")
        self.tree.setHeaderLabels(["Server / tool", "What it does", "State"])
        self.tree.setColumnWidth(0, 200)
        layout.addWidget(self.tree, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add…")
        self.import_button = QPushButton("Import JSON…")
        self.edit_button = QPushButton("Edit…")
        self.remove_button = QPushButton("Remove")
        self.show_tools_button = QPushButton("Show tools")
        self.show_tools_button.setToolTip("Start the server and list its tools, each with a switch")
        for button, slot in ((self.add_button, self._on_add_clicked), (self.import_button, self._on_import_clicked),
                             (self.edit_button, self._on_edit_clicked), (self.remove_button, self._on_remove_clicked),
                             (self.show_tools_button, self._on_show_tools_clicked)):
            button.clicked.connect(slot)
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.tree.itemChanged.connect(self._on_tree_item_changed)
        return box

    def _fill_servers(self) -> None:
        self.tree.blockSignals(True)
        self.tree.clear()
        for server in self._config.servers:
            item = QTreeWidgetItem([server.name, server.summary, self._state_words(server)])
            item.setData(0, _SERVER_ROLE, server.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked if server.enabled else Qt.CheckState.Unchecked)
            item.setToolTip(1, server.summary)
            if server.name in self._errors:
                item.setToolTip(2, self._errors[server.name])
            for tool in self._listed.get(server.name, []):
                child = QTreeWidgetItem([tool.tool, tool.description.split("\n")[0][:160],
                                         "read-only" if tool.read_only else "may change things"])
                child.setData(0, _SERVER_ROLE, server.name)
                child.setData(0, _TOOL_ROLE, tool.tool)
                child.setFlags(child.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                child.setCheckState(0, Qt.CheckState.Checked if server.tool_enabled(tool.tool)
                                    else Qt.CheckState.Unchecked)
                child.setToolTip(1, tool.description[:1000])
                item.addChild(child)
            self.tree.addTopLevelItem(item)
            item.setExpanded(server.name in self._listed)
        self.tree.blockSignals(False)

    def _state_words(self, server: ServerConfig) -> str:
        if server.name in self._errors:
            return f"could not start: {self._errors[server.name]}"
        if server.name in self._listed:
            count = len(self._listed[server.name])
            return f"{count} tool{'s' if count != 1 else ''}"
        return "not started"

    def server_item(self, name: str) -> QTreeWidgetItem | None:
        for index in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(index)
            if item is not None and item.data(0, _SERVER_ROLE) == name:
                return item
        return None

    def _selected_server(self) -> ServerConfig | None:
        item = self.tree.currentItem()
        if item is None:
            return None
        return self._config.server(str(item.data(0, _SERVER_ROLE)))

    def add_servers(self, servers: list[ServerConfig]) -> list[str]:
        """Add servers (names already taken get a number); returns the names they got."""
        self._config, added = self._config.merged(servers)
        self._fill_servers()
        return added

    @Slot()
    def _on_add_clicked(self) -> None:
        server = self._edit(self, None)
        if server is not None:
            self.add_servers([server])

    @Slot()
    def _on_import_clicked(self) -> None:
        servers = self._import(self)
        if servers:
            self.add_servers(servers)

    @Slot()
    def _on_edit_clicked(self) -> None:
        old = self._selected_server()
        if old is None:
            return
        new = self._edit(self, old)
        if new is None:
            return
        if new.name != old.name and self._config.server(new.name) is not None:
            new = replace(new, name=self._config.merged([new])[1][0])
        self._config = self._config.with_server(new, replacing=old.name)
        for cache in (self._listed, self._errors):
            cache.pop(old.name, None)
        self._fill_servers()

    @Slot()
    def _on_remove_clicked(self) -> None:
        server = self._selected_server()
        if server is not None:
            self._config = self._config.without_server(server.name)
            self._fill_servers()

    @Slot()
    def _on_show_tools_clicked(self) -> None:
        server = self._selected_server()
        if server is not None:
            self.list_tools(server.name)

    def list_tools(self, name: str) -> None:
        """Start the server and list its tools in the background."""
        server = self._config.server(name)
        manager = self._manager
        if server is None or manager is None:
            return
        item = self.server_item(name)
        if item is not None:
            item.setText(2, "starting…")
        task: BackgroundTask[list[ToolEntry], None] = BackgroundTask(
            functools.partial(_list, manager, server), parent=self, name="list tools")
        task.success(functools.partial(self._on_listed, name)).failure(functools.partial(self._on_list_failed, name))
        self._tasks.run(task, kind=name)

    def _on_listed(self, name: str, tools: list[ToolEntry]) -> None:
        self._errors.pop(name, None)
        self._listed[name] = tools
        self._fill_servers()
        self.tools_listed.emit(name)

    def _on_list_failed(self, name: str, error: HearthError) -> None:
        self._listed.pop(name, None)
        self._errors[name] = f"{error.message} {error.hint}".strip()
        self._fill_servers()
        self.tools_listed.emit(name)

    @Slot(QTreeWidgetItem, int)
    def _on_tree_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column != 0:
            return
        server = self._config.server(str(item.data(0, _SERVER_ROLE)))
        if server is None:
            return
        on = item.checkState(0) == Qt.CheckState.Checked
        tool = item.data(0, _TOOL_ROLE)
        server = server.with_tool(str(tool), on) if tool else replace(server, enabled=on)
        self._config = self._config.with_server(server)

    # --- result ----------------------------------------------------------------------------------------------------

    def config(self) -> ToolsConfig:
        """The tool settings as the page shows them."""
        builtins = frozenset(name for name, check in self.builtin_checks.items() if check.isChecked())
        files = tuple(self.files.item(i).text() for i in range(self.files.count()))
        return self._config.with_changes(builtins=builtins, files=files,
                                         auto_read_only=self.auto_read_only.isChecked())

    @property
    def busy(self) -> bool:
        """A server's tools are being listed."""
        return self._tasks.busy

    def stop_listing(self) -> None:
        """Wait for the listings under way and deliver nothing more (the dialog is closing)."""
        self._tasks.close()


def _list(manager: McpManager, server: ServerConfig, _report: Callable[[None], None]) -> list[ToolEntry]:
    return manager.list_tools(server, refresh=True)
