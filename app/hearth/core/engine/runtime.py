"""A loaded model and its context, driven through llama-cpp-python's low-level (ctypes) API.

Runs only inside the engine host process. The high-level ``llama_cpp.Llama`` class is not used because it offers no
way to set ``tensor_buft_overrides`` (experts in CPU RAM), ``use_extra_bufts`` (the AMX crash) or a load-progress
callback, and because the host's own loop is what the benchmarks compare against a bare loop.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import llama_cpp as L
import numpy as np

from hearth.core.engine.llama_report import LlamaLogCapture, LlamaReport, parse_report
from hearth.core.engine.plan import LoadPlan, resolve_cache_types
from hearth.core.errors import GenerationError, InvalidRequestError, ModelLoadError

_FLASH = {"auto": L.LLAMA_FLASH_ATTN_TYPE_AUTO, "on": L.LLAMA_FLASH_ATTN_TYPE_ENABLED,
          "off": L.LLAMA_FLASH_ATTN_TYPE_DISABLED}
_GGML_TYPES = {"f16": L.GGML_TYPE_F16, "q8_0": L.GGML_TYPE_Q8_0, "q4_0": L.GGML_TYPE_Q4_0}

_backend_ready = False

# Where DRY's memory of a repeated sequence is reset (llama.cpp's defaults): a new line, a colon, a quote, an
# asterisk. Structured text (lists, code, dialogue) repeats across these legitimately.
DRY_SEQUENCE_BREAKERS = ("\n", ":", "\"", "*")


class _BuftOverride(ctypes.Structure):
    """``struct llama_model_tensor_buft_override`` (llama-cpp-python declares the field as a bare pointer)."""

    _fields_ = [("pattern", ctypes.c_char_p), ("buft", ctypes.c_void_p)]


def cpu_buffer_type() -> int:
    """ggml's CPU buffer type, from the ggml that libllama already loaded.

    Looking the symbols up through libllama's handle resolves them in the copies of ggml that llama.cpp uses. Opening
    ``libggml-base.so`` by path instead would load a second copy whose pointer llama.cpp does not recognise. Builds
    with dynamically loaded backends (``GGML_BACKEND_DL``, used for portable CPU installers) do not export
    ``ggml_backend_cpu_buffer_type``; there the CPU device's buffer type is asked for through the device registry.
    """
    lib = L.llama_cpp._lib
    value = None
    try:
        fn = lib.ggml_backend_cpu_buffer_type
    except AttributeError:
        by_type = lib.ggml_backend_dev_by_type
        by_type.argtypes = [ctypes.c_int]
        by_type.restype = ctypes.c_void_p
        device = by_type(0)  # GGML_BACKEND_DEVICE_TYPE_CPU
        if device:
            dev_buft = lib.ggml_backend_dev_buffer_type
            dev_buft.argtypes = [ctypes.c_void_p]
            dev_buft.restype = ctypes.c_void_p
            value = dev_buft(device)
    else:
        fn.argtypes = []
        fn.restype = ctypes.c_void_p
        value = fn()
    if not value:
        raise ModelLoadError("llama.cpp has no CPU buffer type; this build of llama-cpp-python is unusable.")
    return int(value)


def _ensure_backend() -> None:
    global _backend_ready
    if not _backend_ready:
        # NULL log callback: llama.cpp writes straight to stderr, which the app captures, at no Python cost.
        L.llama_log_set(L.llama_log_callback(), ctypes.c_void_p(0))
        L.llama_backend_init()
        _backend_ready = True


def _worker_devices(plan: LoadPlan) -> tuple[Any, Any]:
    """The device list (workers' devices first, then this computer's GPUs) and the layer split over it."""
    from hearth.core.engine import rpc

    shares: list[float] = []
    devices: list[rpc.LocalDevice] = []
    for i, endpoint in enumerate(plan.workers):
        lent = rpc.add_worker(endpoint)
        devices += lent
        share = plan.tensor_split[i] if i < len(plan.tensor_split) else 1.0
        shares += [share / len(lent)] * len(lent)
    gpus = [d for d in rpc.local_devices() if d.kind in ("gpu", "igpu") and not d.name.startswith("RPC")]
    local_share = sum(plan.tensor_split[len(plan.workers):]) if plan.tensor_split else 1.0
    if gpus and local_share > 0:
        devices += gpus
        shares += [local_share / len(gpus)] * len(gpus)
    split = None
    if plan.tensor_split:
        # llama.cpp reads one float per device it may use (up to its maximum), zeros for the rest.
        split = (ctypes.c_float * max(len(shares), int(L.llama_max_devices())))(*shares)
    return rpc.device_array(devices), split


def _worker_bytes(plan: LoadPlan, log: str) -> list[dict[str, Any]]:
    """The weights each worker holds, as llama.cpp's load log reports them (0 for a worker it did not use)."""
    if not plan.workers:
        return []
    from hearth.core.engine.rpc import worker_bytes_from_log

    held = worker_bytes_from_log(log.splitlines())
    return [{"endpoint": endpoint, "bytes": held.get(endpoint, 0)} for endpoint in plan.workers]


