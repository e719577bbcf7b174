"""The Qt-free parts behind the Models page: how an installed model fits (with measured speed), library snapshots
that reuse unchanged verdicts, which downloads resume after a restart, and discarding a download."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hearth.core.errors import DownloadError
from hearth.core.machine.hardware import Hardware
from hearth.core.models.download.active import ActiveDownloads
from hearth.core.models.download.job import DownloadJob
from hearth.core.models.download.lock import FolderLock
from hearth.core.models.download.manager import DownloadManager
from hearth.core.models.download.state import FileRecord, Manifest, manifest_path, save_manifest
from hearth.core.models.hub.client import HubClient
from hearth.core.models.library import snapshot as library_snapshot
from hearth.core.models.library.fit import installed_fit
from hearth.core.models.library.library import ModelLibrary
from hearth.core.models.library.snapshot import take_snapshot
from hearth.core.models.planning.benchmark import BenchResult, save_result


def _library(tmp_path: Path, tiny_llama4: Path) -> tuple[ModelLibrary, Path]:
    models = tmp_path / "models"
    (models / "mine").mkdir(parents=True)
    tiny = models / "mine" / "tiny-llama4-F32.gguf"
    shutil.copyfile(tiny_llama4, tiny)
    return ModelLibrary(models), tiny


def test_installed_fit_uses_the_planner_and_the_bench_result(tmp_path: Path, tiny_llama4: Path) -> None:
    library, tiny = _library(tmp_path, tiny_llama4)
    (model,) = library.models()
    hw = Hardware.hypothetical(16, label="16 GB laptop")
    fit = installed_fit(model, hw, tmp_path / "bench")
    assert fit.verdict == "fits_well" and fit.summary == "CPU" and fit.measured_tps is None
    assert fit.expected_tps is not None and fit.expected_tps > 8 and fit.plan is not None
    assert fit.plan.model_path == str(tiny) and "tokens/s expected" in fit.explanation
    save_result(tmp_path / "bench", BenchResult(
        model=tiny.name, path=str(tiny), plan="CPU", n_ctx=2048, n_threads=2, n_gpu_layers=0, load_s=0.1,
        pp512_tps=None, pp4096_tps=None, tg128_tps=3456.7, ttft_s=0.01, peak_ram_bytes=None, peak_vram_bytes=None,
        measured_at=0.0))
    assert installed_fit(model, hw, tmp_path / "bench").measured_tps == pytest.approx(3456.7)


def test_a_file_that_cannot_be_planned_says_why(tmp_path: Path, tiny_llama4: Path) -> None:
    library, tiny = _library(tmp_path, tiny_llama4)
    tiny.write_bytes(b"<!doctype html><html>Sign in</html>")
    (model,) = library.models()
    fit = installed_fit(model, Hardware.hypothetical(16), None)
    assert fit.verdict == "unknown" and "web page" in fit.explanation and fit.plan is None


def test_snapshots_plan_only_new_or_changed_files(tmp_path: Path, tiny_llama4: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    library, tiny = _library(tmp_path, tiny_llama4)
    calls: list[Path] = []
    real = library_snapshot.installed_fit

    def counting(model, hw, bench):  # type: ignore[no-untyped-def]
        calls.append(model.path)
        return real(model, hw, bench)

    monkeypatch.setattr(library_snapshot, "installed_fit", counting)
    hw = Hardware.hypothetical(16)
    home = tmp_path / "home"
    first = take_snapshot(library, hw, None, None, home)
    assert calls == [tiny] and first.fits[tiny].verdict == "fits_well" and first.disk_free
    second = take_snapshot(library, hw, None, first, home)
    assert calls == [tiny] and second.fits[tiny] is first.fits[tiny], "unchanged file: verdict reused"
    shutil.copyfile(tiny_llama4, tmp_path / "models" / "mine" / "second-F32.gguf")
    third = take_snapshot(library, hw, None, second, home)
    assert len(calls) == 2 and len(third.fits) == 2 and third.model(tiny) is not None
    # A model found in another app's folder is listed, the library's own files are not.
    found = home / ".lmstudio" / "models" / "x" / "y-Q4_K_M.gguf"
    found.parent.mkdir(parents=True)
    shutil.copyfile(tiny_llama4, found)
    assert [f.path for f in take_snapshot(library, hw, None, third, home).found] == [found]


def test_active_downloads_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "data" / "active-downloads.json"
    active = ActiveDownloads(path)
    assert active.ids() == set()
    active.add("o/r:Q4_K_M")
    active.add("o/r:Q8_0")
    active.discard("o/r:Q8_0")
    active.discard("never/added:X")
    assert ActiveDownloads(path).ids() == {"o/r:Q4_K_M"}
    path.write_text("{not json")
    assert ActiveDownloads(path).ids() == set()


def test_discarding_a_download_keeps_a_vision_file_another_download_uses(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "o" / "r"
    folder.mkdir(parents=True)
    for name in ("m-Q4_K_M.gguf", "m-Q8_0.gguf.part", "mmproj-F16.gguf"):
        (folder / name).write_bytes(b"x" * 10)
    mmproj = FileRecord("mmproj-F16.gguf", 10, None, "mmproj", "ready")
    q4 = Manifest("o/r", "main", "Q4_K_M", [FileRecord("m-Q4_K_M.gguf", 10, None, "model", "ready"), mmproj],
                  state="ready")
    q8 = Manifest("o/r", "main", "Q8_0", [FileRecord("m-Q8_0.gguf", 20, None, "model", "partial"), mmproj],
                  state="paused")
    save_manifest(folder, q4)
    save_manifest(folder, q8)
    manager = DownloadManager(tmp_path / "models", HubClient(offline=True))
    manager.discard(DownloadJob(q8, folder))
    assert not (folder / "m-Q8_0.gguf.part").exists() and not manifest_path(folder, "Q8_0").exists()
    assert (folder / "mmproj-F16.gguf").exists() and (folder / "m-Q4_K_M.gguf").exists()
    manager.discard(DownloadJob(q4, folder))
    assert not list(folder.glob("*.gguf")), "nothing of a discarded download is left"
    with FolderLock(folder), pytest.raises(DownloadError, match="already being downloaded by this app"):
        manager.discard(DownloadJob(q4, folder))
