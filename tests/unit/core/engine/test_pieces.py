"""Small engine pieces that need no model: errors on the wire, stop strings, crash wording, plans, CPU facts."""

from __future__ import annotations

import signal

import pytest

from hearth.core.engine.diagnose import crash_error, load_failure
from hearth.core.engine.events import EnginePhase
from hearth.core.engine.host import resolve_extra_bufts
from hearth.core.engine.plan import LoadPlan, expert_patterns
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.stops import StopMatcher
from hearth.core.errors import ContextOverflowError, HostCrashedError, ModelFileError, error_from_wire
from hearth.core.machine.cpu import parse_cpuinfo


def test_errors_cross_the_wire_by_type() -> None:
    original = ContextOverflowError("too long", hint="shorten it")
    rebuilt = error_from_wire(original.to_wire())
    assert isinstance(rebuilt, ContextOverflowError)
    assert (rebuilt.message, rebuilt.hint) == ("too long", "shorten it")
    assert type(error_from_wire({"kind": "NoSuchError", "message": "x"})).__name__ == "HearthError"


def test_stop_matcher_holds_back_a_possible_stop_string() -> None:
    matcher = StopMatcher(["\nUser:"])
    assert matcher.feed("Hello") == ("Hello", False)
    assert matcher.feed(" there\nUs") == (" there", False)
    assert matcher.feed("er: next") == ("", True)


def test_stop_matcher_releases_text_that_was_not_a_stop() -> None:
    matcher = StopMatcher(["</s>"])
    assert matcher.feed("a <") == ("a ", False)
    assert matcher.feed("b") == ("<b", False)
    assert matcher.flush() == ""


def test_crash_wording() -> None:
    error = crash_error(-signal.SIGKILL, ["loading", "ggml: out of memory"], EnginePhase.GENERATING)
    assert isinstance(error, HostCrashedError)
    assert "while writing the answer" in error.message and "SIGKILL" in error.message
    assert "out of memory" in error.details
    assert "exited with status 3" in crash_error(3, [], EnginePhase.PROMPT).message


def test_load_failure_wording() -> None:
    truncated = load_failure("m.gguf", ["llama_model_load: error loading model: tensor 'x' data is not within the "
                                        "file bounds, model is corrupted or incomplete"])
    assert isinstance(truncated, ModelFileError) and "incomplete" in truncated.message
    arch = load_failure("m.gguf", ["error loading model architecture: unknown model architecture: 'zzz'"])
    assert "not supported" in arch.message


def test_plan_and_params_round_trip() -> None:
    plan = LoadPlan("m.gguf", n_ctx=8192, n_gpu_layers=-1, cpu_tensor_patterns=expert_patterns(), flash_attn="on")
    assert LoadPlan.from_dict(plan.to_dict()) == plan
    params = SamplingParams(max_tokens=5, stop=("x",), seed=3)
    assert SamplingParams.from_dict(params.to_dict()) == params


def test_expert_patterns_match_llama_cpp_names() -> None:
    import re

    (everything,) = expert_patterns()
    assert re.search(everything, "blk.47.ffn_down_exps.weight")
    assert not re.search(everything, "blk.47.ffn_down_shexp.weight")
    first_two = expert_patterns(2)
    assert any(re.search(p, "blk.1.ffn_gate_exps.weight") for p in first_two)
    assert not any(re.search(p, "blk.10.ffn_gate_exps.weight") for p in first_two)
    assert not any(re.search(p, "blk.2.ffn_gate_exps.weight") for p in first_two)


CPUINFO_AMX = """processor : 0
model name : Intel(R) Xeon(R) Platinum 8480+
flags : fpu sse avx2 avx512f amx_bf16 amx_tile amx_int8
physical id : 0
core id : 0

processor : 1
model name : Intel(R) Xeon(R) Platinum 8480+
flags : fpu sse avx2 avx512f amx_bf16 amx_tile amx_int8
physical id : 0
core id : 0
"""


def test_cpuinfo_parsing_and_amx_safe_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = parse_cpuinfo(CPUINFO_AMX, logical_cores=2)
    assert cpu.has_amx and cpu.has_avx512 and cpu.physical_cores == 1
    assert "AMX" in cpu.feature_summary
    import hearth.core.engine.host as host

    monkeypatch.setattr(host, "detect_cpu", lambda: cpu)
    use, why = resolve_extra_bufts(LoadPlan("m.gguf"))
    assert use is False and "AMX" in why
    assert resolve_extra_bufts(LoadPlan("m.gguf", use_extra_bufts=True)) == (True, "set by the plan")


def test_packaged_executables_are_recognised() -> None:
    from hearth.core.engine.client import is_packaged_executable

    for interpreter in ("/usr/bin/python3", "/venv/bin/python", "C:/Python311/python.exe", "/x/python3.11",
                        "C:/x/pythonw.exe"):
        assert not is_packaged_executable(interpreter), interpreter
    apps = ("/usr/bin/hearth", "/Applications/Hearth.app/Contents/MacOS/Hearth", "C:/Program Files/Hearth/Hearth.exe")
    for app in apps:
        assert is_packaged_executable(app), app
