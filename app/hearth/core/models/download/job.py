"""One download: a manifest (what to fetch, how far it got), its folder, and its pause and cancel control."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hearth.core.models.download.control import DownloadControl
from hearth.core.models.download.state import DownloadState, FileRecord, FileState, Manifest
from hearth.core.models.hub.repo_files import safe_repo_path


def part_path(path: Path) -> Path:
    """Where a file is written until its checksum matched: ``NAME.part``."""
    return path.with_name(path.name + ".part")


@dataclass
class DownloadJob:
    """One quantization of one repository (all shards, and the vision projector if asked).

    Attributes:
        manifest: the record on disk (files, sizes, checksums, state).
        folder: the repository folder the files go into.
        control: pause and cancel, safe from any thread (``pause`` and ``cancel`` below are shortcuts).
        done: bytes written so far of each file being fetched.
    """

    manifest: Manifest
    folder: Path
    control: DownloadControl = field(default_factory=DownloadControl)
    done: dict[str, int] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.manifest.repo_id}:{self.manifest.quant}"

    @property
    def state(self) -> DownloadState:
        return self.manifest.state

    @property
    def model_path(self) -> Path:
        """The file to load (the first shard)."""
        first = next(f for f in self.manifest.files if f.role == "model")
        return self.local(first)

    @property
    def mmproj_path(self) -> Path | None:
        found = [f for f in self.manifest.files if f.role == "mmproj"]
        return self.local(found[0]) if found else None

    def local(self, record: FileRecord) -> Path:
        return self.folder.joinpath(*safe_repo_path(record.path).parts)

    def remaining_bytes(self) -> int:
        left = 0
        for f in self.manifest.files:
            if f.state is not FileState.READY:
                part = part_path(self.local(f))
                left += f.size - (part.stat().st_size if part.is_file() else 0)
        return max(0, left)

    def pause(self) -> None:
        self.control.pause()

    def cancel(self) -> None:
        self.control.cancel()

    @property
    def stopping(self) -> bool:
        return self.control.stopping
