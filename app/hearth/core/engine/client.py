"""``EngineClient``: the app's handle on the engine host process, and the ``EngineApi`` the app uses.

The client starts the host (``host``), writes it typed commands and reads its typed events (``protocol``), and turns
them into the ``EngineEvent`` objects its callers see (``events``) and typed errors. The events are read by the thread
that waits for them (``load`` or ``chat``), one pipe read per token, with no relay thread; llama.cpp's log (the host's
stderr) is drained by a thread of its own into ``engine.log`` and a tail kept for crash reports. A line on the pipe
that is not a valid event is logged and skipped, never fatal.

The client tracks its ``EnginePhase`` (starting, loading, reading the prompt, generating). When the host dies it
raises ``HostCrashedError`` in plain words (signal, phase, llama.cpp's last log lines) and starts a fresh host, and
reloads the model, before the next request. If the host dies on the first answer after a load with llama.cpp's
repacked CPU weights (the AMX crash), the request is retried once in safe mode and the user is told.

One request runs at a time; ``cancel`` and ``cancel_load`` may be called from any thread.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import hearth
from hearth.core.engine.diagnose import (
    crash_error,
    load_failure,
    ran_out_of_memory,
    signal_name,
    vision_load_failure,
)
from hearth.core.engine.events import (
    EngineEvent,
    EngineNotice,
    EnginePhase,
    Finished,
    LoadProgress,
    ModelInfo,
    PromptProgress,
    TokenDelta,
)
from hearth.core.engine.media import newest_user_has_images, no_vision_error
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.protocol import (
    CancelCommand,
    CancelLoadCommand,
    ChatCommand,
    Command,
    DoneEvent,
    ErrorEvent,
    Event,
    LoadCommand,
    LoadedEvent,
    LoadFailedEvent,
    LoadProgressEvent,
    PromptProgressEvent,
    ProtocolError,
    ReadyEvent,
    ShutdownCommand,
    TokenEvent,
    decode_event,
    encode,
)
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.tools import ToolChoice, ToolSpec, tools_to_wire
from hearth.core.engine.worker_loss import worker_loss
from hearth.core.errors import (
    EngineNotReadyError,
    HostCrashedError,
    ModelLoadError,
    VisionFileError,
)
from hearth.core.gguf.files import check_model_path, check_projector_path

HOST_ENV = "HEARTH_ENGINE_HOST"
LOG_TAIL_LINES = 400
ENGINE_LOG_MAX_BYTES = 5_000_000  # engine.log is set aside as engine.log.1 when a host starts and finds it bigger

WORKER_STALL_S = 120.0  # a worker silent this long while loading or answering is taken to hang

log = logging.getLogger(__name__)


def default_host_command() -> list[str]:
    """How to start the host.

    From a Python interpreter: ``python -m hearth.core.engine.host``. In a packaged app ``sys.executable`` is the
    app's own binary (Briefcase's stub, or a frozen executable), which ignores ``-m`` and always runs ``hearth``'s main
    module; the ``HEARTH_ENGINE_HOST`` variable, set for every host, makes that main module become the host.
    """
    if is_packaged_executable():
        return [sys.executable]
    return [sys.executable, "-m", "hearth.core.engine.host"]


def is_packaged_executable(executable: str | None = None) -> bool:
    """Whether ``sys.executable`` is an app binary rather than a Python interpreter."""
    if getattr(sys, "frozen", False):
        return True
    name = Path(executable or sys.executable).name.lower()
    return not name.startswith("python")


def _host_env() -> dict[str, str]:
    env = dict(os.environ)
    env[HOST_ENV] = "1"
    # The host must import this same copy of hearth, wherever it was imported from.
    source_root = str(Path(hearth.__file__).resolve().parent.parent)
    paths = [source_root, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.setdefault("PYTHONIOENCODING", "utf-8")
    # On an abort, ggml attaches gdb to print a backtrace: seconds during which the user waits for the error (a
    # worker gone mid-answer aborts the host), for lines the log's reader does not use.
    env.setdefault("GGML_NO_BACKTRACE", "1")
    return env


class EngineClient:
    """Start, drive and restart the engine host (implements ``EngineApi``).

    Args:
        log_path: where llama.cpp's log is appended (None: kept in memory only). It holds no message text unless
            ``debug`` is on.
        command: the host command line (default: ``default_host_command()``).
        debug: debug logging (the user's setting; may change at any time): the messages of each request go to the
            app's log at DEBUG level, and the host writes the prompt it builds to its log.
        worker_stall_s: with a model spread over workers, seconds without any word from the host (no load progress,
            no prompt progress, no token) after which a worker is taken to hang and the host is stopped.
    """

    def __init__(self, *, log_path: Path | None = None, command: Sequence[str] | None = None,
                 debug: bool = False, worker_stall_s: float = WORKER_STALL_S) -> None:
        self._command = list(command) if command else default_host_command()
        self._log_path = log_path
        self.debug = debug
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_tail: collections.deque[str] = collections.deque(maxlen=LOG_TAIL_LINES)
        self._write_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._current: int | None = None
        self._phase = EnginePhase.IDLE
        self.plan: LoadPlan | None = None
        self.info: ModelInfo | None = None
        self._needs_reload = False
        self._answers_since_load = 0
        self._readers: list[threading.Thread] = []
        self.worker_stall_s = worker_stall_s
        self._watched_plan: LoadPlan | None = None  # the plan in use while the watchdog runs (one with workers)
        self._last_word = time.monotonic()
        self._stalled_s: float | None = None
        self._lost_workers: tuple[str, ...] = ()

    # --- lifecycle -----------------------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def phase(self) -> EnginePhase:
        return self._phase

    def log_tail(self, lines: int = 40) -> list[str]:
        return list(self._log_tail)[-lines:]

    def start(self) -> None:
        """Start a host process (stopping any previous one)."""
        self._stop_process()
        self._log_tail.clear()
        self._phase = EnginePhase.STARTING
        self._proc = subprocess.Popen(
            self._command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_host_env(),
            start_new_session=True,  # Ctrl+C in a terminal is the app's to handle, not the host's
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        # Events are read by whoever waits for them (no relay thread: one wake-up per token, which matters when
        # llama.cpp's threads use every core); llama.cpp's log is drained by a thread of its own.
        self._readers = [
            threading.Thread(target=self._read_log, args=(self._proc.stderr,), daemon=True, name="engine-log"),
        ]
        self._readers.append(threading.Thread(target=self._watch, args=(self._proc,), daemon=True,
                                              name="engine-watchdog"))
        for thread in self._readers:
            thread.start()
        greeting = self._next()
        if not isinstance(greeting, ReadyEvent):
            raise HostCrashedError(f"The model engine sent an unexpected greeting: {greeting.kind.value}.")
        self._phase = EnginePhase.IDLE

    def close(self) -> None:
        """Stop the host and forget the model."""
        self._stop_process()
        self.info = None

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _stop_process(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                self._send_to(proc, ShutdownCommand())
                assert proc.stdin is not None
                proc.stdin.close()
            except (OSError, ValueError):
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        for thread in self._readers:
            thread.join(timeout=5)
        self._readers = []

    # --- pipes ---------------------------------------------------------------------------------------------------

    def _read_log(self, stream: IO[bytes]) -> None:
        out = None
        if self._log_path is not None:
            try:
                self._log_path.parent.mkdir(parents=True, exist_ok=True)
                if self._log_path.is_file() and self._log_path.stat().st_size > ENGINE_LOG_MAX_BYTES:
                    os.replace(self._log_path, self._log_path.with_name(self._log_path.name + ".1"))
                out = self._log_path.open("ab")
            except OSError:
                out = None
        try:
            for raw in stream:
                self._log_tail.append(raw.decode("utf-8", errors="replace").rstrip("\n"))
                if out is not None:
                    out.write(raw)
        except (OSError, ValueError):
            pass
        finally:
            if out is not None:
                out.close()

    def _watch(self, proc: subprocess.Popen[bytes]) -> None:
        """Stop the host when a model spread over workers makes no progress: llama.cpp waits forever for a worker
        that hangs without closing its connection, and the window must never wait forever."""
        while True:
            try:
                proc.wait(timeout=0.5)
                return
            except subprocess.TimeoutExpired:
                pass
            busy = (EnginePhase.LOADING, EnginePhase.PROMPT, EnginePhase.GENERATING)
            if self._watched_plan is None or self._phase not in busy:
                continue
            silent = time.monotonic() - self._last_word
            if silent > self.worker_stall_s:
                log.warning("no word from the engine for %.0f s with workers %s: stopping it", silent,
                            ", ".join(self._watched_plan.workers))
                self._stalled_s = silent
                proc.kill()
                return

    def _watching(self, plan: LoadPlan | None) -> None:
        self._watched_plan = plan if plan is not None and plan.workers else None
        self._last_word = time.monotonic()
        self._stalled_s = None

    def _send_to(self, proc: subprocess.Popen[bytes], message: Command) -> None:
        assert proc.stdin is not None
        with self._write_lock:
            proc.stdin.write(encode(message))
            proc.stdin.flush()

    def _send(self, message: Command) -> None:
        if self._proc is None:
            raise EngineNotReadyError("The model engine is not running.")
        try:
            self._send_to(self._proc, message)
        except (BrokenPipeError, OSError, ValueError):
            # The host is gone; the event reader will report how it ended.
            pass

    def _next(self) -> Event:
        """The host's next event (a line that is not one is logged and skipped)."""
        proc = self._proc
        if proc is None or proc.stdout is None:
            raise EngineNotReadyError("The model engine is not running.")
        while True:
            try:
                line = proc.stdout.readline()
            except (OSError, ValueError):
                line = b""
            if not line:
                raise self._crashed()
            self._last_word = time.monotonic()
            try:
                return decode_event(line)
            except ProtocolError as exc:
                log.warning("skipped a line from the model engine that is not an event: %s", exc)

    def _crashed(self) -> HostCrashedError:
        proc = self._proc
        returncode = None
        if proc is not None:
            try:
                returncode = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                returncode = proc.wait()
        for thread in self._readers:
            thread.join(timeout=2)  # let the log reader catch the last lines
        phase = self._phase
        self._phase = EnginePhase.IDLE
        self._needs_reload = self.plan is not None and phase is not EnginePhase.LOADING
        self.info = None if phase is EnginePhase.LOADING else self.info
        error = crash_error(returncode, list(self._log_tail), phase)
        log.warning("%s (host pid %s, exit status %s)%s", error.message, proc.pid if proc else None, returncode,
                    "".join(f"\n  llama.cpp: {line}" for line in error.details.splitlines()))
        return error

    # --- loading -------------------------------------------------------------------------------------------------

    def load(self, plan: LoadPlan, on_progress: Callable[[float], None] | None = None) -> ModelInfo:
        """Load a model, replacing the current one.

        With ``plan.mmproj_path`` the vision projector is loaded too, and ``ModelInfo.vision`` is True.

        Raises:
            ModelFileError: the path is missing, not GGUF, or a part is missing.
            VisionFileError: the vision file is missing, damaged, or made for a different model.
            ModelLoadError: llama.cpp refused the file (with the reason it gave).
            HostCrashedError: llama.cpp crashed while loading (reported as a ModelLoadError's cause).
        """
        info = None
        for event in self._load_events(plan):
            if isinstance(event, LoadProgress) and on_progress is not None:
                on_progress(event.fraction)
            elif isinstance(event, ModelInfo):
                info = event
        assert info is not None
        return info

    def _load_events(self, plan: LoadPlan) -> Iterator[LoadProgress | ModelInfo]:
        files = check_model_path(plan.model_path)
        plan = plan.with_changes(model_path=str(files.first))
        if plan.mmproj_path:
            plan = plan.with_changes(mmproj_path=str(check_projector_path(plan.mmproj_path)))
        if not self.alive:
            self.start()
        self.info = None
        self._watching(plan)
        self._phase = EnginePhase.LOADING
        log.info("loading %s (%s)", plan.model_path, plan.summary or "planner's defaults")
        self._send(LoadCommand(plan))
        try:
            while True:
                event = self._next()
                if isinstance(event, LoadProgressEvent):
                    yield LoadProgress(event.fraction)
                elif isinstance(event, LoadedEvent):
                    self._phase = EnginePhase.IDLE
                    self.plan = plan
                    self.info = event.info
                    log.info("loaded %s: context %s, %s", self.info.name or plan.model_path, self.info.n_ctx,
                             self.info.plan_summary or plan.summary)
                    self._needs_reload = False
                    self._answers_since_load = 0
                    yield self.info
                    return
                elif isinstance(event, LoadFailedEvent):
                    self._phase = EnginePhase.IDLE
                    error = event.error
                    if type(error) is ModelLoadError and "could not load" in error.message:
                        time.sleep(0.05)  # the log line that explains it may trail the event
                        error = load_failure(plan.model_path, list(self._log_tail))
                    elif type(error) is VisionFileError and plan.mmproj_path:
                        time.sleep(0.05)
                        error = vision_load_failure(plan.mmproj_path, list(self._log_tail))
                    log.warning("could not load %s: %s", plan.model_path, error.message)
                    raise error
        except HostCrashedError as crash:
            lost = worker_loss(plan.workers, crash, stalled_s=self._stalled_s)
            if lost is not None:
                log.warning("%s", lost[0].message)
                raise lost[0] from crash
            refusal = load_failure(plan.model_path, crash.log_tail)
            hint = "The file may be damaged or too large for this computer's memory. Your conversations are safe."
            if signal_name(crash.returncode) == "SIGKILL" or ran_out_of_memory(crash.log_tail):
                hint = ("This model does not fit in the memory that is free: choose a smaller quantization or a "
                        "smaller context size, or close other programs. Your conversations are safe.")
            raise ModelLoadError(
                f"{crash.message} {refusal.message if type(refusal) is not ModelLoadError else ''}".strip(),
                hint=hint,
                details=crash.details,
            ) from crash

    def cancel_load(self) -> None:
        if self.alive:
            self._send(CancelLoadCommand())

    def unload(self) -> None:
        """Free the model's memory by ending the host (the surest way to release everything)."""
        self._stop_process()
        self.plan = None
        self.info = None
        self._needs_reload = False

    # --- answering -----------------------------------------------------------------------------------------------

    def cancel(self) -> bool:
        """Stop the running answer (or prompt processing) as soon as possible. Safe from any thread.

        Returns:
            Whether a request was running to be cancelled (False before its command went to the host).
        """
        rid = self._current
        if rid is not None and self.alive:
            self._send(CancelCommand(rid))
            return True
        return False

    def chat(
        self,
        messages: Sequence[dict[str, Any]],
        params: SamplingParams | None = None,
        *,
        continue_last: bool = False,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice | None = None,
        raw: bool = False,
    ) -> Iterator[EngineEvent]:
        """Answer a conversation, streaming events; ends with ``Finished``.

        A message may carry pictures in ``images`` (see ``hearth.core.engine.media``); they need a model loaded with
        its vision file (``ModelInfo.vision``). ``tools`` are offered to the model through its chat template (see
        ``hearth.core.engine.tools``); the answer's text holds any calls, which ``tool_parser`` reads with
        ``ModelInfo.tool_format``. ``tool_choice`` REQUIRED or NAMED makes the engine force a call by grammar.
        With ``raw`` the one message's text is the whole prompt, without the chat template (plain completion).

        Raises:
            EngineNotReadyError: no model was loaded.
            NoVisionError: the newest user message has pictures and the model has no vision file (before anything
                is sent to the engine).
            ContextOverflowError, TemplateError, GenerationError: from the host, in plain words.
            InvalidRequestError: the JSON schema, grammar or tool choice cannot be used.
            HostCrashedError: the host died; the next call starts a new one and reloads the model.
        """
        params = params or SamplingParams()
        if self.plan is None:
            raise EngineNotReadyError("No model is loaded.", hint="Choose a model on the Models page.")
        can_see = self.info.vision if self.info is not None else bool(self.plan.mmproj_path)
        if not can_see and newest_user_has_images(messages):
            raise no_vision_error()
        if self._needs_reload or not self.alive:
            plan = self.plan
            if self._lost_workers:
                gone = ", ".join(self._lost_workers)
                plan = plan.without_workers(self._lost_workers)
                self._lost_workers = ()
                yield EngineNotice(f"Loading the model again without the worker {gone}, which stopped answering "
                                   f"({plan.summary}).")
            else:
                yield EngineNotice("Restarting the model engine…")
            yield from self._reload(plan)
        retried = False
        while True:
            first_answer = self._answers_since_load == 0
            received_tokens = [False]
            try:
                yield from self._answer(list(messages), params, continue_last, received_tokens, tools, tool_choice,
                                        raw)
                return
            except HostCrashedError as crash:
                assert self.plan is not None
                lost = worker_loss(self.plan.workers, crash, stalled_s=self._stalled_s)
                if lost is not None:
                    self._lost_workers = lost[1]
                    log.warning("%s", lost[0].message)
                    raise lost[0] from crash
                safe_retry = (
                    not retried
                    and first_answer
                    and not received_tokens[0]
                    and self.info is not None
                    and self.info.use_extra_bufts
                    and crash.during in (EnginePhase.PROMPT, EnginePhase.GENERATING)
                    # A SIGKILL comes from outside (the system's OOM killer, a user), never from llama.cpp's kernels.
                    and signal_name(crash.returncode) != "SIGKILL"
                )
                if not safe_retry:
                    raise
                retried = True
                assert self.plan is not None
                yield EngineNotice(
                    "The engine crashed on its first answer using llama.cpp's fast CPU kernels (known to fail on "
                    "some processors, such as Intel CPUs with AMX). Retrying in safe mode; answers may be a "
                    "little slower."
                )
                yield from self._reload(self.plan.with_changes(use_extra_bufts=False))

    def _reload(self, plan: LoadPlan) -> Iterator[EngineEvent]:
        self.start()
        for event in self._load_events(plan):
            if isinstance(event, LoadProgress):
                yield event

    def _answer(
        self,
        messages: list[dict[str, Any]],
        params: SamplingParams,
        continue_last: bool,
        received_tokens: list[bool],
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice | None = None,
        raw: bool = False,
    ) -> Iterator[EngineEvent]:
        rid = next(self._ids)
        self._current = rid
        self._watching(self.plan)
        self._phase = EnginePhase.PROMPT
        sent_at = time.perf_counter()
        first_at: float | None = None
        last_at: float | None = None
        if self.debug:
            log.debug("request %s: %s", rid, json.dumps(messages, ensure_ascii=False, default=str))
        tool_choice_wire = (tool_choice or ToolChoice()).to_wire() if tools else None
        self._send(ChatCommand(rid, messages, params, continue_last, self.debug, raw,
                               tools_to_wire(tools) if tools else [], tool_choice_wire))
        try:
            while True:
                event = self._next()
                if isinstance(event, TokenEvent):
                    if event.request_id != rid:
                        continue  # a stale event from a cancelled request
                    last_at = time.perf_counter()
                    if first_at is None:
                        first_at = last_at
                        self._phase = EnginePhase.GENERATING
                        received_tokens[0] = True
                    yield TokenDelta(rid, event.text)
                elif isinstance(event, PromptProgressEvent) and event.request_id == rid:
                    yield PromptProgress(rid, event.done, event.total)
                elif isinstance(event, DoneEvent) and event.request_id == rid:
                    self._answers_since_load += 1
                    stats = event.stats
                    log.info("request %s: %s tokens after a %s-token prompt, stop: %s", rid, stats.tokens,
                             stats.prompt_tokens, stats.stop_reason.value)
                    rate = None
                    if first_at is not None and last_at is not None and last_at > first_at and stats.tokens > 1:
                        rate = (stats.tokens - 1) / (last_at - first_at)
                    ttft = (first_at - sent_at) if first_at is not None else None
                    yield Finished(rid, stats.measured(ttft, rate))
                    return
                elif isinstance(event, ErrorEvent) and event.request_id == rid:
                    log.info("request %s refused: %s", rid, type(event.error).__name__)
                    raise event.error
        finally:
            self._current = None
            if self._phase is not EnginePhase.LOADING:
                self._phase = EnginePhase.IDLE

