"""What a GGUF file holds, read from its header alone: architecture, layers, experts, context, per-tensor sizes.

The header is parsed by our own code with bounds checks on every count, length, type and offset, so a truncated or
hostile file (a 60 GB download cut short, a file made to crash a parser) gives a clear ``ModelFileError`` instead of a
crash or a huge allocation. The same parser reads a remote file's header through HTTP Range requests (see
``hearth.core.models.hub.client.remote_gguf_info``): it asks its ``ByteSource`` for growing prefixes until the key-value
table and the tensor-info table are parsed, so a 60 GB model can be planned after downloading a few megabytes.
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hearth.core.errors import ModelFileError
from hearth.core.gguf.ggml_types import FILE_TYPES, GGML_TYPES
from hearth.core.units import format_size

GGUF_MAGIC = b"GGUF"

# Limits far above any real model (Scout's header is ~10 MB, its tensor count ~700) and far below what could hurt.
MAX_HEADER_BYTES = 128 * 1024 * 1024
MAX_TENSORS = 200_000
MAX_KV = 100_000
MAX_STRING = 16 * 1024 * 1024
MAX_KEY = 65_535
MAX_ARRAY = 64 * 1024 * 1024
MAX_TENSOR_NAME = 255
MAX_DIMS = 4
KEEP_ARRAY = 4096  # arrays up to this many elements are kept; longer ones (vocabularies) only counted
_FIRST_READ = 1024 * 1024

_SCALARS: dict[int, tuple[str, int]] = {
    0: ("<B", 1), 1: ("<b", 1), 2: ("<H", 2), 3: ("<h", 2), 4: ("<I", 4), 5: ("<i", 4),
    6: ("<f", 4), 7: ("<?", 1), 10: ("<Q", 8), 11: ("<q", 8), 12: ("<d", 8),
}
_STRING, _ARRAY = 8, 9
GGUF_DEFAULT_ALIGNMENT = 32
_U64 = struct.Struct("<Q")


def _ggml_type(type_id: int) -> tuple[str, int, int] | None:
    """(name, values per block, bytes per block) of a tensor type: from the table written out in ``ggml_types``, else
    (a type newer than that table) from the installed gguf-py."""
    known = GGML_TYPES.get(type_id)
    if known is not None:
        return known
    names, sizes, _ = _gguf_tables()
    if type_id not in sizes:
        return None
    return names[type_id], *sizes[type_id]


def _file_type_name(value: int) -> str:
    return FILE_TYPES.get(value) or _gguf_tables()[2].get(value, f"type {value}")


@functools.cache
def _gguf_tables() -> tuple[dict[int, str], dict[int, tuple[int, int]], dict[int, str]]:
    """ggml's type names and sizes from gguf-py (it imports numpy: only for a type ``ggml_types`` does not list)."""
    import gguf

    names = {int(t): t.name for t in gguf.GGMLQuantizationType}
    sizes = {int(t): size for t, size in gguf.GGML_QUANT_SIZES.items()}
    file_types = {int(t): t.name.removeprefix("MOSTLY_").removeprefix("ALL_") for t in gguf.LlamaFileType}
    return names, sizes, file_types

_LAYER_RE = re.compile(r"^blk\.(\d+)\.")
_EXPERT_RE = re.compile(r"\.ffn_(up|down|gate|gate_up)_(ch|)exps\b")


class ByteSource(Protocol):
    """Where header bytes come from: a local file, or a remote file read with Range requests."""

    @property
    def size(self) -> int | None:
        """The file's total size in bytes, if known."""

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset`` (fewer only at the end of the file)."""


class FileSource:
    """A local file as a ``ByteSource``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._size = path.stat().st_size
        except OSError as exc:
            raise ModelFileError(f"The model file {path.name} cannot be read: {exc.strerror}.") from exc

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        try:
            with self.path.open("rb") as fh:
                fh.seek(offset)
                return fh.read(length)
        except OSError as exc:
            raise ModelFileError(f"The model file {self.path.name} cannot be read: {exc.strerror}.") from exc


@dataclass(frozen=True)
class ArrayInfo:
    """A long metadata array that was checked and counted but not kept (a vocabulary, merges)."""

    element_type: int
    length: int


