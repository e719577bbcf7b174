"""How big llama.cpp's KV cache is for a model, a context size and a cache type, layer by layer.

Each layer keeps keys and values for every cached position: 2 bytes a value in f16, 34 bytes per 32 values in
q8_0 and 18 per 32 in q4_0 (a quantized V cache needs flash attention). Models with sliding-window or chunked attention
keep far fewer positions in most layers, and llama.cpp sizes those layers' cache to the window (``swa_full`` off):
``min(n_ctx, pad(n_swa + n_ubatch, 256))`` cells. Which layers are windowed follows llama.cpp's rules per
architecture: Llama 4 uses 8192-token chunks in 3 of every 4 layers (every 4th is full attention); Gemma 3 a sliding
window (512 or 1024) in 5 of every 6; Gemma 2, gpt-oss and Cohere 2 in 1 of 2, 1 of 2 and 3 of 4.
"""

from __future__ import annotations

from hearth.core.engine.plan import CACHE_TYPE_BYTES
from hearth.core.gguf.header import GgufInfo

KV_BYTES_PER_VALUE = 2  # f16
_PAD = 256

# architecture -> (window when the header does not say, pattern n: layer il is windowed if il % n < n - 1)
_WINDOWED: dict[str, tuple[int, int]] = {
    "llama4": (8192, 4),
    "gemma3": (512, 6),
    "gemma2": (4096, 2),
    "gpt-oss": (128, 2),
    "cohere2": (4096, 4),
}


def windowed_layers(info: GgufInfo) -> tuple[int, tuple[bool, ...]]:
    """The attention window (0 if none) and, per layer, whether the layer uses it."""
    n = info.block_count
    pattern = info.arch_value("attention.sliding_window_pattern")
    window = info.sliding_window
    arch = info.architecture
    if isinstance(pattern, tuple) and len(pattern) == n and window > 0:
        return window, tuple(bool(v) for v in pattern)
    if arch == "llama4":
        # llama.cpp: chunked attention (8192) in 3 of 4 layers, unless the header sets sliding_window to 0.
        chunk = info.attention_chunk
        return chunk, tuple(bool(chunk) and il % 4 < 3 for il in range(n))
    if arch in _WINDOWED:
        default, every = _WINDOWED[arch]
        return window or default, tuple(il % every < every - 1 for il in range(n))
    return 0, (False,) * n


def kv_cache_per_layer(info: GgufInfo, n_ctx: int, n_ubatch: int = 512, type_k: str = "f16",
                       type_v: str = "f16") -> tuple[int, ...]:
    """Bytes of KV cache per layer for ``n_ctx`` positions with keys in ``type_k`` and values in ``type_v``."""
    window, windowed = windowed_layers(info)
    heads = info.head_count_kv
    per_head = info.key_length * CACHE_TYPE_BYTES[type_k] + info.value_length * CACHE_TYPE_BYTES[type_v]
    small = min(n_ctx, -(-(window + n_ubatch) // _PAD) * _PAD) if window else n_ctx
    sizes = []
    for il in range(info.block_count):
        cells = small if windowed[il] else n_ctx
        n_kv = heads[il] if il < len(heads) else (heads[-1] if heads else 0)
        sizes.append(round(cells * n_kv * per_head))
    return tuple(sizes)


def kv_cache_bytes(info: GgufInfo, n_ctx: int, cache_type: str = "f16", n_ubatch: int = 512) -> int:
    """The whole KV cache for ``n_ctx`` positions with keys and values in ``cache_type``."""
    return sum(kv_cache_per_layer(info, n_ctx, n_ubatch, cache_type, cache_type))
