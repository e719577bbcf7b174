"""A second Hearth-like process for the store tests: run as ``python store_proc_helper.py MODE ARGS``.

Modes:
    lock DATA_DIR        take the instance lock; print "locked" or "refused: <message>", then wait for a line on
                         stdin (or its end) before exiting.
    hold-write DB        open the store, start a write transaction, print "holding", wait for a line on stdin,
                         commit, print "released".
    write-many DB N TAG  add N messages to a new conversation titled TAG, then print "done".
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from hearth.core.errors import AlreadyRunningError
    from hearth.core.instance import InstanceLock
    from hearth.core.store import Store

    mode = argv[0]
    if mode == "lock":
        lock = InstanceLock(Path(argv[1]))
        try:
            lock.acquire()
        except AlreadyRunningError as exc:
            print(f"refused: {exc}", flush=True)
            return 3
        print("locked", flush=True)
        sys.stdin.readline()
        lock.release()
        return 0
    if mode == "hold-write":
        store = Store.open(Path(argv[1]), recover=False)
        with store.db.write() as conn:
            conn.execute("INSERT INTO app_state (key, value) VALUES ('held', '1')")
            print("holding", flush=True)
            sys.stdin.readline()
        print("released", flush=True)
        store.close()
        return 0
    if mode == "write-many":
        store = Store.open(Path(argv[1]), recover=False, busy_timeout_s=30)
        conv = store.conversations.create(title=argv[3])
        for i in range(int(argv[2])):
            store.messages.add_user_message(conv.id, f"{argv[3]} message {i}")
        store.close()
        print("done", flush=True)
        return 0
    print(f"unknown mode {mode}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
