"""Per-model settings: flash attention, KV cache type, drafting, and the table of context sizes this machine holds
with each cache type (computed off the GUI thread from real headers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hearth.core.machine.hardware import Hardware
from hearth.core.models.library.model_settings import ModelSettings
from hearth.core.models.planning.context import context_choices
from hearth.core.settings import Settings
from hearth.ui.shell.settings_dialog import SettingsDialog
from tests.fixtures.synthetic_gguf import write_scout


def _dialog(qtbot: QtBot, model: Path, hw: Hardware, settings: Settings | None = None) -> SettingsDialog:
    dialog = SettingsDialog(settings or Settings(), models_dir=model.parent, model_path=str(model),
                            context_choices=lambda: context_choices(model, hardware=hw))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.model_tab.contexts.choices is not None, timeout=30_000)
    return dialog


def test_scout_context_table_lists_sizes_per_cache_type_up_to_what_fits(qtbot: QtBot, tmp_path: Path) -> None:
    scout = write_scout(tmp_path, "UD-IQ1_S")[0]
    dialog = _dialog(qtbot, scout, Hardware.hypothetical(64, 24, label="64 GB + 24 GB"))
    table = dialog.model_tab.contexts.table
    labels = [table.verticalHeaderItem(r).text() for r in range(table.rowCount())]
    assert labels[:3] == ["4k", "8k", "16k"] and table.columnCount() == 3
    last_row = [table.item(table.rowCount() - 1, c).text() for c in range(3)]
    assert all(text.startswith("does not fit") for text in last_row), "rows stop at the first size nothing fits"
    assert "GB cache" in table.item(0, 0).text()
    summary = dialog.model_tab.contexts.summary.text()
    assert "10M" in summary and "4-bit cache" in summary and "run hearth bench" in summary
    dialog.model_tab.contexts.grab().save(str(tmp_path / "settings-context.png"))
    # A cell that fits picks its size and type.
    row = labels.index("64k")
    item = table.item(row, 1)
    assert "GB cache" in item.text()
    rect = table.visualItemRect(item)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    values = dialog.model_tab.values()
    assert values.n_ctx == 65536 and values.kv_type == "q8_0"


def test_engine_choices_round_trip(qtbot: QtBot, gemma_path: Path) -> None:
    chosen = ModelSettings(flash_attn="off", kv_type="q4_0", speculative="draft", draft_model=str(gemma_path))
    settings = Settings(model_overrides={str(gemma_path): chosen.to_dict()})
    dialog = _dialog(qtbot, gemma_path, Hardware.hypothetical(16), settings)
    tab = dialog.model_tab
    assert (tab.flash_attn.currentData(), tab.kv_type.currentData(), tab.speculative.currentData()) == (
        "off", "q4_0", "draft")
    assert tab.draft_model.isEnabled() and tab.values() == chosen
    assert "all of the 32k tokens this model was trained for" in tab.contexts.summary.text()
    tab.speculative.setCurrentIndex(tab.speculative.findData("lookup"))
    assert not tab.draft_model.isEnabled()
    saved = ModelSettings.from_dict(dialog.values().model_overrides[str(gemma_path)])
    assert saved.speculative == "lookup" and saved.kv_type == "q4_0"


@pytest.mark.parametrize("kv", ["q8_0", "f16"])
def test_model_settings_apply_to_the_plan(kv: str) -> None:
    from hearth.core.engine.plan import LoadPlan

    plan = ModelSettings(kv_type=kv, flash_attn="on", speculative="draft", draft_model="d.gguf").apply_to_plan(
        LoadPlan("m.gguf"))
    assert (plan.cache_type_k, plan.cache_type_v, plan.flash_attn) == (kv, kv, "on")
    assert plan.speculative == "draft" and plan.draft_model_path == "d.gguf"
    assert ModelSettings().apply_to_plan(LoadPlan("m.gguf")) == LoadPlan("m.gguf")
