"""The GGUF header reader on real files, on hostile headers, and under fuzzing."""

from __future__ import annotations

import os
import struct
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hearth.core.errors import ModelFileError
from hearth.core.gguf.files import check_model_path
from hearth.core.gguf.header import parse_gguf, read_gguf_info, read_model_info
from tests.fixtures.tiny_llama4 import TinyLlama4Shape, expert_tensor_names


class BytesSource:
    """An in-memory file that counts what was read (as a remote reader would fetch it)."""

    def __init__(self, data: bytes, size: int | None = -1) -> None:
        self.data = data
        self._size = len(data) if size == -1 else size
        self.reads: list[tuple[int, int]] = []

    @property
    def size(self) -> int | None:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        self.reads.append((offset, length))
        return self.data[offset:offset + length]


def kv_string(key: str, value: str) -> bytes:
    return struct.pack("<Q", len(key)) + key.encode() + struct.pack("<IQ", 8, len(value)) + value.encode()


def header(n_tensors: int, kvs: list[bytes], tensors: list[bytes] = ()) -> bytes:  # type: ignore[assignment]
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, len(kvs)) + b"".join(kvs) + b"".join(tensors)


def tensor_record(name: str, shape: tuple[int, ...], type_id: int, offset: int) -> bytes:
    return (struct.pack("<Q", len(name)) + name.encode() + struct.pack("<I", len(shape))
            + b"".join(struct.pack("<Q", d) for d in shape) + struct.pack("<IQ", type_id, offset))


def test_real_gemma_header(gemma_path: Path) -> None:
    info = read_gguf_info(gemma_path)
    assert info.architecture == "gemma3" and info.block_count == 18
    assert info.embedding_length == 640 and info.head_count == 4 and info.head_count_kv == (1,) * 18
    assert info.sliding_window == 512 and info.context_length == 32768
    assert info.vocab_size == 262144 and info.file_type == "Q4_K_M"
    assert not info.has_chat_template and not info.is_moe and info.expert_bytes == 0 and info.attention_chunk == 0
    # Every byte of the file is the header or a tensor (plus alignment padding).
    assert 0 <= gemma_path.stat().st_size - (info.data_offset + info.tensor_bytes) < 64 * len(info.tensors)


def test_tiny_llama4_single_and_split(tiny_llama4: Path, tiny_llama4_split: list[Path]) -> None:
    single = read_gguf_info(tiny_llama4)
    shape = TinyLlama4Shape()
    assert single.architecture == "llama4" and single.is_moe and single.has_chat_template
    assert (single.block_count, single.expert_count, single.expert_used_count) == (4, 4, 1)
    assert single.attention_chunk == 8192 and single.summary()["attention_chunk"] == 8192
    assert sorted(t.name for t in single.tensors if t.is_routed_expert) == sorted(expert_tensor_names(shape))
    gate = next(t for t in single.tensors if t.name == "blk.0.ffn_gate_exps.weight")
    assert gate.shape == (shape.n_embd, shape.n_ff_exp, shape.n_expert) and gate.type_name == "F32"
    assert gate.nbytes == 4 * shape.n_embd * shape.n_ff_exp * shape.n_expert and gate.layer == 0

    split = read_model_info(tiny_llama4_split)
    assert split.split_count == 2 and {t.shard for t in split.tensors} == {0, 1}
    assert {t.name: t.nbytes for t in split.tensors} == {t.name: t.nbytes for t in single.tensors}
    assert check_model_path(tiny_llama4_split[1]).info is not None


def test_header_is_read_in_growing_ranges(gemma_path: Path) -> None:
    data = gemma_path.read_bytes()
    source = BytesSource(data)
    info = parse_gguf(source, "gemma", first_read=4096)
    assert info.block_count == 18
    fetched = sum(length for _, length in source.reads)
    assert [off for off, _ in source.reads] == sorted({off for off, _ in source.reads}), "each byte fetched once"
    assert fetched < 2 * info.data_offset + 4096, "only the header is fetched, not the 240 MB of weights"
    assert len(source.reads) <= 14, "ranges grow geometrically"