@dataclass(frozen=True)
class TensorInfo:
    """One tensor as the header describes it.

    Attributes:
        name: e.g. ``blk.3.ffn_up_exps.weight``.
        type_name: ggml type (``Q4_K``, ``F32``...).
        shape: dimensions as stored (ggml order: the first is the row length).
        offset: where its data starts, relative to the file's data section.
        nbytes: size of its data.
        shard: index of the file that holds it (0 for a single-file model).
    """

    name: str
    type_name: str
    shape: tuple[int, ...]
    offset: int
    nbytes: int
    shard: int = 0

    @property
    def layer(self) -> int | None:
        match = _LAYER_RE.match(self.name)
        return int(match.group(1)) if match else None

    @property
    def is_routed_expert(self) -> bool:
        """Whether this is a routed-expert tensor (what ``--cpu-moe`` keeps in CPU RAM)."""
        return _EXPERT_RE.search(self.name) is not None


@dataclass(frozen=True)
class GgufInfo:
    """A GGUF header (or the merged headers of all shards of a split model)."""

    version: int
    metadata: Mapping[str, Any]
    tensors: tuple[TensorInfo, ...]
    data_offset: int
    file_size: int | None
    alignment: int
    source: str = ""
    shard_sizes: tuple[int, ...] = field(default=())

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)

    def arch_value(self, suffix: str, default: Any = None) -> Any:
        return self.metadata.get(f"{self.architecture}.{suffix}", default)

    def _arch_int(self, suffix: str) -> int:
        value = self.arch_value(suffix, 0)
        if isinstance(value, tuple):
            value = max((v for v in value if isinstance(v, int)), default=0)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    @property
    def architecture(self) -> str:
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) else "unknown"

    @property
    def name(self) -> str:
        value = self.metadata.get("general.name")
        return value if isinstance(value, str) else ""

    @property
    def block_count(self) -> int:
        return self._arch_int("block_count")

    @property
    def expert_count(self) -> int:
        return self._arch_int("expert_count")

    @property
    def expert_used_count(self) -> int:
        return self._arch_int("expert_used_count")

    @property
    def embedding_length(self) -> int:
        return self._arch_int("embedding_length")

    @property
    def head_count(self) -> int:
        return self._arch_int("attention.head_count")

    @property
    def head_count_kv(self) -> tuple[int, ...]:
        """KV heads per layer (some models vary it by layer)."""
        value = self.arch_value("attention.head_count_kv")
        n = self.block_count
        if isinstance(value, tuple) and value and all(isinstance(v, int) for v in value):
            return tuple(int(v) for v in value)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return (value,) * n
        return (self.head_count,) * n

    @property
    def key_length(self) -> int:
        return self._arch_int("attention.key_length") or (self.embedding_length // max(1, self.head_count))

    @property
    def value_length(self) -> int:
        return self._arch_int("attention.value_length") or (self.embedding_length // max(1, self.head_count))

    @property
    def context_length(self) -> int:
        return self._arch_int("context_length")

    @property
    def sliding_window(self) -> int:
        return self._arch_int("attention.sliding_window")

    @property
    def attention_chunk(self) -> int:
        """Chunked-attention span (Llama 4: 8192 tokens in 3 of 4 layers, unless the header turns it off), or 0."""
        explicit = self._arch_int("attention.chunk_size")
        if explicit:
            return explicit
        if self.architecture == "llama4":
            off = "llama4.attention.sliding_window" in self.metadata and self.sliding_window == 0
            return 0 if off else 8192
        return 0

    @property
    def vocab_size(self) -> int:
        tokens = self.metadata.get("tokenizer.ggml.tokens")
        if isinstance(tokens, ArrayInfo):
            return tokens.length
        if isinstance(tokens, tuple):
            return len(tokens)
        return self._arch_int("vocab_size")

    @property
    def file_type(self) -> str:
        """The quantization the file was made as (``Q4_K_M``...), or "" if the header does not say."""
        value = self.metadata.get("general.file_type")
        return _file_type_name(value) if isinstance(value, int) else ""

    @property
    def has_chat_template(self) -> bool:
        value = self.metadata.get("tokenizer.chat_template")
        return isinstance(value, str) and bool(value.strip())

    @property
    def split_count(self) -> int:
        value = self.metadata.get("split.count")
        return value if isinstance(value, int) and value > 0 else 1

    @property
    def split_no(self) -> int:
        value = self.metadata.get("split.no")
        return value if isinstance(value, int) and value >= 0 else 0

    @property
    def tensor_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)

    @property
    def expert_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors if t.is_routed_expert)

    @property
    def is_moe(self) -> bool:
        return self.expert_count > 1 and any(t.is_routed_expert for t in self.tensors)

    def summary(self) -> dict[str, Any]:
        """The facts a person (or ``--json``) wants, without the tensor table."""
        return {
            "architecture": self.architecture, "name": self.name, "version": self.version,
            "block_count": self.block_count, "expert_count": self.expert_count,
            "expert_used_count": self.expert_used_count, "embedding_length": self.embedding_length,
            "head_count": self.head_count, "head_count_kv": max(self.head_count_kv, default=0),
            "context_length": self.context_length, "sliding_window": self.sliding_window,
            "attention_chunk": self.attention_chunk,
            "vocab_size": self.vocab_size, "file_type": self.file_type, "has_chat_template": self.has_chat_template,
            "split_count": self.split_count, "tensor_count": len(self.tensors), "tensor_bytes": self.tensor_bytes,
            "expert_bytes": self.expert_bytes,
        }


