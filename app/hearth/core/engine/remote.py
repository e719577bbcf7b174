"""A remote engine: an OpenAI-compatible server (``hearth serve``, llama-server, vLLM, Ollama, LM Studio...) that the
app chats with like a local model.

``RemoteEngineClient`` offers what ``EngineClient`` offers (``load``, ``chat`` streaming ``TokenDelta`` and
``Finished``, ``cancel`` from any thread, ``unload``, ``close``), over ``POST {base}/chat/completions`` with
``stream: true``; its token counts and context use come from the server's ``usage``. The HTTP is the standard
library's: TLS is verified with the system's certificates, every wait has a timeout, and Stop closes the connection at
once (the server stops generating when its client goes away).

Whenever the server is not on this computer, messages leave it: ``privacy_words`` says so for the window's badge and
the terminal. Offline mode turns remote engines off (``RemoteEngineError``).
"""

from __future__ import annotations

import http.client
import itertools
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hearth.core.engine.events import AnswerStats, EngineEvent, Finished, ModelInfo, StopReason, TokenDelta
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.tools import ToolChoice, ToolSpec
from hearth.core.engine.workers import is_loopback_host
from hearth.core.errors import EngineNotReadyError, InvalidRequestError, NoVisionError, RemoteEngineError

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 120.0  # no byte from the server for this long mid-answer: it is taken to hang

log = logging.getLogger(__name__)

# OpenAI's finish reasons in Hearth's words.
_STOP_REASONS = {"stop": StopReason.EOS, "length": StopReason.LENGTH, "content_filter": StopReason.STOP,
                 "tool_calls": StopReason.STOP}


@dataclass(frozen=True)
class RemoteServer:
    """An OpenAI-compatible server: its base URL (ending in ``/v1``, added when missing) and optional key."""

    base_url: str
    api_key: str = ""

    @classmethod
    def parse(cls, url: str, api_key: str = "") -> RemoteServer:
        """Check and normalise a base URL.

        Raises:
            RemoteEngineError: not an http(s) URL with a host.
        """
        text = url.strip().rstrip("/")
        parts = urlsplit(text if "://" in text else f"http://{text}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RemoteEngineError(f"“{url}” is not a server address.",
                                    hint="Write it like http://192.168.1.20:8080/v1 or https://host/v1.")
        path = parts.path.rstrip("/")
        if not path.endswith("/v1"):
            path += "/v1"
        netloc = parts.netloc
        return cls(f"{parts.scheme}://{netloc}{path}", api_key.strip())

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def label(self) -> str:
        """The host (and port) as the model picker shows it."""
        return urlsplit(self.base_url).netloc

    @property
    def is_local(self) -> bool:
        return is_loopback_host(self.host)

    @property
    def encrypted(self) -> bool:
        return self.base_url.startswith("https://")


def privacy_words(server: RemoteServer) -> str:
    """What the user must know before a message goes to ``server`` ("" for a server on this computer)."""
    if server.is_local:
        return ""
    words = f"Runs on {server.label}: your messages leave this computer."
    if not server.encrypted:
        words += " The connection is not encrypted (plain http): anyone on the network can read them."
    return words


def remote_plan(server: RemoteServer, model: str) -> LoadPlan:
    """The plan that selects a server's model (the key is not in it: plans are logged)."""
    return LoadPlan(model_path=f"{server.base_url}#{model}", summary=f"runs on {server.label}",
                    extra={"remote": {"base_url": server.base_url, "model": model}})


def remote_of(plan: LoadPlan) -> tuple[str, str] | None:
    """``(base_url, model)`` when ``plan`` selects a remote model."""
    remote = plan.extra.get("remote") if plan.extra else None
    if isinstance(remote, dict) and remote.get("base_url") and remote.get("model"):
        return str(remote["base_url"]), str(remote["model"])
    return None


