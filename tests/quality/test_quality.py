"""The reduced answer-quality run in the default suite: the starter model, Hearth's defaults, three everyday prompts
(the full run is ``python tests/quality/run.py``)."""

from __future__ import annotations

from pathlib import Path

from tests.quality.prompts import REDUCED
from tests.quality.run import run


def test_the_starter_answers_everyday_prompts_without_looping(starter_model: Path) -> None:
    report = run(starter_model, REDUCED, manual=False, max_tokens=128)
    assert report["loops"] == 0, report["answers"]
    assert report["ended_by_itself"] >= len(REDUCED) - 1, report["answers"]
    assert "Paris" in (report["capital_of_france"] or ""), report["capital_of_france"]
    assert report["sampling"]["source"] == "Hugging Face's recommendation for SmolLM2"
