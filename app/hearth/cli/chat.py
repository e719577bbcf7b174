"""``hearth chat``: talk to a model in the terminal, streaming the answer as it is written."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from hearth.cli.attachments import AttachmentPrompter, read_attachments
from hearth.cli.chat_tools import CliTools, add_tool_arguments, answer_with_tools, calls_summary, open_tools
from hearth.cli.common import (
    add_plan_arguments,
    app_paths,
    current_settings,
    models_dir,
    plan_from_args,
    print_error,
    worker_machines,
)
from hearth.core.chat.attachments import page_picture_limit
from hearth.core.engine import (
    EngineApi,
    EngineClient,
    EngineNotice,
    Finished,
    LoadProgress,
    PromptProgress,
    StopReason,
    TokenDelta,
)
from hearth.core.engine.events import AnswerStats, EngineEvent, ModelInfo
from hearth.core.engine.media import ImageRef, image_ref, no_vision_error
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.remote import RemoteEngineClient, RemoteServer, privacy_words
from hearth.core.engine.remote_keys import KeyStore
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.tools import ToolFormat
from hearth.core.errors import HearthError, HostCrashedError, RemoteEngineError, ToolConfigError, WorkerLostError
from hearth.core.images import prepare_image
from hearth.core.logs import configure_logging
from hearth.core.models.library.recommended import model_defaults
from hearth.core.models.library.starter import default_chat_model
from hearth.core.models.planning.benchmark import bench_prompt_speed
from hearth.core.models.planning.planner import DEFAULT_CTX
from hearth.core.retrieval import estimated_prompt_speed, reading_budget
from hearth.core.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("chat", help="chat with a model in the terminal",
                            description="Chat with a model in the terminal. Without --prompt: an interactive chat.")
    parser.add_argument("--model", type=Path, help="GGUF file (or the first part of a split model); with --remote, the "
                                                   "server's model name")
    parser.add_argument("--prompt", help="ask one thing, print the answer and exit")
    parser.add_argument("--system", help="system prompt (default: the model's in Hearth, else its recommended one; "
                        "'' for none)")
    parser.add_argument("--max-tokens", type=int, metavar="N", help="longest answer (default 1024)")
    sampling = parser.add_argument_group("sampling (default: the model's recommendation, then its settings in Hearth)")
    sampling.add_argument("--temperature", type=float, metavar="T", help="0 = deterministic")
    sampling.add_argument("--top-p", type=float, metavar="P")
    sampling.add_argument("--top-k", type=int, metavar="K")
    sampling.add_argument("--min-p", type=float, metavar="P")
    sampling.add_argument("--repeat-penalty", type=float, metavar="R", help="classic repetition penalty (1 = off)")
    sampling.add_argument("--dry", type=float, metavar="M", help="DRY repetition guard strength (0 = off; "
                          f"default {SamplingParams().dry_multiplier})")
    sampling.add_argument("--no-loop-guard", action="store_true",
                          help="let an answer that repeats itself run on (by default it is ended)")
    parser.add_argument("--seed", type=int, help="fixed seed for reproducible answers")
    parser.add_argument("--json", action="store_true", help="end each answer with one JSON line of statistics")
    parser.add_argument("--verbose", action="store_true", help="show llama.cpp's log on stderr when done")
    parser.add_argument("--attach", type=Path, action="append", default=[], metavar="FILE",
                        help="a document to ask about (PDF, DOCX, text, Markdown, HTML, CSV, JSON, code); a picture "
                             "goes as with --image, and a scanned PDF as its page pictures, when --mmproj is given; "
                             "repeatable")
    parser.add_argument("--attach-whole", type=Path, action="append", default=[], metavar="FILE",
                        help="like --attach, but the whole document is sent when the model's context allows, "
                             "instead of the passages that match the question; repeatable")
    parser.add_argument("--read-more", action="count", default=0,
                        help="send more of the attached documents than about 10 s of reading and half the context "
                             "(twice as much each time it is given)")
    parser.add_argument("--image", type=Path, action="append", default=[], metavar="FILE",
                        help="a picture to ask about (PNG, JPEG, WebP, GIF, BMP); needs --mmproj; repeatable")
    parser.add_argument("--mmproj", type=Path, metavar="PATH",
                        help="the model's vision file (mmproj GGUF), so that it can see pictures")
    parser.add_argument("--speculative", metavar="MODE",
                        help="draft answers ahead: 'lookup' (prompt lookup: fast when the answer quotes its input), "
                             "'off', 'auto' (lookup when a document or code is attached; the default), or a small "
                             "draft model's GGUF with the same tokenizer")
    parser.add_argument("--worker", action="append", default=[], metavar="HOST:PORT",
                        help="a computer running `hearth worker` that holds part of the model (llama.cpp RPC); "
                             "repeatable. The planner spreads the model over this computer and the workers")
    remote = parser.add_argument_group("a remote engine (an OpenAI-compatible server) instead of a model here")
    remote.add_argument("--remote", metavar="URL",
                        help="chat with a model of an OpenAI-compatible server (hearth serve, llama-server, vLLM, "
                             "Ollama, LM Studio...), e.g. http://192.168.1.20:8080/v1. Your messages (and the "
                             "passages chosen from attachments, ranked here) go to that server")
    remote.add_argument("--api-key", metavar="KEY", help="the server's key (default: the one saved for it in Models "
                                                         "→ Servers, if any)")
    remote.add_argument("--remote-model", "--served-model", dest="remote_model", metavar="NAME",
                        help="the server's model (default: the first it lists); with --remote, --model NAME works too")
    add_plan_arguments(parser)
    add_tool_arguments(parser)


class _CancelOnInterrupt:
    """While active, Ctrl+C stops the answer instead of the program; a second Ctrl+C exits."""

    def __init__(self, cancel: Callable[[], object]) -> None:
        self._cancel = cancel
        self._previous: Any = None
        self.pressed = 0

    def __enter__(self) -> _CancelOnInterrupt:
        self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _on_sigint(self, _signum: int, _frame: FrameType | None) -> None:
        self.pressed += 1
        if self.pressed > 1:
            raise KeyboardInterrupt
        self._cancel()


def _progress_line(text: str, err: TextIO) -> None:
    if err.isatty():
        err.write(f"\r\033[K{text}")
        err.flush()


def _show_event(event: EngineEvent, err: TextIO) -> None:
    if isinstance(event, PromptProgress):
        if event.total > 512:
            _progress_line(f"Reading {event.total:,} tokens… {100 * event.done // event.total}%", err)
            if event.done == event.total:
                _progress_line("", err)
    elif isinstance(event, LoadProgress):
        _progress_line(f"Loading the model… {event.fraction:.0%}", err)
    elif isinstance(event, EngineNotice):
        err.write(f"\nhearth: {event.message}\n")


def answer(
    client: EngineApi,
    messages: list[dict[str, Any]],
    params: SamplingParams,
    *,
    out: TextIO,
    err: TextIO,
    tools: CliTools | None = None,
    info: ModelInfo | None = None,
) -> tuple[str, AnswerStats | None]:
    """Stream one answer to ``out`` (calling ``tools`` as the model asks); return its text and statistics (None if
    the engine crashed). With tools, ``messages`` gains the calls and results of the answer."""
    parts: list[str] = []
    stats: AnswerStats | None = None

    def cancel() -> None:
        if tools is not None:
            tools.cancel.set()
        client.cancel()

    with _CancelOnInterrupt(cancel):
        try:
            if tools is not None:
                result = answer_with_tools(client, messages, params, tools, ToolFormat(
                    info.tool_format if info else "hermes"), info.n_ctx if info else 4096, out=out, err=err,
                    on_event=lambda event: _show_event(event, err))
                parts.append(result.text)
                stats = result.stats
                messages[:] = result.messages
            else:
                for event in client.chat(messages, params):
                    if isinstance(event, TokenDelta):
                        parts.append(event.text)
                        out.write(event.text)
                        out.flush()
                    elif isinstance(event, Finished):
                        stats = event.stats
                    else:
                        _show_event(event, err)
        except (HostCrashedError, WorkerLostError, RemoteEngineError) as crash:
            if isinstance(crash, RemoteEngineError) and not parts:
                raise
            # The answer so far stays on screen and in the conversation.
            out.write("\n")
            print_error(crash)
            return "".join(parts), None
    out.write("\n")
    out.flush()
    if stats is not None and stats.stop_reason is StopReason.CANCELLED:
        err.write("(stopped)\n")
    elif stats is not None and stats.stop_reason is StopReason.REPETITION:
        err.write("(stopped: the model was repeating itself)\n")
    return "".join(parts), stats


def sampling_for(model: Path, settings: Settings, args: argparse.Namespace) -> SamplingParams:
    """The model's recommended sampling, the user's settings for it in Hearth, then the command line's flags."""
    params = model_defaults(model, settings.model_overrides)[0]
    flags = {"max_tokens": args.max_tokens, "temperature": args.temperature, "top_p": args.top_p,
             "top_k": args.top_k, "min_p": args.min_p, "repeat_penalty": args.repeat_penalty,
             "dry_multiplier": args.dry, "seed": args.seed, "loop_guard": False if args.no_loop_guard else None}
    return params.with_changes(**{k: v for k, v in flags.items() if v is not None})


