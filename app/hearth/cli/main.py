"""``hearth`` argument parsing and dispatch to sub-commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import hearth
from hearth.cli import bench, chat, doctor, models

# Each sub-command module offers add_parser(subparsers) and run(args) -> exit status.
COMMANDS = {"chat": chat, "bench": bench, "doctor": doctor, "models": models}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth",
        description="Private AI chat on your own computer. With no command, opens the Hearth window.",
    )
    parser.add_argument("--version", action="version", version=f"Hearth {hearth.__version__}")
    parser.add_argument("--screenshot", metavar="DIR", help="save screenshots of the window to DIR and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if args.command is None:
        from hearth.ui.app import run_app  # Qt is imported only when a window is wanted

        return run_app(screenshot_dir=args.screenshot)
    run: Callable[[argparse.Namespace], int] = COMMANDS[args.command].run
    try:
        return run(args)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
