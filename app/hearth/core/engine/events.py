"""What the engine client reports: load progress, prompt progress, tokens, final statistics, notices.

These are the events an ``EngineApi`` yields to its users (the GUI's engine worker, the CLI); the host's wire messages
that carry them are in ``protocol``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any


class StopReason(StrEnum):
    """Why an answer ended (kept with the answer in the store as its value)."""

    EOS = "eos"  # the model ended its turn
    STOP = "stop"  # a stop string appeared
    LENGTH = "length"  # the answer reached its token limit
    CONTEXT_FULL = "context_full"  # the context had no room left
    CANCELLED = "cancelled"  # the user stopped it
    REPETITION = "repetition"  # the loop guard ended an answer that repeated itself
    ERROR = "error"  # it failed (a crash, a refusal); set by the app, never by the engine
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: object) -> StopReason:
        """The reason named by ``value``; UNKNOWN for anything else (e.g. a value written by a later version)."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.UNKNOWN

    @property
    def cut_off(self) -> bool:
        """The answer ended before the model finished it: "Continue" can carry on."""
        return self in (StopReason.LENGTH, StopReason.CONTEXT_FULL, StopReason.REPETITION)


class EnginePhase(StrEnum):
    """What the engine is doing; a crash is explained by the phase it happened in (``HostCrashedError.during``)."""

    IDLE = "idle"
    STARTING = "start"  # the host process is starting
    LOADING = "load"  # a model is loading
    PROMPT = "prompt"  # the prompt is being read into the cache
    GENERATING = "generate"  # the answer is being written


@dataclass(frozen=True)
class LoadProgress:
    fraction: float


@dataclass(frozen=True)
class PromptProgress:
    """Prompt processing: ``done`` of ``total`` new tokens read (cached ones are not counted)."""

    request_id: int
    done: int
    total: int


@dataclass(frozen=True)
class TokenDelta:
    request_id: int
    text: str


@dataclass(frozen=True)
class EngineNotice:
    """Something the user should know that is not an error (e.g. a retry in safe mode)."""

    message: str


@dataclass(frozen=True)
class WorkerShare:
    """The weights a llama.cpp RPC worker holds for the loaded model, as llama.cpp reported them at load."""

    endpoint: str
    bytes: int

    @classmethod
    def many(cls, data: Any) -> tuple[WorkerShare, ...]:
        if not isinstance(data, list):
            return ()
        return tuple(cls(str(d.get("endpoint", "")), int(d.get("bytes") or 0)) for d in data if isinstance(d, dict))


@dataclass(frozen=True)
class AnswerStats:
    """How an answer went.

    ``ttft_s`` and ``tokens_per_s`` are measured by the app (they include the pipe); the ``host_`` ones inside the
    engine. ``tokens_per_s`` is the generation rate after the first token.
    """

    tokens: int
    ttft_s: float | None
    tokens_per_s: float | None
    prompt_tokens: int
    stop_reason: StopReason
    cached_tokens: int = 0
    trimmed_turns: int = 0
    trimmed_messages: int = 0  # the oldest messages left out of the prompt (no longer in the model's memory)
    context_used: int = 0
    n_ctx: int = 0
    template: str = ""
    prompt_eval_s: float | None = None
    prompt_decode_s: float | None = None
    prompt_decoded_tokens: int = 0
    host_ttft_s: float | None = None
    host_tokens_per_s: float | None = None
    images: int = 0
    image_tokens: int = 0
    flash_attn: bool | None = None
    cache_type_k: str = ""
    cache_type_v: str = ""
    speculative: str = "off"
    drafted_tokens: int = 0
    accepted_tokens: int = 0
    workers: tuple[WorkerShare, ...] = ()

    @classmethod
    def from_host(cls, data: dict[str, Any]) -> AnswerStats:
        """The host's statistics as it sent them (unknown keys are ignored, missing ones take defaults)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values.setdefault("tokens", 0)
        values.setdefault("ttft_s", None)
        values.setdefault("tokens_per_s", None)
        values.setdefault("prompt_tokens", 0)
        values["stop_reason"] = StopReason.parse(values.get("stop_reason"))
        values["workers"] = WorkerShare.many(data.get("workers"))
        return cls(**values)

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)

    def measured(self, ttft_s: float | None, tokens_per_s: float | None) -> AnswerStats:
        """These statistics with the app's own timings (which include the pipe)."""
        return replace(self, ttft_s=ttft_s, tokens_per_s=tokens_per_s)

    def summary(self) -> dict[str, Any]:
        """The stats line of ``hearth chat --json``."""
        return {
            "tokens": self.tokens,
            "ttft_s": _round(self.ttft_s),
            "tokens_per_s": _round(self.tokens_per_s),
            "prompt_tokens": self.prompt_tokens,
            "stop_reason": self.stop_reason.value,
            "cached_tokens": self.cached_tokens,
            "trimmed_turns": self.trimmed_turns,
            "trimmed_messages": self.trimmed_messages,
            "context_used": self.context_used,
            "n_ctx": self.n_ctx,
            "template": self.template,
            "images": self.images,
            "image_tokens": self.image_tokens,
            "flash_attn": self.flash_attn,
            "kv_type": self.kv_type,
            "speculative": self.speculative,
            "drafted_tokens": self.drafted_tokens,
            "accepted_tokens": self.accepted_tokens,
            "workers": [{"endpoint": w.endpoint, "bytes": w.bytes} for w in self.workers],
        }

    @property
    def kv_type(self) -> str:
        """The KV cache's types as one word ("q8_0"), or "K/V" when they differ ("q8_0/f16")."""
        if self.cache_type_k == self.cache_type_v:
            return self.cache_type_k
        return f"{self.cache_type_k}/{self.cache_type_v}"

    @property
    def acceptance(self) -> float | None:
        """The share of drafted tokens the model kept (None when nothing was drafted)."""
        return self.accepted_tokens / self.drafted_tokens if self.drafted_tokens else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass(frozen=True)
