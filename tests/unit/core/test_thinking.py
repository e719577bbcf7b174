"""A reasoning model's thinking told apart from its answer, as it streams and when it is done."""

from __future__ import annotations

import pytest

from hearth.core.thinking import split_thinking, strip_thinking, without_thinking_blocks


def test_a_closed_block_at_the_start() -> None:
    split = split_thinking("<think>\nThe user wants the capital.\n</think>\n\nParis.")
    assert split.thinking == "The user wants the capital." and split.answer == "Paris." and not split.open


def test_still_thinking_while_streaming() -> None:
    split = split_thinking("<think>Let me see")
    assert split.open and split.thinking == "Let me see" and split.answer == ""
    assert split.has_thinking


@pytest.mark.parametrize("partial", ["<", "<thi", "  <think", "[THI"])
def test_half_a_marker_is_not_shown_as_answer(partial: str) -> None:
    assert split_thinking(partial).answer == ""


def test_template_opened_the_block_in_the_prompt() -> None:
    split = split_thinking("Counting letters first.</think>\n\nThere are three r's.")
    assert split.thinking == "Counting letters first." and split.answer == "There are three r's."


@pytest.mark.parametrize("opening,closing", [("<thinking>", "</thinking>"), ("[THINK]", "[/THINK]"),
                                             ("<|begin_of_thought|>", "<|end_of_thought|>")])
def test_other_models_markers(opening: str, closing: str) -> None:
    split = split_thinking(f"{opening}hmm{closing}Yes.")
    assert (split.thinking, split.answer) == ("hmm", "Yes.")


def test_markers_inside_an_answer_are_the_answers_text() -> None:
    text = "Reasoning models wrap thoughts in <think> tags, like <think>this</think>."
    assert strip_thinking(text) == text
    assert split_thinking("Plain answer.").thinking == ""


def test_snippets_lose_every_block() -> None:
    assert without_thinking_blocks("<think>a</think>Answer <think>b</think>end") == "Answer end"
