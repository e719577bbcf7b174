"""Pause and cancel live in one ``DownloadControl``: the GUI, the CLI and the manager all go through it."""

from __future__ import annotations

import threading
from pathlib import Path

from hearth.core.models.download.control import DownloadControl
from hearth.core.models.download.manager import DownloadManager
from hearth.core.models.download.progress import Progress
from hearth.core.models.download.state import DownloadState, manifest_path
from hearth.core.models.hub.client import HubClient
from tests.fixtures.hub_fixtures import BIG
from tests.fixtures.hub_server import HubServer


def test_a_pause_belongs_to_one_run_and_a_cancel_is_final() -> None:
    control = DownloadControl()
    assert not control.begin_run() and not control.stopping
    control.pause()
    assert control.stopping and control.pause_requested and not control.cancel_requested
    control.paused()  # the run stopped for it
    assert control.stopping, "until the next run starts, the download still reads as stopping"
    assert not control.begin_run(), "the next run does not stop again for a pause already obeyed"
    control.pause()
    assert control.begin_run(), "a pause asked between runs stops the next one at once"
    control.resume()
    assert not control.stopping
    control.cancel()
    control.resume()
    assert control.begin_run() and control.cancel_requested


def test_waiting_ends_when_a_pause_is_asked_from_another_thread() -> None:
    control = DownloadControl()
    asked = threading.Event()

    def pause_soon() -> None:
        asked.wait()
        control.pause()

    thread = threading.Thread(target=pause_soon)
    thread.start()
    asked.set()
    control.wait(600.0)  # would hang the test if the pause did not end the wait
    thread.join()
    assert control.pause_requested


def test_a_pause_asked_while_the_file_list_is_read_is_obeyed(hub: HubServer, tmp_path: Path) -> None:
    mgr = DownloadManager(tmp_path / "models", HubClient(endpoint=hub.url))
    control = DownloadControl()
    control.pause()  # the GUI's Pause, clicked before the job existed
    job = mgr.prepare(BIG, control=control)
    assert job.control is control
    events: list[Progress] = []
    assert mgr.run(job, on_progress=events.append).state is DownloadState.PAUSED
    assert not hub.requests("/cdn/"), "nothing is fetched"
    assert [e.state for e in events] == [DownloadState.PAUSED]
    assert mgr.pending()[0].state is DownloadState.PAUSED, "the record says paused, for the next start"
    assert mgr.run(job).state is DownloadState.READY, "resuming runs to the end"


def test_a_cancel_asked_before_the_run_deletes_the_download(hub: HubServer, tmp_path: Path) -> None:
    hub.faults.throttle_bps = 8_000_000
    mgr = DownloadManager(tmp_path / "models", HubClient(endpoint=hub.url))
    job = mgr.prepare(BIG)
    mgr.run(job, on_progress=lambda p: job.pause() if p.done > 2_000_000 else None)
    assert job.state is DownloadState.PAUSED and list(job.folder.rglob("*.part"))
    job.cancel()  # Cancel on a paused row
    assert mgr.run(job).state is DownloadState.CANCELLED
    assert not list(job.folder.rglob("*.part")) and not manifest_path(job.folder, job.manifest.quant).exists()
    assert mgr.pending() == []