class _Cursor:
    """Sequential reads over a growing prefix of a ``ByteSource``, refusing anything beyond the limits."""

    def __init__(self, source: ByteSource, label: str, first_read: int) -> None:
        self.source = source
        self.label = label
        self.buf = bytearray()
        self.pos = 0
        self.size = source.size
        self._next_read = first_read

    def fail(self, what: str) -> ModelFileError:
        return ModelFileError(
            f"The model file {self.label} is damaged or not a model: {what}.",
            hint="Download it again, or choose another file.",
            details=f"header byte offset {self.pos}",
        )

    def remaining(self) -> int:
        """Bytes that may still be read (bounded by the file size and the header limit)."""
        limit = MAX_HEADER_BYTES if self.size is None else min(self.size, MAX_HEADER_BYTES)
        return max(0, limit - self.pos)

    def room(self, n: int, what: str) -> None:
        """Refuse to read ``n`` more bytes for ``what`` if the file (or the header limit) cannot hold them."""
        if n <= self.remaining():
            return
        if self.size is not None and self.pos + n > self.size:
            raise ModelFileError(
                f"The model file {self.label} is truncated or damaged: {what} needs more bytes than the file holds.",
                hint="If it was downloaded, the download was probably interrupted; download it again.",
                details=f"needed {n:,} bytes at offset {self.pos:,}; the file has {self.size:,}",
            )
        raise self.fail(f"{what} would make its header larger than {format_size(MAX_HEADER_BYTES)}")

    def need(self, n: int) -> None:
        self.room(n, "its header")
        end = self.pos + n
        while len(self.buf) < end:
            want = max(end - len(self.buf), self._next_read)
            cap = MAX_HEADER_BYTES if self.size is None else min(self.size, MAX_HEADER_BYTES)
            want = min(want, cap - len(self.buf))
            chunk = self.source.read(len(self.buf), want)
            if not chunk:
                raise ModelFileError(
                    f"The model file {self.label} is truncated: its header ends early.",
                    hint="If it was downloaded, the download was probably interrupted; download it again.",
                )
            self.buf += chunk
            self._next_read = min(self._next_read * 2, 64 * 1024 * 1024)

    def take(self, n: int) -> bytes:
        self.need(n)
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return data

    def unpack(self, fmt: str, size: int) -> Any:
        self.need(size)
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += size
        return value

    def u32(self) -> int:
        return int(self.unpack("<I", 4))

    def u64(self) -> int:
        return int(self.unpack("<Q", 8))

    def string(self, limit: int, what: str) -> str:
        length = self.u64()
        if length > limit:
            raise self.fail(f"{what} claims {length:,} bytes")
        return self.take(length).decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        """Check and step over ``count`` strings (a vocabulary) without keeping them."""
        unpack = _U64.unpack_from
        pos, end = self.pos, len(self.buf)
        for _ in range(count):
            if pos + 8 > end:
                self.pos = pos
                self.need(8)
                end = len(self.buf)
            (length,) = unpack(self.buf, pos)
            pos += 8
            if length > MAX_STRING:
                self.pos = pos
                raise self.fail(f"a string in an array claims {length:,} bytes")
            if pos + length > end:
                self.pos = pos
                self.need(length)
                end = len(self.buf)
            pos += length
        self.pos = pos


