"""A full disk, before and during a download: on a real size-capped tmpfs when this machine lets the tests mount one
(root), otherwise on a simulated disk whose writes fail with ENOSPC (the test id says which)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from hearth.core.errors import DiskFullError
from hearth.core.models.download import manager as downloads
from hearth.core.models.download.manager import CHUNK, DownloadManager
from hearth.core.models.download.progress import Progress
from hearth.core.models.hub.client import HubClient
from tests.fixtures.hub_fixtures import BIG
from tests.fixtures.hub_server import HubServer

MB = 1_000_000


class SmallDisk:
    """A folder with ``capacity`` bytes of room, and a way to fill it from "another program"."""

    def __init__(self, root: Path, capacity: int, real: bool) -> None:
        self.root = root
        self.capacity = capacity
        self.real = real
        self.filler = root / "other-program.bin"
        self.simulated_used = 0

    def fill_all_but(self, keep: int) -> None:
        if self.real:
            free = shutil.disk_usage(self.root).free
            with self.filler.open("wb") as fh:
                fh.write(b"\0" * max(0, free - keep))
        else:
            self.simulated_used = self.capacity - keep

    def clear(self) -> None:
        self.filler.unlink(missing_ok=True)
        self.simulated_used = 0


def _try_mount(path: Path, size: int) -> bool:
    if os.environ.get("HEARTH_TEST_NO_MOUNT") or not hasattr(os, "geteuid") or os.geteuid() != 0 \
            or shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, check=False)
    return done.returncode == 0


@pytest.fixture(params=[24 * MB])
def small_disk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
               ) -> Iterator[SmallDisk]:
    root = tmp_path / "small-disk"
    root.mkdir()
    real = _try_mount(root, request.param)
    disk = SmallDisk(root, request.param, real)
    if not real:
        # No mount allowed: report free space and fail writes as a full disk of this size would.
        def fake_free(path: Path) -> int:
            used = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
            return max(0, disk.capacity - used - disk.simulated_used)

        monkeypatch.setattr(downloads, "free_disk", fake_free)
        original: Callable[[DownloadManager, Path], BinaryIO] = DownloadManager._open_part

        class Capped:
            def __init__(self, fh: BinaryIO) -> None:
                self.fh = fh

            def write(self, data: memoryview) -> int:
                if fake_free(root) < len(data):
                    raise OSError(errno.ENOSPC, "No space left on device (simulated)")
                return self.fh.write(data)

            def __getattr__(self, name: str) -> object:
                return getattr(self.fh, name)

            def __enter__(self) -> Capped:
                return self

            def __exit__(self, *exc: object) -> None:
                self.fh.close()

        monkeypatch.setattr(DownloadManager, "_open_part", lambda self, part: Capped(original(self, part)))
    try:
        yield disk
    finally:
        if real:
            subprocess.run(["umount", str(root)], capture_output=True, check=False)


def test_not_enough_space_is_said_before_anything_is_fetched(hub: HubServer, small_disk: SmallDisk,
                                                             request: pytest.FixtureRequest) -> None:
    small_disk.fill_all_but(10 * MB)  # the 16 MB model cannot fit
    mgr = DownloadManager(small_disk.root / "models", HubClient(endpoint=hub.url))
    job = mgr.prepare(BIG)
    with pytest.raises(DiskFullError) as info:
        mgr.run(job)
    # 16 MB to fetch plus the 256 MiB margin, in the decimal units every size is shown in.
    assert "needs 284 MB free (16.0 MB still to download plus 268 MB to spare)" in info.value.message
    assert "MB is free" in info.value.message
    assert "Free up" in info.value.hint
    assert not hub.requests("/cdn/"), "no byte is fetched when the disk is known to be too small"
    request.node.user_properties.append(("disk", "tmpfs" if small_disk.real else "simulated ENOSPC"))


def test_disk_filling_up_mid_download_keeps_the_part_for_resume(hub: HubServer, small_disk: SmallDisk,
                                                                hub_files: dict[str, Path]) -> None:
    size = hub_files["big"].stat().st_size
    mgr = DownloadManager(small_disk.root / "models", HubClient(endpoint=hub.url), disk_margin=0,
                          progress_interval=0.0)
    job = mgr.prepare(BIG)
    hub.faults.throttle_bps = 20 * MB

    def another_program_fills_the_disk(p: Progress) -> None:
        if p.state == "downloading" and p.done > 4 * MB and not small_disk.filler.exists() \
                and not small_disk.simulated_used:
            small_disk.fill_all_but(2 * MB)

    with pytest.raises(DiskFullError, match="filled up"):
        mgr.run(job, on_progress=another_program_fills_the_disk)
    part = job.model_path.with_name(job.model_path.name + ".part")
    kept = part.stat().st_size
    assert 4 * MB < kept < size and job.manifest.state == "paused"

    small_disk.clear()
    hub.faults.throttle_bps = None
    assert mgr.run(mgr.prepare(BIG)).state == "ready"
    assert job.model_path.read_bytes() == hub_files["big"].read_bytes()
    assert hub.requests("/cdn/")[-1].range == f"bytes={kept}-"
    assert hub.sent_bytes("big-F16.gguf") - size <= 2 * CHUNK + 2 * MB
