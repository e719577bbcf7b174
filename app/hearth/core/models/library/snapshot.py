"""The models folder at one moment, with how each ready model runs on this machine: what the Models page shows.

Blocking (lists folders, reads GGUF headers, may scan other apps' folders): the GUI takes snapshots on a worker thread.
A model whose files have not changed keeps its previous verdict, so a refresh after a download reads one new header.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hearth.core.machine.hardware import Hardware, free_disk
from hearth.core.models.library.fit import InstalledFit, installed_fit
from hearth.core.models.library.library import FoundModel, InstalledModel, InstalledState, ModelLibrary


def _stamp(model: InstalledModel) -> tuple[int, int]:
    try:
        st = model.path.stat()
    except OSError:
        return (0, 0)
    return (st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class LibrarySnapshot:
    """Installed models, their fit on this machine, files found elsewhere, and free disk."""

    models: list[InstalledModel] = field(default_factory=list)
    fits: dict[Path, InstalledFit] = field(default_factory=dict)
    found: list[FoundModel] = field(default_factory=list)
    disk_free: int | None = None
    stamps: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def model(self, path: Path) -> InstalledModel | None:
        return next((m for m in self.models if m.path == path), None)


def take_snapshot(library: ModelLibrary, hw: Hardware, bench_dir: Path | None,
                  previous: LibrarySnapshot | None = None, discover_home: Path | None = None) -> LibrarySnapshot:
    """List the library and plan each ready model for ``hw`` (reusing ``previous`` verdicts of unchanged files)."""
    models = library.models()
    fits: dict[Path, InstalledFit] = {}
    stamps: dict[Path, tuple[int, int]] = {}
    for model in models:
        if model.state is not InstalledState.READY:
            continue
        stamp = _stamp(model)
        stamps[model.path] = stamp
        old = previous.fits.get(model.path) if previous is not None else None
        if old is not None and previous is not None and previous.stamps.get(model.path) == stamp:
            fits[model.path] = old
        else:
            fits[model.path] = installed_fit(model, hw, bench_dir)
    found = library.discover(discover_home)
    return LibrarySnapshot(models, fits, found, free_disk(library.models_dir), stamps)
