"""What llama.cpp says about a model and context it created: flash attention, the KV cache, its buffers.

llama-cpp-python exports no call that returns a context's resolved parameters or its memory breakdown (llama.cpp's
``llama_get_memory_breakdown`` is C++ only). llama.cpp does print them while it creates the context: the buffer
sizes it allocated per device ("CPU KV buffer size = 48.00 MiB"), the flash-attention mode it settled on ("flash_attn
= enabled", or for ``auto`` the later "Flash Attention enabled" / "Flash Attention not supported, set to disabled"),
and the cache's element types ("K (q8_0): 12.75 MiB"). ``LlamaLogCapture`` routes llama.cpp's log through Python while
a model loads (still copying every line to stderr, where the app keeps the engine log), and ``parse_report`` reads
those facts out of it. These are llama.cpp's own measurements of what it allocated, not Hearth's estimates.
"""

from __future__ import annotations

import ctypes
import re
import sys
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

MIB = 1024 * 1024

_BUFFER = re.compile(r"(\S+)\s+(KV|compute|model|output) buffer size =\s*([\d.]+) MiB")
_FLASH_SET = re.compile(r"flash_attn\s+= (\w+)")
_FLASH_RESOLVED = re.compile(r"Flash Attention (enabled|not supported, set to disabled)")
_KV_TYPES = re.compile(r"K \((\w+)\):\s*[\d.]+ MiB, V \((\w+)\)")


@dataclass(frozen=True)
class LlamaReport:
    """Facts llama.cpp reported while creating a model and its context.

    Attributes:
        flash_attn: whether flash attention is in use (None if llama.cpp did not say).
        kv_bytes: the KV cache's buffers, all devices together.
        kv_by_device: the KV cache's bytes per buffer type ("CPU", "CUDA0", ...).
        cache_type_k, cache_type_v: the cache's element types as llama.cpp allocated them ("" if not said).
        compute_bytes: the work buffers (allocated; on the CPU only the part a batch touches becomes resident).
        model_bytes: the weights' buffers (mapped files count here too).
        output_bytes: the logits and embeddings buffer.
    """

    flash_attn: bool | None = None
    kv_bytes: int = 0
    kv_by_device: dict[str, int] = field(default_factory=dict)
    cache_type_k: str = ""
    cache_type_v: str = ""
    compute_bytes: int = 0
    model_bytes: int = 0
    output_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "flash_attn": self.flash_attn,
            "kv_cache_bytes": self.kv_bytes,
            "kv_cache_by_device": dict(self.kv_by_device),
            "cache_type_k": self.cache_type_k,
            "cache_type_v": self.cache_type_v,
            "compute_buffer_bytes": self.compute_bytes,
            "model_buffer_bytes": self.model_bytes,
            "output_buffer_bytes": self.output_bytes,
        }


def parse_report(log: str) -> LlamaReport:
    """The facts in llama.cpp's log of one model load and context creation."""
    totals = {"KV": 0, "compute": 0, "model": 0, "output": 0}
    kv_by_device: dict[str, int] = {}
    for device, kind, mib in _BUFFER.findall(log):
        size = round(float(mib) * MIB)
        totals[kind] += size
        if kind == "KV":
            kv_by_device[device] = kv_by_device.get(device, 0) + size
    flash: bool | None = None
    for match in _FLASH_SET.finditer(log):
        flash = {"enabled": True, "disabled": False}.get(match.group(1), flash)
    for match in _FLASH_RESOLVED.finditer(log):  # "auto" is settled later, when the first graph is reserved
        flash = match.group(1) == "enabled"
    types = _KV_TYPES.findall(log)
    type_k, type_v = types[-1] if types else ("", "")
    return LlamaReport(
        flash_attn=flash, kv_bytes=totals["KV"], kv_by_device=kv_by_device, cache_type_k=type_k,
        cache_type_v=type_v, compute_bytes=totals["compute"], model_bytes=totals["model"],
        output_bytes=totals["output"],
    )


class LlamaLogCapture:
    """While active, llama.cpp's log passes through Python: copied to stderr as before, and kept.

    On leaving, llama.cpp logs straight to stderr again (no Python call per line while answering).
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._callback: Any = None

    def __enter__(self) -> LlamaLogCapture:
        import llama_cpp as L

        def on_log(_level: int, text: bytes | None, _user: ctypes.c_void_p) -> None:
            if not text:
                return
            piece = text.decode("utf-8", errors="replace")
            self._parts.append(piece)
            try:
                sys.stderr.write(piece)
            except Exception:  # an exception must not unwind through C
                pass

        self._callback = L.llama_log_callback(on_log)
        L.llama_log_set(self._callback, ctypes.c_void_p(0))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        import llama_cpp as L

        L.llama_log_set(L.llama_log_callback(), ctypes.c_void_p(0))
        sys.stderr.flush()
        self._callback = None

    @property
    def text(self) -> str:
        return "".join(self._parts)
