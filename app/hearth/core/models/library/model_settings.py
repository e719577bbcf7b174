"""Per-model choices the user can make, layered over what the planner recommends.

Stored in ``Settings.model_overrides`` keyed by the model's path. ``None`` means "as recommended": the planner's plan
and the model's recommended sampling (``hearth.core.models.library.recommended``). "Reset to recommended" simply
forgets the overrides.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from hearth.core.engine.plan import LoadPlan, expert_patterns
from hearth.core.engine.sampling import SamplingParams

# "auto": the planner decides; "cpu": all routed experts in RAM; "gpu": experts follow the layers; "first:N".
EXPERT_PLACEMENTS = ("auto", "cpu", "gpu")
FLASH_ATTENTION = ("auto", "on", "off")
KV_TYPES = ("auto", "f16", "q8_0", "q4_0")  # "auto": 16-bit, or 8-bit when the context only fits that way
SPECULATIVE = ("auto", "lookup", "off", "draft")


@dataclass(frozen=True)
class ModelSettings:
    """What the user changed for one model (None: keep the recommendation).

    Attributes:
        n_ctx: context size in tokens.
        n_gpu_layers: layers on the GPU (-1 all).
        expert_placement: "auto", "cpu", "gpu" or "first:N" (the first N layers' experts in RAM).
        n_threads: CPU threads.
        system_prompt: the default system prompt for new conversations with this model.
        flash_attn: "auto" (llama.cpp decides), "on" or "off".
        kv_type: the KV cache's type for keys and values, or "auto" (see ``KV_TYPES``).
        speculative: "auto" (prompt lookup when a document or code is attached), "lookup", "off" or "draft".
        draft_model: the draft model's GGUF for "draft" (a small model with the same tokenizer).
        temperature, top_p, top_k, min_p, repeat_penalty, max_tokens, seed: sampling.
        dry_multiplier: the DRY repetition guard's strength (0: off).
        loop_guard: whether an answer that repeats itself is ended.
    """

    n_ctx: int | None = None
    n_gpu_layers: int | None = None
    expert_placement: str = "auto"
    n_threads: int | None = None
    system_prompt: str = ""
    flash_attn: str = "auto"
    kv_type: str = "auto"
    speculative: str = "auto"
    draft_model: str = ""
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    repeat_penalty: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    dry_multiplier: float | None = None
    loop_guard: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        defaults = ModelSettings()
        return {k: v for k, v in asdict(self).items() if v != getattr(defaults, k)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ModelSettings:
        if not data:
            return cls()
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        try:
            return cls(**values)
        except TypeError:
            return cls()

    @property
    def is_default(self) -> bool:
        return self == ModelSettings()

    def apply_to_plan(self, plan: LoadPlan, n_layers: int | None = None) -> LoadPlan:
        """The recommended plan with the user's placement choices on top."""
        changes: dict[str, Any] = {}
        if self.n_ctx is not None:
            changes["n_ctx"] = self.n_ctx
        if self.n_gpu_layers is not None:
            changes["n_gpu_layers"] = self.n_gpu_layers
        if self.n_threads is not None:
            changes["n_threads"] = self.n_threads
        if self.flash_attn in FLASH_ATTENTION and self.flash_attn != plan.flash_attn:
            changes["flash_attn"] = self.flash_attn
        if self.kv_type in KV_TYPES[1:] and (plan.cache_type_k, plan.cache_type_v) != (self.kv_type, self.kv_type):
            changes["cache_type_k"] = changes["cache_type_v"] = self.kv_type
        if self.speculative in SPECULATIVE and self.speculative != plan.speculative:
            changes["speculative"] = self.speculative
            if self.speculative == "draft":
                changes["draft_model_path"] = self.draft_model or None
        placement = self.expert_placement
        if placement == "cpu":
            changes["cpu_tensor_patterns"] = expert_patterns()
        elif placement == "gpu":
            changes["cpu_tensor_patterns"] = ()
        elif placement.startswith("first:"):
            try:
                count = int(placement.split(":", 1)[1])
            except ValueError:
                count = 0
            if n_layers is not None:
                count = min(count, n_layers)
            changes["cpu_tensor_patterns"] = expert_patterns(count) if count > 0 else ()
        if not changes:
            return plan
        return replace(plan, summary=f"{plan.summary} (custom)", **changes)

    def apply_to_sampling(self, params: SamplingParams) -> SamplingParams:
        changes = {
            name: getattr(self, name)
            for name in ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens", "seed",
                         "dry_multiplier", "loop_guard")
            if getattr(self, name) is not None
        }
        return params.with_changes(**changes) if changes else params
