"""The engine host: a child process that owns llama.cpp.

llama.cpp can abort the process on a bad file or an assertion, and the OS kills a process that runs out of memory.
Running it here means such a crash costs only this process; the app notices, explains, and starts a new one.

Run as ``python -m hearth.core.engine.host`` (or through ``hearth`` with ``HEARTH_ENGINE_HOST=1`` in a packaged app).
Commands arrive as JSON lines on stdin, events leave as JSON lines on the protocol fd; both are the typed messages of
``protocol``. A reader thread decodes each command: ``CancelCommand`` and ``CancelLoadCommand`` act at once (they set
a flag that the generation loop checks every token and llama.cpp's abort and progress callbacks check while reading a
prompt or loading); ``LoadCommand`` and ``ChatCommand`` queue for the main thread, which runs them in order;
``ShutdownCommand`` (or the app closing stdin) ends the process. A line that is not a command is reported on stderr
(llama.cpp's log) and skipped.

One answer: ``ChatCommand`` → the prompt is built from the messages with the model's chat template (``prompting``),
the longest prefix already in the KV cache is kept and the rest read (``PromptProgressEvent`` as it goes), then
tokens are sampled one by one, each written as one ``TokenEvent`` (held back while it may be the start of a stop
string, ``stops``), and a ``DoneEvent`` with the statistics ends it; a refusal ends it with an ``ErrorEvent``.
"""

from __future__ import annotations

import codecs
import os
import queue
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hearth.core.engine.events import AnswerStats, ModelInfo, StopReason
from hearth.core.engine.grammar import answer_grammar
from hearth.core.engine.loops import LoopDetector
from hearth.core.engine.media import has_images, newest_user_has_images, no_vision_error, without_images
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.prompting import PromptBuilder, choose_template
from hearth.core.engine.protocol import (
    CancelCommand,
    CancelLoadCommand,
    ChatCommand,
    Command,
    DoneEvent,
    ErrorEvent,
    FdWriter,
    LoadCommand,
    LoadedEvent,
    LoadFailedEvent,
    LoadProgressEvent,
    PromptProgressEvent,
    ProtocolError,
    ReadyEvent,
    ShutdownCommand,
    TokenEvent,
    decode_command,
)
from hearth.core.engine.runtime import ContextFull, DecodeAborted, ModelRuntime, Sampler
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.speculative import (
    SAFE_MARGIN,
    Drafter,
    DraftLength,
    DraftPace,
    LookupDrafter,
    ModelDrafter,
    quotes_input,
)
from hearth.core.engine.stops import StopMatcher
from hearth.core.engine.tools import ToolChoice, ToolChoiceMode, tools_from_wire
from hearth.core.engine.workers import check_workers
from hearth.core.errors import (
    ContextOverflowError,
    EngineNotReadyError,
    GenerationError,
    HearthError,
    ModelLoadError,
)
from hearth.core.gguf.files import split_parts
from hearth.core.machine.cpu import detect_cpu

if TYPE_CHECKING:
    from hearth.core.engine.vision import ImagePrompt, VisionProjector


# Dormant fault injection for the tests of crash recovery; names the point at which the host aborts itself.
# "first-decode-extra-bufts" imitates llama.cpp's AMX crash (an AMX CPU is not available to the test machines).
# "stop-<point>" makes the host stop itself (SIGSTOP) there instead, so that a test can deliver a real signal, or
# lower a memory limit and continue it, at that exact point ("stop-mid-load": inside llama.cpp's load, half-way).
FAULT_ENV = "HEARTH_ENGINE_FAULT"


def _fault(point: str) -> None:
    fault = os.environ.get(FAULT_ENV)
    if fault == point:
        sys.stderr.write(f"hearth: injected fault at {point}\n")
        sys.stderr.flush()
        os.abort()
    elif fault == f"stop-{point}":
        sys.stderr.write(f"hearth: stopped at {point} for a test\n")
        sys.stderr.flush()
        os.kill(os.getpid(), getattr(signal, "SIGSTOP", signal.SIGTERM))


