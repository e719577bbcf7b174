"""``hearth chat --remote`` against a real OpenAI-compatible server (the test server on the real engine), and
``hearth doctor``'s word on worker computers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.cli.doctor import workers_advice
from hearth.core.machine.gpu import BackendInfo
from tests.e2e.test_workers import hearth
from tests.ui.test_remote_engine import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from hearth.core.models.library.starter import ensure_starter_model

    s = Server(ensure_starter_model(tmp_path_factory.mktemp("starter")), key="sekret")
    yield s
    s.kill()


def test_chat_with_a_remote_model_prints_the_same_stats_line(server: Server, tmp_path: Path) -> None:
    done = hearth("chat", "--remote", server.url, "--api-key", "sekret", "--prompt", "Hello", "--max-tokens", "8",
                  "--temperature", "0", "--json", home=tmp_path)
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    assert stats["tokens"] == 8 and stats["prompt_tokens"] > 0 and stats["stop_reason"] == "length"
    assert stats["workers"] == [] and stats["template"] == "server"
    assert "leave this computer" not in done.stderr, "a server on this computer: nothing leaves it"


def test_a_wrong_key_an_unknown_model_and_offline_mode(server: Server, tmp_path: Path) -> None:
    wrong = hearth("chat", "--remote", server.url, "--api-key", "nope", "--prompt", "Hi", home=tmp_path)
    assert wrong.returncode == 1 and "The server refused the key" in wrong.stderr
    unknown = hearth("chat", "--remote", server.url, "--api-key", "sekret", "--model", "nothing", "--prompt", "Hi",
                     home=tmp_path)
    assert unknown.returncode == 1 and "has no model “nothing”" in unknown.stderr
    settings = tmp_path / "offline"
    (settings / "config").mkdir(parents=True)
    (settings / "config" / "settings.json").write_text(json.dumps({"version": 1, "offline": True}))
    offline = hearth("chat", "--remote", server.url, "--api-key", "sekret", "--prompt", "Hi", home=settings)
    assert offline.returncode == 1 and "offline" in offline.stderr, offline.stderr


def test_doctor_says_whether_this_build_can_use_workers(tmp_path: Path) -> None:
    done = hearth("doctor", "--json", home=tmp_path)
    assert done.returncode == 0, done.stderr
    workers = json.loads(done.stdout)["workers"]
    assert workers["available"] is True and workers["protocol"] == "7.0.0"
    without = workers_advice(BackendInfo(gpu_offload=False, backends=("CPU",), rpc=False))
    assert "cannot use worker computers" in without and "installers/llama_rpc.py" in without