def test_remote_header_without_known_size(tiny_llama4: Path) -> None:
    data = tiny_llama4.read_bytes()
    info = parse_gguf(BytesSource(data[:20_000], size=None), "remote", first_read=1024)
    assert info.architecture == "llama4" and info.file_size is None


def test_truncated_download_is_named(tiny_llama4: Path, tmp_path: Path) -> None:
    data = tiny_llama4.read_bytes()
    for cut, words in ((100, "truncated"), (5_000, "truncated"), (len(data) - 1000, "incomplete")):
        part = tmp_path / f"cut{cut}.gguf"
        part.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match=words):
            check_model_path(part)


@pytest.mark.parametrize(
    ("blob", "words"),
    [
        (header(0, [struct.pack("<Q", 2**40) + b"x"]), "metadata key claims"),
        (header(0, [kv_string("k", "v"), kv_string("k", "v")]), "appears twice"),
        (header(0, [struct.pack("<Q", 1) + b"k" + struct.pack("<I", 99)]), "unknown value type"),
        (header(0, [struct.pack("<Q", 1) + b"a" + struct.pack("<IIQ", 9, 8, 2**50)]), "claims"),
        (header(0, [struct.pack("<Q", 1) + b"a" + struct.pack("<IIQ", 9, 8, 10**6)]), "truncated or damaged"),
        (header(0, [struct.pack("<Q", 1) + b"a" + struct.pack("<IIQ", 9, 6, 10**6)]), "truncated or damaged"),
        (header(0, [struct.pack("<Q", 1) + b"a" + struct.pack("<IIQ", 9, 9, 1)]), "nested arrays"),
        (header(0, [struct.pack("<Q", 17) + b"general.alignment" + struct.pack("<II", 4, 24)]), "power of two"),
        (header(2**40, []), "claims 1,099,511,627,776 tensors"),
        (header(10**5, []), "table of 100,000 tensors"),
        (header(1, [], [tensor_record("t", (32, 1, 1, 1, 1), 0, 0)]), "5 dimensions"),
        (header(1, [], [tensor_record("t", (2**32, 2**32), 0, 0)]), "impossibly large"),
        (header(1, [], [tensor_record("t", (32,), 77, 0)]), "tensor type"),
        (header(1, [], [tensor_record("t", (33,), 8, 0)]), "block size"),
        (header(1, [], [tensor_record("t", (32,), 0, 3)]), "unaligned"),
        (header(2, [], [tensor_record("t", (32,), 0, 0), tensor_record("t", (32,), 0, 128)]), "appears twice"),
        (header(2, [], [tensor_record("a", (64,), 0, 0), tensor_record("b", (32,), 0, 128)]), "overlaps"),
        (header(1, [], [tensor_record("t", (2**20,), 0, 0)]), "incomplete"),
        (b"GGUF" + struct.pack(">I", 3) + b"\0" * 40, "big-endian"),
        (b"GGUF" + struct.pack("<I", 1) + b"\0" * 40, "version 1"),
    ],
)
def test_hostile_headers_are_refused_plainly(blob: bytes, words: str) -> None:
    data = blob + b"\0" * 512
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=words):
            parse_gguf(BytesSource(data), "evil.gguf")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, "a hostile count never turns into a large allocation"


# --- fuzzing ---------------------------------------------------------------------------------------------------------

_EXTREMES = (0, 1, 3, 4, 5, 8, 9, 12, 13, 255, 2**16, 2**31 - 1, 2**32 - 1, 2**32, 2**63, 2**64 - 1)

