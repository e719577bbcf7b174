"""When drafting ahead pays: the pure rules of ``LookupDrafter``, ``DraftLength`` and ``DraftPace`` (step costs are
given, not timed: the engine tests run the real thing)."""

from __future__ import annotations

from hearth.core.engine.speculative import DraftLength, DraftPace, LookupDrafter


def _steps(pace: DraftPace, *, plain_s: float, drafted_s: float, tokens_per_draft: int, written: int = 0,
           count: int = 40) -> tuple[int, int]:
    """Run ``count`` steps the way the host does; returns (drafting steps, plain steps)."""
    drafted = plain = 0
    for _ in range(count):
        if pace.allowed(written):
            pace.record(drafted=True, seconds=drafted_s, tokens=tokens_per_draft, written=written)
            written += tokens_per_draft
            drafted += 1
        else:
            pace.record(drafted=False, seconds=plain_s, tokens=1, written=written)
            written += 1
            plain += 1
    return drafted, plain


def test_drafting_that_writes_faster_keeps_going() -> None:
    pace = DraftPace()
    for _ in range(3):
        pace.record(drafted=False, seconds=0.015, tokens=1, written=0)
    drafted, plain = _steps(pace, plain_s=0.015, drafted_s=0.030, tokens_per_draft=4)  # 7.5 ms a token
    assert plain == 0 and drafted == 40 and pace.pauses == 0


def test_drafting_that_writes_slower_pauses_longer_each_time() -> None:
    # What SmolLM2 135M measured on 2 cores: a plain token in 15 ms, a drafting step 45 ms for 2 tokens.
    pace = DraftPace()
    for _ in range(3):
        pace.record(drafted=False, seconds=0.015, tokens=1, written=0)
    drafted, plain = _steps(pace, plain_s=0.015, drafted_s=0.045, tokens_per_draft=2, count=300)
    assert pace.pauses >= 3
    assert plain > 4 * drafted, "most of a long answer is written plainly"
    assert drafted >= 3 * pace.window, "and drafting is tried again after every pause"


def test_a_draft_model_whose_every_step_drafts_probes_plain_steps_first() -> None:
    pace = DraftPace()
    drafted, plain = _steps(pace, plain_s=0.010, drafted_s=0.050, tokens_per_draft=2, count=pace.window + 2)
    assert drafted == pace.window and plain == 2, "after a window of drafting, plain steps to learn their cost"
    assert pace.pauses == 0
    _steps(pace, plain_s=0.010, drafted_s=0.050, tokens_per_draft=2, written=50, count=pace.probe + 1)
    assert pace.pauses == 1, "judged once plain steps were seen"


def test_the_next_answer_starts_with_what_was_learnt() -> None:
    pace = DraftPace()
    for _ in range(3):
        pace.record(drafted=False, seconds=0.015, tokens=1, written=0)
    _steps(pace, plain_s=0.015, drafted_s=0.060, tokens_per_draft=2, count=120)
    pace.begin()
    assert not pace.allowed(0), "drafting did not pay: the next answer begins plainly"
    good = DraftPace()
    good.begin()
    assert good.allowed(0)


def test_lookup_continues_the_latest_earlier_occurrence() -> None:
    drafter = LookupDrafter()
    history = [1, 2, 3, 4, 5, 9, 9, 1, 2, 3]
    assert drafter.draft(history, 3) == [4, 5, 9]
    assert drafter.draft([7, 8], 3) == [], "too short to match"


def test_draft_length_grows_on_full_hits_and_shrinks_on_misses() -> None:
    length = DraftLength(16)
    assert length.now == 4
    length.update(4, 4)
    assert length.now == 8
    length.update(8, 1)
    assert length.now == 4


def test_a_pace_that_must_not_adapt_always_drafts() -> None:
    pace = DraftPace(adaptive=False)
    pace.begin()
    drafted, plain = _steps(pace, plain_s=0.001, drafted_s=1.0, tokens_per_draft=2, count=50)
    assert drafted == 50 and plain == 0 and pace.pauses == 0
