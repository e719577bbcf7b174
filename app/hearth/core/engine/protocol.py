"""The wire between the app and its engine host: one JSON object per line.

App → host: ``load`` {plan}, ``chat`` {id, messages, params, continue_last}, ``cancel`` {id}, ``unload``,
``shutdown``. A message may carry ``images`` (see ``media``).
Host → app: ``ready``, ``load_progress`` {fraction}, ``loaded`` {info}, ``load_failed`` {error},
``prompt_progress`` {id, done, total}, ``token`` {id, text}, ``done`` {id, stats}, ``error`` {id, error}.

The host writes the protocol on a duplicate of its original stdout and points fd 1 at stderr, so nothing llama.cpp
prints can corrupt the stream.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

Message = dict[str, Any]


def encode(message: Message) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def decode(line: bytes) -> Message:
    value = json.loads(line)
    if not isinstance(value, dict) or "type" not in value:
        raise ValueError(f"not a protocol message: {line[:200]!r}")
    return value


class FdWriter:
    """Writes whole messages to a file descriptor from any thread."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        data = memoryview(encode(message))
        with self._lock:
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
