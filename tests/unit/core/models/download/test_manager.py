"""Downloads against the loopback Hub with the real huggingface_hub client: fresh, split, faults, resume."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from hearth.core.errors import DownloadError, GatedRepoError
from hearth.core.gguf.files import check_model_path
from hearth.core.models.download.job import DownloadJob
from hearth.core.models.download.manager import CHUNK, DownloadManager
from hearth.core.models.download.progress import Progress
from hearth.core.models.download.state import manifest_path
from hearth.core.models.hub.client import HubClient
from tests.fixtures.hub_fixtures import BIG, EVIL, GATED, GOOD_TOKEN, SPLIT, TINY
from tests.fixtures.hub_server import HubServer


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manager(hub: HubServer, models: Path, token: str | bool | None = None, **kw: object) -> DownloadManager:
    return DownloadManager(models, HubClient(endpoint=hub.url, token=token), **kw)  # type: ignore[arg-type]


def run(mgr: DownloadManager, job: DownloadJob, events: list[Progress] | None = None) -> DownloadJob:
    return mgr.run(job, on_progress=(events.append if events is not None else None))


def test_fresh_download_with_vision_projector(hub: HubServer, tmp_path: Path, hub_files: dict[str, Path]) -> None:
    mgr = manager(hub, tmp_path / "models")
    job = mgr.prepare(TINY, include_mmproj=True)
    assert [f.path for f in job.manifest.files] == ["tiny-llama4-F32.gguf", "mmproj-F16.gguf"]
    events: list[Progress] = []
    run(mgr, job, events)
    assert job.state == "ready"
    folder = tmp_path / "models" / "hearth-test" / "tiny-llama4-GGUF"
    assert sha(folder / "tiny-llama4-F32.gguf") == sha(hub_files["single"])
    assert sha(folder / "mmproj-F16.gguf") == sha(hub_files["mmproj"])
    assert job.model_path == folder / "tiny-llama4-F32.gguf" and job.mmproj_path == folder / "mmproj-F16.gguf"
    assert not list(folder.rglob("*.part"))
    assert check_model_path(job.model_path).info is not None
    assert events[-1].state == "ready" and events[-1].done == events[-1].total == job.manifest.total_bytes
    assert not hub.requests("README"), "only the files asked for are fetched"
    # A second run finds everything verified and fetches nothing.
    before = len(hub.requests("/cdn/"))
    run(mgr, mgr.prepare(TINY, include_mmproj=True))
    assert len(hub.requests("/cdn/")) == before


def test_split_model_is_usable_only_when_every_shard_is_there(hub: HubServer, tmp_path: Path) -> None:
    from hearth.core.models.library.library import ModelLibrary

    models = tmp_path / "models"
    hub.faults.throttle_bps = 4_000_000
    mgr = manager(hub, models, progress_interval=0.01)
    job = mgr.prepare(SPLIT)
    seen: list[str] = []

    def watch(p: Progress) -> None:
        if p.state == "downloading" and p.current and p.current.endswith("00002-of-00002.gguf"):
            seen.extend(m.state for m in ModelLibrary(models).models())

    mgr.run(job, on_progress=watch)
    assert seen and "ready" not in seen, "while the second shard downloads the model is not usable"
    (model,) = ModelLibrary(models).models()
    assert model.state == "ready" and len(model.files) == 2 and model.path.name.endswith("00001-of-00002.gguf")
    assert check_model_path(model.path).is_split


def test_dropped_connection_resumes_by_itself(hub: HubServer, tmp_path: Path, hub_files: dict[str, Path]) -> None:
    hub.faults.drop_after["big-F16.gguf"] = 5_000_000
    mgr = manager(hub, tmp_path / "models")
    events: list[Progress] = []
    job = run(mgr, mgr.prepare(BIG), events)
    assert job.state == "ready" and sha(job.model_path) == sha(hub_files["big"])
    first, second = hub.requests("/cdn/")
    assert first.range is None and second.range == f"bytes={first.sent}-"
    assert hub.sent_bytes("big-F16.gguf") - hub_files["big"].stat().st_size <= CHUNK
    assert any("Connection lost" in e.message for e in events)


def test_corrupted_file_is_named_and_only_it_is_fetched_again(hub: HubServer, tmp_path: Path,
                                                              hub_files: dict[str, Path]) -> None:
    shard2 = "F32/tiny-llama4-F32-00002-of-00002.gguf"
    hub.faults.corrupt_once[shard2] = 1000
    mgr = manager(hub, tmp_path / "models")
    events: list[Progress] = []
    job = run(mgr, mgr.prepare(SPLIT), events)
    assert job.state == "ready"
    assert any("00002-of-00002.gguf failed its checksum" in e.message for e in events)
    assert hub.sent_bytes("F32/tiny-llama4-F32-00001-of-00002.gguf") == hub_files["split1"].stat().st_size
    assert hub.sent_bytes(shard2) == 2 * hub_files["split2"].stat().st_size
    assert sha(job.local(job.manifest.files[1])) == sha(hub_files["split2"])


def test_persistent_corruption_is_a_clear_error(hub: HubServer, tmp_path: Path) -> None:
    hub.faults.corrupt_always["tiny-llama4-F32.gguf"] = 5
    mgr = manager(hub, tmp_path / "models")
    job = mgr.prepare(TINY)
    with pytest.raises(DownloadError, match=r"tiny-llama4-F32.gguf failed its checksum .* twice"):
        mgr.run(job)
    folder = job.folder
    assert not (folder / "tiny-llama4-F32.gguf").exists(), "a file that failed never gets its final name"
    assert job.manifest.state == "failed"


def test_rate_limit_and_busy_server_honour_retry_after(hub: HubServer, tmp_path: Path) -> None:
    hub.faults.statuses += [("/api/models/", 429, {"Retry-After": "0"}), ("/cdn/", 429, {"Retry-After": "1"}),
                            ("/cdn/", 503, {"Retry-After": "1"})]
    waits: list[float] = []
    client = HubClient(endpoint=hub.url, sleep=waits.append)
    mgr = DownloadManager(tmp_path / "models", client)
    job = mgr.prepare(TINY)
    assert waits == [0.0], "the API call was retried after the server's Retry-After"
    events: list[Progress] = []
    run(mgr, job, events)
    assert job.state == "ready"
    assert [r.status for r in hub.requests("/cdn/")] == [429, 503, 200]
    assert sum("retrying in 1 s" in e.message for e in events) == 2


def test_gated_repository_needs_a_token(hub: HubServer, tmp_path: Path) -> None:
    mgr = manager(hub, tmp_path / "models")
    with pytest.raises(GatedRepoError) as info:
        mgr.prepare(GATED)
    assert f"{hub.url}/{GATED}" in info.value.hint and "hearth models login" in info.value.hint
    assert not hub.requests("/resolve/"), "nothing is requested that is known to fail"

    wrong = manager(hub, tmp_path / "models", token="hf_not_approved")
    job = wrong.prepare(GATED)
    with pytest.raises(GatedRepoError, match="gated") as refused:
        wrong.run(job)
    assert "approval" in refused.value.hint
    (rec,) = hub.requests("/resolve/")
    assert rec.status == 403

    right = manager(hub, tmp_path / "models", token=GOOD_TOKEN)
    assert right.run(right.prepare(GATED)).state == "ready"


def test_gated_refusal_from_the_server_without_token(hub: HubServer, tmp_path: Path) -> None:
    hub.repos[GATED].gated = False  # the listing does not say; the file server does (401 + X-Error-Code)
    mgr = manager(hub, tmp_path / "models")
    job = mgr.prepare(GATED)
    hub.repos[GATED].gated = "auto"
    with pytest.raises(GatedRepoError):
        mgr.run(job)
    assert hub.requests("/resolve/")[0].status == 401


def test_path_traversal_in_a_listing_is_refused(hub: HubServer, tmp_path: Path) -> None:
    mgr = manager(hub, tmp_path / "models")
    with pytest.raises(DownloadError, match="unsafe name"):
        mgr.prepare(EVIL, "Q4_K_M")
    assert not hub.requests("evil-Q4"), "the bad path is never requested"
    assert not list(tmp_path.rglob("evil*"))
    assert mgr.run(mgr.prepare(EVIL, "F32")).state == "ready", "the repository's safe files still work"


def test_pause_then_resume_after_a_restart(hub: HubServer, tmp_path: Path, hub_files: dict[str, Path]) -> None:
    hub.faults.throttle_bps = 8_000_000
    mgr = manager(hub, tmp_path / "models")
    job = mgr.prepare(BIG)

    def pause_midway(p: Progress) -> None:
        if p.done > 3_000_000:
            job.pause()

    assert mgr.run(job, on_progress=pause_midway).state == "paused"
    part = job.model_path.with_name(job.model_path.name + ".part")
    kept = part.stat().st_size
    assert 3_000_000 <= kept < hub_files["big"].stat().st_size

    hub.faults.throttle_bps = None
    restarted = manager(hub, tmp_path / "models")  # a new app: the job comes back from its manifest
    (pending,) = restarted.pending()
    assert pending.id == job.id and pending.state == "paused"
    assert restarted.run(pending).state == "ready"
    assert sha(pending.model_path) == sha(hub_files["big"])
    assert hub.requests("/cdn/")[-1].range == f"bytes={kept}-"
    assert hub.sent_bytes("big-F16.gguf") - hub_files["big"].stat().st_size <= CHUNK


def test_cancel_deletes_partial_files(hub: HubServer, tmp_path: Path) -> None:
    hub.faults.throttle_bps = 8_000_000
    mgr = manager(hub, tmp_path / "models")
    job = mgr.prepare(BIG)
    timer = threading.Timer(0.3, job.cancel)
    timer.start()
    assert mgr.run(job).state == "cancelled"
    timer.join()
    assert not list(job.folder.rglob("*.part"))
    assert not manifest_path(job.folder, job.manifest.quant).exists()
    assert mgr.pending() == []


def test_a_server_that_ignores_range_restarts_the_file(hub: HubServer, tmp_path: Path,
                                                       hub_files: dict[str, Path]) -> None:
    hub.faults.throttle_bps = 8_000_000
    mgr = manager(hub, tmp_path / "models")
    job = mgr.prepare(BIG)
    mgr.run(job, on_progress=lambda p: job.pause() if p.done > 2_000_000 else None)
    assert job.state == "paused"
    hub.faults.throttle_bps = None
    hub.faults.ignore_range.add("big-F16.gguf")
    assert mgr.run(job).state == "ready"
    assert sha(job.model_path) == sha(hub_files["big"])