class _Http:
    """One request to the server, closable from another thread."""

    def __init__(self, server: RemoteServer, read_timeout: float) -> None:
        parts = urlsplit(server.base_url)
        self.server = server
        self.path = parts.path
        host = parts.hostname or ""
        if parts.scheme == "https":
            self.conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, parts.port, timeout=CONNECT_TIMEOUT_S, context=ssl.create_default_context())
        else:
            self.conn = http.client.HTTPConnection(host, parts.port, timeout=CONNECT_TIMEOUT_S)
        self.read_timeout = read_timeout
        self.closed = threading.Event()

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> http.client.HTTPResponse:
        headers = {"Accept": "application/json, text/event-stream", "User-Agent": "Hearth"}
        if self.server.api_key:
            headers["Authorization"] = f"Bearer {self.server.api_key}"
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, self.path + path, body=data, headers=headers)
            if self.conn.sock is not None:
                self.conn.sock.settimeout(self.read_timeout)
            response = self.conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            raise _unreachable(self.server, exc) from exc
        if response.status >= 400:
            raise _refusal(self.server, response)
        return response

    def close(self) -> None:
        """Stop the request now (from any thread): the reader sees the connection end."""
        self.closed.set()
        sock = self.conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def dispose(self) -> None:
        """Free the connection (on the thread that used it, when done)."""
        self.closed.set()
        self.conn.close()


def _unreachable(server: RemoteServer, exc: BaseException) -> RemoteEngineError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return RemoteEngineError(
            f"The server {server.label} did not prove who it is (its TLS certificate could not be verified: "
            f"{exc.verify_message}).", hint="Check the address; a self-signed certificate must be trusted by this "
                                            "computer first.")
    if isinstance(exc, TimeoutError):
        return RemoteEngineError(f"The server {server.label} did not answer in time.",
                                 hint="Check that it is running and reachable from this computer.")
    if isinstance(exc, ConnectionRefusedError):
        return RemoteEngineError(f"Nothing answers at {server.label} (connection refused).",
                                 hint="Check that the server is running and its port is right.")
    if isinstance(exc, socket.gaierror):
        return RemoteEngineError(f"The host {server.host} was not found.", hint="Check the server's address.")
    return RemoteEngineError(f"The server {server.label} could not be reached ({exc}).",
                             hint="Check the address and the network.")


def _refusal(server: RemoteServer, response: http.client.HTTPResponse) -> RemoteEngineError:
    status = response.status
    try:
        raw = response.read(65536).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        raw = ""
    said = raw
    try:
        body = json.loads(raw)
        error = body.get("error") if isinstance(body, dict) else None
        said = str(error.get("message") if isinstance(error, dict) else error or body.get("detail") or raw)
    except (ValueError, AttributeError):
        pass
    said = " ".join(said.split())[:300]
    words = {
        401: ("The server refused the key.", "Check the key for this server (Models → Servers)."),
        403: ("The server refused the request (forbidden).", "Check the key and the server's settings."),
        404: ("The server does not know this model or address.", "Choose one of its models again, or check the "
                                                                 "address (it usually ends in /v1)."),
        413: ("The message is too large for the server.", "Send less text or fewer documents."),
        429: ("The server is busy.", "Wait a moment and send the message again."),
        503: ("The server is not ready (no model loaded, or busy).", "Wait a moment and send the message again."),
    }
    message, hint = words.get(status, (f"The server {server.label} failed (HTTP {status}).",
                                       "Try again; if it keeps failing, check the server's log."))
    return RemoteEngineError(f"{message} {server.label} said: {said}" if said else message, hint=hint,
                             details=f"HTTP {status} {response.reason}: {raw[:2000]}", status=status)


def list_models(server: RemoteServer, *, timeout: float = CONNECT_TIMEOUT_S) -> list[str]:
    """The model ids ``GET {base}/models`` lists.

    Raises:
        RemoteEngineError: unreachable, refused, or not an OpenAI-compatible answer.
    """
    http_ = _Http(server, timeout)
    try:
        response = http_.request("GET", "/models")
        try:
            body = json.loads(response.read(8 << 20))
        except (ValueError, OSError, http.client.HTTPException) as exc:
            raise RemoteEngineError(f"{server.label} did not answer like an OpenAI-compatible server.",
                                    hint="Check the address (it usually ends in /v1).") from exc
    finally:
        http_.dispose()
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise RemoteEngineError(f"{server.label} did not list its models like an OpenAI-compatible server.",
                                hint="Check the address (it usually ends in /v1).")
    return [str(m["id"]) for m in data if isinstance(m, dict) and m.get("id")]