class DecodeAborted(Exception):
    """Prompt processing was interrupted by a cancel; ``kept`` tokens remain in the cache."""

    def __init__(self, kept: int) -> None:
        super().__init__(kept)
        self.kept = kept


class ContextFull(Exception):
    """llama.cpp found no room in the KV cache for the next batch."""


class ModelRuntime:
    """One model and one context in llama.cpp.

    Args:
        plan: where everything goes.
        use_extra_bufts: the resolved value of ``plan.use_extra_bufts``.
        on_progress: called with the load fraction (0..1); return False to cancel loading.
        abort_flag: an event that, when set, interrupts a running ``llama_decode``.
    """

    def __init__(
        self,
        plan: LoadPlan,
        *,
        use_extra_bufts: bool,
        on_progress: Callable[[float], bool],
        abort_flag: threading.Event,
        n_threads: int,
    ) -> None:
        _ensure_backend()
        self.plan = plan
        self._abort_flag = abort_flag
        self._on_progress = on_progress
        mp = L.llama_model_default_params()
        mp.n_gpu_layers = plan.n_gpu_layers
        self._devices: Any = None
        self._split: Any = None
        if plan.workers:
            self._devices, self._split = _worker_devices(plan)
            mp.devices = ctypes.cast(self._devices, ctypes.c_void_p)
            if self._split is not None:
                mp.tensor_split = self._split
        mp.use_extra_bufts = use_extra_bufts
        mp.load_mode = L.LLAMA_LOAD_MODE_MMAP if plan.use_mmap else L.LLAMA_LOAD_MODE_NONE
        # ctypes objects that llama.cpp points into must outlive the model: keep them on self.
        self._progress_cb = L.llama_progress_callback(self._progress)
        mp.progress_callback = self._progress_cb
        self._overrides = self._build_overrides(plan.cpu_tensor_patterns)
        if self._overrides is not None:
            mp.tensor_buft_overrides = ctypes.cast(self._overrides, ctypes.c_void_p)
        started = time.perf_counter()
        # llama.cpp's log is read while it loads: it is the only place that says what it allocated and settled on.
        capture = LlamaLogCapture()
        with capture:
            self._create(plan, mp, n_threads)
        self.report: LlamaReport = parse_report(capture.text)
        self.worker_bytes = _worker_bytes(plan, capture.text)
        self.load_seconds = time.perf_counter() - started
        self.n_ctx = int(L.llama_n_ctx(self.ctx))
        self.n_batch = int(L.llama_n_batch(self.ctx))
        self._batch = L.llama_batch_init(self.n_batch, 0, 1)
        self._piece = ctypes.create_string_buffer(256)
        # The abort callback runs once per graph node, in Python: installed only while a prompt is read (where
        # it makes Stop work inside one long batch), removed for single-token decodes where it would cost ~5%.
        self._abort_cb = L.ggml_abort_callback(self._should_abort)
        self._no_abort_cb = L.ggml_abort_callback()
        self.n_vocab = int(L.llama_vocab_n_tokens(self.vocab))
        self.bos_id = int(L.llama_vocab_bos(self.vocab))
        self.eos_id = int(L.llama_vocab_eos(self.vocab))
        self.add_bos = bool(L.llama_vocab_get_add_bos(self.vocab))
        self._eog_tokens: list[int] | None = None

    def _create(self, plan: LoadPlan, mp: Any, n_threads: int) -> None:
        model = L.llama_model_load_from_file(plan.model_path.encode(), mp)
        if not model:
            raise ModelLoadError(f"llama.cpp could not load {plan.model_path}.")
        self.model = model
        self.vocab = L.llama_model_get_vocab(model)

        cp = L.llama_context_default_params()
        cp.n_ctx = plan.n_ctx
        cp.n_batch = plan.n_batch
        cp.n_ubatch = plan.n_batch
        cp.n_threads = n_threads
        cp.n_threads_batch = plan.n_threads_batch or n_threads
        cp.flash_attn_type = _FLASH.get(plan.flash_attn, L.LLAMA_FLASH_ATTN_TYPE_AUTO)
        type_k, type_v, self.cache_note = resolve_cache_types(plan)
        if (type_k, type_v) != ("f16", "f16") and self._head_size() % 32:
            # q8_0 and q4_0 store blocks of 32 values: a head that is not a multiple of 32 cannot be quantized.
            self.cache_note = (f"This model's attention heads ({self._head_size()} values) cannot be stored in "
                               f"{type_k}/{type_v} blocks of 32: the KV cache stays 16-bit.")
            type_k = type_v = "f16"
        cp.type_k = _GGML_TYPES[type_k]
        cp.type_v = _GGML_TYPES[type_v]
        cp.swa_full = plan.swa_full
        cp.no_perf = True
        ctx = L.llama_init_from_model(model, cp)
        if not ctx:
            L.llama_model_free(model)
            self.model = None
            raise ModelLoadError(
                f"llama.cpp could not create a context of {plan.n_ctx:,} tokens for this model.",
                hint="Try a smaller context size or a smaller (8-bit) KV cache.",
            )
        self.ctx = ctx
        self.memory = L.llama_get_memory(ctx)

    # --- loading -------------------------------------------------------------------------------------------------

    def _head_size(self) -> int:
        """Values per attention head (keys), from the header or the embedding width."""
        arch = self.meta("general.architecture") or ""
        for key in (f"{arch}.attention.key_length", f"{arch}.attention.value_length"):
            value = self.meta(key)
            if value and value.isdigit() and int(value) % 32:
                return int(value)
        n_head = int(L.llama_model_n_head(self.model)) or 1
        return int(L.llama_model_n_embd(self.model)) // n_head

    def _progress(self, fraction: float, _user: ctypes.c_void_p) -> bool:
        try:
            return bool(self._on_progress(float(fraction)))
        except Exception:  # an exception must not unwind through C
            return True

    def _should_abort(self, _user: ctypes.c_void_p) -> bool:
        return self._abort_flag.is_set()

    @staticmethod
    def _build_overrides(patterns: Sequence[str]) -> ctypes.Array[_BuftOverride] | None:
        if not patterns:
            return None
        buft = cpu_buffer_type()
        array = (_BuftOverride * (len(patterns) + 1))()
        for i, pattern in enumerate(patterns):
            array[i].pattern = pattern.encode()
            array[i].buft = buft
        array[len(patterns)].pattern = None  # NULL terminator
        array[len(patterns)].buft = None
        return array

    # --- model facts ---------------------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        buf = ctypes.create_string_buffer(4096)
        n = L.llama_model_meta_val_str(self.model, key.encode(), buf, len(buf))
        if n < 0:
            return None
        if n >= len(buf):
            buf = ctypes.create_string_buffer(n + 1)
            L.llama_model_meta_val_str(self.model, key.encode(), buf, len(buf))
        return buf.value.decode("utf-8", errors="replace")

    def chat_template(self) -> str | None:
        raw = L.llama_model_chat_template(self.model, None)
        return raw.decode("utf-8", errors="replace") if raw else None

    def token_text(self, token: int) -> str:
        if token < 0:
            return ""
        raw = L.llama_vocab_get_text(self.vocab, token)
        return raw.decode("utf-8", errors="replace") if raw else ""

    def is_single_token(self, text: str) -> bool:
        tokens = self.tokenize(text, add_special=False, parse_special=True)
        return len(tokens) == 1 and self.token_text(tokens[0]) == text

    def describe(self) -> dict[str, Any]:
        arch = self.meta("general.architecture") or "unknown"
        experts = self.meta(f"{arch}.expert_count")
        experts_used = self.meta(f"{arch}.expert_used_count")
        desc = ctypes.create_string_buffer(256)
        L.llama_model_desc(self.model, desc, len(desc))
        return {
            "architecture": arch,
            "name": self.meta("general.name") or "",
            "description": desc.value.decode("utf-8", errors="replace"),
            "n_params": int(L.llama_model_n_params(self.model)),
            "size_bytes": int(L.llama_model_size(self.model)),
            "n_ctx": self.n_ctx,
            "n_ctx_train": int(L.llama_model_n_ctx_train(self.model)),
            "n_layer": int(L.llama_model_n_layer(self.model)),
            "n_swa": int(L.llama_model_n_swa(self.model)),
            "n_vocab": int(L.llama_vocab_n_tokens(self.vocab)),
            "expert_count": int(experts) if experts and experts.isdigit() else 0,
            "expert_used_count": int(experts_used) if experts_used and experts_used.isdigit() else 0,
            "gpu_offload": bool(L.llama_supports_gpu_offload()),
            "load_seconds": self.load_seconds,
            "flash_attn_requested": self.plan.flash_attn,
            "cache_note": self.cache_note,
            **self.report.to_dict(),
            "workers": self.worker_bytes,
        }

    # --- tokens --------------------------------------------------------------------------------------------------

    def tokenize(self, text: str, *, add_special: bool, parse_special: bool = True) -> list[int]:
        data = text.encode("utf-8")
        capacity = len(data) + 8
        buf = (L.llama_token * capacity)()
        n = L.llama_tokenize(self.vocab, data, len(data), buf, capacity, add_special, parse_special)
        if n < 0:
            capacity = -n
            buf = (L.llama_token * capacity)()
            n = L.llama_tokenize(self.vocab, data, len(data), buf, capacity, add_special, parse_special)
        if n < 0:
            raise GenerationError("The prompt could not be tokenized.")
        return list(buf[:n])

    def piece(self, token: int) -> bytes:
        n = L.llama_token_to_piece(self.vocab, token, self._piece, len(self._piece), 0, False)
        if n < 0:
            self._piece = ctypes.create_string_buffer(-n + 1)
            n = L.llama_token_to_piece(self.vocab, token, self._piece, len(self._piece), 0, False)
        return self._piece.raw[:n]

    def is_end_of_turn(self, token: int) -> bool:
        return bool(L.llama_vocab_is_eog(self.vocab, token))

    # --- memory --------------------------------------------------------------------------------------------------

    def keep_prefix(self, n: int) -> bool:
        """Drop cached positions from ``n`` on; False if the cache cannot be cut there (then clear it)."""
        if L.llama_memory_seq_rm(self.memory, 0, n, -1):
            return True
        L.llama_memory_clear(self.memory, True)
        return False

    def clear(self) -> None:
        L.llama_memory_clear(self.memory, True)

    def can_reuse(self, n_common: int) -> bool:
        """Whether the first ``n_common`` cached positions are usable (sliding-window layers may have dropped some)."""
        if n_common <= 0:
            return False
        pos_min = int(L.llama_memory_seq_pos_min(self.memory, 0))
        n_swa = max(1, int(L.llama_model_n_swa(self.model)))
        return not (pos_min > 0 and pos_min > n_common - n_swa)

    @property
    def can_roll_back(self) -> bool:
        """Whether the last cached positions can be dropped (not for recurrent or hybrid models' state)."""
        return not (L.llama_model_is_recurrent(self.model) or L.llama_model_is_hybrid(self.model))

    def cached_positions(self) -> int:
        return int(L.llama_memory_seq_pos_max(self.memory, 0)) + 1

    # --- decoding ------------------------------------------------------------------------------------------------

    def decode(
        self,
        tokens: Sequence[int],
        start: int,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        """Feed tokens at positions ``start..``; logits are kept for the last one.

        Raises:
            DecodeAborted: the abort flag was set; the cache holds ``kept`` positions.
            ContextFull: no room left in the context.
            GenerationError: llama.cpp failed.
        """
        if len(tokens) > 1:
            with self.abortable():
                self._decode_batches(tokens, start, on_batch)
        else:
            self._decode_batches(tokens, start, on_batch)

    @contextlib.contextmanager
    def abortable(self) -> Iterator[None]:
        """While active, setting the abort flag interrupts llama.cpp's computation in this context.

        Used for prompts, including the image embeddings that the vision projector decodes into this context.
        """
        L.llama_set_abort_callback(self.ctx, self._abort_cb, ctypes.c_void_p(0))
        try:
            yield
        finally:
            L.llama_set_abort_callback(self.ctx, self._no_abort_cb, ctypes.c_void_p(0))

    def _decode_batches(
        self, tokens: Sequence[int], start: int, on_batch: Callable[[int], None] | None
    ) -> None:
        batch = self._batch
        total = len(tokens)
        done = 0
        while done < total:
            if self._abort_flag.is_set():
                raise DecodeAborted(start + done)
            chunk = tokens[done:done + self.n_batch]
            count = len(chunk)
            for i, token in enumerate(chunk):
                batch.token[i] = token
                batch.pos[i] = start + done + i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = 0
            batch.logits[count - 1] = 1 if done + count == total else 0
            batch.n_tokens = count
            self._decode(batch, "to process the prompt")
            done += count
            if on_batch is not None:
                on_batch(done)

    def _decode(self, batch: Any, doing: str) -> None:
        """``llama_decode`` with its return codes as errors: 1 the context is full, 2 aborted (``abort_flag``)."""
        rc = L.llama_decode(self.ctx, batch)
        if rc == 1:
            raise ContextFull()
        if rc == 2:
            raise DecodeAborted(self.cached_positions())
        if rc != 0:
            raise GenerationError(f"llama.cpp failed {doing} (code {rc}).")

    def decode_one(self, token: int, pos: int) -> None:
        batch = self._batch
        batch.token[0] = token
        batch.pos[0] = pos
        batch.n_seq_id[0] = 1
        batch.seq_id[0][0] = 0
        batch.logits[0] = 1
        batch.n_tokens = 1
        self._decode(batch, "while writing the answer")

    def decode_block(self, tokens: Sequence[int], start: int) -> None:
        """Feed a few tokens at positions ``start..`` in one batch, keeping logits for every one of them.

        Used to verify drafted tokens: the logits at index i are the model's next-token scores after ``tokens[i]``.
        """
        batch = self._batch
        count = len(tokens)
        assert 0 < count <= self.n_batch
        for i, token in enumerate(tokens):
            batch.token[i] = token
            batch.pos[i] = start + i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = 1
        batch.n_tokens = count
        self._decode(batch, "while writing the answer")

    def margin(self, index: int) -> float:
        """How far the most likely next token's score is ahead of the second's, at batch position ``index``."""
        row = L.llama_get_logits_ith(self.ctx, index)
        if not row:
            return 0.0
        scores = np.ctypeslib.as_array(row, shape=(self.n_vocab,))
        top = np.partition(scores, -2)[-2:]
        return float(top[1] - top[0])

    def same_vocabulary(self, other: ModelRuntime) -> bool:
        """Whether ``other`` splits text into the same tokens (what a draft model needs), like llama.cpp's check."""
        if int(L.llama_vocab_type(self.vocab)) != int(L.llama_vocab_type(other.vocab)):
            return False
        if (self.bos_id, self.eos_id) != (other.bos_id, other.eos_id):
            return False
        n = int(L.llama_vocab_n_tokens(self.vocab))
        if abs(n - int(L.llama_vocab_n_tokens(other.vocab))) > 128:  # padding rows may differ
            return False
        step = max(1, n // 2000)
        return all(self.token_text(i) == other.token_text(i) for i in range(0, n, step))

    # --- sampling ------------------------------------------------------------------------------------------------

    def make_sampler(
        self,
        *,
        temperature: float,
        top_k: int,
        top_p: float,
        min_p: float,
        repeat_penalty: float,
        repeat_last_n: int,
        seed: int,
        dry_multiplier: float = 0.0,
        dry_base: float = 1.75,
        dry_allowed_length: int = 2,
        dry_penalty_last_n: int = -1,
        frequency_penalty: float = 0.0,
        presence_penalty: float = 0.0,
        logit_bias: Sequence[tuple[int, float]] = (),
        ignore_eos: bool = False,
        grammar: str | None = None,
    ) -> Sampler:
        """A sampler chain in llama.cpp's usual order: biases, repetition penalties, DRY, then the truncations and the
        draw.

        Biases come first (a ban must hold whatever follows). The penalties run before greedy too, so a deterministic
        answer is guarded against loops as well. A grammar is checked apart from the chain (see ``GrammarSampler``).

        Raises:
            InvalidRequestError: llama.cpp refused the grammar.
        """
        chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
        keep: list[Any] = []
        n_vocab = int(L.llama_vocab_n_tokens(self.vocab))
        biases = dict(logit_bias)
        if ignore_eos:
            biases.update({token: -math.inf for token in self.end_of_turn_tokens()})
        if biases:
            items = [(t, b) for t, b in biases.items() if 0 <= t < n_vocab]
            array = (L.llama_logit_bias * max(1, len(items)))(*(L.llama_logit_bias(t, b) for t, b in items))
            keep.append(array)
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_logit_bias(n_vocab, len(items), array))
        if repeat_penalty != 1.0 or frequency_penalty or presence_penalty:
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_penalties(
                n_vocab, repeat_last_n, repeat_penalty, frequency_penalty, presence_penalty))
        if dry_multiplier > 0:
            breakers = (ctypes.c_char_p * len(DRY_SEQUENCE_BREAKERS))(*(b.encode() for b in DRY_SEQUENCE_BREAKERS))
            keep.append(breakers)
            last_n = dry_penalty_last_n if dry_penalty_last_n >= 0 else self.n_ctx
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_dry(
                self.vocab, dry_multiplier, dry_base, dry_allowed_length, last_n, breakers, len(breakers)))
        grammar_sampler = None
        if grammar:
            grammar_sampler = L.llama_sampler_init_grammar(self.vocab, grammar.encode("utf-8"), b"root")
            if not grammar_sampler:
                L.llama_sampler_free(chain)
                raise InvalidRequestError("llama.cpp could not use the grammar of this request.",
                                          details=grammar[:2000], param="grammar")
        if temperature <= 0:
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_greedy())
        else:
            if top_k > 0:
                L.llama_sampler_chain_add(chain, L.llama_sampler_init_top_k(top_k))
            if 0 < top_p < 1:
                L.llama_sampler_chain_add(chain, L.llama_sampler_init_top_p(top_p, 1))
            if min_p > 0:
                L.llama_sampler_chain_add(chain, L.llama_sampler_init_min_p(min_p, 1))
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_temp(temperature))
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_dist(seed & 0xFFFFFFFF))
        if grammar_sampler is not None:
            return GrammarSampler(chain, self.ctx, keep, grammar_sampler, n_vocab)
        return Sampler(chain, self.ctx, keep)

    def end_of_turn_tokens(self) -> list[int]:
        """Every token that ends a turn (EOS, EOT, ``<|im_end|>``...), found once per model."""
        if self._eog_tokens is None:
            n_vocab = int(L.llama_vocab_n_tokens(self.vocab))
            is_eog = L.llama_vocab_is_eog
            vocab = self.vocab
            self._eog_tokens = [t for t in range(n_vocab) if is_eog(vocab, t)]
        return self._eog_tokens

    def close(self) -> None:
        if getattr(self, "ctx", None):
            L.llama_batch_free(self._batch)
            L.llama_free(self.ctx)
            self.ctx = None
        if getattr(self, "model", None):
            L.llama_model_free(self.model)
            self.model = None


