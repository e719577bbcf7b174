"""Checks on a model path before llama.cpp sees it: exists, is a GGUF file, all parts of a split model present.

The same for a vision projector (mmproj): a GGUF file of architecture ``clip`` whose data is all there.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

from hearth.core.errors import ModelFileError, VisionFileError
from hearth.core.gguf.header import GgufInfo, merge_shards, read_gguf_info

GGUF_MAGIC = b"GGUF"
_SPLIT_RE = re.compile(r"^(?P<prefix>.*)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)


@dataclass(frozen=True)
class ModelFiles:
    """A model as files on disk.

    Attributes:
        first: the file llama.cpp is given (the first shard of a split model).
        parts: every file of the model, in order.
        info: the checked header (merged over all parts of a split model).
    """

    first: Path
    parts: tuple[Path, ...]
    info: GgufInfo | None = None

    @property
    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.parts)

    @property
    def is_split(self) -> bool:
        return len(self.parts) > 1


def split_parts(path: Path) -> tuple[Path, ...] | None:
    """All shard paths of a split GGUF named ``NAME-0000i-of-0000N.gguf``, or None for a single file."""
    match = _SPLIT_RE.match(path.name)
    if not match:
        return None
    count = int(match["count"])
    return tuple(path.with_name(f"{match['prefix']}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1))


def _describe_non_gguf(head: bytes) -> str:
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html")):
        return "It is a web page, not a model: the download probably failed or needed a login."
    if text.startswith(b"{") or text.startswith(b"version https://git-lfs"):
        return "It is a small text file (an error message or a Git LFS pointer), not the model itself."
    if head[:2] == b"PK":
        return "It is a ZIP archive; Hearth needs the .gguf file inside it."
    if len(head) >= 8 and struct.unpack("<Q", head[:8])[0] < 100_000_000 and head[8:9] == b"{":
        return "It is a safetensors file; Hearth runs GGUF files (look for a -GGUF repository of this model)."
    return "It does not start with the GGUF signature."


def check_model_path(path: str | Path) -> ModelFiles:
    """Validate a model path enough to give a clear message before loading.

    Every part's header is parsed and bounds-checked (``hearth.core.gguf.header``), so a truncated or hostile file is
    refused here with a reason instead of crashing llama.cpp.

    Raises:
        ModelFileError: with a plain-words reason.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelFileError(f"The model file {p} does not exist.", hint="Check the path, or download the model again.")
    if p.is_dir():
        raise ModelFileError(f"{p} is a folder, not a model file.", hint="Choose the .gguf file inside it.")
    parts = split_parts(p) or (p,)
    missing = [q for q in parts if not q.is_file()]
    if missing:
        raise ModelFileError(
            f"This model is split into {len(parts)} files and {len(missing)} of them "
            f"{'is' if len(missing) == 1 else 'are'} missing: {', '.join(q.name for q in missing)}.",
            hint="Finish or repeat the download; every part must be in the same folder.",
        )
    for part in parts:
        try:
            with part.open("rb") as fh:
                head = fh.read(64)
        except OSError as exc:
            raise ModelFileError(f"The model file {part.name} cannot be read: {exc.strerror}.") from exc
        if len(head) == 0:
            raise ModelFileError(f"The model file {part.name} is empty (0 bytes).", hint="Download it again.")
        if head[:4] != GGUF_MAGIC:
            raise ModelFileError(f"{part.name} is not a GGUF model file. {_describe_non_gguf(head)}")
        if len(head) < 8:
            raise ModelFileError(f"The model file {part.name} is truncated.", hint="Download it again.")
        version = struct.unpack("<I", head[4:8])[0]
        if version not in (2, 3):
            raise ModelFileError(
                f"{part.name} is GGUF version {version}, which this version of Hearth cannot read.",
                hint="Update Hearth, or choose a file made by a recent llama.cpp.",
            )
    info = merge_shards([read_gguf_info(part) for part in parts])
    return ModelFiles(first=parts[0], parts=tuple(parts), info=info)


_PROJECTOR_HINT = "Choose the mmproj file made for this model (it comes from the same download page)."


def check_projector_path(path: str | Path) -> Path:
    """Validate a vision projector (mmproj) file enough to say clearly what is wrong before loading it.

    Raises:
        VisionFileError: missing, not GGUF, a language model rather than a projector, or cut short.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        what = "is a folder" if p.is_dir() else "does not exist"
        raise VisionFileError(f"The vision file (mmproj) {p} {what}.", hint=_PROJECTOR_HINT)
    try:
        with p.open("rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise VisionFileError(f"The vision file {p.name} cannot be read: {exc.strerror}.") from exc
    if head[:4] != GGUF_MAGIC:
        reason = "It is empty (0 bytes)." if not head else _describe_non_gguf(head)
        raise VisionFileError(f"{p.name} is not a GGUF vision file. {reason}", hint=_PROJECTOR_HINT)
    import gguf  # numpy and the GGUF reader, only when a projector is named

    try:
        reader = gguf.GGUFReader(p)
        field = reader.get_field("general.architecture")
        architecture = bytes(field.parts[-1]).decode("utf-8", errors="replace") if field is not None else ""
        data_end = max((t.data_offset + int(t.n_bytes) for t in reader.tensors), default=0)
    except Exception as exc:  # the reader fails in many ways on a damaged file; all mean the same to a user
        raise VisionFileError(f"The vision file {p.name} is incomplete or damaged.", hint="Download it again.",
                              details=repr(exc)) from exc
    if architecture != "clip":
        raise VisionFileError(
            f"{p.name} is a language model ({architecture or 'unknown architecture'}), not a vision file (mmproj).",
            hint=_PROJECTOR_HINT,
        )
    if data_end > p.stat().st_size:
        raise VisionFileError(f"The vision file {p.name} is incomplete: it ends before all of its data.",
                              hint="Download it again.")
    return p