class Finished:
    request_id: int
    stats: AnswerStats


@dataclass(frozen=True)
class ModelInfo:
    """What the engine learned when it loaded a model.

    ``vision`` is True when a vision projector (mmproj) is loaded with the model: messages may then carry images
    (see ``hearth.core.engine.media``). Without one, a message with images is refused with ``NoVisionError``.
    ``tools_in_template`` says whether the model's chat template writes tools itself, and ``tool_format`` (a
    ``ToolFormat`` value) how the model writes its calls.
    """

    path: str
    architecture: str
    name: str
    n_ctx: int
    n_ctx_train: int
    n_layer: int
    n_params: int
    size_bytes: int
    expert_count: int
    expert_used_count: int
    template_origin: str
    use_extra_bufts: bool
    use_extra_bufts_reason: str
    n_threads: int
    gpu_offload: bool
    load_seconds: float
    plan_summary: str = ""
    vision: bool = False
    mmproj_path: str = ""
    flash_attn: bool | None = None
    flash_attn_requested: str = "auto"
    cache_type_k: str = ""
    cache_type_v: str = ""
    cache_note: str = ""
    kv_cache_bytes: int = 0
    compute_buffer_bytes: int = 0
    model_buffer_bytes: int = 0
    speculative: str = "off"
    speculative_note: str = ""
    workers: tuple[WorkerShare, ...] = ()
    tools_in_template: bool = False
    tool_format: str = "hermes"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> ModelInfo:
        known = {f.name for f in fields(cls)} - {"raw"}
        values = {k: data[k] for k in known if k in data}
        values["workers"] = WorkerShare.many(data.get("workers"))
        defaults: dict[str, Any] = {
            "path": "", "architecture": "unknown", "name": "", "n_ctx": 0, "n_ctx_train": 0, "n_layer": 0,
            "n_params": 0, "size_bytes": 0, "expert_count": 0, "expert_used_count": 0, "template_origin": "",
            "use_extra_bufts": True, "use_extra_bufts_reason": "", "n_threads": 0, "gpu_offload": False,
            "load_seconds": 0.0,
        }
        for key, value in defaults.items():
            values.setdefault(key, value)
        return cls(raw=dict(data), **values)

    def to_wire(self) -> dict[str, Any]:
        """The fields, and what the host reported beyond them (``raw``), as one dictionary."""
        data = asdict(self)  # nested dataclasses (workers) become dictionaries, as JSON needs
        del data["raw"]
        data.update(self.raw)
        return data

    @property
    def is_moe(self) -> bool:
        return self.expert_count > 1


EngineEvent = LoadProgress | PromptProgress | TokenDelta | EngineNotice | Finished
