"""``hearth models download REPO[:QUANT]``: a resumable, verified download with a progress line."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from types import FrameType
from typing import TextIO

from hearth.cli.common import current_settings, models_dir
from hearth.core.models.discover.catalog import find_entry
from hearth.core.models.download.job import DownloadJob
from hearth.core.models.download.manager import DownloadManager
from hearth.core.models.download.progress import Progress
from hearth.core.models.download.state import DownloadState
from hearth.core.models.hub.client import HubClient
from hearth.core.paths import AppPaths
from hearth.core.units import format_progress, format_rate, format_size


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


class ProgressPrinter:
    """Progress on stderr: one rewritten line on a terminal, a line per event otherwise; JSON lines if asked."""

    def __init__(self, err: TextIO, out: TextIO, as_json: bool) -> None:
        self.err = err
        self.out = out
        self.as_json = as_json
        self.tty = err.isatty()
        self.last_line = 0.0

    def __call__(self, p: Progress) -> None:
        if self.as_json:
            self.out.write(json.dumps({"state": p.state.value, "done": p.done, "total": p.total,
                                       "speed_bps": round(p.speed_bps), "eta_s": p.eta_s, "file": p.current,
                                       "message": p.message}) + "\n")
            self.out.flush()
            return
        line = (f"{p.fraction:6.1%}  {format_progress(p.done, p.total)}  {format_rate(p.speed_bps):>11}  "
                f"ETA {_duration(p.eta_s)}  {p.current or ''}")
        if p.message:
            self.err.write(("\r\033[K" if self.tty else "") + p.message + "\n")
        now = time.monotonic()
        if self.tty:
            self.err.write("\r\033[K" + line)
        elif now - self.last_line >= 5 or p.state is not DownloadState.DOWNLOADING:
            self.err.write(line + "\n")
            self.last_line = now
        self.err.flush()


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    settings = current_settings(paths)
    repo, _, quant = args.model.partition(":")
    entry = find_entry(repo)
    repo_id = entry.repos[0] if entry else repo
    manager = DownloadManager(models_dir(paths, settings), HubClient(offline=settings.offline))
    job = manager.prepare(repo_id, quant or None, include_mmproj=args.include_mmproj)
    left = job.remaining_bytes()
    total = job.manifest.total_bytes
    sys.stderr.write(f"{job.id}: {len(job.manifest.files)} file(s), {format_size(total)}"
                     + (f", {format_size(left)} left" if left != total else "") + f"\n  into {job.folder}\n")
    printer = ProgressPrinter(sys.stderr, sys.stdout, args.json)
    with _PauseOnSignal(job):
        manager.run(job, on_progress=printer)
    if printer.tty:
        sys.stderr.write("\n")
    if job.state is DownloadState.PAUSED:
        sys.stderr.write("Paused. Run the same command again to resume where it stopped.\n")
        return 130
    if job.state is DownloadState.CANCELLED:
        return 130
    sys.stderr.write(f"Ready: {job.model_path}\n" + (f"  vision projector: {job.mmproj_path}\n"
                                                      if job.mmproj_path else ""))
    return 0


class _PauseOnSignal:
    """Ctrl+C (or SIGTERM) pauses the download, keeping what was fetched, instead of killing it mid-write."""

    def __init__(self, job: DownloadJob) -> None:
        self.job = job
        self.previous: dict[int, object] = {}

    def __enter__(self) -> _PauseOnSignal:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self._pause)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _pause(self, _signum: int, _frame: FrameType | None) -> None:
        self.job.pause()
