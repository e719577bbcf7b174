"""``hearth chat``'s system prompt: ``--system``, else the user's for the model in Hearth, else the model's
recommended one."""

from __future__ import annotations

import argparse
from pathlib import Path

from hearth.cli.chat import add_parser, system_prompt_for
from hearth.core.models.library.recommended import SMOLLM_SYSTEM_PROMPT
from hearth.core.settings import Settings


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    return parser.parse_args(["chat", *argv])


def test_the_starter_is_told_its_recommended_system_prompt(starter_model: Path) -> None:
    assert system_prompt_for(starter_model, Settings(), _args()) == SMOLLM_SYSTEM_PROMPT


def test_the_users_own_choice_wins(starter_model: Path) -> None:
    mine = Settings(model_overrides={str(starter_model): {"system_prompt": "Answer like a pirate."}})
    assert system_prompt_for(starter_model, mine, _args()) == "Answer like a pirate."
    assert _args("--system", "").system == "", "--system '' asks for none"


def test_a_remote_servers_model_decides_for_itself(starter_model: Path) -> None:
    assert system_prompt_for(starter_model, Settings(), _args("--remote", "http://127.0.0.1:1")) == ""
