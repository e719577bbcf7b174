"""GPUs and what llama.cpp's build can do with them: NVIDIA through NVML (or ``nvidia-smi``), AMD through Linux sysfs,
Apple silicon's unified memory, and whatever devices llama.cpp's own backend reports.

Only facts the platform states are reported; anything else stays None ("unknown").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GpuInfo:
    """One GPU.

    Attributes:
        name: e.g. "NVIDIA GeForce RTX 4090", "Apple M3 Max".
        vendor: "nvidia", "amd", "apple", "intel" or "other".
        total_bytes: its memory (for Apple: the share Metal lets the GPU use), None if unknown.
        free_bytes: memory free now, None if unknown.
        source: how it was found ("nvml", "nvidia-smi", "sysfs", "unified", "llama.cpp", "assumed").
    """

    name: str
    vendor: str
    total_bytes: int | None
    free_bytes: int | None
    source: str


@dataclass(frozen=True)
class BackendDevice:
    """A device llama.cpp's ggml can compute on."""

    name: str
    description: str
    kind: str  # "cpu", "gpu", "igpu", "accel"
    memory_free: int
    memory_total: int


@dataclass(frozen=True)
class BackendInfo:
    """What this build of llama-cpp-python can do (from ``hearth.core.engine.probe``)."""

    gpu_offload: bool | None
    system_info: str = ""
    version: str = ""
    devices: tuple[BackendDevice, ...] = ()
    backends: tuple[str, ...] = ()
    error: str = ""
    rpc: bool | None = None  # llama.cpp's RPC backend (worker computers) is built in; None: not known

    @property
    def can_use_workers(self) -> bool | None:
        if self.rpc is not None:
            return self.rpc
        return True if "RPC" in self.backends else None

    @property
    def name(self) -> str:
        """The GPU backend compiled in ("CUDA", "Metal", "Vulkan"...), or "CPU"."""
        gpu = [b for b in self.backends if b.upper() not in ("CPU", "BLAS", "RPC")]
        if gpu:
            return ", ".join(gpu)
        return "CPU" if self.gpu_offload is False else ("GPU" if self.gpu_offload else "unknown")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BackendInfo:
        devices = tuple(
            BackendDevice(str(d.get("name", "")), str(d.get("description", "")), str(d.get("type", "other")),
                          int(d.get("memory_free", 0)), int(d.get("memory_total", 0)))
            for d in data.get("devices", []) if isinstance(d, dict)
        )
        offload = data.get("gpu_offload")
        return cls(
            gpu_offload=offload if isinstance(offload, bool) else None,
            system_info=str(data.get("system_info", "")), version=str(data.get("version", "")),
            devices=devices, backends=tuple(str(b) for b in data.get("backends", [])), error=str(data.get("error", "")),
            rpc=data["rpc"] if isinstance(data.get("rpc"), bool) else None,
        )



def metal_working_set(ram: int) -> int:
    """How much of an Apple silicon Mac's RAM Metal lets the GPU use by default.

    macOS's ``recommendedMaxWorkingSetSize`` is about two thirds of RAM on Macs with 36 GB or less and three quarters
    above (users can raise it with ``sudo sysctl iogpu.wired_limit_mb``).
    """
    return int(ram * (0.75 if ram > 36e9 else 2 / 3))


# --- NVIDIA ----------------------------------------------------------------------------------------------------------

class _NvmlMemory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


def _nvml_library() -> Any:
    names = ["libnvidia-ml.so.1", "libnvidia-ml.so"]
    if platform.system() == "Windows":
        names = ["nvml.dll", r"C:\Program Files\NVIDIA Corporation\NVSMI\nvml.dll"]
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def nvml_gpus() -> list[GpuInfo] | None:
    """NVIDIA GPUs through the driver's NVML library; None if NVML is not there or fails."""
    lib = _nvml_library()
    if lib is None:
        return None
    try:
        if lib.nvmlInit_v2() != 0:
            return None
    except AttributeError:
        return None
    try:
        count = ctypes.c_uint(0)
        if lib.nvmlDeviceGetCount_v2(ctypes.byref(count)) != 0:
            return None
        found = []
        for i in range(count.value):
            handle = ctypes.c_void_p()
            if lib.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(i), ctypes.byref(handle)) != 0:
                continue
            name = ctypes.create_string_buffer(96)
            lib.nvmlDeviceGetName(handle, name, ctypes.c_uint(len(name)))
            memory = _NvmlMemory()
            ok = lib.nvmlDeviceGetMemoryInfo(handle, ctypes.byref(memory)) == 0
            found.append(GpuInfo(name.value.decode("utf-8", "replace") or "NVIDIA GPU", "nvidia",
                                 int(memory.total) if ok else None, int(memory.free) if ok else None, "nvml"))
        return found
    finally:
        lib.nvmlShutdown()


