"""The planner's memory estimate against the engine's measured peak, on the models that run here (real engine)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from hearth.core.engine import EngineClient, Finished
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.gguf.header import read_gguf_info
from hearth.core.machine.hardware import Hardware
from hearth.core.models.planning.planner import plan_model

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for the engine's peak")


def _peak_after_answers(model: Path, n_ctx: int) -> int:
    with EngineClient() as client:
        client.load(LoadPlan(str(model), n_ctx=n_ctx, speculative="off"))
        for words in (40, 400):
            for event in client.chat([{"role": "user", "content": "word " * words}],
                                     SamplingParams(temperature=0.0, max_tokens=8)):
                assert not isinstance(event, Finished) or event.stats.tokens > 0
        status = Path(f"/proc/{client.pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert match
    return int(match.group(1)) * 1024


@pytest.mark.parametrize(("fixture", "n_ctx"), [("gemma_path", 8192), ("tiny_llama4", 4096)])
def test_ram_estimate_is_safe_and_within_20_percent_of_the_peak(fixture: str, n_ctx: int,
                                                                request: pytest.FixtureRequest) -> None:
    model: Path = request.getfixturevalue(fixture)
    estimate = plan_model(read_gguf_info(model), Hardware.hypothetical(16), n_ctx=n_ctx).placement.ram_bytes
    peak = _peak_after_answers(model, n_ctx)
    assert peak <= estimate <= 1.2 * peak, f"estimate {estimate / 1e6:.0f} MB, measured peak {peak / 1e6:.0f} MB"
