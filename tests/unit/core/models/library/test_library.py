"""The library: what is installed and in which state, importing, removing, finding other apps' models."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hearth.core.errors import ModelFileError
from hearth.core.models.download.manager import DownloadManager
from hearth.core.models.hub.client import HubClient
from hearth.core.models.library.library import ModelLibrary
from tests.fixtures.hub_fixtures import SPLIT, TINY
from tests.fixtures.hub_server import HubServer


def test_import_copy_and_link(tiny_llama4: Path, tiny_llama4_split: list[Path], tmp_path: Path) -> None:
    lib = ModelLibrary(tmp_path / "models")
    copied = lib.import_model(tiny_llama4)
    assert copied.state == "ready" and copied.path.read_bytes() == tiny_llama4.read_bytes()
    assert not copied.path.is_symlink() and not list((tmp_path / "models").rglob("*.part"))
    with pytest.raises(ModelFileError, match="already in the library"):
        lib.import_model(tiny_llama4)
    linked = lib.import_model(tiny_llama4_split[1], link=True)
    assert linked.state == "ready" and len(linked.files) == 2 and all(f.is_symlink() for f in linked.files)
    assert lib.remove(linked) == 0, "removing a link frees nothing and keeps the original"
    assert all(p.is_file() for p in tiny_llama4_split)
    assert lib.remove(copied) == tiny_llama4.stat().st_size
    assert lib.models() == []


def test_import_refuses_what_is_not_a_model(tmp_path: Path) -> None:
    fake = tmp_path / "notes.gguf"
    fake.write_text("<html>login required</html>")
    with pytest.raises(ModelFileError, match="web page"):
        ModelLibrary(tmp_path / "models").import_model(fake)


def test_missing_shard_is_broken(tiny_llama4_split: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "models" / "imported"
    folder.mkdir(parents=True)
    shutil.copy(tiny_llama4_split[0], folder)
    (model,) = ModelLibrary(tmp_path / "models").models()
    assert model.state == "broken" and "00002-of-00002" in model.problem and not model.usable


def test_downloaded_models_and_shared_projector(hub: HubServer, tmp_path: Path) -> None:
    models = tmp_path / "models"
    mgr = DownloadManager(models, HubClient(endpoint=hub.url))
    mgr.run(mgr.prepare(TINY, include_mmproj=True))
    mgr.run(mgr.prepare(SPLIT))
    lib = ModelLibrary(models)
    tiny, split = sorted(lib.models(), key=lambda m: m.name)
    assert tiny.repo_id == TINY and tiny.quant == "F32" and tiny.mmproj is not None and tiny.state == "ready"
    assert split.repo_id == SPLIT and len(split.files) == 2
    assert lib.find(f"{TINY}:F32") == tiny and lib.find(str(split.files[1])) == split
    freed = lib.remove(tiny)
    assert freed == tiny.total_bytes and not tiny.mmproj.exists()
    assert [m.name for m in lib.models()] == [split.name]


def test_paused_download_is_listed_as_paused(hub: HubServer, tmp_path: Path) -> None:
    from tests.fixtures.hub_fixtures import BIG

    hub.faults.throttle_bps = 8_000_000
    mgr = DownloadManager(tmp_path / "models", HubClient(endpoint=hub.url))
    job = mgr.prepare(BIG)
    mgr.run(job, on_progress=lambda p: job.pause() if p.done > 1_000_000 else None)
    (model,) = ModelLibrary(tmp_path / "models").models()
    assert model.state == "paused" and 0 < model.size_bytes < model.total_bytes and not model.usable


def test_discover_other_apps_models(tiny_llama4: Path, tiny_llama4_split: list[Path], tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    blob = home / ".cache" / "huggingface" / "hub" / "models--o--r" / "blobs" / "abc"
    blob.parent.mkdir(parents=True)
    shutil.copy(tiny_llama4, blob)
    snap = home / ".cache" / "huggingface" / "hub" / "models--o--r" / "snapshots" / "123" / "m-Q4_K_M.gguf"
    snap.parent.mkdir(parents=True)
    snap.symlink_to(blob)
    lms = home / ".lmstudio" / "models" / "pub" / "repo"
    lms.mkdir(parents=True)
    for shard in tiny_llama4_split:
        shutil.copy(shard, lms)
    (lms / "mmproj-F16.gguf").write_bytes(b"GGUF")
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    found = ModelLibrary(tmp_path / "models").discover(home)
    assert [(f.path.name, f.source) for f in found] == [
        ("m-Q4_K_M.gguf", "Hugging Face cache"), (tiny_llama4_split[0].name, "LM Studio")]
    assert found[1].size_bytes == sum(p.stat().st_size for p in tiny_llama4_split)
