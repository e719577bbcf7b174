"""Save an answer while it streams: the text so far at most once per interval, the final text at the end.

The answer loop (the engine's thread, in the window) feeds each token delta to ``add``; a timer may call ``tick`` so
that text that arrived just before a long pause is saved too. Safe from any thread (``flush`` may come from another
one, e.g. when the user switches conversations). ``finish``/``cancel``/``fail`` write the final text and status. If
the app is killed meanwhile, at most the last interval's tokens are lost; on the next start the message is INTERRUPTED.

The saver writes the whole text each time (never appends), so a repeated or lost write cannot duplicate text.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from hearth.core.store.messages import MessageTree
from hearth.core.store.records import Message, MessageStatus, RunInfo

SAVE_INTERVAL_S = 1.0


class StreamingSaver:
    """Saves one streaming answer through ``MessageTree``.

    Args:
        messages: the store's message tree.
        message_id: the answer, created by ``start_assistant_message`` (or ``resume_message``).
        initial_text: text already saved (when continuing an interrupted answer).
        interval_s: the least time between two saves of the partial text.
        clock: a monotonic clock in seconds (tests inject a fake one).
    """

    def __init__(
        self,
        messages: MessageTree,
        message_id: int,
        *,
        initial_text: str = "",
        interval_s: float = SAVE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._messages = messages
        self.message_id = message_id
        self._parts: list[str] = [initial_text] if initial_text else []
        self._length = len(initial_text)
        self._saved_length = self._length
        self._interval = interval_s
        self._clock = clock
        self._last_save = clock()
        self._finished = False
        self.saves = 0
        self._lock = threading.RLock()

    @property
    def text(self) -> str:
        """Everything received so far."""
        with self._lock:
            if len(self._parts) > 1:
                self._parts = ["".join(self._parts)]
            return self._parts[0] if self._parts else ""

    @property
    def dirty(self) -> bool:
        """True when text arrived since the last save."""
        return self._length != self._saved_length

    @property
    def finished(self) -> bool:
        return self._finished

    def add(self, delta: str) -> bool:
        """Take a token delta; save the text so far if the interval has passed. Returns True if it saved."""
        with self._lock:
            if self._finished:
                raise RuntimeError("the answer is already finished")
            if delta:
                self._parts.append(delta)
                self._length += len(delta)
            return self.tick()

    def tick(self) -> bool:
        """Save now if there is unsaved text and the interval has passed (call from a timer). True if saved."""
        with self._lock:
            if self._finished or not self.dirty or self._clock() - self._last_save < self._interval:
                return False
            self.flush()
            return True

    def flush(self) -> None:
        """Save the text so far now, whatever the interval (e.g. before switching conversations)."""
        with self._lock:
            if self._finished or not self.dirty:
                return
            text = self.text
            self._messages.update_partial(self.message_id, text)
            self._saved_length = len(text)
            self._last_save = self._clock()
            self.saves += 1

    def finish(
        self,
        status: MessageStatus = MessageStatus.COMPLETE,
        *,
        run_info: RunInfo | None = None,
        error: str = "",
    ) -> Message:
        """Write the final text with its status and run info; the saver accepts nothing after this."""
        with self._lock:
            if self._finished:
                raise RuntimeError("the answer is already finished")
            self._finished = True
            message = self._messages.finish_message(
                self.message_id, self.text, status=status, run_info=run_info, error=error
            )
            self._saved_length = self._length
            return message

    def cancel(self, *, run_info: RunInfo | None = None) -> Message:
        """The user pressed Stop: keep the text so far as CANCELLED."""
        return self.finish(MessageStatus.CANCELLED, run_info=run_info)

    def fail(self, error: str, *, run_info: RunInfo | None = None) -> Message:
        """The answer failed: keep the text so far and say why (shown on the message)."""
        return self.finish(MessageStatus.ERROR, run_info=run_info, error=error)
