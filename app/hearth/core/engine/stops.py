"""Stop strings: end the answer at a stop string without ever showing its first characters."""

from __future__ import annotations

from collections.abc import Sequence


class StopMatcher:
    """Holds back text that may be the start of a stop string."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [s for s in stops if s]
        self._pending = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Return (text safe to show, whether a stop string was reached)."""
        if not self._stops:
            return text, False
        self._pending += text
        cut = min((i for i in (self._pending.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            shown, self._pending = self._pending[:cut], ""
            return shown, True
        hold = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(self._pending)), 0, -1):
                if self._pending.endswith(stop[:size]):
                    hold = max(hold, size)
                    break
        shown = self._pending[: len(self._pending) - hold]
        self._pending = self._pending[len(shown):]
        return shown, False

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return rest
