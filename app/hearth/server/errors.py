"""OpenAI error objects, and which HTTP status each of Hearth's errors gets.

Every refusal has the shape OpenAI's clients parse (``{"error": {"message", "type", "param", "code"}}``), so the
official client raises the matching exception (``AuthenticationError`` for 401, ``RateLimitError`` for 429...). A
request the server cannot serve because of what it asked is a 4xx; only a fault of Hearth's own is a 500.
"""

from __future__ import annotations

import logging

from starlette.responses import JSONResponse

from hearth.core.errors import (
    ContextOverflowError,
    DocumentError,
    EngineBusyError,
    EngineNotReadyError,
    HearthError,
    HostCrashedError,
    InvalidRequestError,
    ModelLoadError,
    NoVisionError,
    TemplateError,
)

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A refusal to send as an OpenAI error object.

    Attributes:
        status: the HTTP status.
        message: what is wrong, in words.
        type: OpenAI's error type ("invalid_request_error", "authentication_error"...).
        code: a short machine-readable code, or None.
        param: the request field at fault, or None.
        headers: extra response headers (Retry-After for 429).
    """

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def from_hearth_error(error: HearthError) -> ApiError:
    """The status and error object for a typed error from the core or the engine."""
    text = f"{error.message} {error.hint}".strip()
    if isinstance(error, InvalidRequestError):
        return ApiError(400, text, param=error.param or None)
    if isinstance(error, (NoVisionError, ContextOverflowError, TemplateError, DocumentError)):
        code = {NoVisionError: "model_cannot_see", ContextOverflowError: "context_length_exceeded"}.get(type(error))
        return ApiError(400, text, code=code)
    if isinstance(error, EngineBusyError):
        return ApiError(429, text, type="rate_limit_error", code="engine_busy",
                        headers={"Retry-After": str(max(1, error.retry_after_s))})
    if isinstance(error, (EngineNotReadyError, ModelLoadError, HostCrashedError)):
        return ApiError(503, text, type="server_error", code="engine_not_ready")
    log.warning("request failed: %s: %s", type(error).__name__, error.message)
    return ApiError(503, text, type="server_error", code="engine_error")


def internal_error() -> ApiError:
    return ApiError(500, "Hearth failed unexpectedly while serving this request; its log has the details.",
                    type="server_error", code="internal_error")
