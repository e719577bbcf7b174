"""The app itself killed (SIGKILL) at random moments while it streams an answer, downloads a model and reads attached
documents — all at once, again and again, on the same data folder.

The child (``app_kill_child.py``) is Hearth's real window offscreen on the real engine and store; it reports what it
shows after it shows it. After each kill this test checks, as the next launch would find things:

- the database passes ``integrity_check`` (and the search index its own check);
- every user message that was on screen is stored with its text and its attachments, and every attachment's copy
  is complete (its sha256 is its name) and was read (its text is stored with it);
- every answer is stored as shown: the one being written keeps all but at most its last second (the save
  interval) and is marked interrupted; finished ones exactly as they ended; nothing doubled or mixed up;
- no download is marked ready, and no file has its final name, that is not complete and verified against the Hub's
  sha256; a partial file is never longer than the file;
- the engine host does not outlive the app;
and, at the next launch, the download resumes from the bytes on disk (the Hub sees a Range request starting there).

``HEARTH_KILL_SEED`` replays a run; ``HEARTH_KILL_REPORT=path.json`` writes the figures (README, "Reliability").
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hearth.core.models.download.state import manifests_in
from hearth.core.paths import AppPaths
from hearth.core.store import MessageStatus, Role, Store, default_db_path
from hearth.core.store.streaming import SAVE_INTERVAL_S
from tests.fixtures.hub_fixtures import BIG
from tests.fixtures.hub_server import HubServer
from tests.unit.core.store.test_kill import check_file

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL and /proc")

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("app_kill_child.py")
# What may be lost of the answer being written: the saver's interval, plus the GUI thread's delay in saving (its
# one-second timer and a token's arrival can both be late by a repaint or an attachment's bookkeeping).
LOSS_WINDOW_S = SAVE_INTERVAL_S + 0.5


@dataclass
class Run:
    """What one child reported before it was killed."""

    opened: bool = False
    host: int | None = None
    sends: list[dict[str, Any]] = field(default_factory=list)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    started: dict[int, int] = field(default_factory=dict)
    shown: dict[int, list[tuple[str, float]]] = field(default_factory=dict)
    done: dict[int, tuple[int, str]] = field(default_factory=dict)
    downloads: list[dict[str, Any]] = field(default_factory=list)
    restored: dict[str, Any] | None = None
    ready: int = 0
    last_time: float | None = None

    @classmethod
    def parse(cls, text: str) -> Run:
        run = cls()
        for line in text.split("\n")[:-1]:  # a line cut by the kill has no newline: not reported
            r = json.loads(line)
            kind = r["k"]
            if kind == "open":
                run.opened = True
            elif kind == "restored":
                run.restored = r
            elif kind == "host":
                run.host = r["pid"]
            elif kind == "send":
                run.sends.append(r)
            elif kind == "user":
                run.users[r["id"]] = r
            elif kind == "start":
                run.started[r["id"]] = r["initial"]
            elif kind == "shown":
                run.shown.setdefault(r["id"], []).append((r["text"], r["t"]))
                run.last_time = r["t"]
            elif kind == "done":
                run.done[r["id"]] = (r["chars"], r["status"])
            elif kind == "dl-run":
                run.downloads.append(r)
            elif kind == "dl-ready":
                run.ready += 1
        return run

    def shown_text(self, message_id: int, initial: str) -> str:
        return initial + "".join(text for text, _ in self.shown.get(message_id, []))

    @property
    def streaming_at_kill(self) -> int | None:
        unfinished = [m for m in self.started if m not in self.done]
        return unfinished[-1] if unfinished else None

    @property
    def unsent(self) -> dict[str, Any] | None:
        """The message being sent at the kill whose attachments were still being read (not on screen yet)."""
        if not self.sends or not self.sends[-1]["files"]:
            return None
        last = self.sends[-1]
        return None if any(u["text"] == last["text"] for u in self.users.values()) else last


@dataclass
class Figures:
    kills: int = 0
    streaming: int = 0
    downloading: int = 0
    reading: int = 0
    resumed_downloads: int = 0
    downloads_ready: int = 0
    messages_checked: int = 0
    attachments_checked: int = 0
    answers_checked: int = 0
    chars_lost_within_window: int = 0
    unsent_restored: int = 0


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@functools.cache
def _hub_sha256(path: Path) -> str:
    return sha256_of(path)


def host_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.05)
    return False


def wait_for_reading(progress: Path, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Until the app submits a message with attachments (or the timeout: then the kill lands wherever it is)."""
    deadline = time.monotonic() + timeout
    seen = len(Run.parse(progress.read_text()).sends)
    while time.monotonic() < deadline and proc.poll() is None:
        if any(send["files"] for send in Run.parse(progress.read_text()).sends[seen:]):
            return
        time.sleep(0.01)


