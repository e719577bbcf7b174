"""The process the kill test kills: it chats into the store forever and reports every step after it happens.

Run as ``python store_kill_child.py DB PROGRESS SEED INTERVAL MAX_DELAY``: the saver's interval and the longest pause
between two tokens, in seconds. Each report is one line appended to PROGRESS with a single
``os.write`` (so a kill never leaves a line the test would misread; a cut last line has no newline and is ignored):

    open <recovered ids, comma-separated>
    user <message id> <conversation id> <text>       the user message is committed
    start <message id> <first token index>           the answer row is committed (STREAMING, or resumed)
    shown <message id> <characters> <monotonic time> a token was handed to the saver (the GUI would show it now)
    done <message id> <characters> <status>          the final text is committed

Answers are made of canonical tokens ``m<id>.<n> `` so the test can tell a prefix from a duplicate or a mix-up.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path


def token(message_id: int, n: int) -> str:
    return f"m{message_id}.{n} "


def main(db: Path, progress: Path, seed: int, interval: float, max_delay: float) -> None:
    from hearth.core.store import MessageStatus, Role, Store, StreamingSaver

    fd = os.open(progress, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def report(*parts: object) -> None:
        os.write(fd, (" ".join(str(p) for p in parts) + "\n").encode())

    rng = random.Random(seed)
    store = Store.open(db)
    report("open", ",".join(str(i) for i in store.recovered_message_ids))
    turn = 0
    while True:
        turn += 1
        with store.db.read() as conn:
            interrupted = [r[0] for r in conn.execute("SELECT id FROM messages WHERE status = 'interrupted'")]
            answers = [r[0] for r in conn.execute("SELECT id FROM messages WHERE role = 'assistant' LIMIT 200")]
        if interrupted and rng.random() < 0.3:
            resumed = store.messages.resume_message(rng.choice(interrupted))
            msg_id, text = resumed.id, resumed.content
        elif answers and rng.random() < 0.15:
            msg_id, text = store.messages.regenerate(rng.choice(answers)), ""
        else:
            convs = store.conversations.list_all(limit=20)
            conv_id = store.conversations.create().id if not convs or rng.random() < 0.3 else rng.choice(convs).id
            words = f"question-{seed}-{turn} " + "word " * rng.randint(0, 5)
            user = store.messages.add_user_message(conv_id, words.strip())
            report("user", user.id, conv_id, user.content)
            msg_id, text = store.messages.start_assistant_message(user.id), ""
        first = text.count(" ")
        report("start", msg_id, first)
        saver = StreamingSaver(store.messages, msg_id, initial_text=text, interval_s=interval)
        for n in range(first, first + rng.randint(10, 250)):
            time.sleep(rng.uniform(max_delay / 20, max_delay))  # the model writing
            saver.add(token(msg_id, n))
            report("shown", msg_id, len(saver.text), repr(time.monotonic()))
        message = saver.cancel() if rng.random() < 0.15 else saver.finish()
        report("done", msg_id, len(message.content), message.status.value)
        assert message.role is Role.ASSISTANT and message.status is not MessageStatus.STREAMING


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