_mutation = st.one_of(
    st.tuples(st.just("byte"), st.integers(0, 2**20), st.integers(0, 255)),
    st.tuples(st.just("u64"), st.integers(0, 2**20), st.sampled_from(_EXTREMES) | st.integers(0, 2**64 - 1)),
    st.tuples(st.just("u32"), st.integers(0, 2**20), st.sampled_from(_EXTREMES[:13]) | st.integers(0, 2**32 - 1)),
    st.tuples(st.just("cut"), st.integers(0, 2**20), st.just(0)),
    st.tuples(st.just("delete"), st.integers(0, 2**20), st.integers(1, 64)),
    st.tuples(st.just("insert"), st.integers(0, 2**20), st.integers(0, 255)),
)


def mutate(data: bytes, header_len: int, mutations: list[tuple[str, int, int]]) -> bytes:
    buf = bytearray(data)
    for kind, where, value in mutations:
        pos = where % max(1, min(len(buf), header_len))
        if kind == "insert" or not buf:
            buf.insert(pos, value % 256)
        elif kind == "byte":
            buf[pos] = value
        elif kind == "u64":
            buf[pos:pos + 8] = struct.pack("<Q", value)
        elif kind == "u32":
            buf[pos:pos + 4] = struct.pack("<I", value)
        elif kind == "cut":
            del buf[pos:]
        else:
            del buf[pos:pos + value]
    return bytes(buf)


def _fuzz_once(data: bytes, header_len: int, mutations: list[tuple[str, int, int]]) -> None:
    blob = mutate(data, header_len, mutations)
    try:
        parse_gguf(BytesSource(blob), "fuzzed.gguf", first_read=512)
    except ModelFileError:
        pass  # the only failure allowed


class FuzzSeed:
    """The real header being mutated (a class, so that hypothesis does not print a megabyte of bytes)."""

    def __init__(self, path: Path) -> None:
        self.data = path.read_bytes()
        self.header_len = read_gguf_info(path).data_offset

    def __repr__(self) -> str:
        return f"FuzzSeed({self.header_len} header bytes)"


@pytest.fixture(scope="module")
def fuzz_seed(tiny_llama4: Path) -> FuzzSeed:
    return FuzzSeed(tiny_llama4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=st.lists(_mutation, min_size=1, max_size=6))
def test_fuzzed_headers_only_raise_model_file_error(fuzz_seed: FuzzSeed, mutations: list[tuple[str, int, int]]) -> None:
    _fuzz_once(fuzz_seed.data, fuzz_seed.header_len, mutations)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=st.lists(_mutation, min_size=1, max_size=8))
def test_fuzzed_headers_many(fuzz_seed: FuzzSeed, mutations: list[tuple[str, int, int]]) -> None:
    _fuzz_once(fuzz_seed.data, fuzz_seed.header_len, mutations)


def test_the_written_out_type_tables_match_gguf_py() -> None:
    """``ggml_types`` spares the header reader importing gguf (and numpy); it must say what gguf-py says."""
    import gguf

    from hearth.core.gguf.ggml_types import FILE_TYPES, GGML_TYPES

    assert {int(t): (t.name, *gguf.GGML_QUANT_SIZES[t]) for t in gguf.GGMLQuantizationType} == GGML_TYPES
    assert {int(t): t.name.removeprefix("MOSTLY_").removeprefix("ALL_") for t in gguf.LlamaFileType} == FILE_TYPES


def test_reading_a_header_does_not_import_gguf_py(gemma_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; from hearth.core.gguf.header import read_gguf_info; info = read_gguf_info(sys.argv[1]); "
            "print(info.file_type, len(info.tensors), 'gguf' in sys.modules, 'numpy' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[4] / "app")}
    out = subprocess.run([sys.executable, "-c", code, str(gemma_path)], capture_output=True, text=True, env=env,
                         timeout=120, check=True).stdout.split()
    assert out[0] == "Q4_K_M" and int(out[1]) > 100
    assert out[2:] == ["False", "False"]