def resolve_extra_bufts(plan: LoadPlan) -> tuple[bool, str]:
    """Decide ``use_extra_bufts`` and say why."""
    if plan.use_extra_bufts is not None:
        return plan.use_extra_bufts, "set by the plan"
    cpu = detect_cpu()
    if cpu.has_amx:
        return False, "this CPU has Intel AMX, whose llama.cpp kernels crash in this build; using safe mode"
    return True, "repacked CPU weights for speed"


def _model_share(plan: LoadPlan) -> float:
    """The model's part of the bytes a load reads (the rest is the vision file's)."""
    if not plan.mmproj_path:
        return 1.0
    try:
        model = Path(plan.model_path)
        model_bytes = sum(part.stat().st_size for part in split_parts(model) or (model,))
        vision_bytes = Path(plan.mmproj_path).stat().st_size
    except OSError:
        return 0.9
    return model_bytes / max(1, model_bytes + vision_bytes)


class EngineHost:
    """Executes the app's commands against one loaded model."""

    def __init__(self, out: FdWriter) -> None:
        self.out = out
        self.runtime: ModelRuntime | None = None
        self.draft_runtime: ModelRuntime | None = None
        self.pace = DraftPace()  # whether drafting pays with the loaded model on this machine (learnt as it writes)
        self.vision: VisionProjector | None = None
        self.prompts: PromptBuilder | None = None
        self.cached: list[int] = []  # tokens whose keys/values are in the cache, positions 0..n-1
        self.cancel_flag = threading.Event()
        self._lock = threading.Lock()
        self._current: int | None = None
        self._cancelled: set[int] = set()
        self._load_cancelled = False
        self._requests = 0
        self._info: dict[str, Any] = {}

    # --- called from the reader thread ---------------------------------------------------------------------------

    def cancel(self, request_id: int) -> None:
        with self._lock:
            self._cancelled.add(request_id)
            if request_id == self._current:
                self.cancel_flag.set()

    def cancel_load(self) -> None:
        self._load_cancelled = True

    def cancel_all(self) -> None:
        """Stop the load and the answer under way (the app is gone)."""
        self._load_cancelled = True
        with self._lock:
            self.cancel_flag.set()

    # --- commands ------------------------------------------------------------------------------------------------

    def load(self, plan: LoadPlan) -> None:
        self.unload()
        extra_bufts, why = resolve_extra_bufts(plan)
        threads = plan.n_threads or detect_cpu().physical_cores
        last_sent = [-1.0]

        # With a vision file, the model's share of the progress bar is its share of the bytes to read.
        model_share = _model_share(plan)

        def on_progress(fraction: float) -> bool:
            if last_sent[0] < 0.5 <= fraction:
                _fault("mid-load")
            if fraction - last_sent[0] >= 0.01 or fraction >= 1.0:
                last_sent[0] = fraction
                self.out.send(LoadProgressEvent(round(fraction, 4)))
            return not self._load_cancelled

        self._load_cancelled = False
        _fault("load")
        try:
            if plan.workers:
                # llama.cpp aborts the process on a worker that does not answer or speaks another protocol: ask first.
                from hearth.core.engine.rpc import require_rpc

                require_rpc()
                check_workers(plan.workers)
            runtime = ModelRuntime(
                plan, use_extra_bufts=extra_bufts, on_progress=lambda f: on_progress(f * model_share),
                abort_flag=self.cancel_flag, n_threads=threads,
            )
            self.runtime = runtime
            if plan.mmproj_path:
                self.vision = self._load_vision(plan, runtime, threads,
                                                lambda f: on_progress(model_share + f * (1 - model_share)))
            speculative_note = self._load_draft(plan, runtime, threads)
        except HearthError as exc:
            self.unload()
            error = ModelLoadError("Loading was cancelled.") if self._load_cancelled else exc
            self.out.send(LoadFailedEvent(error))
            return
        self.prompts = PromptBuilder(runtime, choose_template(runtime))
        self.cached = []
        self._requests = 0
        info = runtime.describe()
        info.update(self.vision.describe() if self.vision else {"vision": False})
        info.update(
            {
                "path": plan.model_path,
                "use_extra_bufts": extra_bufts,
                "use_extra_bufts_reason": why,
                "n_threads": threads,
                "template_origin": self.prompts.template.origin,
                "tools_in_template": self.prompts.tools_in_template,
                "tool_format": self.prompts.tool_format.value,
                "cpu_tensor_patterns": list(plan.cpu_tensor_patterns),
                "plan_summary": plan.summary,
                "speculative": self._speculative_mode(plan),
                "speculative_note": speculative_note,
            }
        )
        self._info = info
        self.out.send(LoadedEvent(ModelInfo.from_wire(info)))

    def _load_vision(
        self, plan: LoadPlan, runtime: ModelRuntime, threads: int, on_progress: Callable[[float], bool]
    ) -> VisionProjector:
        from hearth.core.engine.vision import VisionProjector  # loads libmtmd only for models that see

        assert plan.mmproj_path is not None
        return VisionProjector(
            plan.mmproj_path, runtime, use_gpu=plan.n_gpu_layers != 0, n_threads=plan.n_threads_batch or threads,
            abort_flag=self.cancel_flag, on_progress=on_progress,
        )

    def _load_draft(self, plan: LoadPlan, runtime: ModelRuntime, threads: int) -> str:
        """Load the draft model a "draft" plan names; "" or why drafting falls back to prompt lookup."""
        if plan.speculative == "off":
            return ""
        if not runtime.can_roll_back:
            return "This model keeps a recurrent state that cannot take back rejected drafts: no drafting."
        if plan.speculative != "draft":
            return ""
        if not plan.draft_model_path:
            return "No draft model is set: drafting with prompt lookup instead."
        draft_plan = LoadPlan(
            model_path=plan.draft_model_path, n_ctx=plan.n_ctx, n_gpu_layers=-1 if plan.n_gpu_layers else 0,
            n_batch=plan.n_batch, flash_attn=plan.flash_attn, use_extra_bufts=runtime.plan.use_extra_bufts,
            use_mmap=plan.use_mmap, cache_type_k=plan.cache_type_k, cache_type_v=plan.cache_type_v,
            speculative="off",
        )
        name = Path(plan.draft_model_path).name
        try:
            draft = ModelRuntime(draft_plan, use_extra_bufts=resolve_extra_bufts(plan)[0],
                                 on_progress=lambda _f: not self._load_cancelled, abort_flag=self.cancel_flag,
                                 n_threads=threads)
        except HearthError as exc:
            if self._load_cancelled:
                raise
            return f"The draft model {name} could not be loaded ({exc.message}): drafting with prompt lookup instead."
        if not runtime.same_vocabulary(draft):
            draft.close()
            return (f"The draft model {name} does not use this model's tokenizer: drafting with prompt lookup "
                    "instead.")
        self.draft_runtime = draft
        return ""

    def _speculative_mode(self, plan: LoadPlan) -> str:
        if self.runtime is not None and not self.runtime.can_roll_back:
            return "off"  # a recurrent model's state cannot take back rejected drafts
        if plan.speculative == "draft":
            return "draft" if self.draft_runtime is not None else "lookup"
        return plan.speculative

    def _drafter(self, quoting: bool) -> Drafter | None:
        """How this answer is drafted ahead (None: token by token)."""
        rt = self.runtime
        if rt is None:
            return None
        mode = self._speculative_mode(rt.plan)
        if mode == "draft" and self.draft_runtime is not None:
            return ModelDrafter(self.draft_runtime)
        if mode == "lookup" or (mode in ("auto", "draft") and quoting):
            return LookupDrafter()
        return None

    def unload(self) -> None:
        self.pace = DraftPace()
        # The projector refers to the model: it goes first.
        if self.vision is not None:
            self.vision.close()
        self.vision = None
        if self.draft_runtime is not None:
            self.draft_runtime.close()
        self.draft_runtime = None
        if self.runtime is not None:
            self.runtime.close()
        self.runtime = None
        self.cached = []

    def chat(self, request: ChatCommand) -> None:
        rid = request.request_id
        with self._lock:
            self._current = rid
            self.cancel_flag.clear()
            if rid in self._cancelled:
                self.cancel_flag.set()
        try:
            self._chat(rid, request)
        except HearthError as exc:
            self.out.send(ErrorEvent(rid, exc))
        finally:
            with self._lock:
                self._current = None
                self._cancelled.discard(rid)
                self.cancel_flag.clear()

    # --- internals -----------------------------------------------------------------------------------------------

    def _chat(self, rid: int, request: ChatCommand) -> None:
        rt = self.runtime
        if rt is None:
            raise EngineNotReadyError("No model is loaded.", hint="Load a model first.")
        received = time.perf_counter()
        params = request.params
        messages = list(request.messages)
        continue_last = request.continue_last
        raw = request.raw
        tools = tools_from_wire(request.tools)
        choice = ToolChoice.from_wire(request.tool_choice)
        if choice.mode is ToolChoiceMode.NONE:
            tools = []
        assert self.prompts is not None
        # Built before the prompt is read, so that a request the grammar cannot serve costs nothing.
        grammar = answer_grammar(params, tools, choice, self.prompts.tool_format)
        if has_images(messages):
            if self.vision is None:
                # Refused before anything is read; pictures in older turns only become a note in their text.
                if newest_user_has_images(messages):
                    raise no_vision_error()
                messages = without_images(messages)
            else:
                image_prompt, trimmed = self.prompts.image_prompt(messages, params, continue_last, self.vision, tools)
                try:
                    # Drafted tokens are verified as text; image positions never repeat, so no drafting here.
                    self._answer(rid, params, received, image_prompt.keys, trimmed, image_prompt, grammar)
                finally:
                    image_prompt.close()
                return
        if request.debug:  # the user's debug logging: the prompt as the model will read it, in engine.log
            sys.stderr.write(f"hearth: prompt of request {rid}:\n"
                             f"{self.prompts.render(messages, continue_last, tools)}\n")
            sys.stderr.flush()
        if raw:
            prompt = self.prompts.raw_prompt(messages, params)
            trimmed = 0
        else:
            prompt, trimmed = self.prompts.text_prompt(messages, params, continue_last, tools)
        self._answer(rid, params, received, prompt, trimmed, None, grammar, quotes_input(messages))

    def _answer(
        self,
        rid: int,
        params: SamplingParams,
        received: float,
        prompt: list[int],
        trimmed: int,
        image_prompt: ImagePrompt | None,
        grammar: str | None = None,
        quoting: bool = False,
    ) -> None:
        """Read the prompt into the cache (what is not there already), then write the answer.

        Args:
            prompt: the prompt's tokens (for an image prompt, its position keys).
            image_prompt: the chunks to evaluate when the prompt holds pictures.
            grammar: GBNF the answer must follow, or None.
            quoting: the newest message holds material the answer may quote (prompt lookup pays off).
        """
        rt = self.runtime
        assert rt is not None
        # Reuse the longest cached prefix; at least the last prompt token is evaluated again for fresh logits.
        common = 0
        for a, b in zip(self.cached, prompt, strict=False):
            if a != b:
                break
            common += 1
        common = min(common, len(prompt) - 1)
        if image_prompt is not None:
            common = image_prompt.boundary_at_or_before(common)
        if common > 0 and rt.can_reuse(common) and rt.keep_prefix(common):
            self.cached = self.cached[:common]
        else:
            rt.clear()
            self.cached = []
            common = 0
        new_tokens = prompt[common:]
        total = len(new_tokens)
        stats: dict[str, Any] = {
            "prompt_tokens": len(prompt),
            "cached_tokens": common,
            "trimmed_turns": trimmed,
            "trimmed_messages": self.prompts.trimmed_messages if self.prompts else 0,
            "template": self.prompts.template.origin if self.prompts else "",
            "flash_attn": rt.report.flash_attn,
            "cache_type_k": rt.report.cache_type_k,
            "cache_type_v": rt.report.cache_type_v,
        }
        if image_prompt is not None:
            stats["images"] = image_prompt.image_count
            stats["image_tokens"] = image_prompt.image_tokens
        self.out.send(PromptProgressEvent(rid, 0, total))

        def on_batch(done: int) -> None:
            self.out.send(PromptProgressEvent(rid, done, total))

        if self._requests == 0:
            self._first_decode_fault()
        self._requests += 1
        decode_started = time.perf_counter()
        try:
            if image_prompt is None:
                rt.decode(new_tokens, common, on_batch if total > rt.n_batch else None)
            else:
                assert self.vision is not None
                self.vision.evaluate(image_prompt, common, on_batch)
        except DecodeAborted as stop:
            kept = max(0, min(stop.kept, len(prompt)))
            if image_prompt is not None:
                kept = image_prompt.boundary_at_or_before(kept)
            self.cached = prompt[:kept]
            rt.keep_prefix(len(self.cached))
            self._finish(rid, stats, received, None, None, 0, StopReason.CANCELLED)
            return
        except ContextFull:
            rt.clear()
            self.cached = []
            raise ContextOverflowError(
                "The conversation no longer fits in the model's context.",
                hint="Start a new conversation or raise the context size.",
            ) from None
        except GenerationError:
            rt.clear()
            self.cached = []
            raise
        self.cached = list(prompt)
        prompt_done = time.perf_counter()
        stats["prompt_eval_s"] = prompt_done - received
        stats["prompt_decode_s"] = prompt_done - decode_started
        stats["prompt_decoded_tokens"] = total
        # No drafting under a grammar: a structured answer is short, and its sampler must see each token once.
        drafter = None if image_prompt is not None or grammar else self._drafter(quoting)
        self._generate(rid, params, stats, received, grammar, drafter)

    def _first_decode_fault(self) -> None:
        if self._info.get("use_extra_bufts"):
            _fault("first-decode-extra-bufts")

    def _generate(self, rid: int, params: SamplingParams, stats: dict[str, Any], received: float,
                  grammar: str | None = None, drafter: Drafter | None = None) -> None:
        """Write the answer token by token, or several at a time when ``drafter`` guesses ahead.

        Every written token comes from the sampler at its own position; drafted tokens only decide how many
        positions are read in one batch (see ``hearth.core.engine.speculative``). Invariant at the top of the
        loop: ``token`` is the next token to write; the cache holds ``cached`` plus the first ``in_cache`` of the
        tokens from ``token`` on (drafts that were accepted).
        """
        rt = self.runtime
        assert rt is not None and self.prompts is not None
        seed = params.seed if params.seed is not None else secrets.randbits(32)
        sampler = rt.make_sampler(
            temperature=params.temperature, top_k=params.top_k, top_p=params.top_p, min_p=params.min_p,
            repeat_penalty=params.repeat_penalty, repeat_last_n=params.repeat_last_n, seed=seed,
            dry_multiplier=params.dry_multiplier, dry_base=params.dry_base,
            dry_allowed_length=params.dry_allowed_length, dry_penalty_last_n=params.dry_penalty_last_n,
            frequency_penalty=params.frequency_penalty, presence_penalty=params.presence_penalty,
            logit_bias=params.logit_bias, ignore_eos=params.ignore_eos, grammar=grammar,
        )
        stops = StopMatcher(tuple(params.stop) + self.prompts.template.stop)
        # An answer under a grammar is never cut by the loop guard (it would no longer parse), nor one that asked to
        # ignore the end of turn (it wants exactly max_tokens tokens).
        loops = LoopDetector() if params.loop_guard and not grammar and not params.ignore_eos else None
        utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        limit = params.max_tokens if params.max_tokens is not None else rt.n_ctx
        send = self.out.send
        cancel = self.cancel_flag
        cached = self.cached
        n_ctx = rt.n_ctx
        generated = drafted = accepted = 0
        length = DraftLength(rt.plan.n_draft)
        # Whether to draft is decided by timing, which differs from run to run: only where that cannot change the
        # text. A greedy answer is the same with and without drafts; a sampled one with a seed must be reproducible,
        # so it drafts wherever a draft is found, as the lookup decides from the text alone.
        pace = self.pace if params.temperature <= 0 or params.seed is None else DraftPace(adaptive=False)
        pace.begin()
        ahead: list[int] = []  # tokens chosen after ``token``, all but the last already in the cache
        in_cache = 0
        alone = False  # read the next token without drafts (a near-tie follows it)
        dirty: int | None = None  # greedy: the first cache row written by a batch (rounded unlike one row's)
        greedy = params.temperature <= 0
        first_at: float | None = None
        last_at: float | None = None
        stop_reason = StopReason.LENGTH
        try:
            token = sampler.sample()
            while True:
                if cancel.is_set():
                    stop_reason = StopReason.CANCELLED
                    break
                if rt.is_end_of_turn(token):
                    stop_reason = StopReason.EOS
                    break
                generated += 1
                text, hit_stop = stops.feed(utf8.decode(rt.piece(token)))
                if text:
                    send(TokenEvent(rid, text))
                last_at = time.perf_counter()
                if first_at is None:
                    first_at = last_at
                if hit_stop:
                    stop_reason = StopReason.STOP
                    break
                if loops is not None and loops.feed(text):
                    stop_reason = StopReason.REPETITION
                    break
                if generated >= limit:
                    stop_reason = StopReason.LENGTH
                    break
                if in_cache:  # an accepted draft: already read
                    cached.append(token)
                    in_cache -= 1
                    token = ahead.pop(0)
                    continue
                if len(cached) >= n_ctx:
                    stop_reason = StopReason.CONTEXT_FULL
                    break
                room = min(length.now, n_ctx - len(cached) - 1, limit - generated)
                step_at = time.perf_counter()
                # A step re-reading after a near-tie is drafting's cost, and counted as such.
                step_drafted = alone
                if drafter is not None and not alone and pace.allowed(generated):
                    drafts = self._draft(drafter, cached, token, room)
                else:
                    drafts = []
                alone = False
                try:
                    if drafts:
                        rt.decode_block([token, *drafts], len(cached))
                        if greedy and dirty is None:
                            dirty = len(cached)
                    else:
                        rt.decode_one(token, len(cached))
                    cached.append(token)
                    if not drafts:
                        if dirty is not None and rt.margin(-1) < SAFE_MARGIN:
                            token = self._read_again(cached, sampler, dirty)  # a near-tie after batch-written rows
                            dirty = None
                            step_drafted = True
                        else:
                            token = sampler.sample()
                        pace.record(drafted=step_drafted, seconds=time.perf_counter() - step_at, tokens=1,
                                    written=generated)
                        continue
                except ContextFull:
                    stop_reason = StopReason.CONTEXT_FULL
                    break
                except DecodeAborted:
                    stop_reason = StopReason.CANCELLED
                    break
                ahead = []
                unsure = False
                for i in range(len(drafts) + 1):
                    if greedy and rt.margin(i) < SAFE_MARGIN:
                        unsure = True  # a near-tie: decided by one-row logits, as without drafting
                        break
                    ahead.append(sampler.sample(i))
                    if i == len(drafts) or ahead[-1] != drafts[i]:
                        break
                drafted += len(drafts)
                if unsure:
                    # The drafts accepted before the near-tie stay, but the last of them is read again alone (or,
                    # with none, the token just read): the uncertain choice is made from one-row logits.
                    accepted += len(ahead)
                    length.update(len(drafts), len(ahead))
                    decided = max(1, len(ahead))
                    if ahead:
                        in_cache = len(ahead) - 1
                        self._cut_cache(len(cached) + in_cache)
                        alone = True
                        token = ahead.pop(0)
                    else:
                        try:
                            token = self._read_again(cached, sampler, dirty if dirty is not None else len(cached) - 1)
                            dirty = None
                        except DecodeAborted:
                            stop_reason = StopReason.CANCELLED
                            break
                    pace.record(drafted=True, seconds=time.perf_counter() - step_at, tokens=decided,
                                written=generated)
                    continue
                in_cache = len(ahead) - 1
                accepted += in_cache
                length.update(len(drafts), in_cache)
                if in_cache < len(drafts):  # the rejected drafts leave the cache
                    self._cut_cache(len(cached) + in_cache)
                pace.record(drafted=True, seconds=time.perf_counter() - step_at, tokens=len(ahead), written=generated)
                token = ahead.pop(0)
        finally:
            sampler.close()
            if drafter is not None:
                if not isinstance(drafter, ModelDrafter):
                    drafter.close()
                if in_cache and self.cached:  # stopped inside accepted drafts: the cache must hold ``cached``
                    self._cut_cache(len(cached))
        tail = utf8.decode(b"", final=True) + (stops.flush() if stop_reason is not StopReason.STOP else "")
        if tail:
            send(TokenEvent(rid, tail))
        stats.update({"speculative": drafter.name if drafter is not None else "off", "drafted_tokens": drafted,
                      "accepted_tokens": accepted})
        self._finish(rid, stats, received, first_at, last_at, generated, stop_reason)

    def _read_again(self, cached: list[int], sampler: Sampler, start: int) -> int:
        """Read the cached tokens from ``start`` on again one at a time, then sample after them.

        A greedy answer's near-tie is decided as it would be without drafting: from one row's logits, over cache rows
        each written from one row. Rows written by a batch are rounded differently, and a later near-tie reads them:
        on SmolLM2 135M, a choice with a 0.07 lead flipped 77 tokens into a quoted answer until they were rewritten.
        """
        rt = self.runtime
        assert rt is not None
        self._cut_cache(start)
        for pos in range(start, len(cached)):
            try:
                rt.decode_one(cached[pos], pos)
            except DecodeAborted:
                del cached[pos:]  # what the cache holds now
                raise
        return sampler.sample()

    def _draft(self, drafter: Drafter, cached: list[int], token: int, room: int) -> list[int]:
        if room <= 0:
            return []
        cached.append(token)  # the history the draft continues; ``token`` is not in the cache yet
        try:
            return drafter.draft(cached, room)
        except (ContextFull, DecodeAborted, GenerationError) as exc:  # a draft's trouble never costs the answer
            sys.stderr.write(f"hearth: drafting failed ({exc!r}); continuing without\n")
            return []
        finally:
            cached.pop()

    def _cut_cache(self, n: int) -> None:
        """Drop cached positions from ``n`` on (rejected drafts).

        Raises:
            GenerationError: llama.cpp could not (it then cleared the cache, which the next request reads again).
        """
        assert self.runtime is not None
        if not self.runtime.keep_prefix(n):
            self.cached.clear()
            raise GenerationError("llama.cpp could not take back the drafted tokens it rejected.",
                                  hint="Turn drafting ahead off for this model in its settings.")

    def _finish(
        self,
        rid: int,
        stats: dict[str, Any],
        received: float,
        first_at: float | None,
        last_at: float | None,
        generated: int,
        stop_reason: StopReason,
    ) -> None:
        stats.update(
            {
                "tokens": generated,
                "stop_reason": stop_reason,
                "host_ttft_s": (first_at - received) if first_at is not None else None,
                "host_tokens_per_s": (
                    (generated - 1) / (last_at - first_at)
                    if first_at is not None and last_at is not None and last_at > first_at
                    else None
                ),
                "context_used": len(self.cached),
                "n_ctx": self.runtime.n_ctx if self.runtime else 0,
                "workers": self._info.get("workers", []),
            }
        )
        self.out.send(DoneEvent(rid, AnswerStats.from_host(stats)))