def check_messages(store: Store, run: Run, before: dict[int, tuple[str, str]], figures: Figures, where: str) -> None:
    rows = {m.id: m for conv in store.conversations.list_all() for m in store.messages.all_messages(conv.id)}
    for msg_id, user in run.users.items():
        msg = rows.get(msg_id)
        assert msg is not None, f"{where}: user message {msg_id} was shown and is lost"
        assert msg.role is Role.USER and msg.content == user["text"], where
        attached = store.attachments.for_message(msg_id)
        assert [a.file_name for a in attached] == user["files"], where
        for attachment in attached:
            path = store.attachments.path_of(attachment.file)
            assert path is not None and sha256_of(path) == attachment.file.sha256, f"{where}: {attachment}"
            assert attachment.file.extracted_text, f"{where}: {attachment.file_name} was not read"
            figures.attachments_checked += 1
        figures.messages_checked += 1
    for msg_id, initial_chars in run.started.items():
        msg = rows.get(msg_id)
        assert msg is not None and msg.role is Role.ASSISTANT, f"{where}: answer {msg_id}"
        initial = before.get(msg_id, ("", ""))[0]
        assert len(initial) == initial_chars or msg_id not in before, where
        shown = run.shown_text(msg_id, initial)
        # The same answer: what is stored and what was shown agree wherever both have text.
        assert shown.startswith(msg.content) or msg.content.startswith(shown), f"{where}: answer {msg_id} differs"
        if msg_id in run.done:
            chars, status = run.done[msg_id]
            assert (len(msg.content), msg.status.value) == (chars, status), f"{where}: answer {msg_id}"
        else:
            assert msg.status is not MessageStatus.STREAMING, where
            if run.last_time is not None:
                # Shown more than the loss window before the child's last sign of life: saved.
                required = len(initial) + sum(
                    len(text) for text, when in run.shown.get(msg_id, []) if when <= run.last_time - LOSS_WINDOW_S)
                assert len(msg.content) >= required, f"{where}: answer {msg_id} lost more than its last second"
                figures.chars_lost_within_window += max(0, len(shown) - len(msg.content))
        figures.answers_checked += 1
    for msg_id, (content, status) in before.items():
        msg = rows.get(msg_id)
        assert msg is not None, f"{where}: message {msg_id} from an earlier run is lost"
        if msg_id not in run.started:
            assert (msg.content, msg.status.value) == (content, status), f"{where}: message {msg_id} changed"


def check_downloads(models_dir: Path, hub_files: dict[str, Path], where: str) -> dict[str, int]:
    """Every ready manifest's files and every file under its final name are verified; returns .part sizes."""
    expected = {"big-F16.gguf": _hub_sha256(hub_files["big"])}
    sizes = {"big-F16.gguf": hub_files["big"].stat().st_size}
    parts: dict[str, int] = {}
    folder = models_dir.joinpath(*BIG.split("/"))
    if not folder.is_dir():
        return parts
    for _, manifest in manifests_in(folder):
        if manifest.state == "ready":
            for record in manifest.files:
                local = folder / record.path
                assert local.is_file() and sha256_of(local) == expected[record.path], f"{where}: {record.path}"
    for path in folder.iterdir():
        if path.is_file() and path.name.endswith(".part"):
            name = path.name.removesuffix(".part")
            assert path.stat().st_size <= sizes[name], where
            parts[name] = path.stat().st_size
        elif path.is_file():
            assert sha256_of(path) == expected[path.name], f"{where}: {path.name} has its final name unverified"
    return parts


