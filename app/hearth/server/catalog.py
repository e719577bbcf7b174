"""Which model names the API knows: the loaded model, and the installed ones when switching is allowed.

A model's id is ``repo:quant`` for a model Hearth downloaded (``unsloth/Llama-4-Scout-17B-16E-Instruct-GGUF:Q4_K_M``)
and the file name without ``.gguf`` (and without a shard's ``-00001-of-00003``) for one found on disk. A request may
also name the file, or the id in any letter case.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hearth.core.models.library.library import InstalledModel, ModelLibrary

_SHARD = re.compile(r"-\d{5}-of-\d{5}$")


@dataclass(frozen=True)
class ModelEntry:
    id: str
    path: Path
    loaded: bool


def file_id(path: Path) -> str:
    name = path.name
    if name.lower().endswith(".gguf"):
        name = name[:-5]
    return _SHARD.sub("", name)


def installed_id(model: InstalledModel) -> str:
    if model.repo_id:
        return f"{model.repo_id}:{model.quant}" if model.quant else model.repo_id
    return file_id(model.path)


class ModelCatalog:
    """Names for the API.

    Args:
        loaded_path: the loaded model's file, or None (read on every call: the window may change it).
        models_dir: the models folder (None: only the loaded model is known).
    """

    def __init__(self, loaded_path: Callable[[], str | None], models_dir: Callable[[], Path] | None = None) -> None:
        self._loaded_path = loaded_path
        self._models_dir = models_dir

    def _installed(self) -> list[InstalledModel]:
        if self._models_dir is None:
            return []
        try:
            return [m for m in ModelLibrary(self._models_dir()).models() if m.usable]
        except OSError:
            return []

    def loaded(self) -> ModelEntry | None:
        raw = self._loaded_path()
        if not raw:
            return None
        path = Path(raw)
        for model in self._installed():
            if model.path == path:
                return ModelEntry(installed_id(model), path, True)
        return ModelEntry(file_id(path), path, True)

    def entries(self, *, installed: bool) -> list[ModelEntry]:
        """The loaded model first, then (with ``installed``) every other usable installed model."""
        loaded = self.loaded()
        out = [loaded] if loaded else []
        if installed:
            out += [ModelEntry(installed_id(m), m.path, False) for m in self._installed()
                    if loaded is None or m.path != loaded.path]
        return out

    @staticmethod
    def matches(name: str, entry: ModelEntry) -> bool:
        want = name.strip().lower()
        return want in (entry.id.lower(), entry.path.name.lower(), file_id(entry.path).lower(), str(entry.path).lower())

    def find(self, name: str, *, installed: bool) -> ModelEntry | None:
        for entry in self.entries(installed=installed):
            if self.matches(name, entry):
                return entry
        return None
