"""How a model is placed in memory: the plan the engine loads with.

The planner (``hearth.core.models.planning.planner``) fills one in from the GGUF header and the hardware; the engine
only follows it. The key for mixture-of-experts models such as Llama 4 Scout is ``cpu_tensor_patterns``: the
routed-expert tensors (``blk.N.ffn_{gate,up,down}_exps``) stay in system RAM while everything else goes to the GPU, like
llama.cpp's ``--cpu-moe`` / ``--n-cpu-moe N``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

FlashAttention = Literal["auto", "on", "off"]
CacheType = Literal["f16", "q8_0", "q4_0"]
CACHE_TYPES: tuple[CacheType, ...] = ("f16", "q8_0", "q4_0")
# Bytes per cached value: q8_0 packs 32 values in 34 bytes, q4_0 in 18 (a 16-bit scale per block).
CACHE_TYPE_BYTES: dict[str, float] = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
CACHE_TYPE_WORDS: dict[str, str] = {"f16": "16-bit", "q8_0": "8-bit", "q4_0": "4-bit"}
# "auto": prompt lookup when the newest message holds material an answer may quote (a document, code); "lookup":
# always; "off": never; "draft": a small draft model (``draft_model_path``) with the same tokenizer.
Speculative = Literal["auto", "lookup", "off", "draft"]

# The expert tensors llama.cpp's --cpu-moe keeps on the CPU (gate_up is the fused form some converters write).
_EXPERT_TENSORS = r"ffn_(up|down|gate|gate_up)_(ch|)exps"


def resolve_cache_types(plan: LoadPlan) -> tuple[str, str, str]:
    """The K and V cache types the engine will ask for, and why they differ from the plan ("" if they do not).

    A quantized V cache needs flash attention; with flash attention turned off, V stays f16 (K can still be
    quantized) rather than llama.cpp refusing to create the context.
    """
    k = plan.cache_type_k if plan.cache_type_k in CACHE_TYPE_BYTES else "f16"
    v = plan.cache_type_v if plan.cache_type_v in CACHE_TYPE_BYTES else "f16"
    if v != "f16" and plan.flash_attn == "off":
        return k, "f16", (f"A {v} V cache needs flash attention, which is turned off for this model: the V cache "
                          "stays 16-bit.")
    return k, v, ""


def expert_patterns(layers: int | None = None) -> tuple[str, ...]:
    """Tensor-name patterns that keep routed experts in CPU memory.

    Args:
        layers: keep only the first ``layers`` layers' experts on the CPU (``--n-cpu-moe N``); None for all.
    """
    if layers is None:
        return (rf"\.{_EXPERT_TENSORS}",)
    return tuple(rf"^blk\.{i}\.{_EXPERT_TENSORS}" for i in range(layers))


def layer_expert_patterns(layers: Iterable[int]) -> tuple[str, ...]:
    """Tensor-name patterns that keep the routed experts of exactly these layers in CPU memory."""
    return tuple(rf"^blk\.{i}\.{_EXPERT_TENSORS}" for i in layers)


@dataclass(frozen=True)
class LoadPlan:
    """Everything the engine needs to load a model.

    Attributes:
        model_path: the GGUF file, or the first shard of a split model.
        n_ctx: context size in tokens.
        n_gpu_layers: layers to offload to the GPU (0: none, -1: all).
        cpu_tensor_patterns: regular expressions (searched in tensor names) whose tensors stay in CPU memory.
        n_threads: generation threads (None: the physical core count).
        n_threads_batch: prompt-processing threads (None: same as n_threads).
        n_batch: tokens per prompt-processing batch.
        flash_attn: flash attention mode.
        use_extra_bufts: llama.cpp's repacked CPU weight layouts (None: on, except on CPUs with Intel AMX, where
            llama.cpp 0.3.36's AMX kernels crash on the first answer).
        swa_full: keep the full-size cache for sliding-window layers (costs memory, never re-reads a prompt).
        use_mmap: map the file instead of reading it into memory.
        mmproj_path: the vision projector for image input, if any.
        cache_type_k, cache_type_v: the KV cache's element types (a quantized V needs flash attention).
        speculative: how answers are drafted ahead and verified in batches ("auto", "lookup", "off", "draft").
        draft_model_path: the small model that drafts for "draft" (same tokenizer as the model).
        n_draft: the most tokens drafted ahead at once.
        workers: llama.cpp RPC workers (HOST:PORT) whose devices hold part of the model; they come first in the
            device list, then this computer's GPUs (llama.cpp's own order: it keeps network transfers few).
        tensor_split: the share of the offloaded layers for each worker, in ``workers`` order, then one share for
            this computer's GPUs (empty: llama.cpp splits by the devices' free memory). A worker's share is divided
            evenly among its devices, this computer's among its GPUs.
        summary: the plan in a phrase for the status bar ("GPU + experts in RAM").
    """

    model_path: str
    n_ctx: int = 4096
    n_gpu_layers: int = 0
    cpu_tensor_patterns: tuple[str, ...] = ()
    n_threads: int | None = None
    n_threads_batch: int | None = None
    n_batch: int = 512
    flash_attn: FlashAttention = "auto"
    use_extra_bufts: bool | None = None
    swa_full: bool = False
    use_mmap: bool = True
    mmproj_path: str | None = None
    workers: tuple[str, ...] = ()
    tensor_split: tuple[float, ...] = ()
    summary: str = "CPU"
    extra: dict[str, Any] = field(default_factory=dict)
    cache_type_k: CacheType = "f16"
    cache_type_v: CacheType = "f16"
    speculative: Speculative = "auto"
    draft_model_path: str | None = None
    n_draft: int = 16

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cpu_tensor_patterns"] = list(self.cpu_tensor_patterns)
        data["workers"] = list(self.workers)
        data["tensor_split"] = list(self.tensor_split)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadPlan:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["cpu_tensor_patterns"] = tuple(values.get("cpu_tensor_patterns", ()))
        values["workers"] = tuple(str(w) for w in values.get("workers", ()))
        values["tensor_split"] = tuple(float(f) for f in values.get("tensor_split", ()))
        return cls(**values)

    def with_changes(self, **changes: Any) -> LoadPlan:
        return replace(self, **changes)

    def without_workers(self, gone: Collection[str]) -> LoadPlan:
        """The same plan without some workers: their layers go to the remaining devices in proportion.

        With no worker left and no share for this computer's GPUs, every layer stays on this computer's CPU.
        """
        keep = [i for i, w in enumerate(self.workers) if w not in gone]
        workers = tuple(self.workers[i] for i in keep)
        split: tuple[float, ...] = ()
        local_share = 1.0
        if self.tensor_split:
            local = list(self.tensor_split[len(self.workers):]) or [0.0]
            shares = [self.tensor_split[i] for i in keep if i < len(self.tensor_split)] + local
            local_share = sum(local)
            split = tuple(shares) if sum(shares) > 0 else ()
        gpu_layers = self.n_gpu_layers if workers or local_share > 0 else 0
        summary = self.summary if len(workers) == len(self.workers) else (
            f"{len(workers)} worker{'s' if len(workers) != 1 else ''} + this computer" if workers
            else "this computer only")
        return replace(self, workers=workers, tensor_split=split if workers else (), n_gpu_layers=gpu_layers,
                       summary=summary)