def _value(cur: _Cursor, vtype: int, key: str) -> Any:
    if vtype in _SCALARS:
        fmt, size = _SCALARS[vtype]
        return cur.unpack(fmt, size)
    if vtype == _STRING:
        return cur.string(MAX_STRING, f"the value of {key!r}")
    if vtype != _ARRAY:
        raise cur.fail(f"unknown value type {vtype} for {key!r}")
    etype = cur.u32()
    count = cur.u64()
    if count > MAX_ARRAY:
        raise cur.fail(f"the array {key!r} claims {count:,} elements")
    if etype == _STRING:
        cur.room(count * 8, f"the array {key!r} ({count:,} strings)")
        if count <= KEEP_ARRAY:
            return tuple(cur.string(MAX_STRING, f"a string in {key!r}") for _ in range(count))
        cur.skip_strings(count)
        return ArrayInfo(etype, count)
    if etype not in _SCALARS:
        raise cur.fail(f"the array {key!r} has element type {etype}" + (" (nested arrays)" if etype == _ARRAY else ""))
    fmt, size = _SCALARS[etype]
    cur.room(count * size, f"the array {key!r} ({count:,} values)")
    if count <= KEEP_ARRAY:
        return tuple(struct.unpack(f"<{count}{fmt[1]}", cur.take(count * size)))
    cur.need(count * size)
    cur.pos += count * size
    return ArrayInfo(etype, count)


def _tensor(cur: _Cursor, alignment: int, shard: int) -> TensorInfo:
    name = cur.string(MAX_TENSOR_NAME, "a tensor name")
    n_dims = cur.u32()
    if not 1 <= n_dims <= MAX_DIMS:
        raise cur.fail(f"tensor {name!r} has {n_dims} dimensions")
    shape = tuple(cur.u64() for _ in range(n_dims))
    elements = 1
    for dim in shape:
        elements *= dim
        if elements >= 2**62:
            raise cur.fail(f"tensor {name!r} is impossibly large")
    type_id = cur.u32()
    known = _ggml_type(type_id)
    if known is None:
        raise ModelFileError(
            f"The model file {cur.label} uses a tensor type ({type_id}) this version of Hearth does not know.",
            hint="It was probably made by a newer llama.cpp; update Hearth.",
        )
    type_name, block, type_size = known
    if shape[0] % block:
        raise cur.fail(f"tensor {name!r} has rows of {shape[0]} values, not a multiple of its block size {block}")
    offset = cur.u64()
    if offset % alignment:
        raise cur.fail(f"tensor {name!r} starts at an unaligned offset")
    nbytes = elements // block * type_size
    return TensorInfo(name, type_name, shape, offset, nbytes, shard)


