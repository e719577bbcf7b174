"""Automatic titles from the first message and cleaning of model-written titles."""

from __future__ import annotations

from hearth.core.store.titles import auto_title, clean_model_title, shorten, title_messages


def test_auto_title_takes_the_first_line_of_prose() -> None:
    assert auto_title("Hello there") == "Hello there"
    assert auto_title("\n\n  # How to   bake bread\nwith details") == "How to bake bread"
    assert auto_title("```python\nprint('x')\n```\nWhy does this fail?") == "Why does this fail?"
    assert auto_title("- first point\n- second") == "first point"
    assert auto_title("   \n\t") == ""
    assert auto_title("```\nonly code\n```") == ""


def test_long_titles_are_cut_at_a_word_boundary() -> None:
    text = "Explain the difference between mixture of experts models and dense transformer models in detail"
    title = auto_title(text)
    assert len(title) <= 60 and title.endswith("…")
    assert text.startswith(title[:-1])
    assert title[:-1] == title[:-1].rstrip()
    # A single enormous word is cut hard rather than left whole.
    assert shorten("x" * 200, 20) == "x" * 19 + "…"


def test_model_titles_lose_labels_quotes_reasoning_and_full_stops() -> None:
    assert clean_model_title('"Baking Sourdough at Home."') == "Baking Sourdough at Home"
    assert clean_model_title("Title: Rust lifetimes explained") == "Rust lifetimes explained"
    assert clean_model_title("<think>The user asks about cats.</think>\n\n**Cat Care Basics**") == "Cat Care Basics"
    assert clean_model_title("<think>never closed") == ""
    assert clean_model_title("") == ""


def test_title_request_carries_both_messages() -> None:
    messages = title_messages("How do magnets work?", "Magnets work because of aligned electron spins.")
    assert len(messages) == 1 and messages[0]["role"] == "user"
    assert "How do magnets work?" in messages[0]["content"]
    assert "electron spins" in messages[0]["content"]
