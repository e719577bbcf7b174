"""The gate in front of every request: Host, Origin, body size and key checks, then the access log and counters.

Checked in this order, each refusal an OpenAI error object:

1. Host must name this computer (``localhost``, a loopback address, the address the server listens on, or a name
   the user allowed). A web page that points its own domain name at 127.0.0.1 (DNS rebinding) sends its own name
   as Host and is refused with 400.
2. Origin, which browsers add to cross-site requests, must be one the user listed (CORS is off by default, and then
   every Origin is refused with 403), so a web page cannot even start an answer.
3. A Content-Length over the limit is refused with 413 before the body is read (a body without one is counted as it
   is read, see ``app.read_body``).
4. ``Authorization: Bearer <key>``, compared in constant time; else 401.

The access log gets one line per request: method, path, status, time and token counts, never a body.
"""

from __future__ import annotations

import collections
import hmac
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hearth.server.config import LOOPBACK_NAMES, ServerConfig
from hearth.server.errors import ApiError

access_log = logging.getLogger("hearth.server.access")
RECENT = 50


@dataclass(frozen=True)
class RequestRecord:
    """One request as counted (no text): when, what, how it went, how many tokens."""

    at: float
    method: str
    path: str
    status: int
    milliseconds: float
    prompt_tokens: int = 0
    completion_tokens: int = 0


class RequestStats:
    """Counts of recent requests for the window's panel; ``listener`` hears each new record (on the server thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.recent: collections.deque[RequestRecord] = collections.deque(maxlen=RECENT)
        self.total = 0
        self.answered = 0
        self.refused = 0
        self.failed = 0
        self.busy = 0
        self.completion_tokens = 0
        self.listener: Callable[[RequestRecord], None] | None = None

    def record(self, item: RequestRecord) -> None:
        with self._lock:
            self.recent.append(item)
            self.total += 1
            if 200 <= item.status < 300:
                self.answered += 1
            elif item.status == 429:
                self.busy += 1
            elif item.status >= 500:
                self.failed += 1
            else:
                self.refused += 1
            self.completion_tokens += item.completion_tokens
        listener = self.listener
        if listener is not None:
            try:
                listener(item)
            except Exception:
                access_log.exception("request listener failed")

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"total": self.total, "answered": self.answered, "refused": self.refused, "busy": self.busy,
                    "failed": self.failed, "completion_tokens": self.completion_tokens}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _host_name(host: str) -> str:
    """The name in a Host header, without the port ("[::1]:8080" -> "::1")."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        return host.rsplit(":", 1)[0]
    return host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


class Guard:
    """ASGI middleware that checks every request before ``app`` sees it (see the module's description)."""

    def __init__(self, app: ASGIApp, config: ServerConfig, stats: RequestStats) -> None:
        self.app = app
        self.config = config
        self.stats = stats
        names = {*LOOPBACK_NAMES, config.host.lower(), *(h.lower() for h in config.allowed_hosts)}
        self._all_interfaces = config.host in ("0.0.0.0", "::", "")
        if self._all_interfaces:
            names.update({socket.gethostname().lower(), socket.getfqdn().lower()})
        self._hosts = frozenset(names)
        self._origins = frozenset(o.rstrip("/").lower() for o in config.cors_origins)
        self._key = config.api_key.encode() if config.require_key else b""

    def host_allowed(self, host: str | None) -> bool:
        if not host:
            return False
        name = _host_name(host)
        return name in self._hosts or (self._all_interfaces and _is_ip(name))

    def _refusal(self, scope: Scope) -> ApiError | None:
        if not self.host_allowed(_header(scope, b"host")):
            return ApiError(400, "This server answers only requests addressed to this computer (Host header).",
                            code="invalid_host")
        origin = _header(scope, b"origin")
        if origin is not None and origin.rstrip("/").lower() not in self._origins:
            return ApiError(403, f"Requests from web pages at {origin} are not allowed. The user can allow an "
                                 "origin in Hearth's settings.", code="origin_not_allowed")
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.isdigit():
                return ApiError(400, "Content-Length is not a number.", code="invalid_length")
            if int(length) > self.config.max_body_bytes:
                return body_too_large(self.config.max_body_bytes)
        if scope["method"] == "OPTIONS" and origin is not None:
            return None  # a CORS preflight carries no key; the CORS layer answers it
        if self._key:
            auth = _header(scope, b"authorization") or ""
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self._key):
                return ApiError(401, "Incorrect or missing API key. Send it as 'Authorization: Bearer <key>'; "
                                     "Hearth shows it under Settings → Local API server.",
                                type="authentication_error", code="invalid_api_key")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websockets here
            await send({"type": "websocket.close", "code": 1008})
            return
        started = time.perf_counter()
        status = [0]
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal is not None:
                await refusal.response()(scope, receive, send_and_note)
            else:
                await self.app(scope, receive, send_and_note)
        finally:
            self._log(scope, status[0] or 499, started, state)

    def _log(self, scope: Scope, status: int, started: float, state: dict[str, Any]) -> None:
        ms = (time.perf_counter() - started) * 1000
        prompt, completion = state.get("usage") or (0, 0)
        finish = state.get("finish", "")
        access_log.info("%s %s %s %.0f ms%s%s", scope.get("method"), scope.get("path"), status, ms,
                        f" tokens {prompt}+{completion}" if prompt or completion else "",
                        f" finish {finish}" if finish else "")
        self.stats.record(RequestRecord(time.time(), str(scope.get("method")), str(scope.get("path")), status, ms,
                                        int(prompt), int(completion)))


def body_too_large(limit: int) -> ApiError:
    return ApiError(413, f"The request body is larger than {limit // (1024 * 1024)} MB.", code="body_too_large")
