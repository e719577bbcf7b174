"""What the engine client reports: load progress, prompt progress, tokens, final statistics, notices."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


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
    stop_reason: str
    cached_tokens: int = 0
    trimmed_turns: int = 0
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
    workers: tuple[WorkerShare, ...] = ()

    @classmethod
    def from_wire(cls, data: dict[str, Any], ttft_s: float | None, tokens_per_s: float | None) -> AnswerStats:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values.update({"ttft_s": ttft_s, "tokens_per_s": tokens_per_s})
        values.setdefault("tokens", 0)
        values.setdefault("prompt_tokens", 0)
        values.setdefault("stop_reason", "unknown")
        values["workers"] = WorkerShare.many(data.get("workers"))
        return cls(**values)

    def summary(self) -> dict[str, Any]:
        """The stats line of ``hearth chat --json``."""
        return {
            "tokens": self.tokens,
            "ttft_s": _round(self.ttft_s),
            "tokens_per_s": _round(self.tokens_per_s),
            "prompt_tokens": self.prompt_tokens,
            "stop_reason": self.stop_reason,
            "cached_tokens": self.cached_tokens,
            "trimmed_turns": self.trimmed_turns,
            "context_used": self.context_used,
            "n_ctx": self.n_ctx,
            "template": self.template,
            "images": self.images,
            "image_tokens": self.image_tokens,
            "workers": [{"endpoint": w.endpoint, "bytes": w.bytes} for w in self.workers],
        }


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

    @property
    def is_moe(self) -> bool:
        return self.expert_count > 1


EngineEvent = LoadProgress | PromptProgress | TokenDelta | EngineNotice | Finished
