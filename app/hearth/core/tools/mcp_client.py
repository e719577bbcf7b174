"""Talking to MCP servers with the official ``mcp`` SDK, on one asyncio thread of its own.

``McpManager`` starts a server the first time one of its tools is listed or called, each server in its own process
(stdio servers) or connection (streamable-HTTP servers), and keeps it until Hearth quits (``close``), its settings
change, or it fails. Callers on any thread get plain blocking calls with time limits:

- a server that cannot start, crashes, or answers with something that is not a tool result raises ``ToolError``
  naming it, with the last lines it wrote to its error output;
- a server that does not answer within the call's limit raises ``ToolTimeoutError``, and is stopped (a hung server
  may never recover); it starts again when next needed;
- a server that died between calls is started again before the next call;
- an error the tool itself reports (MCP ``isError``, unknown arguments) is a ``ToolOutput`` with ``ok`` False: the
  model reads it and the chat goes on.

The SDK is imported on this thread when the first server starts, so Hearth's start does not pay for it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, TextIO, TypeVar
from urllib.parse import urlsplit

from hearth.core.errors import HearthError, OfflineError, ToolError, ToolTimeoutError
from hearth.core.tools.catalog import ToolEntry, object_schema
from hearth.core.tools.config import ServerConfig, ServerKind, clean_name
from hearth.core.tools.results import MAX_RESULT_CHARS, ToolOutput, mcp_output, untrusted

log = logging.getLogger(__name__)

_T = TypeVar("_T")
START_TIMEOUT_S = 30.0
LIST_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 8.0  # the SDK closes stdin, waits 2 s, sends SIGTERM, waits 2 s, kills
_LOG_TAIL_LINES = 6
_CANCEL_POLL_S = 0.1


class ServerState(Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    FAILED = "failed"


@dataclass(frozen=True)
class ServerStatus:
    """What is known of one server: its state, and why it failed."""

    state: ServerState = ServerState.STOPPED
    error: str = ""


def _launch(config: ServerConfig) -> tuple[str, ...]:
    """What decides the running process: a change restarts the server; switching tools on and off does not."""
    return (config.command, *config.args, repr(sorted(config.env.items())), config.cwd, config.url,
            repr(sorted(config.headers.items())))


@dataclass
class _Connection:
    config: ServerConfig
    log_path: Path | None
    ready: asyncio.Future[Any]
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    client: Any = None
    read_stream: Any = None
    tools: list[Any] | None = None
    failed: str = ""

    @property
    def alive(self) -> bool:
        """Started, not stopped, and its process still talks (its output stream is open)."""
        if self.client is None or self.stop.is_set() or self.task is None or self.task.done():
            return False
        stream = self.read_stream
        if stream is None:
            return True
        try:
            return bool(stream.statistics().open_send_streams > 0)
        except Exception:
            return True


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside exception groups (anyio's task groups wrap what failed)."""
    inner = getattr(exc, "exceptions", None)
    while isinstance(inner, tuple) and inner and isinstance(inner[0], BaseException):
        exc = inner[0]
        inner = getattr(exc, "exceptions", None)
    return exc


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