def parse_gguf(source: ByteSource, label: str, *, shard: int = 0, first_read: int = _FIRST_READ) -> GgufInfo:
    """Parse and check a GGUF header.

    Args:
        source: where the bytes come from.
        label: the file's name for messages.
        shard: index recorded in each ``TensorInfo`` (for split models).
        first_read: bytes fetched by the first read; later reads double.

    Raises:
        ModelFileError: the header is not GGUF, is truncated, or fails a check; says which.
    """
    cur = _Cursor(source, label, first_read)
    magic = bytes(cur.take(4)) if (source.size is None or source.size >= 4) else b""
    if magic != GGUF_MAGIC:
        raise ModelFileError(f"{label} is not a GGUF model file: it does not start with the GGUF signature.")
    version = cur.u32()
    if version not in (2, 3):
        if struct.unpack(">I", struct.pack("<I", version))[0] in (2, 3):
            raise ModelFileError(f"{label} is a big-endian GGUF file, which Hearth cannot run.")
        raise ModelFileError(
            f"{label} is GGUF version {version}, which this version of Hearth cannot read.",
            hint="Update Hearth, or choose a file made by a recent llama.cpp.",
        )
    n_tensors = cur.u64()
    n_kv = cur.u64()
    if n_tensors > MAX_TENSORS:
        raise cur.fail(f"it claims {n_tensors:,} tensors")
    if n_kv > MAX_KV:
        raise cur.fail(f"it claims {n_kv:,} metadata entries")
    metadata: dict[str, Any] = {}
    for _ in range(n_kv):
        key = cur.string(MAX_KEY, "a metadata key")
        if key in metadata:
            raise cur.fail(f"the metadata key {key!r} appears twice")
        metadata[key] = _value(cur, cur.u32(), key)
    alignment = metadata.get("general.alignment", GGUF_DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or isinstance(alignment, bool) or alignment <= 0 or alignment & (alignment - 1):
        raise cur.fail(f"its alignment {alignment!r} is not a power of two")
    cur.room(n_tensors * 33, f"the table of {n_tensors:,} tensors")  # 33 bytes: the smallest tensor record
    tensors = [_tensor(cur, alignment, shard) for _ in range(n_tensors)]
    data_offset = -(-cur.pos // alignment) * alignment
    _check_layout(cur, tensors, data_offset)
    return GgufInfo(
        version=version, metadata=metadata, tensors=tuple(tensors), data_offset=data_offset, file_size=source.size,
        alignment=alignment, source=label, shard_sizes=(source.size or 0,),
    )


def _check_layout(cur: _Cursor, tensors: Sequence[TensorInfo], data_offset: int) -> None:
    names: set[str] = set()
    for t in tensors:
        if t.name in names:
            raise cur.fail(f"the tensor {t.name!r} appears twice")
        names.add(t.name)
    end = 0
    for t in sorted(tensors, key=lambda t: t.offset):
        if t.offset < end:
            raise cur.fail(f"tensor {t.name!r} overlaps another tensor")
        end = t.offset + t.nbytes
    if cur.size is not None and data_offset + end > cur.size:
        missing = data_offset + end - cur.size
        raise ModelFileError(
            f"The model file {cur.label} is incomplete or damaged: it is {missing:,} bytes shorter than its tensors "
            "need.",
            hint="The download was probably interrupted; download it again (Hearth resumes downloads).",
        )


def read_gguf_info(path: str | Path) -> GgufInfo:
    """Read and check the header of one local GGUF file.

    Each version of a file (its inode, size and modification time) is parsed once per process and the result shared
    (do not change it): stepping over a vocabulary takes Python ~20 ms with the interpreter lock held, which the
    window's thread waits on, and loading a model asks for its header three times (its plan, the engine's check, its
    recommended settings). A file that is replaced or rewritten is parsed again; a damaged one is never remembered.
    """
    p = Path(path)
    try:
        stat = p.stat()
    except OSError as exc:
        raise ModelFileError(f"The model file {p.name} cannot be read: {exc.strerror}.") from exc
    return _read_version(str(p), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _read_version(path: str, _dev: int, _ino: int, _size: int, _mtime_ns: int) -> GgufInfo:
    p = Path(path)
    return parse_gguf(FileSource(p), p.name)


def merge_shards(shards: Sequence[GgufInfo]) -> GgufInfo:
    """One ``GgufInfo`` for a split model: the first shard's metadata and every shard's tensors.

    Raises:
        ModelFileError: the shards do not belong together.
    """
    first = shards[0]
    if len(shards) == 1:
        return first
    if first.split_count != len(shards):
        raise ModelFileError(f"{first.source} says it has {first.split_count} parts, but {len(shards)} were given.")
    tensors: list[TensorInfo] = []
    names: set[str] = set()
    for index, info in enumerate(shards):
        if info.split_no != index:
            raise ModelFileError(f"{info.source} is part {info.split_no + 1} of its model, expected part {index + 1}.")
        for t in info.tensors:
            if t.name in names:
                raise ModelFileError(f"The tensor {t.name!r} appears in more than one part of the model.")
            names.add(t.name)
            tensors.append(TensorInfo(t.name, t.type_name, t.shape, t.offset, t.nbytes, index))
    sizes = tuple(s.file_size or 0 for s in shards)
    return GgufInfo(
        version=first.version, metadata=first.metadata, tensors=tuple(tensors), data_offset=first.data_offset,
        file_size=sum(sizes), alignment=first.alignment, source=first.source, shard_sizes=sizes,
    )


def read_model_info(parts: Sequence[Path], reader: Callable[[Path], GgufInfo] = read_gguf_info) -> GgufInfo:
    """The merged header of a model given as its file parts (one, or all shards in order)."""
    return merge_shards([reader(p) for p in parts])
