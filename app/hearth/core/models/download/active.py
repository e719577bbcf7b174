"""Which downloads were running when the app last closed, so they carry on by themselves after a restart.

A download's own manifest (``hearth.core.models.download.state``) says how far it got; this file only says whether the
user wanted it running. A download the user paused stays paused; one the app stopped because it was closing resumes.
"""

from __future__ import annotations

import json
from pathlib import Path

from hearth.core.models.download.state import write_json_atomic


class ActiveDownloads:
    """A small JSON list of download ids ("owner/repo:QUANT") at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ids = self._read()

    def _read(self) -> set[str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return set()
        return {str(x) for x in data} if isinstance(data, list) else set()

    def ids(self) -> set[str]:
        return set(self._ids)

    def add(self, job_id: str) -> None:
        if job_id not in self._ids:
            self._ids.add(job_id)
            self._write()

    def discard(self, job_id: str) -> None:
        if job_id in self._ids:
            self._ids.discard(job_id)
            self._write()

    def _write(self) -> None:
        try:
            write_json_atomic(self.path, sorted(self._ids))
        except OSError:
            pass  # only a convenience: without it, interrupted downloads wait for a click on Resume