def kill_loop(tmp_path: Path, hub: HubServer, hub_files: dict[str, Path], model: Path, kills: int) -> Figures:
    base_seed = int(os.environ.get("HEARTH_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(base_seed)
    home = tmp_path / "home"
    paths = AppPaths.under(home)
    docs = tmp_path / "docs"
    docs.mkdir()
    env = {**os.environ, "HEARTH_HOME": str(home), "PYTHONPATH": os.pathsep.join([str(ROOT / "app"), str(ROOT)]),
           "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf-home"),
           "QT_QPA_PLATFORM": "offscreen"}
    hub.faults.throttle_bps = 3_000_000
    figures = Figures()
    before: dict[int, tuple[str, str]] = {}
    parts_at_kill: dict[str, int] = {}
    unsent_at_kill: dict[str, Any] | None = None
    for i in range(kills):
        where = f"kill {i + 1} (HEARTH_KILL_SEED={base_seed})"
        progress = tmp_path / f"progress-{i}.jsonl"
        requests_before = len(hub.requests("/cdn/"))
        proc = subprocess.Popen([sys.executable, str(CHILD), str(progress), str(base_seed + i), str(model), str(docs)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while not (progress.exists() and b'"k": "host"' in progress.read_bytes()):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{where}: the app did not start: {proc.communicate()[1].decode()[-3000:]}")
            time.sleep(0.02)
        if i % 3 == 2:
            wait_for_reading(progress, proc, 15.0)  # every third kill aims at an attachment being read
            time.sleep(rng.uniform(0.0, 0.8))
        else:
            time.sleep(rng.uniform(0.0, 5.0))
        if proc.poll() is not None:
            pytest.fail(f"{where}: the app ended by itself: {proc.communicate()[1].decode()[-3000:]}")
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        figures.kills += 1
        run = Run.parse(progress.read_text())
        assert run.host is not None and host_gone(run.host, 15), f"{where}: the engine host outlived the app"

        # The next launch resumed the download where the previous kill left it.
        runs = run.downloads
        kept = parts_at_kill.get(runs[0]["path"], 0) if runs else 0
        if 0 < kept < hub_files["big"].stat().st_size:
            assert runs[0]["part"] == kept, f"{where}: the download did not resume from the bytes on disk"
            first = next(iter(hub.requests("/cdn/")[requests_before:]), None)
            if first is not None:
                assert first.range == f"bytes={kept}-", f"{where}: resumed with {first.range}"
                figures.resumed_downloads += 1
        figures.downloads_ready += run.ready
        figures.downloading += bool(runs) and len(runs) > run.ready
        figures.streaming += run.streaming_at_kill is not None
        figures.reading += run.unsent is not None
        if unsent_at_kill is not None:  # the message whose attachments were being read is back in the composer
            assert run.restored is not None, where
            names = [Path(f).name for f in unsent_at_kill["files"]]
            assert (run.restored["text"], run.restored["files"]) == (unsent_at_kill["text"], names), where
            figures.unsent_restored += 1

        db = default_db_path(paths)
        check_file(db)
        parts_at_kill = check_downloads(paths.models_dir, hub_files, where)
        with Store.open(db) as store:  # what the next launch does first: streaming answers become interrupted
            check_messages(store, run, before, figures, where)
            rows = [m for c in store.conversations.list_all() for m in store.messages.all_messages(c.id)]
            unsent_at_kill = None
            if run.unsent is not None:  # kept for the composer, unless it made it into the conversation
                saved = store.get_state("unsent_message")
                sent = any(m.role is Role.USER and m.content == run.unsent["text"] for m in rows)
                assert sent or (saved is not None and saved["text"] == run.unsent["text"]), f"{where}: message lost"
                unsent_at_kill = None if sent else saved
            leftovers = sorted(p.name for p in store.attachments.folder.glob(".incoming-*"))
            assert not leftovers, f"{where}: partial copies left after the next launch: {leftovers}"
        before = {m.id: (m.content, m.status.value) for m in rows}
    return figures


def write_report(figures: Figures) -> None:
    target = os.environ.get("HEARTH_KILL_REPORT")
    if target:
        Path(target).write_text(json.dumps(figures.__dict__, indent=1))


def test_app_killed_while_streaming_downloading_and_reading_reduced(
    tmp_path: Path, hub: HubServer, hub_files: dict[str, Path], gemma_path: Path
) -> None:
    figures = kill_loop(tmp_path, hub, hub_files, gemma_path, int(os.environ.get("HEARTH_APP_KILLS", 12)))
    write_report(figures)
    assert figures.streaming >= 3 and figures.downloading >= 3, figures


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_app_killed_100_times(tmp_path: Path, hub: HubServer, hub_files: dict[str, Path], gemma_path: Path) -> None:
    figures = kill_loop(tmp_path, hub, hub_files, gemma_path, 100)
    write_report(figures)
    assert figures.streaming >= 30 and figures.downloading >= 30 and figures.reading >= 5, figures
    assert figures.resumed_downloads >= 10, figures
