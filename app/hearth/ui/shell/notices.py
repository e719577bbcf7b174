"""The one place that turns errors and events into words for the user.

Errors are shown where they happened (on the message, on the download row, in the status bar); this module decides
the words and the next step, so every view says the same thing the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from hearth.core.errors import (
    ContextOverflowError,
    DiskFullError,
    DoesNotFitError,
    DownloadError,
    EngineNotReadyError,
    GatedRepoError,
    HearthError,
    HostCrashedError,
    ModelFileError,
    ModelLoadError,
    RemoteEngineError,
    ToolConfigError,
    ToolError,
    WorkerError,
    WorkerLostError,
)


class Severity(Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Notice:
    """What to tell the user.

    Attributes:
        title: a few words ("The model engine stopped").
        message: what happened, in plain words.
        hint: what to do next, or "".
        details: technical details behind a "Details" toggle, or "".
        severity: how loud to be.
        action: a suggested action the view may offer as a button ("retry", "models", "settings", "new_chat"), or "".
    """

    title: str
    message: str
    hint: str = ""
    details: str = ""
    severity: Severity = Severity.ERROR
    action: str = ""

    @property
    def text(self) -> str:
        """Message and hint as one paragraph."""
        return f"{self.message} {self.hint}".strip()


_ACTIONS: tuple[tuple[type[HearthError], str], ...] = (
    (HostCrashedError, "retry"),
    (WorkerLostError, "retry"),
    (WorkerError, "models"),
    (RemoteEngineError, "retry"),
    (ContextOverflowError, "new_chat"),
    (DoesNotFitError, "models"),
    (ModelFileError, "models"),
    (ModelLoadError, "models"),
    (EngineNotReadyError, "models"),
    (GatedRepoError, "login"),
    (DiskFullError, "models"),
    (DownloadError, "retry"),
    (ToolError, "settings"),
    (ToolConfigError, "settings"),
)


def notice_for(error: BaseException) -> Notice:
    """Words for any exception; unknown ones are reported honestly, with their details."""
    if isinstance(error, HearthError):
        action = next((name for cls, name in _ACTIONS if isinstance(error, cls)), "")
        return Notice(error.title, error.message, error.hint, error.details, Severity.ERROR, action)
    return Notice(
        "Something went wrong",
        "Hearth met an unexpected problem. Your conversations are safe.",
        "If it happens again, please report it with the details below.",
        f"{type(error).__name__}: {error}",
        Severity.ERROR,
    )


def info(message: str, title: str = "") -> Notice:
    return Notice(title or "Note", message, severity=Severity.INFO)


NO_MODEL = Notice(
    "No model is loaded",
    "Load a model to start chatting.",
    "Open Models to pick one; the starter model works right away.",
    severity=Severity.INFO,
    action="models",
)

LOADING = Notice("Loading the model", "The model is loading; you can type while you wait.", severity=Severity.INFO)
