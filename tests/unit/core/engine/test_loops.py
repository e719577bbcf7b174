"""The loop detector on real looping answers (the 270M Gemma base model given a chat, with no repetition guard,
captured in tests/fixtures/looping_answers.json) and on legitimate answers that repeat structure but not content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hearth.core.engine.loops import LoopDetector, repeats_in

LOOPING = json.loads((Path(__file__).parents[3] / "fixtures" / "looping_answers.json").read_text(encoding="utf-8"))

LEGITIMATE = {
    "counting": ", ".join(str(n) for n in range(1, 201)) + ".",
    "times table": "| a | b | a × b |\n|---|---|---|\n" + "\n".join(
        f"| {a} | {b} | {a * b} |" for a in range(1, 13) for b in (3, 7)),
    "days": "The days of the week are:\n" + "\n".join(
        f"{n}. {d}" for n, d in enumerate(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                                           "Sunday"], 1)),
    "code": "def area(r):\n    return 3.14159 * r * r\n\n\ndef volume(r, h):\n    return area(r) * h\n\n\n"
            "for r in range(10):\n    print(r, area(r))\n    print(r, volume(r, 2))\n    print('---')\n",
    "steps": "To boil an egg:\n1. Put the egg in a pan and cover it with cold water.\n2. Bring the water to the "
             "boil.\n3. Simmer for 7 minutes for a firm yolk.\n4. Cool the egg in cold water, then peel it.",
    "poem with a refrain": "The sea, the sea, the endless sea,\nit rolls and sings and calls to me.\n"
                           "The gulls are high, the wind is free;\nthe sea, the sea, the endless sea.\n"
                           "At night it keeps its silver key,\nand waits for dawn as patiently;\n"
                           "the sea, the sea, the endless sea.",
    "song with a chorus": "\n".join([
        "We walked along the river road", "with nothing much to say,", "Chorus:", "Oh, carry me home, carry me home,",
        "where the lanterns glow,", "Oh, carry me home, carry me home,", "before the winter snow.",
        "The wind came down across the hills", "and took the light away,", "Chorus:",
        "Oh, carry me home, carry me home,", "where the lanterns glow,", "Oh, carry me home, carry me home,",
        "before the winter snow."]),
    "quiz": "\n".join(f"Question {n}: What is {n} plus {n}?\nAnswer:\n{2 * n}" for n in range(1, 9)),
    "a few emoji": "Happy birthday! 🎉🎂🎈🥳 Have a wonderful day 🌞🌈✨ and a great year ahead 🎁🎊🍰🥂.",
    "dashes": "Results\n" + "-" * 60 + "\nAll good.\n" + "=" * 60,
    "answer": "The capital of France is Paris. It is known for the Eiffel Tower, the Louvre and its cafés.",
}


def test_the_fixture_holds_real_loops() -> None:
    assert len(LOOPING) >= 5
    assert all(item["stop_reason"] == "length" for item in LOOPING), "captured without the guard: they ran on"


@pytest.mark.parametrize("item", LOOPING, ids=lambda item: item["prompt"][:30])
def test_real_looping_answers_are_caught_early(item: dict[str, str]) -> None:
    text = item["answer"]
    at = repeats_in(text)
    assert at is not None, f"missed the loop in {text[:300]!r}"
    assert at < len(text), "caught before the answer ran out of tokens"


@pytest.mark.parametrize("name", LEGITIMATE)
def test_legitimate_repetition_is_left_alone(name: str) -> None:
    assert repeats_in(LEGITIMATE[name]) is None


def test_the_same_line_over_and_over() -> None:
    detector = LoopDetector()
    fed = ["Describe the capital of France.\n"] * 5
    results = [detector.feed(line) for line in fed]
    assert results.index(True) <= 4 and detector.looped
    assert "Describe the capital of France." in detector.passage


def test_a_cycle_of_lines_with_a_number_counting_up() -> None:
    text = "".join(f"{n}. Stir the sauce and taste it again.\n{n + 1}. Add salt.\n" for n in range(1, 18, 2))
    assert repeats_in(text) is not None


def test_a_repeated_line_between_varying_ones() -> None:
    lines = []
    for n in range(8):
        lines += ["What is the capital of France? Answer now.", f"filler {n} " + "x" * n]
    assert repeats_in("\n".join(lines) + "\n") is not None


def test_token_boundaries_do_not_matter() -> None:
    text = "I think that sleep is very important for our health. " * 5
    assert all(repeats_in(text, chunk=size) is not None for size in (1, 3, 17, 64))
    assert repeats_in("Counting: " + " ".join(str(n) for n in range(1000)), chunk=1) is None


def test_a_walk_through_emoji_is_a_runaway() -> None:
    """SmolLM2 135M with DRY on, seed 1002, "Say hello in Spanish." (captured): no exact repeat, still a runaway."""
    text = "Hola in español! 😊🌍🌍🌎🌎🌏🌐🌐🌑🌑🌍🌌🌌🌍🌋🌍🌊🌊🌌🌕🌕🌞🌞🌟🌠🌠🌟🌪🌪🌨🌩🌩🌪🌬🌪🌭🌧"
    at = repeats_in(text, chunk=2)
    assert at is not None and at < len(text)


def test_a_short_phrase_over_and_over() -> None:
    """The starter with DRY off, seed 1000, "What is the capital of France?" (captured)."""
    text = "L'Étoile, la Marseillaise, la femme" + ", la femme" * 17 + ","
    at = repeats_in(text)
    assert at is not None and at < len(text)
    assert repeats_in("Very, very, very good. Ha ha ha ha ha ha ha ha ha ha!") is None


# The starter asked "List the days of the week." with its template's own system prompt, DRY on and the loop detector
# off (captured): the week, then the week again and again.
STARTER_DAYS = {
    "numbered": (
        "Here are the days of the week in order:\n\n1. Monday\n2. Tuesday\n3. Wednesday\n4. Thursday\n"
        "5. Friday\n6. Saturday\n7. Sunday\n8. Monday\n9. Tuesday\n10. Wednesday\n11. Thursday\n12. Friday\n"
        "13. Saturday\n14. Sunday\n15. Monday\n16. Tuesday\n17. Wednesday\n18. Thursday\n19. Friday\n"
        "20. Saturday\n21. Sunday\n22. Monday\n\n"
        "This is a list of days of the week, but it's not a complete list. You can add more days to the list."
    ),
    "bulleted": (
        "Here are the days of the week:\n\n* Monday\n* Tuesday\n* Wednesday\n* Thursday\n* Friday\n"
        "* Saturday\n* Sunday\n* Monday\n* Tuesday\n* Wednesday\n* Thursday\n* Friday\n* Saturday\n* Sunday\n"
        "* Monday\n* Wednesday\n* Friday\n* Saturday\n* Sunday\n* Monday\n* Tuesday\n* Wednesday\n"
        "* Thursday\n* Friday\n* Saturday\n* Sunday\n* Monday\n* Wednesday\n* Friday\n* Saturday\n* Sunday\n"
        "* Monday\n* Tuesday\n* Wednesday\n* Thursday\n* Friday\n* Saturday\n* Sunday\n* Monday\n"
        "* Wednesday\n* Friday\n* Saturday\n* Sunday\n* Monday\n* Tuesday\n* Wednesday\n* Thursday\n"
        "* Friday\n* Saturday\n* Sunday\n* Monday\n* Tuesday\n* Wednesday\n* Thursday\n* Friday\n* Saturday\n"
        "* Sunday\n* Monday\n* Wednesday\n* Friday\n* Saturday\n* Sunday\n* Monday\n* Tuesday\n* Wednesday\n"
        "* Thursday\n* Friday\n* Saturday\n* Sunday\n* Monday\n* Tuesday\n* Wednesday\n* Thursday\n* Friday\n"
        "* Saturday\n* Sunday\n* Monday\n* Tuesday\n* Wednesday\n* Thursday\n* Friday\n* Saturday\n"
    ),
}


@pytest.mark.parametrize("name", STARTER_DAYS)
def test_the_week_is_a_list_and_the_week_again_and_again_is_a_loop(name: str) -> None:
    text = STARTER_DAYS[name]
    week = text[:text.index("Sunday") + len("Sunday")]
    assert repeats_in(week) is None, "seven days once is an answer"
    at = repeats_in(text)
    assert at is not None and len(week) < at < len(text)
