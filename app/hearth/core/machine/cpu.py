"""CPU facts the engine needs before it loads anything: instruction-set features and core counts."""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class CpuInfo:
    """What the processor can do.

    Attributes:
        model: the marketing name, or the platform's best guess.
        flags: lower-case feature flags (Linux names: ``avx2``, ``avx512f``, ``amx_tile``...).
        logical_cores: hardware threads.
        physical_cores: cores (llama.cpp runs best with one thread per physical core).
    """

    model: str
    flags: frozenset[str]
    logical_cores: int
    physical_cores: int

    @property
    def has_avx2(self) -> bool:
        return "avx2" in self.flags

    @property
    def has_avx512(self) -> bool:
        return "avx512f" in self.flags

    @property
    def has_amx(self) -> bool:
        return bool(self.flags & {"amx_tile", "amx_int8", "amx_bf16"})

    @property
    def feature_summary(self) -> str:
        names = [("AVX2", self.has_avx2), ("AVX-512", self.has_avx512), ("AMX", self.has_amx)]
        present = [n for n, ok in names if ok]
        return ", ".join(present) if present else "no AVX2"


def parse_cpuinfo(text: str, logical_cores: int) -> CpuInfo:
    """Read ``/proc/cpuinfo`` text (Linux)."""
    model = ""
    flags: set[str] = set()
    cores: set[tuple[str, str]] = set()
    physical_id = core_id = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        value = value.strip()
        if key == "model name" and not model:
            model = value
        elif key == "flags" and not flags:
            flags = set(value.lower().split())
        elif key == "physical id":
            physical_id = value
        elif key == "core id":
            core_id = value
            cores.add((physical_id, core_id))
    physical = len(cores) if cores else logical_cores
    return CpuInfo(model or platform.processor() or "unknown CPU", frozenset(flags), logical_cores, physical)


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@lru_cache(maxsize=1)
def detect_cpu() -> CpuInfo:
    """This machine's CPU (cached: it does not change while the app runs)."""
    logical = _usable_cores()
    if _CPUINFO.exists():
        try:
            info = parse_cpuinfo(_CPUINFO.read_text(errors="replace"), logical)
        except OSError:
            info = None
        if info is not None:
            # A container may see the host's cores in cpuinfo but be allowed fewer.
            physical = max(1, min(info.physical_cores, logical))
            return CpuInfo(info.model, info.flags, logical, physical)
    model = platform.processor() or platform.machine() or "unknown CPU"
    flags: frozenset[str] = frozenset()
    if platform.machine().lower() in {"arm64", "aarch64"}:
        flags = frozenset({"neon"})
    return CpuInfo(re.sub(r"\s+", " ", model), flags, logical, max(1, logical // 2 if logical > 4 else logical))
