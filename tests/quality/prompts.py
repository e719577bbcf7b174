"""Everyday prompts of the kind a newcomer types first, for the answer-quality run (``tests/quality/run.py``).

Each has a check the answer must pass besides ending by itself without looping: a word it must contain (``expect``,
any one of them, case-insensitive), or nothing when any sensible answer will do.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EverydayPrompt:
    """One prompt and what a right answer contains (any of ``expect``; empty: not checked)."""

    text: str
    expect: tuple[str, ...] = ()


EVERYDAY_PROMPTS: tuple[EverydayPrompt, ...] = (
    EverydayPrompt("What is the capital of France?", ("Paris",)),
    EverydayPrompt("What is the capital of France? Answer in one sentence.", ("Paris",)),
    EverydayPrompt("Say hello in Spanish.", ("hola",)),
    EverydayPrompt("Give me three tips for sleeping better."),
    EverydayPrompt("Write a short poem about the sea."),
    EverydayPrompt("What is 12 times 12?", ("144",)),
    EverydayPrompt("Explain what a computer virus is in two sentences."),
    EverydayPrompt("Suggest a name for a grey cat."),
    EverydayPrompt("How do I boil an egg?", ("water",)),
    EverydayPrompt("Write a one-line thank-you note to a colleague.", ("thank",)),
    EverydayPrompt("What colour do you get when you mix blue and yellow?", ("green",)),
    EverydayPrompt("List the days of the week.", ("Monday",)),
    EverydayPrompt("Translate 'good morning' into French.", ("bonjour",)),
    EverydayPrompt("Why is the sky blue? Keep it short."),
)

#: The reduced set the default test run uses (the quality run uses all of them).
REDUCED = (EVERYDAY_PROMPTS[0], EVERYDAY_PROMPTS[2], EVERYDAY_PROMPTS[11])