class Sampler:
    """A llama.cpp sampler chain for one answer; ``close`` frees it.

    Args:
        keep: ctypes objects the chain may point into, kept alive as long as the chain.
    """

    def __init__(self, chain: Any, ctx: Any, keep: Sequence[Any] = ()) -> None:
        self._chain = chain
        self._ctx = ctx
        self._keep = list(keep)

    def sample(self, index: int = -1) -> int:
        """A token from the logits at batch position ``index`` (-1: the last with logits).

        llama_sampler_sample also accepts the token into the chain (penalties see it).
        """
        return int(L.llama_sampler_sample(self._chain, self._ctx, index))

    def close(self) -> None:
        if self._chain:
            L.llama_sampler_free(self._chain)
            self._chain = None


class GrammarSampler(Sampler):
    """A chain whose choice must also satisfy a grammar, checked the way llama.cpp's own tools do it.

    Running the grammar over the whole vocabulary for every token costs tens of milliseconds with a large vocabulary
    (Gemma 3 has 262,144 tokens). So the chain chooses first, and only that token is checked against the grammar;
    only when the grammar rejects it is the whole vocabulary filtered by the grammar and the chain run again on what
    is left. Either way the token satisfies the grammar.
    """

    def __init__(self, chain: Any, ctx: Any, keep: Sequence[Any], grammar: Any, n_vocab: int) -> None:
        super().__init__(chain, ctx, keep)
        self._grammar = grammar
        self._n_vocab = n_vocab
        self._ids = np.arange(n_vocab, dtype=np.int32)
        self._cand = np.zeros(n_vocab, dtype=_TOKEN_DATA)
        self._array = L.llama_token_data_array(
            self._cand.ctypes.data_as(ctypes.POINTER(L.llama_token_data)), n_vocab, -1, False)
        self._one = np.zeros(1, dtype=_TOKEN_DATA)
        self._one_array = L.llama_token_data_array(
            self._one.ctypes.data_as(ctypes.POINTER(L.llama_token_data)), 1, -1, False)

    def _candidates(self, index: int) -> Any:
        logits = np.ctypeslib.as_array(L.llama_get_logits_ith(self._ctx, index), shape=(self._n_vocab,))
        cand = self._cand
        cand["id"] = self._ids
        cand["logit"] = logits
        cand["p"] = 0.0
        array = self._array
        array.size = self._n_vocab
        array.selected = -1
        array.sorted = False
        return ctypes.byref(array)

    def _allowed(self, token: int) -> bool:
        one = self._one
        one["id"] = token
        one["logit"] = 1.0
        one["p"] = 0.0
        self._one_array.size = 1
        self._one_array.selected = -1
        self._one_array.sorted = False
        L.llama_sampler_apply(self._grammar, ctypes.byref(self._one_array))
        return bool(np.isfinite(one["logit"][0]))

    def sample(self, index: int = -1) -> int:
        array = self._candidates(index)
        L.llama_sampler_apply(self._chain, array)
        token = int(self._cand["id"][self._array.selected])
        if not self._allowed(token):
            array = self._candidates(index)
            L.llama_sampler_apply(self._grammar, array)
            L.llama_sampler_apply(self._chain, array)
            token = int(self._cand["id"][self._array.selected])
        L.llama_sampler_accept(self._grammar, token)
        L.llama_sampler_accept(self._chain, token)
        return token

    def close(self) -> None:
        super().close()
        if self._grammar:
            L.llama_sampler_free(self._grammar)
            self._grammar = None


# llama.cpp's llama_token_data: the candidates' buffer is filled from the logits by numpy, not a Python loop.
_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
