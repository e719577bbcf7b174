"""``hearth chat`` as a real process on real models."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hearth.core.models.library.starter import STARTER_NAME

ROOT = Path(__file__).resolve().parents[2]


def hearth(
    *args: str, home: Path, input_text: str | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_HOME": str(home), "PYTHONPATH": str(ROOT / "app")}
    return subprocess.run(
        [sys.executable, "-m", "hearth", *args],
        input=input_text, capture_output=True, text=True, timeout=timeout, env=env, check=False,
    )


def stats_lines(stdout: str) -> list[dict[str, object]]:
    found = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"stop_reason"' in line:
            found.append(json.loads(line))
    return found


def test_one_shot_prompt_with_json_stats(gemma_path: Path, hearth_home: Path) -> None:
    result = hearth("chat", "--model", str(gemma_path), "--prompt", "Hello", "--max-tokens", "32", "--json",
                    "--no-loop-guard", home=hearth_home)
    assert result.returncode == 0, result.stderr
    (stats,) = stats_lines(result.stdout)
    assert set(stats) >= {"tokens", "ttft_s", "tokens_per_s", "prompt_tokens", "stop_reason"}
    assert stats["tokens"] == 32 and stats["stop_reason"] == "length"
    answer = result.stdout.split("\n{")[0]
    assert answer.strip(), "the answer text comes before the stats line"


@pytest.mark.parametrize("split", [False, True])
def test_tiny_llama4_single_and_split(tiny_llama4: Path, tiny_llama4_split: list[Path], hearth_home: Path,
                                      split: bool) -> None:
    model = tiny_llama4_split[0] if split else tiny_llama4
    result = hearth("chat", "--model", str(model), "--prompt", "Hello", "--max-tokens", "32", "--json",
                    "--no-loop-guard", "--cpu-moe", home=hearth_home)
    assert result.returncode == 0, result.stderr
    (stats,) = stats_lines(result.stdout)
    assert stats["tokens"] == 32 and stats["template"] == "gguf"


def test_default_model_is_the_starter_model(hearth_home: Path) -> None:
    result = hearth("chat", "--prompt", "Hi", "--max-tokens", "4", "--json", home=hearth_home)
    assert result.returncode == 0, result.stderr
    assert (hearth_home / "models" / "starter" / STARTER_NAME).is_file()
    assert stats_lines(result.stdout)[0]["tokens"] == 4


def test_interactive_chat_reuses_the_cache_between_turns(tiny_llama4: Path, hearth_home: Path) -> None:
    turns = "tell me about the model and the expert " * 5 + "\nand the answer?\n/exit\n"
    result = hearth("chat", "--model", str(tiny_llama4), "--max-tokens", "16", "--temperature", "0", "--json",
                    home=hearth_home, input_text=turns)
    assert result.returncode == 0, result.stderr
    first, second = stats_lines(result.stdout)
    assert first["cached_tokens"] == 0
    assert second["cached_tokens"] >= first["prompt_tokens"]


def test_bad_model_file_is_a_message_not_a_traceback(tmp_path: Path, hearth_home: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_text("not a model")
    result = hearth("chat", "--model", str(fake), "--prompt", "hi", home=hearth_home)
    assert result.returncode == 1
    assert "is not a GGUF model file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.timeout(900)  # 207 s beside stress-ng (the pytest default is 300 s); a hang guard
def test_ctrl_c_stops_the_answer_and_the_chat_goes_on(gemma_path: Path, hearth_home: Path) -> None:
    env = {**os.environ, "HEARTH_HOME": str(hearth_home), "PYTHONPATH": str(ROOT / "app")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hearth", "chat", "--model", str(gemma_path), "--max-tokens", "300", "--no-loop-guard",
         "--temperature", "0", "--json"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("Write a very long story about a lighthouse.\n")
    proc.stdin.flush()
    # Wait for the answer to start streaming, then press Ctrl+C.
    first = proc.stdout.read(1)
    assert first
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    proc.stdin.write("hello again\n/exit\n")
    proc.stdin.flush()
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    first_stats, second_stats = stats_lines(first + out)
    assert first_stats["stop_reason"] == "cancelled"
    assert first_stats["tokens"] < 300
    assert second_stats["stop_reason"] in ("length", "eos")
    assert "(stopped)" in err


def test_engine_flags_and_what_the_stats_line_says_was_used(gemma_path: Path, tiny_llama4: Path,
                                                            hearth_home: Path) -> None:
    result = hearth("chat", "--model", str(gemma_path), "--prompt", "Hello", "--max-tokens", "4", "--json",
                    "--kv-type", "q8_0", "--flash-attn", "on", "--speculative", "lookup", home=hearth_home)
    assert result.returncode == 0, result.stderr
    (stats,) = stats_lines(result.stdout)
    assert stats["flash_attn"] is True and stats["kv_type"] == "q8_0" and stats["speculative"] == "lookup"
    assert {"drafted_tokens", "accepted_tokens", "trimmed_messages"} <= set(stats)
    drafted = hearth("chat", "--model", str(tiny_llama4), "--prompt", "Hello", "--max-tokens", "8", "--json",
                     "--speculative", str(tiny_llama4), home=hearth_home)
    assert drafted.returncode == 0, drafted.stderr
    assert stats_lines(drafted.stdout)[0]["speculative"] == "draft"
    missing = hearth("chat", "--model", str(tiny_llama4), "--prompt", "Hi", "--speculative", "nowhere.gguf",
                     home=hearth_home)
    assert missing.returncode == 1 and "nowhere.gguf" in missing.stderr and "Traceback" not in missing.stderr
