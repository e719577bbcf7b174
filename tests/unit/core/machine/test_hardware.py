"""Hardware facts: parsers on real-format samples, the real llama.cpp probe, advice per platform, bandwidths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hearth.core.machine.bandwidth import gpu_bandwidth, gpus_bandwidth, ram_bandwidth
from hearth.core.machine.cpu import CpuInfo
from hearth.core.machine.gpu import BackendInfo, GpuInfo, offload_advice, parse_nvidia_smi, sysfs_amd_gpus
from hearth.core.machine.hardware import (
    Hardware,
    detect_hardware,
    free_disk,
    metal_working_set,
    parse_meminfo,
    probe_backend,
)

MEMINFO = """MemTotal:       65772000 kB
MemFree:         1200000 kB
MemAvailable:   48000000 kB
Buffers:          100000 kB
Cached:         40000000 kB
"""


def test_meminfo_and_nvidia_smi_parsers() -> None:
    assert parse_meminfo(MEMINFO) == (65772000 * 1024, 48000000 * 1024)
    no_available = parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nCached: 50 kB\nBuffers: 10 kB\n")
    assert no_available == (1024000, 160 * 1024)
    gpus = parse_nvidia_smi("NVIDIA GeForce RTX 4090, 24564, 23010\nNVIDIA RTX A4000, 16376, [N/A]\n")
    assert gpus[0] == GpuInfo("NVIDIA GeForce RTX 4090", "nvidia", 24564 * 2**20, 23010 * 2**20, "nvidia-smi")
    assert gpus[1].total_bytes == 16376 * 2**20 and gpus[1].free_bytes is None


def test_amd_gpus_from_sysfs(tmp_path: Path) -> None:
    card = tmp_path / "card0" / "device"
    card.mkdir(parents=True)
    (card / "vendor").write_text("0x1002\n")
    (card / "mem_info_vram_total").write_text(str(16 * 2**30))
    (card / "mem_info_vram_used").write_text(str(2**30))
    (card / "product_name").write_text("Radeon RX 7800 XT\n")
    intel = tmp_path / "card1" / "device"
    intel.mkdir(parents=True)
    (intel / "vendor").write_text("0x8086\n")
    (gpu,) = sysfs_amd_gpus(tmp_path)
    assert gpu == GpuInfo("Radeon RX 7800 XT", "amd", 16 * 2**30, 15 * 2**30, "sysfs")


def test_offload_advice_per_platform() -> None:
    cpu_build = BackendInfo(gpu_offload=False, backends=("CPU",))
    nvidia = (GpuInfo("RTX 4090", "nvidia", 24 * 2**30, None, "nvml"),)
    assert "-DGGML_CUDA=on" in offload_advice(nvidia, cpu_build, "Linux")
    assert "--force-reinstall --no-cache-dir llama-cpp-python" in offload_advice(nvidia, cpu_build, "Windows")
    apple = (GpuInfo("Apple M3 Max", "apple", 96 * 2**30, None, "unified"),)
    assert "-DGGML_METAL=on" in offload_advice(apple, cpu_build, "Darwin")
    amd = (GpuInfo("Radeon", "amd", 16 * 2**30, None, "sysfs"),)
    assert "-DGGML_VULKAN=on" in offload_advice(amd, cpu_build, "Linux")
    assert "No supported GPU" in offload_advice((), cpu_build, "Linux")
    cuda = BackendInfo(gpu_offload=True, backends=("CPU", "CUDA"))
    assert "available (CUDA" in offload_advice(nvidia, cuda, "Linux")
    assert "no GPU was found" in offload_advice((), cuda, "Linux")
    assert "Unknown" in offload_advice(nvidia, BackendInfo(gpu_offload=None, error="probe crashed"), "Linux")


def test_real_probe_and_detection(tmp_path: Path) -> None:
    backend = probe_backend(tmp_path, refresh=True)
    assert isinstance(backend.gpu_offload, bool), backend.error
    assert "CPU" in backend.backends and any(d.kind == "cpu" for d in backend.devices)
    assert "AVX" in backend.system_info or "NEON" in backend.system_info
    cached = json.loads((tmp_path / "llama-backend.json").read_text())
    assert cached["probe"]["gpu_offload"] == backend.gpu_offload
    assert probe_backend(tmp_path) == backend
    hw = detect_hardware(tmp_path / "models", cache_dir=tmp_path)
    assert hw.ram_total > 2**30 and hw.disk_free is not None and hw.disk_free > 0 and free_disk(tmp_path)
    assert hw.can_offload == bool(hw.gpus and backend.gpu_offload)
    json.dumps(hw.to_dict(), default=str)


def test_overrides_and_hypothetical_machines() -> None:
    cpu = CpuInfo("test", frozenset({"avx2"}), 16, 8)
    hw = Hardware(cpu, 32 * 10**9, 20 * 10**9, backend=BackendInfo(gpu_offload=False))
    assert not hw.can_offload
    bigger = hw.with_overrides(ram_gb=128, vram_gb=24)
    assert bigger.ram_total == 128e9 and bigger.vram_total == 24e9 and bigger.can_offload
    assert bigger.with_overrides(vram_gb=0).gpus == ()
    mac = Hardware.hypothetical(128, apple=True)
    assert mac.unified_memory and mac.gpus[0].total_bytes == metal_working_set(128 * 10**9) == 96 * 10**9
    assert metal_working_set(16 * 10**9) == pytest.approx(16e9 * 2 / 3, rel=1e-6)


def test_bandwidth_assumptions() -> None:
    assert gpu_bandwidth(GpuInfo("NVIDIA GeForce RTX 4090", "nvidia", None, None, "nvml"))[0] == 1008 * 0.75
    assert gpu_bandwidth(GpuInfo("NVIDIA GeForce RTX 4060 Ti", "nvidia", None, None, "nvml"))[0] == 288 * 0.75
    assert gpu_bandwidth(GpuInfo("Apple M3 Max", "apple", None, None, "unified"))[0] == 400 * 0.70
    assert gpu_bandwidth(GpuInfo("a 24 GB GPU", "nvidia", 24 * 10**9, None, "assumed"))[0] == 900 * 0.75
    assert gpu_bandwidth(GpuInfo("Apple silicon", "apple", None, None, "unified"), 64 * 10**9)[0] == 300 * 0.7
    few = Hardware(CpuInfo("x", frozenset(), 2, 2), 8 * 10**9, None)
    assert ram_bandwidth(few) == (24.0, "2 cores × 12 GB/s")
    many = Hardware(CpuInfo("x", frozenset(), 32, 16), 8 * 10**9, None)
    assert ram_bandwidth(many)[0] == 50.0
    measured = Hardware(CpuInfo("x", frozenset(), 32, 16), 8 * 10**9, None, cpu_bandwidth_gbps=80.0,
                        gpu_bandwidth_gbps=500.0, gpus=(GpuInfo("RTX 4090", "nvidia", 24 * 10**9, None, "nvml"),))
    assert ram_bandwidth(measured) == (80.0, "measured") and gpus_bandwidth(measured) == (500.0, "measured")
