"""The per-model settings' table of context sizes: what this machine holds with each KV cache type, at what cost.

Rows are context sizes, columns cache types; a cell shows the cache's size and the memory the whole plan needs, or
"does not fit". Clicking a cell that fits picks that size and type. Below the table, a sentence compares the
longest context with the 10M tokens advertised for Llama 4 Scout, and says where the estimates come from.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QAbstractItemView, QGroupBox, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout

from hearth.core.engine.plan import CACHE_TYPE_WORDS, CACHE_TYPES
from hearth.core.models.planning.context import ContextChoices
from hearth.core.models.planning.planner import context_words

GB = 1e9


class ContextTable(QGroupBox):
    """Context sizes × cache types for one model on this machine.

    Signals:
        chosen(int, str): a cell that fits was clicked: context size, cache type.
    """

    chosen = Signal(int, str)

    def __init__(self) -> None:
        super().__init__("Context sizes on this computer")
        self.choices: ContextChoices | None = None
        self.table = QTableWidget(0, len(CACHE_TYPES))
        self.table.setAccessibleName("Context sizes and their memory cost")
        self.table.setHorizontalHeaderLabels([f"{t} ({CACHE_TYPE_WORDS[t]})" for t in CACHE_TYPES])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(160)
        self.table.cellClicked.connect(self._on_table_cell_clicked)
        self.summary = QLabel("Working out which context sizes fit…")
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.summary)

    def set_choices(self, choices: ContextChoices) -> None:
        self.choices = choices
        sizes = sorted({r.n_ctx for r in choices.rows})
        self.table.setRowCount(len(sizes))
        self.table.setVerticalHeaderLabels([context_words(n) for n in sizes])
        for row, n_ctx in enumerate(sizes):
            for column, kind in enumerate(CACHE_TYPES):
                option = next(o for o in choices.rows if o.n_ctx == n_ctx and o.cache_type == kind)
                if option.fits:
                    text = f"{option.kv_bytes / GB:.2f} GB cache · {option.total_bytes / GB:.1f} GB in all"
                else:
                    text = f"does not fit ({option.total_bytes / GB:.0f} GB)"
                item = QTableWidgetItem(text)
                item.setToolTip(f"{n_ctx:,} tokens, {CACHE_TYPE_WORDS[kind]} cache: {option.summary or 'no plan'}"
                                + (f", ~{option.tokens_per_s:.0f} tokens/s" if option.tokens_per_s else ""))
                item.setData(Qt.ItemDataRole.UserRole, (n_ctx, kind, option.fits))
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        source = choices.calibration or "Estimated by the planner (run hearth bench to measure this computer)."
        self.summary.setText(f"{choices.comparison} {source} Click a cell to use that size and cache.")

    def set_error(self, message: str) -> None:
        self.summary.setText(f"The context sizes could not be worked out: {message}")

    @Slot(int, int)
    def _on_table_cell_clicked(self, row: int, column: int) -> None:
        item = self.table.item(row, column)
        data = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if isinstance(data, tuple) and data[2]:
            self.chosen.emit(int(data[0]), str(data[1]))
