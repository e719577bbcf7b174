"""llama.cpp RPC workers: their addresses, and a probe that asks one whether it answers, what it speaks and lends.

A worker is llama.cpp's RPC server (``hearth worker`` on another computer, or llama.cpp's own ``rpc-server``): it lends
its CPU or GPU memory and compute to one model loaded elsewhere. llama.cpp's client side aborts the whole process when
a worker cannot be reached or speaks another protocol version, so Hearth asks each worker itself first, here, in
plain Python with timeouts, and only hands llama.cpp workers that answered correctly.

The probe speaks the first steps of llama.cpp's RPC protocol (version 7): every request is a command byte, a
little-endian 64-bit payload size and the payload; replies are a size and a payload. The handshake (``HELLO``)
exchanges versions; ``DEVICE_COUNT`` and ``GET_DEVICE_MEMORY`` say what the worker lends. The optional bandwidth probe
allocates a small buffer on the worker, writes and reads it back once, and frees it.

A worker serves one client at a time: while a model is loaded through it, a probe from elsewhere connects but hears
nothing back, and is reported as busy.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import time
from dataclasses import dataclass, field
from enum import Enum

from hearth.core.errors import WorkerError

DEFAULT_PORT = 50052
# The protocol version of the llama.cpp this Hearth is built with (ggml-rpc.h: RPC_PROTO_*_VERSION). A worker is
# compatible when its major version is the same and its minor version is not newer (llama.cpp's own rule).
PROTOCOL_VERSION = (7, 0, 0)

_CMD_ALLOC_BUFFER = 0
_CMD_BUFFER_GET_BASE = 3
_CMD_FREE_BUFFER = 4
_CMD_SET_TENSOR = 6
_CMD_GET_TENSOR = 8
_CMD_GET_DEVICE_MEMORY = 11
_CMD_HELLO = 14
_CMD_DEVICE_COUNT = 15
_CONN_CAPS = 24  # bytes of transport capabilities in the handshake (zeros: plain TCP)
_GGML_TYPE_I8 = 24
# A serialized tensor: id, type, buffer, ne[4], nb[4], op, op_params[16], flags, src[10], view_src, view_offs, data,
# name[64], use_count (packed, little-endian).
_TENSOR = struct.Struct("<QIQ4I4II16iI10QQQQ64si")


class WorkerState(Enum):
    READY = "ready"
    BUSY = "busy"
    UNREACHABLE = "unreachable"
    INCOMPATIBLE = "incompatible"


@dataclass(frozen=True)
class Endpoint:
    """A worker's address."""

    host: str
    port: int = DEFAULT_PORT

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.host)


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` names this computer (127.0.0.0/8, ::1 or "localhost")."""
    name = host.strip("[]").lower()
    if name in ("localhost", "localhost.localdomain") or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_endpoint(text: str) -> Endpoint:
    """``HOST:PORT``, ``HOST`` (port 50052) or ``[IPv6]:PORT`` as an ``Endpoint``.

    Raises:
        WorkerError: the text is not an address.
    """
    value = text.strip()
    host, port_text = value, ""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else rest
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    if ":" in host:
        raise WorkerError(f"“{text}”: llama.cpp's workers are reached by IPv4 address or host name only.",
                          hint="Use the worker's IPv4 address (e.g. 192.168.1.20:50052) or its name.", endpoint=text)
    if not host or any(c.isspace() for c in host) or "/" in host:
        raise WorkerError(f"“{text}” is not a worker address.", hint="Write it as HOST:PORT, e.g. 192.168.1.20:50052.",
                          endpoint=text)
    if not port_text:
        return Endpoint(host, DEFAULT_PORT)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise WorkerError(f"“{port_text}” in “{text}” is not a port number.",
                          hint="Write the address as HOST:PORT, e.g. 192.168.1.20:50052.", endpoint=text)
    return Endpoint(host, int(port_text))


@dataclass(frozen=True)
class WorkerDevice:
    """One device a worker lends (its CPU, or a GPU): free and total memory in bytes."""

    free: int
    total: int


@dataclass(frozen=True)
class WorkerStatus:
    """What a probe learned about a worker.

    Attributes:
        endpoint: the worker's address.
        state: ready, busy (serving another program), unreachable or incompatible.
        version: the protocol version it answered with (None if it did not).
        devices: what it lends.
        round_trip_s: a request's round trip (the handshake's), None if it did not answer.
        upload_bytes_per_s: measured while writing the probe buffer (None if not measured).
        download_bytes_per_s: measured while reading it back.
        message: the state in plain words.
    """

    endpoint: Endpoint
    state: WorkerState
    version: tuple[int, int, int] | None = None
    devices: tuple[WorkerDevice, ...] = ()
    round_trip_s: float | None = None
    upload_bytes_per_s: float | None = None
    download_bytes_per_s: float | None = None
    message: str = ""
    checked_at: float = field(default_factory=time.time)

    @property
    def ready(self) -> bool:
        return self.state is WorkerState.READY

    @property
    def free_bytes(self) -> int:
        return sum(d.free for d in self.devices)

    @property
    def total_bytes(self) -> int:
        return sum(d.total for d in self.devices)

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version)) if self.version else "unknown"

    def error(self) -> WorkerError:
        """The state as an error to raise (for a worker that is not ready)."""
        hints = {
            WorkerState.BUSY: "A worker serves one program at a time. Unload the model that uses it, or wait.",
            WorkerState.UNREACHABLE: "Check that `hearth worker` runs there and that its port is open to this "
                                     "computer; or remove the worker.",
            WorkerState.INCOMPATIBLE: "Install the same Hearth (or llama.cpp) version on both computers.",
        }
        return WorkerError(self.message, hint=hints.get(self.state, ""), endpoint=str(self.endpoint))


def compatible(version: tuple[int, int, int]) -> bool:
    return version[0] == PROTOCOL_VERSION[0] and version[1] <= PROTOCOL_VERSION[1]


class _Closed(Exception):
    """The worker closed the connection."""


class _Wire:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def send(self, cmd: int, payload: bytes = b"") -> None:
        self.sock.sendall(struct.pack("<BQ", cmd, len(payload)) + payload)

    def recv_exact(self, n: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < n:
            chunk = self.sock.recv(min(n - len(chunks), 1 << 20))
            if not chunk:
                raise _Closed()
            chunks += chunk
        return bytes(chunks)

    def reply(self) -> bytes:
        (size,) = struct.unpack("<Q", self.recv_exact(8))
        return self.recv_exact(size)

    def call(self, cmd: int, payload: bytes = b"") -> bytes:
        self.send(cmd, payload)
        return self.reply()


def probe_worker(endpoint: Endpoint | str, *, timeout: float = 3.0, bandwidth_bytes: int = 0) -> WorkerStatus:
    """Ask a worker whether it answers, which protocol it speaks, and what memory it lends.

    Never raises for a worker's failures: they come back as the status's state and message.

    Args:
        endpoint: the worker.
        timeout: seconds to wait for the connection and for each reply.
        bandwidth_bytes: when > 0, write and read back a buffer of this size to measure the network (the planner's
            speed estimate); 0 skips it.
    """
    ep = parse_endpoint(endpoint) if isinstance(endpoint, str) else endpoint
    try:
        sock = socket.create_connection((ep.host, ep.port), timeout=timeout)
    except OSError as exc:
        return WorkerStatus(ep, WorkerState.UNREACHABLE, message=f"The worker {ep} does not answer ({_reason(exc)}).")
    with sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        wire = _Wire(sock)
        started = time.perf_counter()
        try:
            hello = wire.call(_CMD_HELLO, bytes(_CONN_CAPS))
        except TimeoutError:
            return WorkerStatus(ep, WorkerState.BUSY, message=f"The worker {ep} is busy serving another program "
                                                              f"(a worker serves one at a time).")
        except (_Closed, OSError):
            return _older_worker(ep, timeout)
        round_trip = time.perf_counter() - started
        if len(hello) < 3:
            return WorkerStatus(ep, WorkerState.INCOMPATIBLE,
                                message=f"{ep} answered, but not like a llama.cpp RPC worker.")
        version = (hello[0], hello[1], hello[2])
        if not compatible(version):
            return _incompatible(ep, version)
        try:
            devices = _devices(wire)
            up = down = None
            if bandwidth_bytes > 0 and devices:
                up, down = _bandwidth(wire, bandwidth_bytes)
        except (_Closed, OSError, struct.error) as exc:
            return WorkerStatus(ep, WorkerState.UNREACHABLE, version,
                                message=f"The worker {ep} stopped answering ({_reason(exc)}).")
    return WorkerStatus(ep, WorkerState.READY, version, devices, round_trip, up, down,
                        message=f"{ep} is ready: protocol {'.'.join(map(str, version))}.")


def _older_worker(ep: Endpoint, timeout: float) -> WorkerStatus:
    """The worker hung up on our handshake: older llama.cpp workers expect an empty one; ask their version that way."""
    try:
        with socket.create_connection((ep.host, ep.port), timeout=timeout) as sock:
            reply = _Wire(sock).call(_CMD_HELLO)
    except (_Closed, OSError):
        return WorkerStatus(ep, WorkerState.INCOMPATIBLE,
                            message=f"{ep} hung up during the handshake: it is not a llama.cpp RPC worker of a "
                                    f"version this Hearth speaks ({_version_words(PROTOCOL_VERSION)}).")
    if len(reply) >= 3:
        return _incompatible(ep, (reply[0], reply[1], reply[2]))
    return WorkerStatus(ep, WorkerState.INCOMPATIBLE, message=f"{ep} answered, but not like a llama.cpp RPC worker.")


def _incompatible(ep: Endpoint, version: tuple[int, int, int]) -> WorkerStatus:
    return WorkerStatus(ep, WorkerState.INCOMPATIBLE, version,
                        message=f"The worker {ep} speaks llama.cpp RPC protocol {_version_words(version)}, and this "
                                f"Hearth speaks {_version_words(PROTOCOL_VERSION)}; it cannot be used.")


def _version_words(version: tuple[int, int, int]) -> str:
    return ".".join(map(str, version))


def _devices(wire: _Wire) -> tuple[WorkerDevice, ...]:
    (count,) = struct.unpack("<I", wire.call(_CMD_DEVICE_COUNT))
    devices = []
    for index in range(min(count, 16)):
        free, total = struct.unpack("<QQ", wire.call(_CMD_GET_DEVICE_MEMORY, struct.pack("<I", index)))
        devices.append(WorkerDevice(free, total))
    return tuple(devices)


def _tensor(buffer: int, data: int, size: int) -> bytes:
    return _TENSOR.pack(1, _GGML_TYPE_I8, buffer, size, 1, 1, 1, 1, size, size, size, 0, *([0] * 16), 0,
                        *([0] * 10), 0, 0, data, b"hearth-probe", 0)


def _bandwidth(wire: _Wire, size: int) -> tuple[float, float]:
    """Write ``size`` bytes to a buffer on the worker's first device and read them back; bytes per second each way."""
    remote, remote_size = struct.unpack("<QQ", wire.call(_CMD_ALLOC_BUFFER, struct.pack("<IQ", 0, size)))
    if not remote or remote_size < size:
        raise _Closed()
    try:
        (base,) = struct.unpack("<Q", wire.call(_CMD_BUFFER_GET_BASE, struct.pack("<Q", remote)))
        tensor = _tensor(remote, base, size)
        payload = os.urandom(size)
        started = time.perf_counter()
        wire.send(_CMD_SET_TENSOR, tensor + b"\0" + struct.pack("<Q", 0) + payload)
        # SET_TENSOR has no reply: the next request's reply says the write is done (one round trip more).
        wire.call(_CMD_BUFFER_GET_BASE, struct.pack("<Q", remote))
        written = time.perf_counter()
        back = wire.call(_CMD_GET_TENSOR, tensor + struct.pack("<QQ", 0, size))
        read = time.perf_counter()
    finally:
        wire.send(_CMD_FREE_BUFFER, struct.pack("<Q", remote))
    if back != payload:
        raise _Closed()
    return size / max(written - started, 1e-6), size / max(read - written, 1e-6)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no reply in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: nothing listens on that port"
    if isinstance(exc, socket.gaierror):
        return "unknown host name"
    if isinstance(exc, _Closed):
        return "it closed the connection"
    return getattr(exc, "strerror", None) or type(exc).__name__


def check_workers(endpoints: tuple[str, ...] | list[str], *, timeout: float = 5.0) -> list[WorkerStatus]:
    """Probe every worker before a load.

    Raises:
        WorkerError: a worker is not ready (named, with the reason in plain words).
    """
    statuses = [probe_worker(e, timeout=timeout) for e in endpoints]
    for status in statuses:
        if not status.ready:
            raise status.error()
    return statuses
