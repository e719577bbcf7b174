"""Two processes at once: the instance lock, waiting for the other's write, and a typed error instead of a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hearth.core.errors import AlreadyRunningError, StoreBusyError
from hearth.core.instance import InstanceLock
from hearth.core.store import Store

ROOT = Path(__file__).resolve().parents[4]
HELPER = Path(__file__).with_name("store_proc_helper.py")


def start(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "app"))
    return subprocess.Popen(
        [sys.executable, str(HELPER), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env,
    )


def expect_line(proc: subprocess.Popen[str], expected: str) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != expected:
        proc.kill()
        _, err = proc.communicate(timeout=30)
        pytest.fail(f"expected {expected!r}, got {line!r}; stderr: {err}")


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = proc.communicate(input="\n", timeout=60)
    assert "Traceback" not in err, err
    return proc.returncode, out


def test_a_second_instance_is_told_politely(tmp_path: Path) -> None:
    first = InstanceLock(tmp_path)
    first.acquire()
    try:
        second = start("lock", str(tmp_path))
        code, out = finish(second)
        assert code == 3
        assert out.strip() == "refused: Hearth is already running."
    finally:
        first.release()
    third = start("lock", str(tmp_path))
    expect_line(third, "locked")
    assert finish(third)[0] == 0


def test_the_lock_goes_with_a_killed_holder(tmp_path: Path) -> None:
    holder = start("lock", str(tmp_path))
    expect_line(holder, "locked")
    lock = InstanceLock(tmp_path)
    with pytest.raises(AlreadyRunningError) as info:
        lock.acquire()
    assert str(info.value) == "Hearth is already running." and info.value.hint
    assert lock.holder_pid() == holder.pid
    assert not lock.try_acquire()

    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=30)
    assert lock.try_acquire()  # no stale lock after a crash
    assert lock.holder_pid() == os.getpid()
    lock.release()
    assert not lock.held


def test_a_write_waits_for_the_other_process_then_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    Store.open(path).close()
    holder = start("hold-write", str(path))
    expect_line(holder, "holding")
    store = Store.open(path, busy_timeout_s=60, recover=False)
    result: list[object] = []
    writer = threading.Thread(target=lambda: result.append(store.conversations.create(title="waited")))
    writer.start()
    # The writer is blocked in SQLite's busy handler; let the other process commit.
    code, out = finish(holder)
    writer.join(timeout=60)
    assert code == 0 and out.split() == ["released"]
    assert len(result) == 1 and [c.title for c in store.conversations.list_all()] == ["waited"]
    assert store.get_state("held") == 1
    store.close()


def test_a_write_blocked_too_long_is_a_typed_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    Store.open(path).close()
    holder = start("hold-write", str(path))
    expect_line(holder, "holding")
    try:
        store = Store.open(path, busy_timeout_s=0.2)  # nothing to recover: opening needs no write lock
        with pytest.raises(StoreBusyError) as info:
            store.conversations.create(title="blocked")
        assert "in use by another program" in str(info.value)
        assert "database is locked" not in str(info.value) and "database is locked" in info.value.details
        assert store.conversations.list_all() == []  # reading still works meanwhile
    finally:
        assert finish(holder)[0] == 0
    store.conversations.create(title="after")
    assert [c.title for c in store.conversations.list_all()] == ["after"]
    store.close()


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    Store.open(path).close()
    writers = [start("write-many", str(path), "150", tag) for tag in ("left", "right")]
    for proc in writers:
        code, out = finish(proc)
        assert code == 0 and out.strip() == "done"
    with Store.open(path) as store:
        convs = {c.title: c.id for c in store.conversations.list_all()}
        assert set(convs) == {"left", "right"}
        for title, conv_id in convs.items():
            branch = store.messages.active_branch(conv_id)
            assert [m.content for m in branch] == [f"{title} message {i}" for i in range(150)]
        assert store.integrity_check() == []
