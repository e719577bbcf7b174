"""What this build of llama.cpp can do: GPU offload, CPU features it was compiled for, and its backend devices.

Run as ``python -m hearth.core.engine.probe``; prints one JSON object. It runs in its own process (like the engine
host) because loading llama.cpp's GPU backends can crash or hang on a broken driver, and the app must survive that.
``hearth.core.machine.hardware`` starts it and caches the answer.
"""

from __future__ import annotations

import ctypes
import json
import sys
from typing import Any

_DEVICE_TYPES = {0: "cpu", 1: "gpu", 2: "igpu", 3: "accel"}


def _fn(lib: Any, name: str, argtypes: list[Any], restype: Any) -> Any:
    fn = getattr(lib, name)
    fn.argtypes = argtypes
    fn.restype = restype
    return fn


def _devices(lib: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """ggml's backend devices with their memory, through the symbols libllama already loaded."""
    count = _fn(lib, "ggml_backend_dev_count", [], ctypes.c_size_t)
    get = _fn(lib, "ggml_backend_dev_get", [ctypes.c_size_t], ctypes.c_void_p)
    name = _fn(lib, "ggml_backend_dev_name", [ctypes.c_void_p], ctypes.c_char_p)
    desc = _fn(lib, "ggml_backend_dev_description", [ctypes.c_void_p], ctypes.c_char_p)
    kind = _fn(lib, "ggml_backend_dev_type", [ctypes.c_void_p], ctypes.c_int)
    size_p = ctypes.POINTER(ctypes.c_size_t)
    memory = _fn(lib, "ggml_backend_dev_memory", [ctypes.c_void_p, size_p, size_p], None)
    devices = []
    for i in range(int(count())):
        dev = get(i)
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        memory(dev, ctypes.byref(free), ctypes.byref(total))
        devices.append({
            "name": (name(dev) or b"").decode("utf-8", "replace"),
            "description": (desc(dev) or b"").decode("utf-8", "replace"),
            "type": _DEVICE_TYPES.get(int(kind(dev)), "other"),
            "memory_free": int(free.value),
            "memory_total": int(total.value),
        })
    reg_count = _fn(lib, "ggml_backend_reg_count", [], ctypes.c_size_t)
    reg_get = _fn(lib, "ggml_backend_reg_get", [ctypes.c_size_t], ctypes.c_void_p)
    reg_name = _fn(lib, "ggml_backend_reg_name", [ctypes.c_void_p], ctypes.c_char_p)
    backends = [(reg_name(reg_get(i)) or b"").decode("utf-8", "replace") for i in range(int(reg_count()))]
    return devices, backends


def probe() -> dict[str, Any]:
    """Ask llama.cpp about itself."""
    import llama_cpp as L

    L.llama_log_set(L.llama_log_callback(), ctypes.c_void_p(0))
    L.llama_backend_init()
    result: dict[str, Any] = {
        "version": str(getattr(L, "__version__", "")),
        "gpu_offload": bool(L.llama_supports_gpu_offload()),
        "mmap": bool(L.llama_supports_mmap()),
        "system_info": L.llama_print_system_info().decode("utf-8", "replace").strip(),
        "devices": [],
        "backends": [],
        "error": "",
    }
    try:
        result["devices"], result["backends"] = _devices(L.llama_cpp._lib)
    except (AttributeError, OSError) as exc:  # an older build without the device API
        result["error"] = f"device list unavailable: {exc}"
    from hearth.core.engine.rpc import rpc_available

    result["rpc"] = rpc_available()
    return result


def main() -> int:
    print(json.dumps(probe()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
