"""The engine: llama.cpp in a child process (``host``) and the app's handle on it (``client``).

``EngineApi`` (``api``) is what the rest of the app needs from an engine; ``EngineClient`` implements it. The two
processes speak the typed messages of ``protocol``; callers see the events of ``events``. Only this package imports
``llama_cpp``, and only in the host process (``host``, ``runtime`` and ``vision``). Pictures travel in chat messages
as described in ``media``.
"""

from hearth.core.engine.api import EngineApi
from hearth.core.engine.client import EngineClient
from hearth.core.engine.events import (
    AnswerStats,
    EngineEvent,
    EngineNotice,
    EnginePhase,
    Finished,
    LoadProgress,
    ModelInfo,
    PromptProgress,
    StopReason,
    TokenDelta,
)

__all__ = [
    "AnswerStats",
    "EngineApi",
    "EngineClient",
    "EngineEvent",
    "EngineNotice",
    "EnginePhase",
    "Finished",
    "LoadProgress",
    "ModelInfo",
    "PromptProgress",
    "StopReason",
    "TokenDelta",
]
