"""The answer-quality run in the default suite: the starter model with Hearth's defaults (its recommended sampling
and system prompt, the repetition guard and loop detector on), all the everyday prompts, a fixed seed per prompt,
answers up to 256 tokens, then a question about a PDF manual (the full run is ``python tests/quality/run.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth.core.models.library.recommended import SMOLLM_SYSTEM_PROMPT
from tests.quality.prompts import EVERYDAY_PROMPTS
from tests.quality.run import run


@pytest.mark.timeout(900)  # 14 answers of up to 256 tokens on a busy 2-core machine; a hang guard, not a target
def test_the_starter_answers_everyday_prompts_without_looping(starter_model: Path) -> None:
    report = run(starter_model, EVERYDAY_PROMPTS, manual=True, max_tokens=256)
    summary = [(a["prompt"], a["stop_reason"], a["tokens"], a["answer"][:120]) for a in report["answers"]]
    assert report["sampling"]["source"] == "Hugging Face's recommendation for SmolLM2"
    assert report["system_prompt"] == SMOLLM_SYSTEM_PROMPT
    assert "Paris" in (report["capital_of_france"] or ""), report["capital_of_france"]
    assert report["loops"] == 0, summary
    # At least 10 in 12 end by themselves (the model ends its turn before the limit).
    assert report["ended_by_itself"] * 12 >= 10 * report["prompts"], summary
    # A question about a 36-page PDF manual: at most half the context, and the page that holds the answer is sent and
    # is the first of the "Best matches" the window shows under an answer that names no source (small models don't).
    document = report["document"]
    assert document["share_of_context"] <= 0.5 and document["answer_page_sent"], document
    assert document["answer_page_first_match"], document["best_matches"]
    assert "filter" in document["answer"].lower(), document["answer"]

