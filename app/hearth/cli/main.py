"""``hearth`` argument parsing and dispatch to sub-commands."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

import hearth

# Each sub-command module offers add_parser(subparsers) and run(args) -> exit status. They are imported only when
# the command line names a sub-command, so opening the window does not pay for the terminal commands' imports.
COMMAND_NAMES = ("chat", "serve", "bench", "doctor", "models", "worker")


def _command(name: str) -> ModuleType:
    return importlib.import_module(f"hearth.cli.{name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth",
        description="Private AI chat on your own computer. With no command, opens the Hearth window.",
    )
    parser.add_argument("--version", action="version", version=f"Hearth {hearth.__version__}")
    parser.add_argument("--screenshot", metavar="DIR", help="save screenshots of the window to DIR and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_NAMES:
        _command(name).add_parser(sub)
    return parser


def _wants_window(argv: Sequence[str]) -> bool:
    """No sub-command: only window options (or nothing) were given."""
    args = list(argv)
    if not args:
        return True
    return args[0] == "--screenshot" and len(args) == 2


def main(argv: Sequence[str]) -> int:
    if _wants_window(argv):
        from hearth.ui.launch import run_app  # Qt is imported only when a window is wanted

        return run_app(screenshot_dir=argv[1] if argv else None)
    return _run_command(argv)


def _run_command(argv: Sequence[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if args.command is None:
        from hearth.ui.launch import run_app  # Qt is imported only when a window is wanted

        return run_app(screenshot_dir=args.screenshot)
    run: Callable[[argparse.Namespace], int] = _command(args.command).run
    try:
        return run(args)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
