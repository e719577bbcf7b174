"""The download folder's lock is an operating-system lock: held across processes, gone with a killed holder, and
not fooled by a process id that a stale record names."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hearth.core.errors import DownloadError
from hearth.core.models.download.job import DownloadJob
from hearth.core.models.download.lock import FolderLock, lock_owner
from hearth.core.models.download.manager import DownloadManager
from hearth.core.models.download.state import DownloadState, FileRecord, Manifest, save_manifest
from hearth.core.models.hub.client import HubClient
from hearth.core.models.library.library import InstalledState, ModelLibrary

ROOT = Path(__file__).resolve().parents[5]
# Holds the folder's lock, says so, and keeps it until told to let go (or killed).
HOLDER = """
import sys
from pathlib import Path
from hearth.core.errors import DownloadError
from hearth.core.models.download.lock import FolderLock
lock = FolderLock(Path(sys.argv[1]))
try:
    lock.acquire()
except DownloadError as exc:
    print("refused:", exc.message, flush=True)
    sys.exit(3)
print("locked", flush=True)
sys.stdin.readline()
lock.release()
"""


def start_holder(folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT / "app")))


def first_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        pytest.fail(f"the holder said nothing; stderr: {proc.communicate(timeout=30)[1]}")
    return line


def downloading_record(folder: Path) -> Manifest:
    (folder / "m.gguf.part").parent.mkdir(parents=True, exist_ok=True)
    (folder / "m.gguf.part").write_bytes(b"x" * 10)
    manifest = Manifest("o/r", "main", "Q4_K_M", [FileRecord("m.gguf", 20, None)], state=DownloadState.DOWNLOADING)
    save_manifest(folder, manifest)
    return manifest


def test_another_process_holds_the_lock_until_it_is_killed(tmp_path: Path) -> None:
    models = tmp_path / "models"
    folder = models / "o" / "r"
    manifest = downloading_record(folder)
    holder = start_holder(folder)
    try:
        assert first_line(holder) == "locked"
        assert lock_owner(folder) == holder.pid
        with pytest.raises(DownloadError, match=f"already being downloaded by another Hearth \\(process {holder.pid}"):
            FolderLock(folder).acquire()
        (model,) = ModelLibrary(models).models()
        assert model.state is InstalledState.DOWNLOADING
        with pytest.raises(DownloadError, match="being downloaded"):
            ModelLibrary(models).remove(model)
        with pytest.raises(DownloadError, match="already being downloaded"):
            DownloadManager(models, HubClient(offline=True)).discard(DownloadJob(manifest, folder))
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=30)
    # The system dropped the lock with the killed process: nothing stale is left to clean up.
    assert lock_owner(folder) is None
    (model,) = ModelLibrary(models).models()
    assert model.state is InstalledState.PAUSED
    with FolderLock(folder) as lock:
        assert lock.held and lock_owner(folder) == os.getpid()


def test_a_second_process_is_refused_while_this_one_downloads(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "o" / "r"
    with FolderLock(folder):
        refused = start_holder(folder)
        assert first_line(refused) == f"refused: This model is already being downloaded by another Hearth " \
                                      f"(process {os.getpid()})."
        refused.communicate(timeout=30)
        assert refused.returncode == 3
    after = start_holder(folder)
    try:
        assert first_line(after) == "locked"
    finally:
        after.communicate(input="\n", timeout=30)
    assert after.returncode == 0 and lock_owner(folder) is None


def test_a_stale_record_naming_a_live_process_does_not_count(tmp_path: Path) -> None:
    """A PID file could be fooled: the process that wrote it died and its number now belongs to another program."""
    models = tmp_path / "models"
    folder = models / "o" / "r"
    downloading_record(folder)
    sleeper = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.readline()"], stdin=subprocess.PIPE)
    try:
        (folder / ".hearth" / "lock").write_text(str(sleeper.pid))  # what the PID-file lock left behind
        assert lock_owner(folder) is None
        (model,) = ModelLibrary(models).models()
        assert model.state is InstalledState.PAUSED, "a download nobody runs is paused, whatever the file says"
        with FolderLock(folder) as lock:
            assert lock.held
    finally:
        sleeper.communicate(input=b"\n", timeout=30)


def test_in_one_process_a_second_lock_on_the_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "o" / "r"
    with FolderLock(folder):
        with pytest.raises(DownloadError, match="already being downloaded by this app"):
            FolderLock(folder).acquire()
        assert lock_owner(folder) == os.getpid()
    assert lock_owner(folder) is None