def parse_nvidia_smi(text: str) -> list[GpuInfo]:
    """Rows of ``nvidia-smi --query-gpu=name,memory.total,memory.free --format=csv,noheader,nounits`` (MiB)."""
    gpus = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 3:
            continue
        total = int(float(parts[1]) * 2**20) if parts[1].replace(".", "").isdigit() else None
        free = int(float(parts[2]) * 2**20) if parts[2].replace(".", "").isdigit() else None
        gpus.append(GpuInfo(parts[0], "nvidia", total, free, "nvidia-smi"))
    return gpus


def nvidia_smi_gpus() -> list[GpuInfo] | None:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe, "--query-gpu=name,memory.total,memory.free", "--format=csv,noheader,nounits"],
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_nvidia_smi(done.stdout) if done.returncode == 0 else None


# --- AMD (Linux) -----------------------------------------------------------------------------------------------------

def sysfs_amd_gpus(root: Path = Path("/sys/class/drm")) -> list[GpuInfo]:
    """AMD GPUs from the amdgpu driver's ``mem_info_vram_*`` files."""
    found = []
    for card in sorted(root.glob("card[0-9]*")):
        device = card / "device"
        try:
            if (device / "vendor").read_text().strip() != "0x1002":
                continue
            total = int((device / "mem_info_vram_total").read_text())
            used = int((device / "mem_info_vram_used").read_text())
        except (OSError, ValueError):
            continue
        try:
            name = (device / "product_name").read_text().strip()
        except OSError:
            name = ""
        found.append(GpuInfo(name or "AMD Radeon GPU", "amd", total, max(0, total - used), "sysfs"))
    return found


# --- everything ------------------------------------------------------------------------------------------------------

def _apple_chip() -> str:
    try:
        return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                              timeout=5, check=False).stdout.strip() or "Apple silicon"
    except (OSError, subprocess.SubprocessError):
        return "Apple silicon"


def detect_gpus(ram_total: int, backend: BackendInfo | None) -> tuple[tuple[GpuInfo, ...], bool, list[str]]:
    """GPUs on this machine, whether memory is unified, and notes on what could not be told."""
    notes: list[str] = []
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return (GpuInfo(_apple_chip(), "apple", metal_working_set(ram_total), None, "unified"),), True, notes
    gpus: list[GpuInfo] = []
    nvidia = nvml_gpus()
    if nvidia is None:
        nvidia = nvidia_smi_gpus()
    gpus += nvidia or []
    if platform.system() == "Linux":
        gpus += sysfs_amd_gpus()
    if not gpus and backend is not None:
        # Vulkan and SYCL builds see GPUs the checks above do not (Intel, AMD on Windows).
        for dev in backend.devices:
            if dev.kind in ("gpu", "igpu"):
                gpus.append(GpuInfo(dev.description or dev.name, "other", dev.memory_total or None,
                                    dev.memory_free or None, "llama.cpp"))
    if not gpus and platform.system() == "Windows":
        notes.append("GPUs other than NVIDIA are seen only by a Vulkan build of llama.cpp; none was found.")
    return tuple(gpus), False, notes


_INSTALL = 'CMAKE_ARGS="{flags}" pip install --force-reinstall --no-cache-dir llama-cpp-python'


def offload_advice(gpus: tuple[GpuInfo, ...], backend: BackendInfo | None, system: str | None = None) -> str:
    """Why GPU offload is or is not available, and how to get it, in a sentence or two."""
    system = system or platform.system()
    if backend is None or backend.gpu_offload is None:
        why = f" ({backend.error})" if backend is not None and backend.error else ""
        return f"Unknown whether llama.cpp can use a GPU: it was not asked{why}."
    if backend.gpu_offload:
        if gpus:
            return f"GPU offload is available ({backend.name} build of llama.cpp)."
        return (f"This llama.cpp build supports GPU offload ({backend.name}), but no GPU was found: "
                "check the GPU driver.")
    vendors = {g.vendor for g in gpus}
    if "apple" in vendors or (system == "Darwin" and platform.machine() == "arm64"):
        return ("llama-cpp-python was built without Metal, so the GPU is not used: reinstall with "
                + _INSTALL.format(flags="-DGGML_METAL=on"))
    if "nvidia" in vendors:
        return ("llama-cpp-python was built without CUDA, so your NVIDIA GPU is not used: reinstall with "
                + _INSTALL.format(flags="-DGGML_CUDA=on") + " (needs the CUDA toolkit), or use a Vulkan build.")
    if "amd" in vendors:
        return ("llama-cpp-python was built without GPU support, so your AMD GPU is not used: reinstall with "
                + _INSTALL.format(flags="-DGGML_VULKAN=on") + " (or -DGGML_HIP=on with ROCm).")
    if gpus:
        return ("llama-cpp-python was built without GPU support: reinstall with "
                + _INSTALL.format(flags="-DGGML_VULKAN=on") + " to use this GPU.")
    return "No supported GPU was found; models run on the CPU."
