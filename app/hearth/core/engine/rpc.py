"""llama.cpp's RPC backend through ctypes: run a worker, or add workers as devices for a model.

Used in the ``hearth worker`` process and in the engine host, never in the window's process: llama.cpp aborts the
process that talks to a worker when the worker goes away. The functions come from the ggml that libllama already
loaded (``ggml_backend_rpc_*`` from libggml-rpc), looked up through libllama's handle so that llama.cpp recognises the
devices they return.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass
from typing import Any

import llama_cpp as L

from hearth.core.errors import WorkerError

_DEVICE_TYPES = {0: "cpu", 1: "gpu", 2: "igpu", 3: "accel"}


def _lib() -> Any:
    return L.llama_cpp._lib


def _fn(name: str, argtypes: list[Any], restype: Any) -> Any:
    fn = getattr(_lib(), name)
    fn.argtypes = argtypes
    fn.restype = restype
    return fn


def _rpc_registry() -> int | None:
    """ggml's RPC backend registry entry; builds with dynamically loaded backends (``GGML_BACKEND_DL``, the portable
    installers) load their backend modules first."""
    by_name = _fn("ggml_backend_reg_by_name", [ctypes.c_char_p], ctypes.c_void_p)
    reg = by_name(b"RPC")
    if not reg and hasattr(_lib(), "ggml_backend_load_all"):
        _fn("ggml_backend_load_all", [], None)()
        reg = by_name(b"RPC")
    return int(reg) if reg else None


def _rpc_fn(name: str, argtypes: list[Any], restype: Any) -> Any:
    """An RPC backend function: exported by libggml-rpc in ordinary builds, or asked of the RPC registry entry (as
    llama.cpp's own tools do) when backends are loaded dynamically."""
    try:
        return _fn(name, argtypes, restype)
    except AttributeError:
        pass
    reg = _rpc_registry()
    address = None
    if reg:
        get = _fn("ggml_backend_reg_get_proc_address", [ctypes.c_void_p, ctypes.c_char_p], ctypes.c_void_p)
        address = get(reg, name.encode())
    if not address:
        raise WorkerError("This build of llama.cpp cannot use worker computers (it was built without RPC).",
                          hint=REBUILD_HINT)
    return ctypes.CFUNCTYPE(restype, *argtypes)(address)


REBUILD_HINT = ("Reinstall llama-cpp-python with RPC: python installers/llama_rpc.py (from Hearth's source folder, "
                "with the Python that runs Hearth), or CMAKE_ARGS=\"-DGGML_RPC=on\" pip install --force-reinstall "
                "--no-cache-dir llama-cpp-python.")


def rpc_available() -> bool:
    """Whether this build of llama.cpp has the RPC backend (``-DGGML_RPC=on``)."""
    try:
        return _rpc_registry() is not None
    except AttributeError:
        return False


def require_rpc() -> None:
    if not rpc_available():
        raise WorkerError(
            "This build of llama.cpp cannot use worker computers (it was built without RPC).",
            hint=REBUILD_HINT,
        )


@dataclass(frozen=True)
class LocalDevice:
    """A device of this computer's llama.cpp (the CPU, a GPU)."""

    handle: int
    name: str
    description: str
    kind: str
    memory_free: int
    memory_total: int


def local_devices() -> list[LocalDevice]:
    """The devices llama.cpp found on this computer (RPC devices of added workers included)."""
    count = _fn("ggml_backend_dev_count", [], ctypes.c_size_t)
    get = _fn("ggml_backend_dev_get", [ctypes.c_size_t], ctypes.c_void_p)
    found = []
    for i in range(int(count())):
        found.append(_describe(int(get(i))))
    return found


def _describe(dev: int) -> LocalDevice:
    name = _fn("ggml_backend_dev_name", [ctypes.c_void_p], ctypes.c_char_p)
    desc = _fn("ggml_backend_dev_description", [ctypes.c_void_p], ctypes.c_char_p)
    kind = _fn("ggml_backend_dev_type", [ctypes.c_void_p], ctypes.c_int)
    size_p = ctypes.POINTER(ctypes.c_size_t)
    memory = _fn("ggml_backend_dev_memory", [ctypes.c_void_p, size_p, size_p], None)
    free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
    memory(dev, ctypes.byref(free), ctypes.byref(total))
    return LocalDevice(dev, (name(dev) or b"").decode("utf-8", "replace"),
                       (desc(dev) or b"").decode("utf-8", "replace"), _DEVICE_TYPES.get(int(kind(dev)), "other"),
                       int(free.value), int(total.value))


def add_worker(endpoint: str) -> list[LocalDevice]:
    """Connect llama.cpp to a worker and return its devices (registered, so the model can use them).

    The caller must have probed the worker first (``hearth.core.engine.workers``): llama.cpp aborts the process when
    a worker does not answer or speaks another protocol version.
    """
    require_rpc()
    add = _rpc_fn("ggml_backend_rpc_add_server", [ctypes.c_char_p], ctypes.c_void_p)
    reg = add(endpoint.encode())
    if not reg:
        raise WorkerError(f"The worker {endpoint} lends no devices.", endpoint=endpoint)
    register = _fn("ggml_backend_register", [ctypes.c_void_p], None)
    count = _fn("ggml_backend_reg_dev_count", [ctypes.c_void_p], ctypes.c_size_t)
    get = _fn("ggml_backend_reg_dev_get", [ctypes.c_void_p, ctypes.c_size_t], ctypes.c_void_p)
    known = {d.handle for d in local_devices()}
    devices = [_describe(int(get(reg, i))) for i in range(int(count(reg)))]
    if not all(d.handle in known for d in devices):
        register(reg)
    return devices


def device_array(devices: list[LocalDevice]) -> ctypes.Array[ctypes.c_void_p]:
    """A NULL-terminated ``ggml_backend_dev_t`` array for ``llama_model_params.devices``."""
    array = (ctypes.c_void_p * (len(devices) + 1))()
    for i, dev in enumerate(devices):
        array[i] = dev.handle
    array[len(devices)] = None
    return array


def serve(endpoint: str, *, cache_dir: str | None, threads: int, devices: list[LocalDevice]) -> None:
    """Run llama.cpp's RPC server on ``endpoint`` until the process ends (blocks; prints llama.cpp's own banner)."""
    require_rpc()
    start = _rpc_fn("ggml_backend_rpc_start_server",
                [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p], None)
    array = device_array(devices)
    start(endpoint.encode(), cache_dir.encode() if cache_dir else None, threads, len(devices), array)


def worker_devices(*, cpu_only: bool = False) -> list[LocalDevice]:
    """What ``hearth worker`` lends: this computer's GPUs, or its CPU when it has none (or ``cpu_only``)."""
    L.llama_backend_init()
    found = [d for d in local_devices() if not d.name.startswith("RPC")]
    gpus = [d for d in found if d.kind in ("gpu", "igpu")]
    if gpus and not cpu_only:
        return gpus
    return [d for d in found if d.kind == "cpu"][:1]


_BUFFER_LINE = re.compile(r"RPC\d+\[(?P<endpoint>[^\]]+)\]\s+model buffer size\s*=\s*(?P<mib>[\d.]+)\s*MiB")


def worker_bytes_from_log(lines: list[str]) -> dict[str, int]:
    """The weights each worker holds, from llama.cpp's load log ("RPC0[host:port] model buffer size = 12.3 MiB")."""
    held: dict[str, int] = {}
    for line in lines:
        match = _BUFFER_LINE.search(line)
        if match:
            held[match["endpoint"]] = held.get(match["endpoint"], 0) + int(float(match["mib"]) * 2**20)
    return held
