"""Planning over this computer and RPC workers, with Maverick- and Scout-shaped headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth.core.engine.workers import WorkerDevice, WorkerState, WorkerStatus, parse_endpoint
from hearth.core.errors import WorkerError
from hearth.core.gguf.header import read_model_info
from hearth.core.machine.hardware import Hardware
from hearth.core.models.planning.planner import plan_model
from hearth.core.models.planning.workers import WorkerMachine, plan_with_workers
from tests.fixtures.synthetic_gguf import write_maverick, write_scout

TWO_BIG = [WorkerMachine.what_if("10.0.0.2:50052:128"), WorkerMachine.what_if("10.0.0.3:50052:128")]


def test_maverick_fits_a_desktop_with_two_128_gb_workers(tmp_path: Path) -> None:
    info = read_model_info(write_maverick(tmp_path, "Q4_K_M"))
    desktop = Hardware.hypothetical(64, 24)
    assert plan_model(info, desktop).verdict == "does_not_fit"
    assert plan_with_workers(info, desktop, TWO_BIG[:1]).verdict == "does_not_fit"
    report = plan_with_workers(info, desktop, TWO_BIG)
    assert report.verdict in ("fits_well", "fits_slow") and report.plan is not None
    plan = report.plan
    assert plan.workers == ("10.0.0.2:50052", "10.0.0.3:50052")
    shares = report.workers
    # Every layer is somewhere: the workers' consecutive blocks, then the GPU's; nothing beyond what each can hold.
    gpu_layers = 48 - sum(s.layers for s in shares)
    assert shares[0].first_layer == 0 and shares[1].first_layer == shares[0].layers and gpu_layers > 0
    assert all(0 < s.bytes <= s.usable_bytes for s in shares)
    assert plan.n_gpu_layers == 49 and plan.tensor_split == (float(shares[0].layers), float(shares[1].layers),
                                                             float(gpu_layers + 1))
    # The GPU keeps attention and some experts; the rest of its layers' experts stay in RAM, by layer.
    assert plan.cpu_tensor_patterns and all(p.startswith(f"^blk\\.{i}\\.")
                                            for i, p in zip(range(48 - gpu_layers, 48), plan.cpu_tensor_patterns,
                                                            strict=False))
    assert report.placement.ram_bytes <= report.usable_ram and report.placement.vram_bytes <= report.usable_vram
    assert "10.0.0.2:50052" in report.explanation and "tokens/s" in report.explanation
    assert any("Loading sends" in n for n in report.notes) and any("gigabit" in n for n in report.notes)
    assert report.to_dict()["workers"][0]["endpoint"] == "10.0.0.2:50052"


def test_the_network_is_in_the_speed_estimate(tmp_path: Path) -> None:
    info = read_model_info(write_maverick(tmp_path, "Q2_K"))
    desktop = Hardware.hypothetical(64, 24)
    fast = plan_with_workers(info, desktop, [WorkerMachine("10.0.0.2:50052", 128 * 10**9, 0.0002, 1.2e9)])
    slow = plan_with_workers(info, desktop, [WorkerMachine("10.0.0.2:50052", 128 * 10**9, 0.02, 5e6)])
    assert fast.verdict != "does_not_fit" and slow.verdict != "does_not_fit"
    assert fast.placement.tokens_per_s > slow.placement.tokens_per_s * 1.2


def test_a_model_that_fits_here_does_not_use_the_workers(tmp_path: Path) -> None:
    info = read_model_info(write_scout(tmp_path, "UD-Q2_K_XL"))
    report = plan_with_workers(info, Hardware.hypothetical(128, 24), TWO_BIG)
    assert report.plan is not None and report.plan.workers == () and report.plan.tensor_split == ()
    assert any("not used" in n for n in report.notes)


def test_a_cpu_only_desktop_puts_the_output_layer_on_the_last_worker(tmp_path: Path) -> None:
    info = read_model_info(write_scout(tmp_path, "UD-Q4_K_XL"))
    report = plan_with_workers(info, Hardware.hypothetical(32), TWO_BIG)
    assert report.plan is not None and report.plan.workers
    used = [s for s in report.workers if s.layers]
    assert used[-1].output_layer and report.plan.tensor_split[-1] == 0.0
    assert sum(report.plan.tensor_split) == report.plan.n_gpu_layers


def test_probed_and_what_if_workers() -> None:
    status = WorkerStatus(parse_endpoint("10.0.0.9:50052"), WorkerState.READY, (7, 0, 0),
                          (WorkerDevice(60 * 10**9, 64 * 10**9),), 0.001, 5e8, 3e8)
    machine = WorkerMachine.from_status(status)
    assert machine.measured and machine.bandwidth_bytes_per_s == 3e8 and machine.round_trip_s == 0.001
    assert machine.usable_bytes == 57 * 10**9
    assert WorkerMachine.what_if("box:50052:128").memory_bytes == 128 * 10**9
    for bad in ("box:50052", "box:50052:x", "box:50052:-1"):
        with pytest.raises(WorkerError):
            WorkerMachine.what_if(bad)
