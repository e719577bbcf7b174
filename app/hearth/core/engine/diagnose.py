"""Plain words for why the engine host ended or refused a model."""

from __future__ import annotations

import re
import signal
from collections.abc import Sequence
from pathlib import Path

from hearth.core.engine.events import EnginePhase
from hearth.core.errors import HostCrashedError, ModelFileError, ModelLoadError, VisionFileError

_DURING = {
    EnginePhase.LOADING: "while loading the model",
    EnginePhase.PROMPT: "while reading your message",
    EnginePhase.GENERATING: "while writing the answer",
    EnginePhase.IDLE: "while idle",
    EnginePhase.STARTING: "while starting",
}

_SIGNALS = {
    "SIGKILL": "it was killed by the system (SIGKILL). This usually means the computer ran out of memory",
    "SIGSEGV": "it crashed (segmentation fault, SIGSEGV) inside llama.cpp",
    "SIGABRT": "llama.cpp stopped it after an internal check failed (abort, SIGABRT)",
    "SIGBUS": "it crashed reading the model file (SIGBUS); the file may have changed or the disk failed",
    "SIGILL": "this build of llama.cpp uses processor instructions this CPU lacks (SIGILL)",
    "SIGTERM": "it was asked to stop (SIGTERM)",
    "SIGFPE": "it crashed on an arithmetic error (SIGFPE) inside llama.cpp",
}

_ERROR_WORDS = ("error", "failed", "abort", "assert", "invalid", "corrupt", "exception", "out of memory")

# How running out of memory shows in the log when an allocation fails (rather than the system's SIGKILL): ggml's
# asserts on a NULL buffer, C++'s bad_alloc, errno ENOMEM, Python's MemoryError.
_OUT_OF_MEMORY = ("failed to allocate", "unable to allocate", "out of memory", "mem_buffer != null", "bad_alloc",
                  "cannot allocate memory", "memoryerror")


def ran_out_of_memory(log_tail: Sequence[str]) -> bool:
    """Whether llama.cpp's log says an allocation failed."""
    return any(word in line.lower() for line in log_tail for word in _OUT_OF_MEMORY)


def signal_name(returncode: int | None) -> str | None:
    if returncode is None or returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


# Lines that contain an error word but report nothing wrong.
_ROUTINE = ("set_abort_callback",)


def relevant_lines(log_tail: Sequence[str], limit: int = 4) -> list[str]:
    """The last few lines of llama.cpp's log that look like the cause."""
    hits = [line.strip() for line in log_tail
            if any(w in line.lower() for w in _ERROR_WORDS) and not line.startswith(_ROUTINE)]
    chosen = hits[-limit:] if hits else [line.strip() for line in log_tail[-limit:]]
    return [line for line in chosen if line]


def crash_error(returncode: int | None, log_tail: Sequence[str], during: EnginePhase) -> HostCrashedError:
    name = signal_name(returncode)
    if name is not None:
        why = _SIGNALS.get(name, f"it was ended by {name}")
    elif returncode is None:
        why = "it stopped responding"
    else:
        why = f"it exited with status {returncode}"
    out_of_memory = name != "SIGKILL" and ran_out_of_memory(log_tail)
    if out_of_memory:
        why = f"it ran out of memory ({name or f'status {returncode}'} after an allocation failed)"
    lines = relevant_lines(log_tail)
    message = f"The model engine stopped {_DURING.get(during, 'unexpectedly')}: {why}."
    hint = "Your conversation is safe. Hearth has restarted the engine; send the message again to retry."
    if name == "SIGKILL" or out_of_memory:
        hint = "Your conversation is safe. Try a smaller model or quantization, or a smaller context size."
    return HostCrashedError(
        message,
        hint=hint,
        details="\n".join(lines),
        returncode=returncode,
        log_tail=tuple(log_tail),
        during=during,
    )


def load_failure(path: str, log_tail: Sequence[str]) -> ModelLoadError:
    """Turn llama.cpp's refusal to load a file into a reason a person can act on."""
    text = "\n".join(log_tail).lower()
    details = "\n".join(relevant_lines(log_tail))
    if "not within the file bounds" in text or "unexpectedly reached end of file" in text or "truncated" in text:
        return ModelFileError(
            "The model file is incomplete or damaged: it ends before all of its data.",
            hint="Download it again (Hearth resumes and verifies downloads).",
            details=details,
        )
    if "clip cannot be used as main model" in text:
        return ModelFileError(
            "This file is a vision projector (mmproj), not a model.",
            hint="Load the model's own GGUF file, and choose this one as its vision file.",
            details=details,
        )
    if "unknown model architecture" in text:
        return ModelLoadError(
            "This model's architecture is not supported by the bundled llama.cpp.",
            hint="Update Hearth, or choose a different model.",
            details=details,
        )
    if ran_out_of_memory(log_tail):
        return ModelLoadError(
            "There is not enough memory to load this model with these settings.",
            hint="Choose a smaller quantization, fewer GPU layers, or a smaller context.",
            details=details,
        )
    if "invalid magic" in text or "failed to read" in text or "gguf_init" in text:
        return ModelFileError(
            "The model file is damaged: llama.cpp could not read its header.",
            hint="Download it again.",
            details=details,
        )
    return ModelLoadError(f"llama.cpp could not load {path}.", details=details)


_EMBD_MISMATCH = re.compile(r"mismatch between text model \(n_embd = (\d+)\) and mmproj \(n_embd = (\d+)\)")


def vision_load_failure(path: str, log_tail: Sequence[str]) -> VisionFileError:
    """Turn llama.cpp's refusal of a vision projector (mmproj) into a reason a person can act on."""
    joined = "\n".join(log_tail)
    text = joined.lower()
    name = Path(path).name
    details = "\n".join(relevant_lines(log_tail))
    hint = "Choose the mmproj file made for this model (it comes from the same download page)."
    mismatch = _EMBD_MISMATCH.search(joined)
    if mismatch:
        return VisionFileError(
            f"{name} belongs to a different model: it makes image embeddings {mismatch[2]} wide, and this model "
            f"reads {mismatch[1]}.",
            hint=hint,
            details=details,
        )
    if "unknown projector type" in text:
        return VisionFileError(f"{name} is a kind of vision projector that the bundled llama.cpp does not know.",
                               hint="Update Hearth, or choose a different model.", details=details)
    if "cancelled" in text and "progress_callback" in text:
        return VisionFileError("Loading was cancelled.", details=details)
    if "failed to allocate" in text or "out of memory" in text or "unable to allocate" in text:
        return VisionFileError(f"There is not enough memory to load the vision file {name} as well.",
                               hint="Choose a smaller context or quantization, or load the model without vision.",
                               details=details)
    if "unable to find tensor" in text or "failed to seek" in text or "failed to read" in text:
        return VisionFileError(f"The vision file {name} is incomplete or damaged.", hint="Download it again.",
                               details=details)
    return VisionFileError(f"The vision file (mmproj) {name} could not be loaded.", hint=hint, details=details)
