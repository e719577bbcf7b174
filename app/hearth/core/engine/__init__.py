"""The engine: llama.cpp in a child process (``host``) and the app's handle on it (``client``).

Only this package imports ``llama_cpp``, and only in the host process (``host``, ``runtime`` and ``vision``).
Pictures travel in chat messages as described in ``media``.
"""

from hearth.core.engine.client import EngineClient
from hearth.core.engine.events import (
    AnswerStats,
    EngineEvent,
    EngineNotice,
    Finished,
    LoadProgress,
    ModelInfo,
    PromptProgress,
    TokenDelta,
)

__all__ = [
    "AnswerStats",
    "EngineClient",
    "EngineEvent",
    "EngineNotice",
    "Finished",
    "LoadProgress",
    "ModelInfo",
    "PromptProgress",
    "TokenDelta",
]
