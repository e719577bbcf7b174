"""Typed errors raised by the core.

Every error's ``str()`` is a sentence in plain words that a user can read; ``hint`` says what to do next. The GUI turns
them into notices in one place (``hearth.ui.shell.notices``); the CLI prints them. Errors cross the engine's pipe as
dictionaries (``to_wire``/``from_wire``), so the host can raise them and the app can catch them by type.
"""

from __future__ import annotations

from typing import Any, ClassVar


class HearthError(Exception):
    """Base class: a failure a user can meet, described in plain words.

    Attributes:
        hint: the next step for the user, or "".
        details: technical details for the log and a "details" toggle, or "".
    """

    title: ClassVar[str] = "Something went wrong"

    def __init__(self, message: str, *, hint: str = "", details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def to_wire(self) -> dict[str, Any]:
        return {"kind": type(self).__name__, "message": self.message, "hint": self.hint, "details": self.details}


class ModelLoadError(HearthError):
    """The model could not be loaded (bad file, unsupported architecture, llama.cpp refused it)."""

    title = "The model could not be loaded"


class ModelFileError(ModelLoadError):
    """The model file is missing, not a GGUF file, truncated, or a part of a split model is missing."""

    title = "There is a problem with the model file"


class DoesNotFitError(ModelLoadError):
    """The model needs more memory than this machine has."""

    title = "The model does not fit"


class HostCrashedError(HearthError):
    """The engine process (llama.cpp) ended unexpectedly. The app itself is fine.

    Attributes:
        returncode: the process's exit status (negative: killed by that signal), or None.
        log_tail: the last lines llama.cpp printed before it ended.
        during: what the engine was doing: an ``EnginePhase`` of ``hearth.core.engine.events`` (a ``str`` enum:
            "start", "load", "prompt", "generate" or "idle").
    """

    title = "The model engine stopped"

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        details: str = "",
        returncode: int | None = None,
        log_tail: tuple[str, ...] = (),
        during: str = "idle",
    ) -> None:
        super().__init__(message, hint=hint, details=details)
        self.returncode = returncode
        self.log_tail = log_tail
        self.during = during


class EngineNotReadyError(HearthError):
    """A request was made before a model was loaded."""

    title = "No model is loaded"


class ContextOverflowError(HearthError):
    """The conversation or message does not fit in the model's context window."""

    title = "The message is too long for this model"


class TemplateError(HearthError):
    """The model's chat template could not be rendered (broken or hostile template)."""

    title = "The model's chat template failed"


class NoVisionError(HearthError):
    """Images were sent to a model that has no vision projector loaded."""

    title = "This model can't see images"


class GenerationError(HearthError):
    """llama.cpp failed while reading the prompt or writing the answer."""

    title = "The answer could not be generated"


class InvalidRequestError(HearthError):
    """A request is malformed or asks for something impossible (a bad JSON schema, an unknown tool name...).

    Raised for requests from other programs (the local API); the message says which field is wrong.

    Attributes:
        param: the request field at fault, or "".
    """

    title = "The request is not valid"

    def __init__(self, message: str, *, hint: str = "", details: str = "", param: str = "") -> None:
        super().__init__(message, hint=hint, details=details)
        self.param = param

    def to_wire(self) -> dict[str, Any]:
        return {**super().to_wire(), "param": self.param}


class EngineBusyError(HearthError):
    """The engine's queue is full: the request was refused rather than kept waiting without end.

    Attributes:
        retry_after_s: a fair guess of when to try again, in whole seconds.
    """

    title = "The model is busy"

    def __init__(self, message: str, *, hint: str = "", details: str = "", retry_after_s: int = 1) -> None:
        super().__init__(message, hint=hint, details=details)
        self.retry_after_s = retry_after_s


class DownloadError(HearthError):
    """A download failed, was refused, or did not verify."""

    title = "The download failed"


class DiskFullError(DownloadError):
    """Not enough free disk space."""

    title = "Not enough disk space"


class GatedRepoError(DownloadError):
    """The model's repository needs an accepted licence and a Hugging Face token."""

    title = "This model needs your permission on Hugging Face"


class OfflineError(DownloadError):
    """A network request was refused because Hearth is offline (its setting, or ``HF_HUB_OFFLINE``)."""

    title = "Hearth is offline"


class DocumentError(HearthError):
    """A document or image could not be read."""

    title = "The file could not be read"


class EncryptedDocumentError(DocumentError):
    """The document is password-protected.

    Attributes:
        wrong_password: a password was given and refused.
        name: the file's name as attached ("" when not known).
    """

    title = "This document is password-protected"

    def __init__(self, message: str, *, hint: str = "", details: str = "", wrong_password: bool = False,
                 name: str = "") -> None:
        super().__init__(message, hint=hint, details=details)
        self.wrong_password = wrong_password
        self.name = name


class NoTextLayerError(DocumentError):
    """A PDF has pages but no text to read (a scan); its page images can go to a vision model instead.

    Attributes:
        page_count: the PDF's pages.
        name: the file's name as attached ("" when not known).
    """

    title = "This PDF has no text to read"
    needs_ocr = True

    def __init__(self, message: str, *, hint: str = "", details: str = "", page_count: int = 0,
                 name: str = "") -> None:
        super().__init__(message, hint=hint, details=details)
        self.page_count = page_count
        self.name = name


