"""``hearth serve``: the local OpenAI-compatible API without the window, until Ctrl+C."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path

from hearth.cli.common import (
    add_plan_arguments,
    app_paths,
    current_settings,
    models_dir,
    plan_from_args,
    print_error,
)
from hearth.core.engine import EngineClient, ModelInfo
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.service import EngineService
from hearth.core.errors import HearthError, ModelFileError
from hearth.core.logs import configure_logging
from hearth.core.models.library.library import ModelLibrary
from hearth.core.models.library.recommended import model_defaults
from hearth.core.models.library.starter import default_chat_model
from hearth.server.app import ApiContext
from hearth.server.catalog import ModelCatalog
from hearth.server.config import DEFAULT_HOST, DEFAULT_PORT, ServerConfig, is_loopback, key_path, load_or_create_key
from hearth.server.runner import ApiServer

SOURCE = "serve"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "serve", help="serve the model to other programs (OpenAI-compatible API)",
        description="Serve a model through an OpenAI-compatible API on this computer until Ctrl+C. Clients need "
                    "the API key Hearth keeps in its config folder (or --api-key).")
    parser.add_argument("--model", help="GGUF file, or the name of an installed model (default: your default model)")
    parser.add_argument("--mmproj", type=Path, metavar="PATH", help="the model's vision file, to accept pictures")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}: this computer only; 0.0.0.0 lets "
                             "other computers in)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    parser.add_argument("--api-key", metavar="KEY", help="use this key instead of the one Hearth keeps")
    parser.add_argument("--no-key", action="store_true",
                        help="let programs on this computer in without a key (only with a loopback --host)")
    parser.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                        help="a web origin allowed to call from a browser, e.g. http://localhost:3000; repeatable")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="another name clients may use for this computer (Host header); repeatable")
    parser.add_argument("--allow-model-switch", action="store_true",
                        help="let a request's model field load another installed model")
    parser.add_argument("--max-queue", type=int, default=8, metavar="N",
                        help="requests that may wait for the model; more are refused with 429 (default 8)")
    add_plan_arguments(parser)


def _model_path(name: str, paths_models: Path) -> Path:
    path = Path(name).expanduser()
    if path.exists():
        return path
    found = ModelLibrary(paths_models).find(name)
    if found is None:
        raise ModelFileError(f"There is no model file or installed model called {name!r}.",
                             hint="See `hearth models list` for the installed models.")
    return found.path


def _log_to_terminal(debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    handler.setLevel(logging.DEBUG if debug else logging.INFO)
    logger = logging.getLogger("hearth")
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > handler.level:
        logger.setLevel(handler.level)


def run(args: argparse.Namespace) -> int:
    paths = app_paths()
    settings = current_settings(paths)
    configure_logging(paths.log_dir, debug=settings.debug_logging)
    _log_to_terminal(settings.debug_logging)
    folder = models_dir(paths, settings)
    try:
        model = _model_path(args.model, folder) if args.model else default_chat_model(settings, folder)
        plan = plan_from_args(model, args)
        key = "" if args.no_key else (args.api_key or load_or_create_key(paths.config_dir))
        config = ServerConfig(host=args.host, port=args.port, api_key=key, require_key=not args.no_key,
                              cors_origins=tuple(args.cors_origin), allowed_hosts=tuple(args.allow_host),
                              max_waiting=args.max_queue, allow_model_switch=args.allow_model_switch,
                              debug=settings.debug_logging)
        client = EngineClient(log_path=paths.log_dir / "engine.log", debug=settings.debug_logging)
        service = EngineService(client, max_waiting=args.max_queue)

        def sampling() -> SamplingParams:
            return model_defaults(client.plan.model_path if client.plan else None, settings.model_overrides)[0]

        def system_prompt() -> str:
            return model_defaults(client.plan.model_path if client.plan else None, settings.model_overrides)[1]

        ctx = ApiContext(service, config, ModelCatalog(lambda: client.plan.model_path if client.plan else None,
                                                       lambda: folder),
                         sampling_for=sampling, system_prompt_for=system_prompt,
                         plan_for=lambda path: plan_from_args(path, args))
        server = ApiServer(ctx)  # binds now: a port in use is reported before the model loads
    except HearthError as exc:
        print_error(exc)
        return 1
    try:
        if not is_loopback(config.host):
            print(f"hearth: warning: listening on {config.host}: other computers on your network can reach this "
                  "server (they still need the API key).", file=sys.stderr)
        info = _load(service, plan)
        if info is None:
            return 1
        print(f"Serving {model.name} at {server.base_url}", flush=True)
        if config.require_key:
            where = "given with --api-key" if args.api_key else f"kept in {key_path(paths.config_dir)}"
            print(f"API key: {where} (send it as 'Authorization: Bearer <key>')", flush=True)
        else:
            print("API key: none (only programs on this computer can connect)", flush=True)
        print("Press Ctrl+C to stop.", flush=True)
        server.serve()
        return 0
    finally:
        server.stop()
        service.close()


def _load(service: EngineService, plan: LoadPlan) -> ModelInfo | None:
    done = threading.Event()
    outcome: list[ModelInfo | HearthError] = []

    def on_progress(fraction: float) -> None:
        if sys.stderr.isatty():
            sys.stderr.write(f"\r\033[KLoading the model… {fraction:.0%}")
            sys.stderr.flush()

    def on_done(result: ModelInfo | HearthError) -> None:
        outcome.append(result)
        done.set()

    service.load(SOURCE, plan, on_progress=on_progress, on_done=on_done)
    while not done.wait(0.5):  # short waits keep Ctrl+C responsive on the main thread
        pass
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    result = outcome[0]
    if isinstance(result, HearthError):
        print_error(result)
        return None
    return result
