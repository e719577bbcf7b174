"""SIGKILL while streaming and saving, again and again: nothing shown is lost (but the last second), nothing doubled.

A child process (``store_kill_child.py``) chats into one database and reports each step after it happens. The test
kills it at a random moment, then checks the file (``integrity_check``, the FTS index's own check) and every
report against what the store holds. The same database goes through every kill, so recovery is tested on top of
earlier recoveries. Set ``HEARTH_KILL_SEED`` to replay a failing run.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hearth.core.store import MessageStatus, Role, Store
from hearth.core.store.streaming import SAVE_INTERVAL_S

ROOT = Path(__file__).resolve().parents[4]
CHILD = Path(__file__).with_name("store_kill_child.py")


def token(message_id: int, n: int) -> str:
    return f"m{message_id}.{n} "


@dataclass
class Run:
    """What one child reported before it was killed."""

    users: dict[int, str] = field(default_factory=dict)
    started: list[int] = field(default_factory=list)
    shown: list[tuple[int, int, float]] = field(default_factory=list)
    done: dict[int, tuple[int, str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Run:
        run = cls()
        lines = text.split("\n")[:-1]  # a line cut by the kill has no newline: not reported
        for line in lines:
            kind, _, rest = line.partition(" ")
            if kind == "user":
                msg_id, _conv, content = rest.split(" ", 2)
                run.users[int(msg_id)] = content
            elif kind == "start":
                run.started.append(int(rest.split(" ")[0]))
            elif kind == "shown":
                msg_id, chars, when = rest.split(" ")
                run.shown.append((int(msg_id), int(chars), float(when)))
            elif kind == "done":
                msg_id, chars, status = rest.split(" ")
                run.done[int(msg_id)] = (int(chars), status)
        return run

    def touched(self) -> set[int]:
        return set(self.users) | set(self.started)


@dataclass(frozen=True)
class Pace:
    """How the child streams: the saver's interval, the longest pause between tokens, the latest kill."""

    interval: float
    max_token_delay: float
    max_kill_delay: float


# The default run streams fast with a short save interval, so a few seconds cover many kills; the slow run
# uses the real one-second interval at a real model's pace (about 30-600 tokens/s).
FAST = Pace(interval=0.2, max_token_delay=0.008, max_kill_delay=2.0)
REAL = Pace(interval=SAVE_INTERVAL_S, max_token_delay=0.03, max_kill_delay=4.0)


def kill_child_at_random(db: Path, progress: Path, seed: int, rng: random.Random, pace: Pace) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "app"))
    args = [str(db), str(progress), str(seed), str(pace.interval), str(pace.max_token_delay)]
    proc = subprocess.Popen([sys.executable, str(CHILD), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if rng.random() < 0.1:
        time.sleep(rng.uniform(0.0, 0.4))  # sometimes while it starts up, opens or recovers
    else:
        deadline = time.monotonic() + 60
        while not (progress.exists() and progress.read_bytes().startswith(b"open")):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the child did not start: {proc.communicate()[1].decode()}")
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4) if rng.random() < 0.4 else rng.uniform(0.4, pace.max_kill_delay))
    if proc.poll() is not None:
        pytest.fail(f"the child ended by itself: {proc.communicate()[1].decode()}")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)


def check_file(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.execute("INSERT INTO message_fts(message_fts) VALUES ('integrity-check')")
    finally:
        conn.close()


def check_run(
    store: Store, run: Run, known: set[int], before: dict[int, tuple[str, str]], interval: float, where: str
) -> int:
    """Check one killed run against the store; returns how many characters the last-interval rule required."""
    rows = {m.id: m for conv in store.conversations.list_all() for m in store.messages.all_messages(conv.id)}
    for msg_id, text in run.users.items():
        assert rows[msg_id].role is Role.USER and rows[msg_id].content == text, where
    for msg_id in run.started:
        msg = rows[msg_id]
        assert msg.role is Role.ASSISTANT, where
        count = msg.content.count(" ")
        # Only whole canonical tokens, in order, each once: nothing doubled, nothing from another answer.
        assert msg.content == "".join(token(msg_id, n) for n in range(count)), f"{where}: message {msg_id}"
        if msg_id in run.done:
            chars, status = run.done[msg_id]
            assert (len(msg.content), msg.status.value) == (chars, status), f"{where}: message {msg_id}"
        else:
            assert msg.status is not MessageStatus.STREAMING, where
    # The answer streaming when the kill came: what was shown more than an interval before the end is saved.
    required = 0
    if run.started and run.started[-1] not in run.done:
        current = run.started[-1]
        msg = rows[current]
        shown = [(chars, when) for msg_id, chars, when in run.shown if msg_id == current]
        if len(run.shown) >= 2 and shown:
            # The child was alive after the second-to-last report; the saver had saved by then all that was
            # shown an interval earlier (see the saver's rule).
            alive_at = run.shown[-2][2]
            required = max((chars for chars, when in shown if when <= alive_at - interval), default=0)
            assert len(msg.content) >= required, f"{where}: message {current} lost more than the last interval"
            # And nothing beyond what was handed to the saver (at most the one token being reported at the kill).
            assert len(msg.content) <= shown[-1][0] + len(token(current, 10**6)), where
        if msg.status is MessageStatus.INTERRUPTED:
            assert current in store.recovered_message_ids, where
    # Messages from earlier runs that this run did not touch are exactly as they were.
    for msg_id, (content, status) in before.items():
        if msg_id not in run.touched():
            assert (rows[msg_id].content, rows[msg_id].status.value) == (content, status), f"{where}: {msg_id}"
    unreported = set(rows) - known - run.touched()
    # Only the one message being written at the kill can be saved without its report.
    assert len(unreported) <= 1, f"{where}: unexpected messages {sorted(unreported)}"
    return required


def kill_loop(tmp_path: Path, kills: int, pace: Pace) -> None:
    base_seed = int(os.environ.get("HEARTH_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(base_seed)
    db = tmp_path / "hearth.db"
    known: set[int] = set()
    before: dict[int, tuple[str, str]] = {}
    streaming_at_kill = rule_applied = 0
    for i in range(kills):
        where = f"kill {i + 1} (HEARTH_KILL_SEED={base_seed})"
        progress = tmp_path / f"progress-{i}.txt"
        kill_child_at_random(db, progress, base_seed + i, rng, pace)
        if not db.exists():
            continue  # killed before it created the database
        check_file(db)
        run = Run.parse(progress.read_text() if progress.exists() else "")
        with Store.open(db) as store:
            rule_applied += check_run(store, run, known, before, pace.interval, where) > 0
            streaming_at_kill += len(store.recovered_message_ids)
            rows = [m for c in store.conversations.list_all() for m in store.messages.all_messages(c.id)]
        known = {m.id for m in rows}
        before = {m.id: (m.content, m.status.value) for m in rows}
    # The kills did land mid-answer, often after more than an interval of it (else this would prove little).
    assert streaming_at_kill >= kills // 3, f"only {streaming_at_kill} kills hit a streaming answer"
    assert rule_applied >= kills // 5, f"only {rule_applied} kills came an interval into an answer"
    assert len(before) > kills


def test_kill_while_streaming_reduced(tmp_path: Path) -> None:
    kill_loop(tmp_path, 15, FAST)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_kill_while_streaming_100_times(tmp_path: Path) -> None:
    kill_loop(tmp_path, 100, REAL)
