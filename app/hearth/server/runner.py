"""Running the local API with uvicorn: in the foreground (``hearth serve``) or on a thread of its own (the window).

The listening socket is bound here, before uvicorn starts, so that a port in use is a clear ``ServerConfigError``
rather than uvicorn's exit, and so that port 0 (tests) tells the port it got.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import uvicorn

from hearth.server.app import ApiContext, create_app
from hearth.server.config import ServerConfig, ServerConfigError

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 64  # more at once get uvicorn's 503
GRACEFUL_SECONDS = 5


class _Server(uvicorn.Server):
    """uvicorn's server that says when it has started (or failed to)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: Sequence[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=list(sockets) if sockets is not None else None)
        finally:
            self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Ctrl+C and SIGTERM stop the server gracefully; unlike uvicorn's own, the signal is not raised again
        afterwards, so ``hearth serve`` ends with status 0 after a deliberate stop."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


def bind(config: ServerConfig) -> socket.socket:
    """A socket bound to the configured address.

    Raises:
        ServerConfigError: the address is not this computer's, or the port is taken.
    """
    host = config.host or "0.0.0.0"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family == socket.AF_INET6 and host == "::":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), config.port))
    except OSError as exc:
        sock.close()
        if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise ServerConfigError(f"Port {config.port} is already in use on {host}.",
                                    hint="Choose another port, or stop the program that uses it.") from exc
        raise ServerConfigError(f"The server could not listen on {host}:{config.port}: {exc.strerror or exc}.") \
            from exc
    sock.set_inheritable(False)
    return sock


class ApiServer:
    """The local API on one socket.

    Args:
        ctx: the routes' context (engine service, settings, model names, counters).
    """

    def __init__(self, ctx: ApiContext) -> None:
        ctx.config.check()
        self.ctx = ctx
        self._socket = bind(ctx.config)
        self.port = int(self._socket.getsockname()[1])
        uv = uvicorn.Config(create_app(ctx), log_config=None, access_log=False, server_header=False,
                            lifespan="off", limit_concurrency=MAX_CONNECTIONS, timeout_keep_alive=5,
                            timeout_graceful_shutdown=GRACEFUL_SECONDS, ws="none")
        self._server = _Server(uv)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return self.ctx.config.base_url(self.port)

    @property
    def running(self) -> bool:
        return self._server.started and not self._server.should_exit

    def serve(self) -> None:
        """Serve in this thread until Ctrl+C (uvicorn handles the signal on the main thread)."""
        self._server.run(sockets=[self._socket])

    def start(self, timeout: float = 10.0) -> None:
        """Serve on a thread of its own; returns once the server listens.

        Raises:
            ServerConfigError: uvicorn did not start.
        """
        self._thread = threading.Thread(target=self._run_quietly, name="api-server", daemon=True)
        self._thread.start()
        if not self._server.ready.wait(timeout) or not self._server.started:
            self.stop()
            raise ServerConfigError("The local API server did not start; Hearth's log has the details.")
        log.info("local API listening on %s", self.base_url)

    def _run_quietly(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException:  # SystemExit from uvicorn's own start-up failures included
            log.exception("the local API server stopped")
        finally:
            self._server.ready.set()

    def stop(self, timeout: float = GRACEFUL_SECONDS + 2) -> None:
        """Stop serving (answers in progress get a few seconds, then are cut)."""
        self._server.should_exit = True
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout)
            if thread.is_alive():
                self._server.force_exit = True
                thread.join(2)
        try:
            self._socket.close()
        except OSError:
            pass

    def describe(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "port": self.port, "host": self.ctx.config.host}
