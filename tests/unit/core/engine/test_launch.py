"""The host starts the way a packaged app starts it: the app's own main module, told by the environment."""

from __future__ import annotations

import sys
from pathlib import Path

from hearth.core.engine import EngineClient, Finished
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams


def test_host_started_through_the_apps_main_module(tiny_llama4: Path) -> None:
    # A Briefcase stub runs `hearth`'s main module whatever its arguments; `python -m hearth` does the same here.
    with EngineClient(command=[sys.executable, "-m", "hearth"]) as client:
        client.load(LoadPlan(str(tiny_llama4), n_ctx=256))
        params = SamplingParams(loop_guard=False, max_tokens=4)
        events = list(client.chat([{"role": "user", "content": "hello"}], params))
        assert isinstance(events[-1], Finished) and events[-1].stats.tokens == 4
