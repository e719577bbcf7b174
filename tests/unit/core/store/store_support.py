"""Helpers shared by the store tests: a fake clock and a store in a test's own folder."""

from __future__ import annotations

from pathlib import Path

from hearth.core.store import Store


class FakeClock:
    """A clock the test moves by hand; starts at a fixed, plausible time."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def open_store(folder: Path, clock: FakeClock | None = None, *, recover: bool = True) -> Store:
    """A store at ``folder/hearth.db`` whose clock ticks one millisecond per call unless one is given."""
    return Store.open(folder / "hearth.db", clock=clock or TickingClock(), recover=recover)


class TickingClock(FakeClock):
    """A fake clock that moves forward a little on every read, so creation order is also time order."""

    def __call__(self) -> float:
        self.now += 0.001
        return self.now
