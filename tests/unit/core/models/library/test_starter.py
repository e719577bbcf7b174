"""The default chat model, decided in one place for the window and the CLI: the user's default, else the starter."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hearth.core.errors import ModelFileError
from hearth.core.models.library import starter
from hearth.core.models.library.starter import default_chat_model, starter_path
from hearth.core.settings import Settings


def test_the_users_default_wins_and_the_starter_is_not_touched(tmp_path: Path, tiny_llama4: Path) -> None:
    models = tmp_path / "models"
    mine = tmp_path / "mine.gguf"
    shutil.copyfile(tiny_llama4, mine)
    assert default_chat_model(Settings(default_model=str(mine)), models) == mine
    assert not starter_path(models).exists(), "nothing was copied"


def test_without_a_usable_default_it_is_the_starter(tmp_path: Path, starter_model: Path) -> None:
    models = tmp_path / "models"
    starter_path(models).parent.mkdir(parents=True)
    starter_path(models).symlink_to(starter_model)  # already copied, as after a first start
    assert default_chat_model(Settings(), models) == starter_path(models)
    gone = Settings(default_model=str(tmp_path / "deleted.gguf"))
    assert default_chat_model(gone, models) == starter_path(models), "a default deleted since falls back"


def test_no_default_and_no_starter_package_is_said_in_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(starter, "STARTER_DISTRIBUTION", "hearth-no-such-distribution")  # not installed
    with pytest.raises(ModelFileError, match="starter model is not installed"):
        default_chat_model(Settings(), tmp_path / "models")
    assert starter.starter_available() is False
