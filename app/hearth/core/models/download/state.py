"""What survives an app restart about a download: its manifest, a lock, and which files were verified.

A download of one quantization writes ``<models>/<owner>/<repo>/.hearth/<quant>.download.json`` (the files with the
Hub's sizes and sha256, the pinned commit, each file's state). Files are written as ``NAME.part`` and renamed only after
their sha256 matched, so a file under its final name is always complete. ``.hearth/verified.json`` remembers verified
files (size, mtime, sha256) so a second quantization sharing the same vision projector does not hash it again.
``.hearth/lock`` holds the pid of the process downloading into the folder.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hearth.core.errors import DownloadError

MANIFEST_VERSION = 1
STATE_DIR = ".hearth"


@dataclass
class FileRecord:
    """One file of a download.

    Attributes:
        path: the path in the repository (checked by ``safe_repo_path``).
        size: bytes, as the Hub listed them.
        sha256: the Hub's LFS sha256 (None for small non-LFS files: then only the size is checked).
        role: "model" or "mmproj".
        state: "pending", "partial", "verifying", "ready" or "bad".
    """

    path: str
    size: int
    sha256: str | None
    role: str = "model"
    state: str = "pending"


@dataclass
class Manifest:
    """A download's record on disk."""

    repo_id: str
    revision: str
    quant: str
    files: list[FileRecord]
    state: str = "queued"  # queued, downloading, paused, verifying, ready, failed
    message: str = ""
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    version: int = MANIFEST_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        files = [FileRecord(**{k: f[k] for k in ("path", "size", "sha256", "role", "state") if k in f})
                 for f in data.get("files", [])]
        return cls(str(data["repo_id"]), str(data["revision"]), str(data["quant"]), files,
                   str(data.get("state", "queued")), str(data.get("message", "")), float(data.get("created", 0)),
                   float(data.get("updated", 0)), int(data.get("version", 1)))

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


# --- the folder lock -------------------------------------------------------------------------------------------------

def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # type: ignore[attr-defined]
        if not handle:
            return False
        ctypes.windll.kernel32.CloseHandle(handle)  # type: ignore[attr-defined]
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_owner(folder: Path) -> int | None:
    """The pid downloading into ``folder`` now, or None (a lock left by a dead process does not count)."""
    try:
        pid = int((folder / STATE_DIR / "lock").read_text().strip() or 0)
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


class FolderLock:
    """One downloading process per repository folder (two would write the same ``.part`` files)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / STATE_DIR / "lock"

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = lock_owner(self.path.parent.parent)
                if owner is not None:
                    raise DownloadError(
                        "This model is already being downloaded" + (" by this app." if owner == os.getpid()
                                                                    else f" by another Hearth (process {owner})."),
                        hint="Wait for that download, or stop it first.",
                    ) from None
                self.path.unlink(missing_ok=True)  # left by a process that died
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            return
        raise DownloadError("The download folder is locked.", hint=f"Delete {self.path} if no download is running.")

    def release(self) -> None:
        try:
            if int(self.path.read_text().strip() or 0) == os.getpid():
                self.path.unlink()
        except (OSError, ValueError):
            pass
