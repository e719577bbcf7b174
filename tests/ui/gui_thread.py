"""Which thread ran what: a record of the store's reads and writes, and of named functions, made on the GUI thread.

Timing the window says whether it was late, on this machine, today; this says *why* it would be, on any machine: the
GUI thread touching the database (a write waits for the disk and for any other thread's transaction), reading a
document or building a prompt. ``GuiThreadLog`` wraps the real ``Database.read``/``Database.write`` and the
functions it is told to watch (the real code runs; only the calling thread is noted), while ``recording``.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hearth.core.store.db import Database

_STORE_DIR = str(Path(sys.modules["hearth.core.store.db"].__file__ or "").parent)


@dataclass
class GuiThreadLog:
    """What ran on the GUI thread while recording, and what ran elsewhere (for the watched functions)."""

    gui: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    recording: bool = False

    def note(self, what: str) -> None:
        if not self.recording:
            return
        if threading.current_thread() is threading.main_thread():
            self.gui.append(what)
        else:
            self.elsewhere.append(what)

    @contextmanager
    def record(self) -> Iterator[GuiThreadLog]:
        self.gui.clear()
        self.elsewhere.clear()
        self.recording = True
        try:
            yield self
        finally:
            self.recording = False

    def store_calls_on_gui(self) -> list[str]:
        return [what for what in self.gui if what.startswith("store ")]


def watch_thread(monkeypatch: pytest.MonkeyPatch, log: GuiThreadLog, module: ModuleType, name: str) -> None:
    """Note the thread every call of ``module.name`` runs on (the function still runs)."""
    original: Callable[..., Any] = getattr(module, name)

    @functools.wraps(original)
    def noted(*args: Any, **kwargs: Any) -> Any:
        log.note(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, noted)


def watch_store(monkeypatch: pytest.MonkeyPatch, log: GuiThreadLog) -> None:
    """Note every read and write of any store, with the function outside the store that asked for it."""
    read, write = Database.read, Database.write

    def noted_read(self: Database) -> Any:
        log.note(f"store read by {_caller()}")
        return read(self)

    def noted_write(self: Database) -> Any:
        log.note(f"store write by {_caller()}")
        return write(self)

    monkeypatch.setattr(Database, "read", noted_read)
    monkeypatch.setattr(Database, "write", noted_write)


def _caller() -> str:
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_STORE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return "?"
    return f"{Path(frame.f_code.co_filename).stem}.{frame.f_code.co_name}"