def _wire_messages(messages: Sequence[dict[str, Any]], continue_last: bool) -> list[dict[str, Any]]:
    wire = []
    for m in messages:
        if m.get("images"):
            raise NoVisionError("Pictures are not sent to remote servers.",
                                hint="Use a model on this computer for pictures, or send the text alone.")
        content = m.get("content")
        wire.append({"role": str(m.get("role", "user")), "content": content if isinstance(content, str) else
                     json.dumps(content)})
    if continue_last and wire and wire[-1]["role"] == "assistant":
        # OpenAI's API has no "continue": ask for the rest after the partial answer.
        wire.append({"role": "user", "content": "Continue exactly where your last answer stopped."})
    return wire


class RemoteEngineClient:
    """Chat with one model of an OpenAI-compatible server, as if it were the local engine.

    Args:
        server: the server (with its key, if any).
        model: the server's model id (None: the first one it lists).
        offline: the app's offline mode, asked before every connection; when True nothing is sent.
        read_timeout: seconds without a byte from the server after which an answer fails.
    """

    def __init__(self, server: RemoteServer, model: str | None = None, *,
                 offline: Callable[[], bool] = lambda: False, read_timeout: float = READ_TIMEOUT_S) -> None:
        self.server = server
        self.model = model
        self._offline = offline
        self.read_timeout = read_timeout
        self.plan: LoadPlan | None = None
        self.info: ModelInfo | None = None
        self._current: _Http | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.debug = False  # the user's debug logging (EngineApi): each request's messages go to the log

    # --- the engine's interface ----------------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self.info is not None

    @property
    def pid(self) -> int | None:
        return None

    def log_tail(self, lines: int = 40) -> list[str]:
        return []

    def _allowed(self) -> None:
        if self._offline():
            raise RemoteEngineError("Hearth is offline: remote servers are turned off.",
                                    hint="Turn offline mode off in Settings to use a server, or choose a model on "
                                         "this computer.")

    def load(self, plan: LoadPlan | None = None, on_progress: Callable[[float], None] | None = None) -> ModelInfo:
        """Check that the server answers and has the model; no weights move.

        Raises:
            RemoteEngineError: offline, unreachable, refused, or the model is not on the server.
        """
        self._allowed()
        if plan is not None and (remote := remote_of(plan)) is not None:
            self.model = remote[1]
        models = list_models(self.server)
        if self.model is None:
            if not models:
                raise RemoteEngineError(f"{self.server.label} has no models.")
            self.model = models[0]
        elif models and self.model not in models:
            raise RemoteEngineError(f"{self.server.label} has no model “{self.model}”.",
                                    hint="Its models: " + ", ".join(models[:10]))
        if on_progress is not None:
            on_progress(1.0)
        self.plan = plan if plan is not None and remote_of(plan) else remote_plan(self.server, self.model)
        self.info = ModelInfo.from_wire({
            "path": f"{self.server.base_url}#{self.model}", "architecture": "remote", "name": self.model,
            "plan_summary": f"runs on {self.server.label}", "template_origin": "server",
        })
        log.info("using %s on %s", self.model, self.server.label)
        return self.info

    def cancel(self) -> bool:
        with self._lock:
            current = self._current
        if current is not None:
            current.close()
        return current is not None

    def cancel_load(self) -> None:
        """Nothing to cancel: selecting a remote model sends no weights."""

    def unload(self) -> None:
        self.cancel()
        self.plan = None
        self.info = None

    def close(self) -> None:
        self.unload()

    def chat(self, messages: Sequence[dict[str, Any]], params: SamplingParams | None = None, *,
             continue_last: bool = False, tools: Sequence[ToolSpec] = (), tool_choice: ToolChoice | None = None,
             raw: bool = False) -> Iterator[EngineEvent]:
        """Stream an answer from the server; ends with ``Finished`` (stop reason "cancelled" after ``cancel``).

        Tools, JSON formats, grammars and plain completions are refused: they need a model on this computer.

        Raises:
            EngineNotReadyError: no model was selected.
            InvalidRequestError: tools, a JSON format, a grammar or a plain completion was asked for.
            RemoteEngineError: offline, unreachable, refused, or the connection dropped (the tokens already yielded
                are the answer so far).
        """
        if self.info is None or self.model is None:
            raise EngineNotReadyError("No model is selected.", hint="Choose a model on the Models page.")
        if tools or raw or (params is not None and (params.json_schema or params.grammar)):
            raise InvalidRequestError("Tools, JSON formats, grammars and plain completions need a model on this "
                                      "computer; the chosen model is on a remote server.")
        self._allowed()
        params = params or SamplingParams()
        body: dict[str, Any] = {
            "model": self.model, "messages": _wire_messages(messages, continue_last), "stream": True,
            "stream_options": {"include_usage": True}, "temperature": params.temperature, "top_p": params.top_p,
        }
        if params.max_tokens is not None:
            body["max_tokens"] = params.max_tokens
        if params.seed is not None:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = list(params.stop)[:4]
        rid = next(self._ids)
        if self.debug:
            log.debug("request %s to %s: %s", rid, self.server.label,
                      json.dumps(messages, ensure_ascii=False, default=str))
        http_ = _Http(self.server, self.read_timeout)
        with self._lock:
            self._current = http_
        sent = time.perf_counter()
        first: float | None = None
        last: float | None = None
        pieces = 0
        usage: dict[str, Any] = {}
        finish = ""
        try:
            try:
                response = http_.request("POST", "/chat/completions", body)
            except RemoteEngineError:
                if http_.closed.is_set():
                    yield Finished(rid, AnswerStats(0, None, None, 0, StopReason.CANCELLED))
                    return
                raise
            for data in _events(response, http_, self.server):
                if data.get("usage"):
                    usage = data["usage"]
                for choice in data.get("choices") or ():
                    delta = choice.get("delta") or {}
                    text = delta.get("content")
                    if text:
                        last = time.perf_counter()
                        first = first or last
                        pieces += 1
                        yield TokenDelta(rid, text)
                    finish = choice.get("finish_reason") or finish
            if http_.closed.is_set():
                stop = StopReason.CANCELLED
            else:
                stop = _STOP_REASONS.get(finish) or (StopReason.parse(finish) if finish else StopReason.STOP)
        finally:
            with self._lock:
                self._current = None
            http_.dispose()
        tokens = int(usage.get("completion_tokens") or pieces)
        prompt = int(usage.get("prompt_tokens") or 0)
        rate = (tokens - 1) / (last - first) if first and last and last > first and tokens > 1 else None
        yield Finished(rid, AnswerStats(tokens=tokens, ttft_s=(first - sent) if first else None, tokens_per_s=rate,
                                        prompt_tokens=prompt, stop_reason=stop, context_used=prompt + tokens,
                                        template="server"))


