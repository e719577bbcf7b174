"""What survives an app restart about a download: its manifest, a lock, and which files were verified.

A download of one quantization writes ``<models>/<owner>/<repo>/.hearth/<quant>.download.json`` (the files with the
Hub's sizes and sha256, the pinned commit, each file's state). Files are written as ``NAME.part`` and renamed only after
their sha256 matched, so a file under its final name is always complete. ``.hearth/verified.json`` remembers verified
files (size, mtime, sha256) so a second quantization sharing the same vision projector does not hash it again.
``.hearth/lock`` is the folder's lock (``hearth.core.models.download.lock``).

States are enums whose values are the strings manifests have always stored, so a manifest written by any earlier
version loads unchanged; a state this version does not know (written by a newer one) reads as paused.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

MANIFEST_VERSION = 1
STATE_DIR = ".hearth"


class DownloadState(str, Enum):
    """Where a download is in its life (the same states in the manifest, the progress reports and the GUI's rows).

    ``QUEUED``: recorded, not started. ``PREPARING``: the Hub's file list is being read (before a manifest exists).
    ``DOWNLOADING`` and ``VERIFYING``: running. ``PAUSED``: stopped by the user, by a full disk or by the app
    closing; it resumes from its partial files. ``READY``: every file verified. ``CANCELLED``: stopped and its files
    deleted (never stored: its manifest is gone). ``FAILED``: stopped by an error; ``Manifest.message`` says which.
    """

    QUEUED = "queued"
    PREPARING = "preparing"
    DOWNLOADING = "downloading"
    VERIFYING = "verifying"
    PAUSED = "paused"
    READY = "ready"
    CANCELLED = "cancelled"
    FAILED = "failed"


class FileState(str, Enum):
    """Where one file of a download is.

    ``PENDING``: nothing fetched. ``PARTIAL``: ``NAME.part`` holds a prefix. ``VERIFYING``: complete, its sha256 is
    being compared. ``READY``: verified under its final name. ``BAD``: it failed its checksum (fetched again).
    """

    PENDING = "pending"
    PARTIAL = "partial"
    VERIFYING = "verifying"
    READY = "ready"
    BAD = "bad"


def _download_state(value: object) -> DownloadState:
    if isinstance(value, DownloadState):
        return value
    try:
        return DownloadState(str(value))
    except ValueError:
        return DownloadState.PAUSED  # written by a newer version: resuming is always safe


def _file_state(value: object) -> FileState:
    if isinstance(value, FileState):
        return value
    try:
        return FileState(str(value))
    except ValueError:
        return FileState.PENDING  # unknown: the file is checked again before it counts


@dataclass
class FileRecord:
    """One file of a download.

    Attributes:
        path: the path in the repository (checked by ``safe_repo_path``).
        size: bytes, as the Hub listed them.
        sha256: the Hub's LFS sha256 (None for small non-LFS files: then only the size is checked).
        role: "model" or "mmproj".
        state: where the file is.
    """

    path: str
    size: int
    sha256: str | None
    role: str = "model"
    state: FileState = FileState.PENDING

    def __post_init__(self) -> None:
        self.state = _file_state(self.state)


@dataclass
class Manifest:
    """A download's record on disk."""

    repo_id: str
    revision: str
    quant: str
    files: list[FileRecord]
    state: DownloadState = DownloadState.QUEUED
    message: str = ""
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    version: int = MANIFEST_VERSION

    def __post_init__(self) -> None:
        self.state = _download_state(self.state)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        for record, stored in zip(self.files, data["files"], strict=True):
            stored["state"] = record.state.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        files = [FileRecord(str(f["path"]), int(f["size"]), None if f.get("sha256") is None else str(f["sha256"]),
                            str(f.get("role", "model")), _file_state(f.get("state", FileState.PENDING.value)))
                 for f in data.get("files", [])]
        return cls(str(data["repo_id"]), str(data["revision"]), str(data["quant"]), files,
                   _download_state(data.get("state", DownloadState.QUEUED.value)), str(data.get("message", "")),
                   float(data.get("created", 0)), float(data.get("updated", 0)), int(data.get("version", 1)))

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def manifest_path(folder: Path, quant: str) -> Path:
    return folder / STATE_DIR / f"{re.sub(r'[^A-Za-z0-9._-]', '_', quant)}.download.json"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that a crash leaves either the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def save_manifest(folder: Path, manifest: Manifest) -> None:
    manifest.updated = time.time()
    write_json_atomic(manifest_path(folder, manifest.quant), manifest.to_dict())


def load_manifest(path: Path) -> Manifest | None:
    try:
        return Manifest.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def manifests_in(folder: Path) -> list[tuple[Path, Manifest]]:
    found = []
    for path in sorted((folder / STATE_DIR).glob("*.download.json")):
        manifest = load_manifest(path)
        if manifest is not None:
            found.append((path, manifest))
    return found


# --- verified files --------------------------------------------------------------------------------------------------

def _verified_path(folder: Path) -> Path:
    return folder / STATE_DIR / "verified.json"


def is_verified(folder: Path, rel: str, sha256: str | None, local: Path) -> bool:
    """Whether ``local`` was verified against ``sha256`` and has not changed since (size and mtime)."""
    try:
        record = json.loads(_verified_path(folder).read_text()).get(rel)
        st = local.stat()
    except (OSError, ValueError, AttributeError):
        return False
    return bool(record) and record.get("sha256") == sha256 and record.get("size") == st.st_size \
        and record.get("mtime_ns") == st.st_mtime_ns


def mark_verified(folder: Path, rel: str, sha256: str | None, local: Path) -> None:
    path = _verified_path(folder)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    st = local.stat()
    data[rel] = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    write_json_atomic(path, data)


def forget_verified(folder: Path, rel: str) -> None:
    path = _verified_path(folder)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if data.pop(rel, None) is not None:
        write_json_atomic(path, data)
