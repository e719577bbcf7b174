"""What this computer has for running models: CPU, RAM, GPUs and their memory, llama.cpp's backend, free disk.

``detect_hardware`` looks; ``Hardware`` is a plain dataclass, so tests and "what if" questions (``--ram-gb``,
``--vram-gb``) build one directly or through ``with_overrides``/``hypothetical``. Where the platform cannot tell (free
VRAM of a non-NVIDIA GPU on Windows, say), the value is None and the text says "unknown": guessing here would turn
into a plan that crashes.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from hearth.core.machine.cpu import CpuInfo, detect_cpu
from hearth.core.machine.gpu import BackendDevice, BackendInfo, GpuInfo, detect_gpus, metal_working_set

__all__ = ["BackendDevice", "BackendInfo", "GpuInfo", "Hardware", "detect_hardware", "metal_working_set"]


@dataclass(frozen=True)
class Hardware:
    """The machine a plan is made for.

    Attributes:
        cpu: processor facts.
        ram_total: physical RAM in bytes (or the container's limit, if lower).
        ram_available: RAM free for a model now (None if unknown).
        gpus: GPUs found (may be empty).
        unified_memory: the GPU shares system RAM (Apple silicon).
        backend: llama.cpp's build (None: not probed).
        models_dir: where models are stored.
        disk_free: free bytes there (None if unknown).
        cpu_bandwidth_gbps: measured RAM bandwidth for token generation (``hearth bench``), None to estimate.
        gpu_bandwidth_gbps: measured GPU bandwidth, None to estimate.
        cpu_layer_seconds: measured fixed cost of one layer run on the CPU per token, None to assume.
        engine_overhead_bytes: measured memory of the engine process beyond the model, its cache and work
            buffers (the interpreter, llama.cpp's libraries), None to assume.
        calibration: where measured values come from, in words ("measured here: 2 models, hearth bench"), "" if none.
        label: a name for a hypothetical machine ("64 GB + 24 GB GPU").
    """

    cpu: CpuInfo
    ram_total: int
    ram_available: int | None
    gpus: tuple[GpuInfo, ...] = ()
    unified_memory: bool = False
    backend: BackendInfo | None = None
    models_dir: Path | None = None
    disk_free: int | None = None
    cpu_bandwidth_gbps: float | None = None
    gpu_bandwidth_gbps: float | None = None
    cpu_layer_seconds: float | None = None
    engine_overhead_bytes: int | None = None
    calibration: str = ""
    label: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def vram_total(self) -> int:
        """Memory on all GPUs (llama.cpp spreads layers over several by default)."""
        return sum(g.total_bytes or 0 for g in self.gpus)

    @property
    def vram_free(self) -> int:
        return sum(g.free_bytes if g.free_bytes is not None else (g.total_bytes or 0) for g in self.gpus)

    @property
    def can_offload(self) -> bool:
        """Whether a plan may put layers on a GPU: there is one, and llama.cpp was built to use it."""
        if not self.gpus or self.vram_total <= 0:
            return False
        return self.backend is None or self.backend.gpu_offload is not False

    def with_overrides(self, *, ram_gb: float | None = None, vram_gb: float | None = None,
                       unified: bool | None = None) -> Hardware:
        """The same machine with a different RAM or GPU ("what if I had 64 GB?")."""
        hw = self
        notes = list(self.notes)
        if ram_gb is not None:
            ram = int(ram_gb * 1e9)
            hw = replace(hw, ram_total=ram, ram_available=None)
            notes.append(f"RAM set to {ram_gb:g} GB")
        if unified is not None:
            hw = replace(hw, unified_memory=unified)
        if vram_gb is not None:
            vram = int(vram_gb * 1e9)
            name = self.gpus[0].name if self.gpus else f"a {vram_gb:g} GB GPU"
            vendor = self.gpus[0].vendor if self.gpus else "nvidia"
            gpus = () if vram <= 0 else (GpuInfo(name, vendor, vram, None, "assumed"),)
            # A hypothetical GPU is assumed usable even if this build of llama.cpp cannot drive one.
            hw = replace(hw, gpus=gpus, backend=None if gpus else hw.backend)
            notes.append(f"GPU memory set to {vram_gb:g} GB")
        return replace(hw, notes=tuple(notes))

    @classmethod
    def hypothetical(cls, ram_gb: float, vram_gb: float = 0.0, *, apple: bool = False, gpu_name: str = "",
                     cores: int = 8, label: str = "") -> Hardware:
        """A machine that does not exist, for tests and "what if" tables. Apple machines have unified memory."""
        cpu = CpuInfo(gpu_name if apple else "x86-64 CPU", frozenset({"avx2"}) if not apple else frozenset({"neon"}),
                      cores * 2, cores)
        ram = int(ram_gb * 1e9)
        if apple:
            gpu = GpuInfo(gpu_name or "Apple silicon", "apple", metal_working_set(ram), None, "unified")
            return cls(cpu, ram, None, (gpu,), unified_memory=True, label=label)
        gpus = (GpuInfo(gpu_name or f"{vram_gb:g} GB GPU", "nvidia", int(vram_gb * 1e9), None, "assumed"),) \
            if vram_gb > 0 else ()
        return cls(cpu, ram, None, gpus, label=label)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cpu"]["flags"] = sorted(self.cpu.flags)
        data["models_dir"] = str(self.models_dir) if self.models_dir else None
        return data


# --- RAM -------------------------------------------------------------------------------------------------------------

def parse_meminfo(text: str) -> tuple[int, int | None]:
    """Total and available bytes from Linux ``/proc/meminfo``."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key.strip()] = int(parts[0]) * 1024
    total = values.get("MemTotal", 0)
    available = values.get("MemAvailable")
    if available is None and "MemFree" in values:
        available = values["MemFree"] + values.get("Cached", 0) + values.get("Buffers", 0)
    return total, available


def _cgroup_limit() -> int | None:
    """A container's memory limit (cgroup v2 or v1), if one is set."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text)
    return None


class _MemoryStatusEx(ctypes.Structure):
    _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]


def _sysctl(name: str) -> str:
    try:
        return subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5,
                              check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def detect_memory() -> tuple[int, int | None]:
    """Physical RAM and RAM available now, in bytes (available None if unknown)."""
    system = platform.system()
    if system == "Linux":
        try:
            total, available = parse_meminfo(Path("/proc/meminfo").read_text())
        except OSError:
            total, available = 0, None
        limit = _cgroup_limit()
        if limit is not None and total and limit < total:
            total, available = limit, min(available or limit, limit)
        return total, available
    if system == "Darwin":
        total = int(_sysctl("hw.memsize") or 0)
        return total, _mac_available()
    if system == "Windows":
        status = _MemoryStatusEx()
        status.dwLength = ctypes.sizeof(_MemoryStatusEx)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.ullTotalPhys), int(status.ullAvailPhys)
    pages, page_size = (os.sysconf(n) if hasattr(os, "sysconf") else 0 for n in ("SC_PHYS_PAGES", "SC_PAGE_SIZE"))
    return int(pages) * int(page_size), None


def _mac_available() -> int | None:
    """Free + inactive + speculative pages from ``vm_stat`` (what macOS can hand to a new allocation)."""
    try:
        text = subprocess.run(["vm_stat"], capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    page = 16384 if "16384" in text.splitlines()[0] else 4096
    pages = 0
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("Pages free", "Pages inactive", "Pages speculative", "Pages purgeable"):
            pages += int(value.strip().rstrip(".") or 0)
    return pages * page if pages else None


# --- disk and backend ------------------------------------------------------------------------------------------------

def free_disk(path: Path) -> int | None:
    """Free bytes on the disk that holds ``path`` (or its nearest existing parent)."""
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free
    except OSError:
        return None


def _llama_build_key() -> str:
    """Identifies the installed llama-cpp-python build without importing it (only the engine may)."""
    import importlib.metadata
    import importlib.util

    try:
        version = importlib.metadata.version("llama_cpp_python")
    except importlib.metadata.PackageNotFoundError:
        return "missing"
    spec = importlib.util.find_spec("llama_cpp")
    origin = Path(spec.origin).parent if spec and spec.origin else None
    stamp = 0.0
    if origin is not None:
        libs = list((origin / "lib").glob("*")) if (origin / "lib").is_dir() else [origin]
        stamp = max((p.stat().st_mtime for p in libs), default=0.0)
    return f"{version}:{stamp:.0f}"


def probe_backend(cache_dir: Path | None = None, *, refresh: bool = False, timeout: float = 60.0) -> BackendInfo:
    """Run the engine's probe in a child process; cache its answer per llama-cpp-python build.

    The cached answer's device memory is from when it was probed; ``refresh`` asks again (``hearth doctor`` does).
    """
    key = _llama_build_key()
    cache = cache_dir / "llama-backend.json" if cache_dir else None
    if cache is not None and not refresh:
        try:
            data = json.loads(cache.read_text())
            if data.get("key") == key:
                return BackendInfo.from_dict(data["probe"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    import hearth

    env = dict(os.environ)
    source_root = str(Path(hearth.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([source_root, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
    try:
        done = subprocess.run([sys.executable, "-m", "hearth.core.engine.probe"], capture_output=True, text=True,
                              timeout=timeout, env=env, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return BackendInfo(gpu_offload=None, error=f"the llama.cpp probe did not answer: {exc}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return BackendInfo(gpu_offload=None, error=f"the llama.cpp probe failed (status {done.returncode}): {tail}")
    data = json.loads(lines[-1])
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps({"key": key, "probe": data}))
        except OSError:
            pass
    return BackendInfo.from_dict(data)


def detect_hardware(models_dir: Path | None = None, *, cache_dir: Path | None = None, probe: bool = True,
                    refresh: bool = False) -> Hardware:
    """Look at this machine.

    Args:
        models_dir: where models are stored (for free disk).
        cache_dir: where the llama.cpp probe's answer is cached.
        probe: ask llama.cpp about its build (a child process, cached).
        refresh: probe again even if cached.
    """
    cpu = detect_cpu()
    total, available = detect_memory()
    backend = probe_backend(cache_dir, refresh=refresh) if probe else None
    gpus, unified, notes = detect_gpus(total, backend)
    return Hardware(
        cpu=cpu, ram_total=total, ram_available=available,
        gpus=gpus, unified_memory=unified, backend=backend,
        models_dir=models_dir, disk_free=free_disk(models_dir) if models_dir else None, notes=tuple(notes),
    )