def _events(response: http.client.HTTPResponse, http_: _Http, server: RemoteServer) -> Iterator[dict[str, Any]]:
    """The server-sent events' JSON payloads until ``[DONE]``; a dropped connection or a silence past the timeout
    raises, unless the user stopped the answer (then the events just end)."""
    while True:
        try:
            line = response.readline(1 << 20)
        except Exception as exc:  # after Stop, whatever the closed connection raises just ends the answer
            if http_.closed.is_set():
                return
            if not isinstance(exc, (OSError, http.client.HTTPException, ValueError)):
                raise
            if isinstance(exc, TimeoutError):
                raise RemoteEngineError(
                    f"The server {server.label} sent nothing for {http_.read_timeout:.0f} seconds; the answer so far "
                    f"is kept.", hint="Send the message again; check the server if it keeps happening.") from exc
            raise _dropped(server, exc) from exc
        if not line:
            if http_.closed.is_set():
                return
            raise _dropped(server, None)
        text = line.decode("utf-8", "replace").strip()
        if not text.startswith("data:"):
            continue
        payload = text[5:].strip()
        if payload == "[DONE]":
            return
        try:
            data = json.loads(payload)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("error"):
            error = data["error"]
            said = error.get("message") if isinstance(error, dict) else str(error)
            raise RemoteEngineError(f"The server {server.label} stopped the answer: {said}",
                                    hint="The answer so far is kept. Try again.")
        if isinstance(data, dict):
            yield data


def _dropped(server: RemoteServer, exc: BaseException | None) -> RemoteEngineError:
    why = f" ({exc})" if exc else ""
    return RemoteEngineError(
        f"The server {server.label} closed the connection in the middle of the answer{why}. The answer so far is "
        f"kept.", hint="The server may have stopped or restarted; send the message again when it is back.")