class McpManager:
    """MCP servers, started when first needed and stopped by ``close``.

    Args:
        log_dir: where each server's error output goes (``mcp-NAME.log``, rewritten at each start); None: discarded.
        offline: says whether Hearth is in offline mode (HTTP servers on other computers are then refused).
        start_timeout_s: how long a server may take to start and shake hands.
    """

    def __init__(self, log_dir: Path | None = None, *, offline: Callable[[], bool] = lambda: False,
                 start_timeout_s: float = START_TIMEOUT_S) -> None:
        self._log_dir = log_dir
        self._offline = offline
        self._start_timeout_s = start_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connections: dict[str, _Connection] = {}
        self._status: dict[str, ServerStatus] = {}
        self._closed = False

    # --- the thread -------------------------------------------------------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise ToolError("Hearth is closing; tools can no longer be used.")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=self._run_loop, args=(loop,), name="mcp", daemon=True)
                self._loop, self._thread = loop, thread
                thread.start()
            return self._loop

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()
        loop.close()

    def _submit(self, coroutine: Coroutine[Any, Any, _T], cancel: threading.Event | None = None,
                wait_s: float | None = None) -> _T:
        """Run ``coroutine`` on the manager's thread and wait for it; ``cancel`` set stops it."""
        try:
            loop = self._ensure_loop()
        except ToolError:
            coroutine.close()
            raise
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        while True:
            try:
                return future.result(timeout=_CANCEL_POLL_S if cancel is not None else wait_s)
            except concurrent.futures.TimeoutError:
                if cancel is not None and cancel.is_set():
                    future.cancel()
                    raise ToolError("The tool call was stopped.") from None
                if cancel is None:
                    future.cancel()
                    raise ToolTimeoutError("A tool server did not answer in time.") from None
            except concurrent.futures.CancelledError:
                raise ToolError("The tool call was stopped.") from None

    # --- public, blocking ----------------------------------------------------------------------------------------

    def status(self, name: str) -> ServerStatus:
        return self._status.get(name, ServerStatus())

    def list_tools(self, server: ServerConfig, *, refresh: bool = False) -> list[ToolEntry]:
        """The server's tools (it starts if it is not running), all of them, whether switched on or not.

        Raises:
            ToolError: it could not start, or did not list its tools (``ToolTimeoutError``: not in time).
        """
        return self._submit(self._list_tools(server, refresh), wait_s=self._start_timeout_s + LIST_TIMEOUT_S + 5)

    def call(self, server: ServerConfig, tool: str, arguments: Mapping[str, Any], *,
             cancel: threading.Event | None = None, limit: int = MAX_RESULT_CHARS) -> ToolOutput:
        """Call one tool and wait for its result (at most ``server.timeout_s``, plus its start if it must start).

        Raises:
            ToolError: the server could not start, crashed, or answered with something that is not a tool result;
                or ``cancel`` was set.
            ToolTimeoutError: no answer in time (the server is stopped).
        """
        return self._submit(self._call(server, tool, dict(arguments), limit), cancel=cancel,
                            wait_s=self._start_timeout_s + server.timeout_s + 5)

    def stop_server(self, name: str) -> None:
        """Stop one server (it starts again when next needed). Waits a few seconds at most."""
        if self._loop is None or self._closed:
            return
        with contextlib.suppress(HearthError):
            self._submit(self._stop(name), wait_s=_STOP_TIMEOUT_S + 2)

    def close(self) -> None:
        """Stop every server and the manager's thread (Hearth is quitting). Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._stop_all(), loop)
        with contextlib.suppress(Exception):
            future.result(timeout=_STOP_TIMEOUT_S + 2)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)

    # --- on the manager's thread ---------------------------------------------------------------------------------

    def _set_status(self, name: str, state: ServerState, error: str = "") -> None:
        self._status[name] = ServerStatus(state, error)

    async def _connection(self, config: ServerConfig) -> _Connection:
        """A running connection to ``config``'s server, started (or restarted) if need be."""
        conn = self._connections.get(config.name)
        if conn is not None and (_launch(conn.config) != _launch(config)
                                 or (conn.ready.done() and not conn.alive)):
            await self._stop(config.name)
            conn = None
        if conn is None:
            if config.kind is ServerKind.HTTP and self._offline() and not is_loopback(config.url):
                raise OfflineError(f"The tool server '{config.name}' is on another computer ({config.url}), and "
                                   "Hearth is in offline mode.", hint="Turn off offline mode in Settings to use it.")
            loop = asyncio.get_running_loop()
            conn = _Connection(config, self._log_path(config), loop.create_future())
            self._connections[config.name] = conn
            self._set_status(config.name, ServerState.STARTING)
            conn.task = loop.create_task(self._hold(conn), name=f"mcp {config.name}")
        conn.config = config
        try:
            await asyncio.wait_for(asyncio.shield(conn.ready), self._start_timeout_s)
        except asyncio.TimeoutError:
            await self._stop(config.name)
            error = ToolTimeoutError(
                f"The tool server '{config.name}' did not start within {self._start_timeout_s:.0f} seconds.",
                hint="Check its command in Settings → Tools; its log may say more." + self._tail_hint(conn),
                server=config.name)
            self._set_status(config.name, ServerState.FAILED, str(error))
            raise error from None
        return conn

    def _log_path(self, config: ServerConfig) -> Path | None:
        if self._log_dir is None:
            return None
        return self._log_dir / f"mcp-{clean_name(config.name).replace(' ', '_')}.log"

    @contextlib.asynccontextmanager
    async def _transport(self, config: ServerConfig, errlog: TextIO) -> AsyncIterator[Any]:
        if config.kind is ServerKind.HTTP:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            timeout = httpx2.Timeout(30.0, read=max(300.0, config.timeout_s))
            async with httpx2.AsyncClient(headers=dict(config.headers), timeout=timeout) as http, \
                    streamable_http_client(config.url, http_client=http) as streams:
                yield streams
        else:
            from mcp.client.stdio import StdioServerParameters, stdio_client

            params = StdioServerParameters(command=config.command, args=list(config.args), env=dict(config.env),
                                           cwd=config.cwd or None, encoding_error_handler="replace")
            async with stdio_client(params, errlog=errlog) as streams:
                yield streams

    async def _hold(self, conn: _Connection) -> None:
        """Open the connection, hand it over, and keep it open until told to stop (one task, as anyio needs)."""
        name = conn.config.name
        with self._errlog(conn) as errlog:
            try:
                from mcp import Client
                from mcp.types import Implementation

                async with self._transport(conn.config, errlog) as streams:
                    conn.read_stream = streams[0]
                    client = Client(streams_transport(streams), client_info=Implementation(name="Hearth",
                                                                                         version="1"))
                    async with client:
                        conn.client = client
                        self._set_status(name, ServerState.RUNNING)
                        if not conn.ready.done():
                            conn.ready.set_result(client)
                        await conn.stop.wait()
            except asyncio.CancelledError:
                if not conn.ready.done():
                    conn.ready.cancel()
                raise
            except BaseException as exc:
                error = self._start_error(conn, _leaf(exc))
                conn.failed = str(error)
                self._set_status(name, ServerState.FAILED, str(error))
                log.info("tool server %s ended: %s", name, type(_leaf(exc)).__name__)
                log.debug("tool server %s ended", name, exc_info=exc)
                if not conn.ready.done():
                    conn.ready.set_exception(error)
            finally:
                conn.client = None
                if self._status.get(name, ServerStatus()).state is ServerState.RUNNING:
                    self._set_status(name, ServerState.STOPPED)

    @contextlib.contextmanager
    def _errlog(self, conn: _Connection) -> Any:
        path = conn.log_path
        handle: TextIO
        if path is None:
            handle = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "w", encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
        try:
            yield handle
        finally:
            handle.close()

    def _tail(self, conn: _Connection) -> list[str]:
        if conn.log_path is None:
            return []
        try:
            lines = conn.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return []
        return [line for line in lines if line.strip()][-_LOG_TAIL_LINES:]

    def _tail_hint(self, conn: _Connection) -> str:
        tail = self._tail(conn)
        if not tail:
            return ""
        return " It last wrote: " + untrusted(" / ".join(tail), 600)

    def _start_error(self, conn: _Connection, exc: BaseException) -> ToolError:
        config = conn.config
        if isinstance(exc, ToolError):
            return exc
        if isinstance(exc, FileNotFoundError) or (isinstance(exc, OSError) and config.kind is ServerKind.STDIO
                                                  and not conn.ready.done()):
            return ToolError(f"Hearth could not start the tool server '{config.name}': {exc.strerror or exc}"
                             f" ({config.command}).",
                             hint="Check that the program is installed and its name is right in Settings → Tools.",
                             details=f"{type(exc).__name__}: {exc}", server=config.name)
        if config.kind is ServerKind.HTTP:
            reached = self._http_error(config, exc)
            if reached is not None:
                return reached
        what = "stopped while starting" if not conn.ready.done() else "stopped"
        return ToolError(f"The tool server '{config.name}' {what}.",
                         hint=("Check its settings in Settings → Tools." + self._tail_hint(conn)).strip(),
                         details=f"{type(exc).__name__}: {exc}", server=config.name)

    @staticmethod
    def _http_error(config: ServerConfig, exc: BaseException) -> ToolError | None:
        """Words for a server at a URL that could not be reached or refused the request (None: another failure)."""
        import httpx2

        if isinstance(exc, httpx2.HTTPStatusError):
            status = exc.response.status_code
            hint = ("It wants credentials: add its Authorization header in Settings → Tools."
                    if status in (401, 403) else "Check its address in Settings → Tools.")
            return ToolError(f"The tool server '{config.name}' at {config.url} refused the request "
                             f"(HTTP {status}).", hint=hint, details=f"{type(exc).__name__}: {exc}",
                             server=config.name)
        if isinstance(exc, httpx2.TransportError):
            return ToolError(f"Hearth could not reach the tool server '{config.name}' at {config.url}.",
                             hint="Check that the server is running and its address in Settings → Tools.",
                             details=f"{type(exc).__name__}: {exc}", server=config.name)
        return None

    async def _stop(self, name: str) -> None:
        conn = self._connections.pop(name, None)
        if conn is None:
            return
        conn.stop.set()
        if conn.task is not None and not conn.task.done():
            try:
                await asyncio.wait_for(asyncio.shield(conn.task), _STOP_TIMEOUT_S)
            except (asyncio.TimeoutError, Exception):
                conn.task.cancel()
        if self._status.get(name, ServerStatus()).state is not ServerState.FAILED:
            self._set_status(name, ServerState.STOPPED)

    async def _stop_all(self) -> None:
        await asyncio.gather(*(self._stop(name) for name in list(self._connections)), return_exceptions=True)

    async def _list_tools(self, config: ServerConfig, refresh: bool) -> list[ToolEntry]:
        conn = await self._connection(config)
        if conn.tools is None or refresh:
            try:
                tools: list[Any] = []
                cursor = None
                for _page in range(50):
                    page = await asyncio.wait_for(conn.client.list_tools(cursor=cursor), LIST_TIMEOUT_S)
                    tools.extend(page.tools)
                    cursor = page.next_cursor
                    if not cursor:
                        break
            except asyncio.TimeoutError:
                await self._stop(config.name)
                raise ToolTimeoutError(f"The tool server '{config.name}' did not list its tools within "
                                       f"{LIST_TIMEOUT_S:.0f} seconds.", server=config.name) from None
            except Exception as exc:
                raise self._call_error(conn, _leaf(exc), "listing its tools") from exc
            conn.tools = tools
        return [self._entry(config, tool) for tool in conn.tools]

    @staticmethod
    def _entry(config: ServerConfig, tool: Any) -> ToolEntry:
        annotations = getattr(tool, "annotations", None)
        return ToolEntry(
            name=str(tool.name), server=config.name, tool=str(tool.name),
            description=str(getattr(tool, "description", "") or ""),
            parameters=object_schema(getattr(tool, "input_schema", None)),
            read_only=bool(annotations is not None and annotations.read_only_hint is True),
            title=str(getattr(tool, "title", None) or getattr(annotations, "title", None) or ""),
        )

    def _call_error(self, conn: _Connection, exc: BaseException, doing: str) -> ToolError:
        name = conn.config.name
        if not conn.alive or conn.failed:
            return ToolError(f"The tool server '{name}' stopped while {doing}.",
                             hint=("It starts again when a tool of it is next used." + self._tail_hint(conn)).strip(),
                             details=f"{type(exc).__name__}: {exc}", server=name)
        reached = self._http_error(conn.config, exc) if conn.config.kind is ServerKind.HTTP else None
        if reached is not None:
            return reached
        return ToolError(f"The tool server '{name}' answered with something that is not a valid reply while "
                         f"{doing}.", hint="The server may be for another version of MCP; its log may say more.",
                         details=f"{type(exc).__name__}: {str(exc)[:2000]}", server=name)

    async def _call(self, config: ServerConfig, tool: str, arguments: dict[str, Any], limit: int) -> ToolOutput:
        from mcp import MCPError
        from mcp.types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        conn = await self._connection(config)
        doing = f"running '{tool}'"
        try:
            result = await asyncio.wait_for(conn.client.call_tool(tool, arguments), config.timeout_s)
        except asyncio.TimeoutError:
            await self._stop(config.name)
            raise ToolTimeoutError(
                f"The tool server '{config.name}' did not answer within {config.timeout_s:.0f} seconds while "
                f"{doing}, so Hearth stopped it.",
                hint="It starts again when a tool of it is next used. A longer time limit can be set in "
                     "Settings → Tools.", server=config.name) from None
        except asyncio.CancelledError:
            raise
        except MCPError as exc:
            if exc.code in (CONNECTION_CLOSED, REQUEST_TIMEOUT) or not conn.alive:
                error = self._call_error(conn, exc, doing)
                if config.kind is ServerKind.HTTP and exc.code == CONNECTION_CLOSED:
                    error = ToolError(
                        f"Hearth lost the connection to the tool server '{config.name}' at {config.url} while "
                        f"{doing}.", hint="Check that the server is still running; Hearth connects again when a "
                                          "tool of it is next used.",
                        details=f"{type(exc).__name__}: {exc}", server=config.name)
                await self._stop(config.name)
                raise error from exc
            # The server refused the call (unknown tool, bad arguments): the model reads why.
            return ToolOutput(untrusted(f"Error: {exc}", limit), ok=False)
        except Exception as exc:
            error = self._call_error(conn, _leaf(exc), doing)
            if not conn.alive:
                await self._stop(config.name)
            raise error from exc
        try:
            return mcp_output(result, limit)
        except ValueError as exc:
            raise self._call_error(conn, exc, doing) from exc


def streams_transport(streams: Any) -> Any:
    """A transport (an async context manager) that hands over streams already open."""

    @contextlib.asynccontextmanager
    async def opened() -> AsyncIterator[Any]:
        yield streams

    return opened()

