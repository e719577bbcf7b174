"""Real llama.cpp RPC workers on loopback: ``hearth worker``, a model loaded across two of them, and the refusals."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.core.engine import EngineClient, Finished, TokenDelta
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.workers import PROTOCOL_VERSION, WorkerState, probe_worker
from hearth.core.errors import WorkerError
from tests.fixtures.rpc_workers import OtherVersionWorker, Worker, free_port, start_worker

ROOT = Path(__file__).resolve().parents[2]
GREEDY = SamplingParams(temperature=0.0, max_tokens=24, seed=1)


def hearth(*args: str, home: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_HOME": str(home), "PYTHONPATH": str(ROOT / "app")}
    return subprocess.run([sys.executable, "-m", "hearth", *args], capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Worker, Worker]]:
    folder = tmp_path_factory.mktemp("workers")
    with start_worker(folder) as one, start_worker(folder) as two:
        yield one, two


def answer(plan: LoadPlan) -> tuple[str, Finished]:
    with EngineClient() as client:
        client.load(plan)
        text, done = [], None
        for event in client.chat([{"role": "user", "content": "Tell me about rivers."}], GREEDY):
            if isinstance(event, TokenDelta):
                text.append(event.text)
            elif isinstance(event, Finished):
                done = event
    assert done is not None
    return "".join(text), done


def test_a_worker_answers_the_probe(workers: tuple[Worker, Worker]) -> None:
    status = probe_worker(workers[0].endpoint, bandwidth_bytes=1 << 20)
    assert status.state is WorkerState.READY and status.version == PROTOCOL_VERSION
    assert status.devices and status.free_bytes > 0 and status.round_trip_s is not None
    assert status.upload_bytes_per_s and status.download_bytes_per_s
    log = workers[0].log.read_text()
    assert "no password and no encryption" in log and "this computer only" in log


def test_a_model_across_two_workers_answers_like_a_local_load(workers: tuple[Worker, Worker],
                                                              gemma_path: Path) -> None:
    local, _ = answer(LoadPlan(str(gemma_path), n_ctx=1024))
    endpoints = tuple(w.endpoint for w in workers)
    spread, done = answer(LoadPlan(str(gemma_path), n_ctx=1024, n_gpu_layers=-1, workers=endpoints,
                                   tensor_split=(1.0, 1.0, 0.0)))
    assert spread == local and spread.strip()
    held = {w.endpoint: w.bytes for w in done.stats.workers}
    assert set(held) == set(endpoints) and all(b > 0 for b in held.values()), held
    assert done.stats.summary()["workers"] == [{"endpoint": e, "bytes": held[e]} for e in endpoints]


def test_hearth_chat_with_workers_reports_their_weights(workers: tuple[Worker, Worker], gemma_path: Path,
                                                        tmp_path: Path) -> None:
    args = ["chat", "--model", str(gemma_path), "--prompt", "Hello", "--max-tokens", "8", "--temperature", "0",
            "--json", "--ctx", "1024", "--gpu-layers", "-1"]
    done = hearth(*args, *(a for w in workers for a in ("--worker", w.endpoint)), home=tmp_path)
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    assert [w["endpoint"] for w in stats["workers"]] == [w.endpoint for w in workers]
    assert all(w["bytes"] > 0 for w in stats["workers"]) and stats["tokens"] == 8
    local = hearth(*args[:-2], home=tmp_path)
    assert json.loads(local.stdout.strip().splitlines()[-1])["workers"] == []


def test_another_protocol_version_is_refused_before_llama_cpp_sees_it(gemma_path: Path, tmp_path: Path) -> None:
    other = OtherVersionWorker((6, 0, 0))
    try:
        done = hearth("chat", "--model", str(gemma_path), "--prompt", "Hi", "--worker", other.endpoint,
                      home=tmp_path)
        with EngineClient() as client:
            with pytest.raises(WorkerError, match=r"protocol 6\.0\.0") as refused:
                client.load(LoadPlan(str(gemma_path), n_ctx=512, n_gpu_layers=-1, workers=(other.endpoint,)))
            assert client.alive, "refused by the host's own probe: llama.cpp never aborted"
    finally:
        other.close()
    assert done.returncode == 1 and "speaks llama.cpp RPC protocol 6.0.0" in done.stderr, done.stderr
    assert refused.value.endpoint == other.endpoint


def test_an_unreachable_worker_is_named(gemma_path: Path, tmp_path: Path) -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    done = hearth("chat", "--model", str(gemma_path), "--prompt", "Hi", "--worker", endpoint, home=tmp_path)
    assert done.returncode == 1 and f"The worker {endpoint} does not answer" in done.stderr, done.stderr


def test_hearth_worker_refuses_a_busy_port(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = hearth("worker", "--port", str(port), home=tmp_path, timeout=60)
    assert done.returncode == 1 and f"port {port} is already in use" in done.stderr


def test_maverick_what_if_on_the_command_line(tmp_path: Path) -> None:
    from tests.fixtures.synthetic_gguf import write_maverick

    model = write_maverick(tmp_path / "models", "Q4_K_M")[0]
    done = hearth("models", "plan", str(model), "--ram-gb", "64", "--vram-gb", "24", "--worker",
                  "10.0.0.2:50052:128", "--worker", "10.0.0.3:50052:128", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Verdict: fits" in done.stdout and "Worker 10.0.0.2:50052: layers 0–" in done.stdout
    assert "--worker 10.0.0.2:50052 --worker 10.0.0.3:50052" in done.stdout


def test_a_worker_that_hangs_mid_answer_is_given_up_and_named(tiny_llama4: Path, tmp_path: Path) -> None:
    """SIGSTOP: the worker keeps its connection open and never answers; llama.cpp would wait forever."""
    import signal

    with start_worker(tmp_path) as one, start_worker(tmp_path) as two, EngineClient(worker_stall_s=30) as client:
        client.load(LoadPlan(str(tiny_llama4), n_ctx=4096, n_gpu_layers=-1, workers=(one.endpoint, two.endpoint),
                             tensor_split=(1.0, 1.0, 0.0)))
        text: list[str] = []
        with pytest.raises(WorkerError) as lost:
            for event in client.chat([{"role": "user", "content": "Tell me a long story."}],
                                     SamplingParams(temperature=0.0, max_tokens=3000, seed=1)):
                if isinstance(event, TokenDelta):
                    text.append(event.text)
                    if len(text) == 5:
                        os.kill(two.pid, signal.SIGSTOP)
        try:
            assert f"The worker {two.endpoint} stopped answering" in lost.value.message
            assert "does not reply: it hangs" in lost.value.message and len(text) >= 5
        finally:
            os.kill(two.pid, signal.SIGKILL)