def _read_commands(host: EngineHost, inbox: queue.Queue[Command | None]) -> None:
    stream = sys.stdin.buffer
    for line in stream:
        if not line.strip():
            continue
        try:
            command = decode_command(line)
        except ProtocolError as exc:
            sys.stderr.write(f"hearth: ignored a line that is not a command: {exc}\n")
            sys.stderr.flush()
            continue
        if isinstance(command, CancelCommand):
            host.cancel(command.request_id)
        elif isinstance(command, CancelLoadCommand):
            host.cancel_load()
        else:
            inbox.put(command)
            if isinstance(command, ShutdownCommand):
                # Read no further: a daemon thread inside a read of stdin when the interpreter exits makes Python
                # abort the process (SIGABRT) instead of exiting cleanly.
                return
    # The app closed our stdin: it is gone or wants us gone. Stop the answer or the load under way now rather than
    # at its end, so the host never outlives the app by more than a token or a tensor.
    host.cancel_all()
    inbox.put(None)


def main() -> int:
    # Ctrl+C in a terminal reaches the whole process group; the app decides what a Ctrl+C means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    out = FdWriter(protocol_fd)
    host = EngineHost(out)
    inbox: queue.Queue[Command | None] = queue.Queue()
    reader = threading.Thread(target=_read_commands, args=(host, inbox), name="commands", daemon=True)
    reader.start()
    out.send(ReadyEvent(os.getpid()))
    while True:
        command = inbox.get()
        if command is None or isinstance(command, ShutdownCommand):
            break
        if isinstance(command, LoadCommand):
            host.load(command.plan)
        elif isinstance(command, ChatCommand):
            host.chat(command)
    host.unload()
    reader.join(timeout=1.0)  # it has stopped reading (shutdown) or reached the end of stdin
    return 0


if __name__ == "__main__":
    sys.exit(main())
