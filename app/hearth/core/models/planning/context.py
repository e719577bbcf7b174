"""Context size as a choice: which contexts this machine holds with each KV cache type, and at what memory cost.

The planner is asked once per context size and cache type, so each row is a real plan (placement included), not
just the cache's size. Rows stop at the first size nothing fits, or at the model's trained context. Llama 4 Scout is
advertised with a 10M-token context; ``compare_with_advertised`` says how much of it this machine can hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hearth.core.engine.plan import CACHE_TYPE_WORDS, CACHE_TYPES, FlashAttention
from hearth.core.gguf.header import GgufInfo
from hearth.core.machine.hardware import Hardware
from hearth.core.models.planning.calibration import this_computer
from hearth.core.models.planning.kv_cache import kv_cache_bytes
from hearth.core.models.planning.planner import context_words, plan_model

CONTEXT_STEPS = (4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304, 10485760)
SCOUT_ADVERTISED_CTX = 10 * 2**20  # "10M tokens" in Meta's announcement of Llama 4 Scout
GB = 1e9


@dataclass(frozen=True)
class ContextOption:
    """One context size with one cache type on one machine.

    Attributes:
        n_ctx: context size in tokens.
        cache_type: "f16", "q8_0" or "q4_0".
        kv_bytes: the KV cache's size.
        total_bytes: everything the plan needs (RAM and GPU memory together).
        fits: whether a placement fits this machine.
        tokens_per_s: the expected speed when it fits.
        summary: the placement in a phrase ("CPU", "GPU + experts in RAM").
    """

    n_ctx: int
    cache_type: str
    kv_bytes: int
    total_bytes: int
    fits: bool
    tokens_per_s: float | None
    summary: str


def context_table(info: GgufInfo, hw: Hardware, *, flash_attn: FlashAttention = "auto", mmproj_bytes: int = 0,
                  steps: tuple[int, ...] = CONTEXT_STEPS) -> list[ContextOption]:
    """Rows for every context size up to the first that fits with no cache type (or the trained context)."""
    trained = info.context_length or max(steps)
    sizes = [n for n in steps if n < trained] + [trained]
    rows: list[ContextOption] = []
    for n_ctx in sizes:
        row = []
        for cache_type in CACHE_TYPES:
            report = plan_model(info, hw, n_ctx=n_ctx, cache_type=cache_type, flash_attn=flash_attn,
                                mmproj_bytes=mmproj_bytes)
            p = report.placement
            row.append(ContextOption(
                n_ctx=report.n_ctx, cache_type=cache_type, kv_bytes=p.kv_bytes,
                total_bytes=p.ram_bytes + (0 if hw.unified_memory else p.vram_bytes),
                fits=report.verdict != "does_not_fit", tokens_per_s=report.tokens_per_s,
                summary=report.plan.summary if report.plan else "",
            ))
        rows += row
        if not any(o.fits for o in row):
            break
    return rows


def longest_fitting(rows: list[ContextOption]) -> dict[str, int]:
    """The longest context that fits, per cache type (0 when none does)."""
    return {t: max((o.n_ctx for o in rows if o.cache_type == t and o.fits), default=0) for t in CACHE_TYPES}


def compare_with_advertised(info: GgufInfo, rows: list[ContextOption],
                            advertised: int = SCOUT_ADVERTISED_CTX) -> str:
    """How the contexts this machine holds compare with Scout's advertised 10M tokens, in a sentence or two."""
    longest = longest_fitting(rows)
    best_type = max(CACHE_TYPES, key=lambda t: (longest[t], -CACHE_TYPES.index(t)))
    most = longest[best_type]
    trained = info.context_length
    words = CACHE_TYPE_WORDS[best_type]
    if most <= 0:
        holds = "This computer cannot hold even the smallest context listed."
    elif trained and most >= trained:
        holds = (f"This computer holds all of the {context_words(trained)} tokens this model was trained for "
                 f"(with a {words} cache).")
    else:
        holds = f"This computer holds up to {context_words(most)} tokens with a {words} cache."
    share = f" That is {100 * most / advertised:.2g}% of the {context_words(advertised)} tokens advertised for " \
            "Llama 4 Scout." if most > 0 else ""
    if info.architecture != "llama4":
        return holds + share
    f16_at_max = kv_cache_bytes(info, advertised, "f16")
    q4_at_max = kv_cache_bytes(info, advertised, "q4_0")
    return (f"{holds}{share} Its full {context_words(advertised)} would need {f16_at_max / GB:,.0f} GB for the cache "
            f"alone at 16 bits ({q4_at_max / GB:,.0f} GB at 4 bits).")


@dataclass(frozen=True)
class ContextChoices:
    """What the per-model settings show about context: the table, the comparison, and where speeds come from."""

    model: str
    trained: int
    rows: tuple[ContextOption, ...]
    comparison: str
    calibration: str


def context_choices(path: Path, config_dir: Path | None = None, *, hardware: Hardware | None = None,
                    flash_attn: FlashAttention = "auto") -> ContextChoices:
    """The context table of a model file on this computer (blocking: reads the header, detects the machine).

    Raises:
        ModelFileError: the file is not a usable model.
    """
    from hearth.core.gguf.files import check_model_path

    files = check_model_path(path)
    assert files.info is not None
    hw = hardware or this_computer(config_dir)
    rows = context_table(files.info, hw, flash_attn=flash_attn)
    return ContextChoices(files.first.name, files.info.context_length, tuple(rows),
                          compare_with_advertised(files.info, rows), hw.calibration)
