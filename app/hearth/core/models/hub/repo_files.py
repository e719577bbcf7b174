"""A Hugging Face repository's files as Hearth sees them: quantizations, split shards, vision projectors.

Everything here is plain data; the Hub's listing is untrusted input, so every path goes through ``safe_repo_path``
(no ``..``, no absolute paths, no backslashes or drive letters) before it names a file on disk.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from hearth.core.errors import DownloadError

_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_SHARD_RE = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
_QUANT_RE = re.compile(
    r"(?:^|[-_.])((?:UD-)?(?:I?Q\d(?:_[0-9A-Z]+)*|BF16|F16|F32|MXFP4(?:_MOE)?|TQ\d_\d))(?=[-_.]|$)", re.IGNORECASE
)
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def safe_repo_id(repo_id: str) -> str:
    """Check an ``owner/name`` repository id.

    Raises:
        DownloadError: it is not a valid repository id.
    """
    if not _REPO_RE.match(repo_id) or ".." in repo_id:
        raise DownloadError(f"{repo_id!r} is not a Hugging Face repository name (expected owner/name).")
    return repo_id


def safe_repo_path(path: str) -> PurePosixPath:
    """A file path from the Hub, checked so it can only name a file inside the repository's folder.

    Raises:
        DownloadError: the path is absolute, climbs out (``..``), uses backslashes or a drive letter, or has
            characters no file name may have.
    """
    bad = (
        not path or path.startswith("/") or "\\" in path or re.match(r"^[A-Za-z]:", path) is not None
        or any(ord(c) < 32 for c in path) or len(path) > 1024
    )
    parts = path.split("/")
    bad = bad or any(p in ("", ".", "..") or p.endswith((" ", ".")) or ":" in p for p in parts)
    bad = bad or any(p.split(".")[0].lower() in _WINDOWS_RESERVED for p in parts)
    if bad:
        raise DownloadError(
            f"The repository lists a file with an unsafe name ({path!r}); Hearth refused to download it.",
            hint="This repository may be broken or malicious. Choose another one.",
        )
    return PurePosixPath(path)


@dataclass(frozen=True)
class RemoteFile:
    """One file in a repository, as the Hub lists it."""

    path: str
    size: int
    sha256: str | None = None  # the LFS object id; None for small files kept in git

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def is_gguf(self) -> bool:
        return self.path.lower().endswith(".gguf")

    @property
    def is_mmproj(self) -> bool:
        return self.is_gguf and "mmproj" in self.name.lower()


@dataclass(frozen=True)
class Quant:
    """One quantization of a model: its file(s) (all shards, in order)."""

    label: str  # "UD-Q4_K_XL", "Q4_K_M"...
    files: tuple[RemoteFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def first(self) -> RemoteFile:
        return self.files[0]

    @property
    def is_split(self) -> bool:
        return len(self.files) > 1

    @property
    def complete(self) -> bool:
        """All shards are listed."""
        match = _SHARD_RE.search(self.first.name)
        return match is None or int(match.group(2)) == len(self.files)


@dataclass(frozen=True)
class RepoListing:
    """What the Hub said about a repository, and when.

    Attributes:
        repo_id: ``owner/name``.
        revision: the commit the listing describes (downloads pin it).
        gated: False, or the Hub's gating mode ("auto"/"manual").
        files: every file (paths unchecked: see ``safe_repo_path``).
        fetched_at: when it was fetched (Unix time); cached listings show their age.
    """

    repo_id: str
    revision: str
    gated: bool | str
    files: tuple[RemoteFile, ...]
    fetched_at: float = field(default_factory=time.time)
    downloads: int = 0
    likes: int = 0
    from_cache: bool = False

    def age_s(self, now: float | None = None) -> float:
        return max(0.0, (now or time.time()) - self.fetched_at)

    @property
    def quants(self) -> tuple[Quant, ...]:
        return group_quants(self.files)

    @property
    def mmproj_files(self) -> tuple[RemoteFile, ...]:
        return tuple(f for f in self.files if f.is_mmproj)

    def quant(self, label: str | None) -> Quant:
        """The quantization named ``label`` (case-insensitive), or the best default when None.

        Raises:
            DownloadError: no such quantization, or the name is ambiguous.
        """
        quants = self.quants
        if not quants:
            raise DownloadError(f"{self.repo_id} has no GGUF model files.",
                                hint="Hearth runs GGUF files; look for a -GGUF version of this model.")
        if label is None:
            return default_quant(quants)
        hits = [q for q in quants if q.label.lower() == label.lower()]
        hits = hits or [q for q in quants if label.lower() in q.first.path.lower()]
        if len(hits) == 1:
            return hits[0]
        names = ", ".join(sorted({q.label for q in quants}))
        if not hits:
            raise DownloadError(f"{self.repo_id} has no {label} file.", hint=f"Available: {names}.")
        raise DownloadError(f"More than one file in {self.repo_id} matches {label}.",
                            hint="Name the file: " + ", ".join(q.first.path for q in hits))

    def mmproj(self) -> RemoteFile | None:
        """The vision projector to use with this repo's models (F16 preferred), if it has one."""
        candidates = self.mmproj_files
        for pref in ("F16", "BF16", "F32"):
            for f in candidates:
                if quant_label(f.path) == pref:
                    return f
        return candidates[0] if candidates else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id, "revision": self.revision, "gated": self.gated, "fetched_at": self.fetched_at,
            "downloads": self.downloads, "likes": self.likes,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, from_cache: bool = True) -> RepoListing:
        files = tuple(RemoteFile(str(f["path"]), int(f["size"]), f.get("sha256")) for f in data["files"])
        return cls(str(data["repo_id"]), str(data["revision"]), data.get("gated", False), files,
                   float(data["fetched_at"]), int(data.get("downloads", 0)), int(data.get("likes", 0)), from_cache)


def quant_label(path: str) -> str:
    """The quantization named in a GGUF file name ("UD-Q4_K_XL", "Q4_K_M"), or the file's stem."""
    stem = _SHARD_RE.sub("", path.rsplit("/", 1)[-1])
    stem = re.sub(r"\.gguf$", "", stem, flags=re.IGNORECASE)
    found = _QUANT_RE.findall(stem)
    if found:
        return found[-1].upper()
    folder = path.rsplit("/", 1)[0] if "/" in path else ""
    found = _QUANT_RE.findall(folder)
    return found[-1].upper() if found else stem


def group_quants(files: tuple[RemoteFile, ...] | list[RemoteFile]) -> tuple[Quant, ...]:
    """Model files grouped into quantizations (shards of a split file together, first shard first)."""
    groups: dict[str, list[RemoteFile]] = {}
    for f in files:
        if not f.is_gguf or f.is_mmproj:
            continue
        key = _SHARD_RE.sub("", f.path)
        groups.setdefault(key, []).append(f)
    quants = []
    for members in groups.values():
        members.sort(key=lambda f: f.path)
        quants.append(Quant(quant_label(members[0].path), tuple(members)))
    return tuple(sorted(quants, key=lambda q: q.size))


_PREFERRED = ("UD-Q4_K_XL", "Q4_K_M", "UD-Q3_K_XL", "Q4_K_S", "MXFP4", "Q5_K_M", "Q8_0")


def default_quant(quants: tuple[Quant, ...]) -> Quant:
    """A sensible quantization when the user names none: a 4-bit K-quant if there is one."""
    for name in _PREFERRED:
        for q in quants:
            if q.label.upper() == name:
                return q
    return quants[len(quants) // 2]
