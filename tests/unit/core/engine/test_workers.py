"""Worker addresses, the handshake probe against stand-ins of other versions, plans without a lost worker, and the
weights per worker read from llama.cpp's load log."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.rpc import worker_bytes_from_log
from hearth.core.engine.workers import (
    DEFAULT_PORT,
    Endpoint,
    WorkerState,
    check_workers,
    compatible,
    parse_endpoint,
    probe_worker,
)
from hearth.core.errors import WorkerError, error_from_wire
from tests.fixtures.rpc_workers import OtherVersionWorker, free_port


def test_addresses() -> None:
    assert parse_endpoint("192.168.1.20:50053") == Endpoint("192.168.1.20", 50053)
    assert parse_endpoint(" box.local ") == Endpoint("box.local", DEFAULT_PORT)
    assert str(parse_endpoint("localhost:1")) == "localhost:1"
    assert parse_endpoint("127.0.0.2:5").is_loopback and parse_endpoint("localhost").is_loopback
    assert not parse_endpoint("10.0.0.2").is_loopback
    for bad in ("", "host:port", "host:70000", "a b:1", "[::1]:50052", "http://x:1"):
        with pytest.raises(WorkerError):
            parse_endpoint(bad)


def test_version_rule_is_llama_cpps() -> None:
    assert compatible((7, 0, 0)) and compatible((7, 0, 9))
    assert not compatible((6, 9, 0)) and not compatible((8, 0, 0)) and not compatible((7, 1, 0))


@pytest.fixture()
def other_version() -> Iterator[OtherVersionWorker]:
    worker = OtherVersionWorker((6, 1, 2))
    yield worker
    worker.close()


def test_a_worker_of_another_version_is_refused_in_words(other_version: OtherVersionWorker) -> None:
    status = probe_worker(other_version.endpoint)
    assert status.state is WorkerState.INCOMPATIBLE and status.version == (6, 1, 2)
    assert "speaks llama.cpp RPC protocol 6.1.2" in status.message and "7.0.0" in status.message
    with pytest.raises(WorkerError, match=r"6\.1\.2") as refused:
        check_workers([other_version.endpoint])
    assert refused.value.endpoint == other_version.endpoint and "same Hearth" in refused.value.hint


def test_an_older_worker_is_asked_its_version_the_old_way() -> None:
    old = OtherVersionWorker((2, 0, 0), empty_hello=True)
    try:
        status = probe_worker(old.endpoint)
    finally:
        old.close()
    assert status.state is WorkerState.INCOMPATIBLE and status.version == (2, 0, 0)


def test_nothing_listening_and_a_silent_worker() -> None:
    status = probe_worker(f"127.0.0.1:{free_port()}")
    assert status.state is WorkerState.UNREACHABLE and "connection refused" in status.message
    # A worker serving another program accepts the connection and says nothing: busy, after the timeout.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        status = probe_worker(f"127.0.0.1:{port}", timeout=0.3)
    assert status.state is WorkerState.BUSY and "one at a time" in status.message


def test_worker_errors_cross_the_engine_pipe() -> None:
    error = error_from_wire(WorkerError("gone", hint="h", endpoint="10.0.0.2:50052").to_wire())
    assert isinstance(error, WorkerError) and error.endpoint == "10.0.0.2:50052" and error.hint == "h"


def test_a_plan_without_a_lost_worker() -> None:
    plan = LoadPlan("m.gguf", n_gpu_layers=49, workers=("a:1", "b:2"), tensor_split=(20.0, 16.0, 13.0),
                    summary="2 workers + GPU")
    without = plan.without_workers(["b:2"])
    assert without.workers == ("a:1",) and without.tensor_split == (20.0, 13.0) and without.n_gpu_layers == 49
    alone = plan.without_workers(["a:1", "b:2"])
    assert alone.workers == () and alone.tensor_split == () and alone.n_gpu_layers == 49
    cpu = LoadPlan("m.gguf", n_gpu_layers=49, workers=("a:1",), tensor_split=(48.0, 0.0)).without_workers(["a:1"])
    assert cpu.n_gpu_layers == 0 and cpu.summary == "this computer only"
    assert LoadPlan.from_dict(plan.to_dict()) == plan


def test_weights_per_worker_from_the_load_log() -> None:
    log = [
        "load_tensors: offloading 18 repeating layers to GPU",
        "load_tensors:   CPU_Mapped model buffer size =   100.00 MiB",
        "load_tensors: RPC0[127.0.0.1:50052] model buffer size =    35.82 MiB",
        "load_tensors: RPC0[10.0.0.3:50052] model buffer size =   199.34 MiB",
        "load_tensors: RPC1[10.0.0.3:50052] model buffer size =     1.00 MiB",
    ]
    held = worker_bytes_from_log(log)
    assert held == {"127.0.0.1:50052": int(35.82 * 2**20), "10.0.0.3:50052": int(199.34 * 2**20) + 2**20}
