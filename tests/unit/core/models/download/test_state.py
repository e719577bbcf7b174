"""Download states are enums whose values are the strings manifests have always stored: old records still load."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hearth.core.models.download.manager import DownloadManager
from hearth.core.models.download.state import (
    DownloadState,
    FileRecord,
    FileState,
    Manifest,
    load_manifest,
    manifest_path,
    save_manifest,
)
from hearth.core.models.hub.client import HubClient
from hearth.core.models.library.library import InstalledState, ModelLibrary
from tests.fixtures.hub_fixtures import BIG
from tests.fixtures.hub_server import HubServer

# A paused download's record exactly as the version with string states wrote it (json.dump, indent=1).
OLD_MANIFEST = """{
 "repo_id": "hearth-test/big-GGUF",
 "revision": "REVISION",
 "quant": "F16",
 "files": [
  {
   "path": "big-F16.gguf",
   "size": SIZE,
   "sha256": "SHA256",
   "role": "model",
   "state": "partial"
  }
 ],
 "state": "paused",
 "message": "",
 "created": 1760000000.0,
 "updated": 1760000100.0,
 "version": 1
}"""


def test_a_manifest_written_with_string_states_loads_and_resumes(hub: HubServer, tmp_path: Path,
                                                                  hub_files: dict[str, Path]) -> None:
    models = tmp_path / "models"
    folder = models / "hearth-test" / "big-GGUF"
    data = hub_files["big"].read_bytes()
    revision = HubClient(endpoint=hub.url).listing(BIG).revision
    path = manifest_path(folder, "F16")
    path.parent.mkdir(parents=True)
    path.write_text(OLD_MANIFEST.replace("REVISION", revision).replace("SIZE", str(len(data)))
                    .replace("SHA256", hashlib.sha256(data).hexdigest()), encoding="utf-8")
    (folder / "big-F16.gguf.part").write_bytes(data[:3_000_000])

    manifest = load_manifest(path)
    assert manifest is not None
    assert manifest.state is DownloadState.PAUSED and manifest.files[0].state is FileState.PARTIAL
    (model,) = ModelLibrary(models).models()
    assert model.state is InstalledState.PAUSED and model.size_bytes == 3_000_000

    mgr = DownloadManager(models, HubClient(endpoint=hub.url))
    (job,) = mgr.pending()
    assert mgr.run(job).state is DownloadState.READY
    assert (folder / "big-F16.gguf").read_bytes() == data
    assert hub.requests("/cdn/")[-1].range == "bytes=3000000-", "it resumed from the old record's partial file"
    # What is written now is the same strings, so an older Hearth still reads it.
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["state"] == "ready" and stored["files"][0]["state"] == "ready"


def test_states_round_trip_as_plain_strings_and_unknown_ones_read_as_paused(tmp_path: Path) -> None:
    folder = tmp_path / "repo"
    manifest = Manifest("o/r", "main", "Q4_K_M", [FileRecord("m.gguf", 10, None, "model", FileState.BAD)],
                        state=DownloadState.FAILED, message="checksum")
    save_manifest(folder, manifest)
    stored = json.loads(manifest_path(folder, "Q4_K_M").read_text(encoding="utf-8"))
    assert stored["state"] == "failed" and stored["files"][0]["state"] == "bad"
    loaded = load_manifest(manifest_path(folder, "Q4_K_M"))
    assert loaded is not None and loaded.state is DownloadState.FAILED and loaded.files[0].state is FileState.BAD

    # A newer Hearth may write a state this one does not know: the download reads as paused, its file as pending.
    stored["state"], stored["files"][0]["state"] = "throttled", "prefetched"
    manifest_path(folder, "Q4_K_M").write_text(json.dumps(stored), encoding="utf-8")
    newer = load_manifest(manifest_path(folder, "Q4_K_M"))
    assert newer is not None and newer.state is DownloadState.PAUSED and newer.files[0].state is FileState.PENDING
