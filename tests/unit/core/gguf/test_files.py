"""Checks on model paths before llama.cpp sees them."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from hearth.core.errors import ModelFileError
from hearth.core.gguf.files import check_model_path, split_parts


def gguf_bytes(version: int = 3, kv: dict[str, int] | None = None) -> bytes:
    """A valid empty GGUF header (no tensors), with optional uint16 metadata such as a split's ``split.no``."""
    items = kv or {}
    body = b"".join(struct.pack("<Q", len(k)) + k.encode() + struct.pack("<IH", 2, v) for k, v in items.items())
    return b"GGUF" + struct.pack("<IQQ", version, 0, len(items)) + body + b"\0" * 48


def test_single_file(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(gguf_bytes())
    files = check_model_path(path)
    assert files.first == path and not files.is_split and files.total_bytes == path.stat().st_size


def test_split_names() -> None:
    parts = split_parts(Path("/m/Scout-Q4_K_M-00002-of-00003.gguf"))
    assert parts is not None
    assert [p.name for p in parts] == [f"Scout-Q4_K_M-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    assert split_parts(Path("/m/model.gguf")) is None


def test_later_shard_resolves_to_the_first(tmp_path: Path) -> None:
    for i in (1, 2):
        split = {"split.no": i - 1, "split.count": 2, "split.tensors.count": 0}
        (tmp_path / f"m-0000{i}-of-00002.gguf").write_bytes(gguf_bytes(kv=split))
    files = check_model_path(tmp_path / "m-00002-of-00002.gguf")
    assert files.first.name == "m-00001-of-00002.gguf" and files.is_split


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"<html><body>Access denied</body></html>", "web page"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n", "Git LFS pointer"),
        (b"PK\x03\x04rest", "ZIP"),
        (struct.pack("<Q", 120) + b'{"__metadata__":{}}', "safetensors"),
        (b"\x7fELF\x02\x01\x01", "GGUF signature"),
        (gguf_bytes(version=99), "version 99"),
        (b"GGUF\x03", "truncated"),
    ],
)
def test_bad_files_are_named(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=words):
        check_model_path(path)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="folder"):
        check_model_path(tmp_path)


def test_a_header_is_parsed_once_per_version_of_its_file(tmp_path: Path) -> None:
    """Loading asks for a model's header several times (plan, engine check, recommended settings): the same file
    gives the same parsed header; a replaced or rewritten file is read again, and a damaged one is never kept."""
    from hearth.core.gguf.header import read_gguf_info

    path = tmp_path / "m.gguf"
    path.write_bytes(gguf_bytes(kv={"split.no": 0}))
    first = read_gguf_info(path)
    assert read_gguf_info(path) is first
    assert check_model_path(path).info is first

    replacement = tmp_path / "new.gguf"
    replacement.write_bytes(gguf_bytes(kv={"split.no": 0, "split.count": 1}))
    replacement.replace(path)  # a finished download lands like this
    second = read_gguf_info(path)
    assert second is not first and second.get("split.count") == 1

    path.write_bytes(b"GGUF\x03")  # rewritten in place, damaged
    with pytest.raises(ModelFileError, match="truncated"):
        read_gguf_info(path)
    path.write_bytes(gguf_bytes(kv={"split.no": 0}))  # repaired in place (another size again)
    assert read_gguf_info(path).get("split.count") is None