def system_prompt_for(model: Path, settings: Settings, args: argparse.Namespace) -> str:
    """The system prompt when ``--system`` is not given: the user's for the model in Hearth, else the model's
    recommended one (none for a remote server's model: the server decides)."""
    if args.remote:
        return ""
    return model_defaults(model, settings.model_overrides)[1]


def run(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    paths = app_paths()
    settings = current_settings(paths)
    configure_logging(paths.log_dir, debug=settings.debug_logging)
    client: EngineClient | RemoteEngineClient
    try:
        if args.remote:
            if args.worker or args.mmproj:
                raise RemoteEngineError("--remote cannot be combined with --worker or --mmproj: the server's own "
                                        "machine runs the model.")
            server = RemoteServer.parse(args.remote, args.api_key or KeyStore(paths.config_dir).get(args.remote)
                                        or "")
            name = args.remote_model or (str(args.model) if args.model else None)
            client = RemoteEngineClient(server, name, offline=lambda: settings.offline)
            model = Path(name or server.label)
            # The server's context is not known here: attachments are ranked for --ctx (default 8,192) tokens.
            plan = LoadPlan(model_path=server.base_url, n_ctx=args.ctx or DEFAULT_CTX)
            warning = privacy_words(server)
            if warning:
                err.write(f"hearth: {warning}\n")
        else:
            model = args.model or default_chat_model(settings, models_dir(paths, settings))
            workers = worker_machines(args.worker, err=err, what_if=False) if args.worker else []
            plan = plan_from_args(model, args, workers=workers)
            client = EngineClient(log_path=paths.log_dir / "engine.log", debug=settings.debug_logging)
    except HearthError as exc:
        print_error(exc)
        return 1
    params = sampling_for(Path(plan.model_path), settings, args)
    # Attachments and pictures are read before the model loads, so a bad file fails fast.
    try:
        page_limit = page_picture_limit(plan.n_ctx) if args.mmproj else 0
        documents, page_images = read_attachments(args.attach, err=err, page_limit=page_limit)
        whole, whole_pages = read_attachments(args.attach_whole, err=err, page_limit=page_limit)
        pinned = {d.sha256 for d in whole}
        documents += whole
        images = load_images(args.image, err=err) + page_images + whole_pages
        if images and not args.mmproj:
            raise no_vision_error()
    except HearthError as exc:
        print_error(exc)
        return 1
    tools: CliTools | None = None
    try:
        if args.mcp and args.remote:
            raise ToolConfigError("--mcp cannot be combined with --remote: tools run with a model on this computer.")
        tools = open_tools(args, paths, settings, err) if not args.remote else None
    except HearthError as exc:
        print_error(exc)
        client.close()
        return 1
    try:
        try:
            info = client.load(plan, on_progress=lambda f: _progress_line(f"Loading {model.name}… {f:.0%}", err))
        except HearthError as exc:
            _progress_line("", err)
            print_error(exc)
            return 1
        _progress_line("", err)
        if not args.json and err.isatty():
            err.write(f"{info.name or model.name} · {info.architecture} · context {info.n_ctx:,} tokens · "
                      f"{_engine_words(info)}\n")
            for note in (info.cache_note, info.speculative_note):
                if note:
                    err.write(f"{note}\n")
            if plan.extra.get("explanation"):
                err.write(f"{plan.extra['explanation']}\n")
        messages: list[dict[str, Any]] = []
        system = args.system if args.system is not None else system_prompt_for(Path(plan.model_path), settings, args)
        if system:
            messages.append({"role": "system", "content": system})
        n_ctx = info.n_ctx or plan.n_ctx
        expected = plan.extra.get("expected_tokens_per_s")
        speed = estimated_prompt_speed(
            bench=bench_prompt_speed(paths.data_dir / "bench", plan.model_path),
            expected_writing=float(expected) if isinstance(expected, (int, float)) else None)
        reading = reading_budget(n_ctx, speed, more=args.read_more)
        prompter = (AttachmentPrompter(documents, n_ctx=n_ctx, max_tokens=params.max_tokens, err=err,
                                       pinned=pinned, reading=reading) if documents else None)
        chat = _Chat(client, params, args.json, out, err, tools, info)
        if args.prompt is not None:
            return _one_shot(chat, messages, args.prompt, prompter, images)
        return _interactive(chat, messages, prompter, images)
    finally:
        if tools is not None:
            tools.close()
        if args.verbose:
            err.write("\n".join(client.log_tail(200)) + "\n")
        client.close()


def _engine_words(info: ModelInfo) -> str:
    """Flash attention, the KV cache and drafting as loaded ("flash attention on · 8-bit cache (q8_0)")."""
    flash = "flash attention " + ("?" if info.flash_attn is None else "on" if info.flash_attn else "off")
    kv = info.cache_type_k if info.cache_type_k == info.cache_type_v else f"{info.cache_type_k}/{info.cache_type_v}"
    cache = f"cache {kv}, {info.kv_cache_bytes / 2**20:,.0f} MiB" if info.kv_cache_bytes else f"cache {kv}"
    return f"{flash} · {cache} · drafting: {info.speculative}"


def load_images(paths: list[Path], *, err: TextIO) -> list[ImageRef]:
    """Prepare each picture (upright, scaled down, metadata stripped) and say what was done to it.

    Raises:
        DocumentError: a picture could not be read (its subclasses say why).
    """
    refs = []
    for path in paths:
        prepared = prepare_image(path)
        notes = []
        if prepared.scaled:
            notes.append(f"scaled down from {prepared.source_width:,} × {prepared.source_height:,}")
        if prepared.first_frame_only:
            notes.append("first frame of an animation")
        err.write(f"Image {path.name}: {prepared.width:,} × {prepared.height:,}"
                  + (f" ({', '.join(notes)})" if notes else "") + "\n")
        refs.append(image_ref(prepared, path.name))
    return refs


def _user_message(content: str, images: list[ImageRef]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "user", "content": content}
    if images:
        message["images"] = images
    return message


@dataclass
class _Chat:
    """What every answer of one ``hearth chat`` session uses."""

    client: EngineApi
    params: SamplingParams
    as_json: bool
    out: TextIO
    err: TextIO
    tools: CliTools | None = None
    info: ModelInfo | None = None

    def answer(self, messages: list[dict[str, Any]]) -> tuple[str, AnswerStats | None]:
        return answer(self.client, messages, self.params, out=self.out, err=self.err, tools=self.tools,
                      info=self.info)

    def emit_stats(self, stats: AnswerStats | None) -> None:
        if stats is not None and self.as_json:
            summary = stats.summary()
            if self.tools is not None:
                summary["tool_calls"] = calls_summary(self.tools.records)
            self.out.write(json.dumps(summary) + "\n")
            self.out.flush()


def _one_shot(
    chat: _Chat,
    messages: list[dict[str, Any]],
    prompt: str,
    prompter: AttachmentPrompter | None = None,
    images: list[ImageRef] | None = None,
) -> int:
    images = images or []
    try:
        content = prompter.compose(prompt, messages, pictures=len(images)) if prompter else prompt
    except HearthError as exc:
        print_error(exc)
        return 1
    messages.append(_user_message(content, images))
    try:
        _text, stats = chat.answer(messages)
    except HearthError as exc:
        print_error(exc)
        return 1
    chat.emit_stats(stats)
    return 0 if stats is not None else 1


def _interactive(
    chat: _Chat,
    messages: list[dict[str, Any]],
    prompter: AttachmentPrompter | None = None,
    images: list[ImageRef] | None = None,
) -> int:
    err = chat.err
    # The pictures go with the first message and stay in the history, so later questions can refer to them.
    pending = list(images or [])
    if err.isatty():
        err.write("Type a message and press Enter. Ctrl+C stops an answer; Ctrl+D or /exit quits; /reset forgets.\n")
    while True:
        try:
            line = input("> " if sys.stdin.isatty() else "")
        except EOFError:
            return 0
        except KeyboardInterrupt:
            err.write("\n")
            return 130
        text = line.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            return 0
        if text == "/reset":
            del messages[sum(1 for m in messages[:1] if m["role"] == "system"):]
            pending = list(images or [])
            err.write("(conversation cleared)\n")
            continue
        try:
            content = prompter.compose(line, messages, pictures=len(pending)) if prompter else line
        except HearthError as exc:
            print_error(exc)
            continue
        asked = len(messages)
        messages.append(_user_message(content, pending))
        try:
            reply, stats = chat.answer(messages)
        except HearthError as exc:
            del messages[asked:]
            print_error(exc)
            continue
        # History keeps the question alone: the next question gets passages chosen for it.
        messages[asked] = _user_message(line, pending)
        pending = []
        if len(messages) == asked + 1:  # with tools, the answer's calls, results and text are in already
            messages.append({"role": "assistant", "content": reply})
        chat.emit_stats(stats)