class CorruptDocumentError(DocumentError):
    """The file is damaged or is not what its name says."""

    title = "The file is damaged"


class EmptyDocumentError(DocumentError):
    """The file is empty (0 bytes) or holds no text at all."""

    title = "The file is empty"


class BinaryFileError(DocumentError):
    """A file named like text holds binary data."""

    title = "This is not a text file"


class FileTooLargeError(DocumentError):
    """The file is bigger than the configured limit."""

    title = "The file is too large"

    def __init__(
        self, message: str, *, hint: str = "", details: str = "", size_bytes: int = 0, limit_bytes: int = 0
    ) -> None:
        super().__init__(message, hint=hint, details=details)
        self.size_bytes = size_bytes
        self.limit_bytes = limit_bytes


class UnsupportedDocumentError(DocumentError):
    """Hearth cannot read this kind of file."""

    title = "This kind of file is not supported"


class UnsafeDocumentError(DocumentError):
    """The file would expand far beyond its size when opened (a zip or image "bomb")."""

    title = "The file was not opened to protect your computer"


class ExtractionCancelled(DocumentError):
    """Reading the document was stopped on request."""

    title = "Reading the document was stopped"


class StoreError(HearthError):
    """The conversation database could not be opened or written."""

    title = "Your conversations could not be saved"


class StoreCorruptError(StoreError):
    """The conversation database file is damaged or is not a database at all.

    Attributes:
        path: the database file.
    """

    title = "Your conversation database is damaged"

    def __init__(self, message: str, *, hint: str = "", details: str = "", path: str = "") -> None:
        super().__init__(message, hint=hint, details=details)
        self.path = path


class StoreTooNewError(StoreError):
    """The database was written by a newer version of Hearth than this one."""

    title = "Your conversations need a newer Hearth"


class StoreBusyError(StoreError):
    """Another program kept the database busy for too long."""

    title = "Your conversations are busy"


class StoreNotFoundError(StoreError):
    """A conversation or message that was asked for no longer exists (deleted meanwhile)."""

    title = "That conversation no longer exists"


class AlreadyRunningError(HearthError):
    """Another Hearth window already uses this data folder."""

    title = "Hearth is already running"


class WorkerError(HearthError):
    """A llama.cpp RPC worker cannot be used: unreachable, busy, another protocol version, or gone mid-answer.

    Attributes:
        endpoint: the worker's address (HOST:PORT), or "" when not known.
    """

    title = "A worker computer cannot be used"

    def __init__(self, message: str, *, hint: str = "", details: str = "", endpoint: str = "") -> None:
        super().__init__(message, hint=hint, details=details)
        self.endpoint = endpoint

    def to_wire(self) -> dict[str, Any]:
        return {**super().to_wire(), "endpoint": self.endpoint}


class WorkerLostError(WorkerError):
    """A worker stopped answering while the model was loading or answering (it died, or the network dropped)."""

    title = "A worker computer stopped answering"


class RemoteEngineError(HearthError):
    """A remote engine (an OpenAI-compatible server) refused a request, failed, or could not be reached.

    Attributes:
        status: the HTTP status, or 0 when there was no HTTP answer.
    """

    title = "The server could not answer"

    def __init__(self, message: str, *, hint: str = "", details: str = "", status: int = 0) -> None:
        super().__init__(message, hint=hint, details=details)
        self.status = status


class VisionFileError(ModelLoadError):
    """The vision projector (mmproj) file is missing, damaged, or made for a different model."""

    title = "The vision file could not be loaded"


class ToolError(HearthError):
    """A tool could not be used: its server would not start, crashed, hung, or answered with nonsense.

    Attributes:
        server: the tool server's name ("" for Hearth's own tools).
    """

    title = "A tool could not be used"

    def __init__(self, message: str, *, hint: str = "", details: str = "", server: str = "") -> None:
        super().__init__(message, hint=hint, details=details)
        self.server = server


class ToolTimeoutError(ToolError):
    """A tool server did not answer in time (it was stopped; it starts again when next needed)."""

    title = "A tool did not answer in time"


class ToolConfigError(HearthError):
    """A tool server's settings cannot be used (imported JSON that is not an ``mcpServers`` list, a bad URL...)."""

    title = "These tool settings cannot be used"


def _all_error_types() -> dict[str, type[HearthError]]:
    found: dict[str, type[HearthError]] = {}
    pending: list[type[HearthError]] = [HearthError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return found


def error_from_wire(data: dict[str, Any]) -> HearthError:
    """Rebuild an error sent over the engine pipe; unknown kinds become ``HearthError``."""
    cls = _all_error_types().get(str(data.get("kind")), HearthError)
    message = str(data.get("message") or "The engine reported an error.")
    hint = str(data.get("hint") or "")
    details = str(data.get("details") or "")
    if cls is HostCrashedError:
        return HostCrashedError(message, hint=hint, details=details)
    if cls is InvalidRequestError:
        return InvalidRequestError(message, hint=hint, details=details, param=str(data.get("param") or ""))
    if issubclass(cls, WorkerError):
        return cls(message, hint=hint, details=details, endpoint=str(data.get("endpoint") or ""))
    if cls is InvalidRequestError:
        return InvalidRequestError(message, hint=hint, details=details, param=str(data.get("param") or ""))
    return cls(message, hint=hint, details=details)
