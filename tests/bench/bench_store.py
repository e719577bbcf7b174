"""Conversation store benchmarks.

1. Full-text search latency at 10,000 conversations / 200,000 messages: the median of several runs of each query
   through ``Store.search.messages`` (ranked, with snippets, first 50 hits), against two baselines in the same run
   and on the same database: a plain ``LIKE '%word%'`` scan (what search costs without the index) and a primary-key
   lookup of one message (the floor for any query through the store).
2. Save-as-you-stream cost per token: the answer loop feeding ``StreamingSaver`` (a write per second of simulated
   time) against the same loop that only collects the text, and against a write per token.
3. Context: database size, open time (with its quick check), list and branch reads.

Run: ``python tests/bench/bench_store.py [--conversations 10000] [--messages 200000] [--db PATH] [--json out.json]``.
``--db`` keeps the generated database for later runs (it is reused when it exists).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "app"), str(ROOT)]

from hearth.core.store import Store, StreamingSaver  # noqa: E402
from hearth.core.store.records import dumps  # noqa: E402
from tests.bench import print_and_save  # noqa: E402

VOCABULARY = 30_000
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "vo", "pe", "da", "zu", "fi", "go", "ba", "te", "ri", "yo",
             "ul", "ex", "an", "or", "is", "um", "el"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_vocabulary(rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words, key=lambda w: (len(w), w))  # short words are the common ones, as in real text


def build_corpus(path: Path, conversations: int, messages: int, seed: int = 5) -> list[str]:
    """Fill a new database through the store's schema (and so its search triggers). Returns the vocabulary."""
    rng = random.Random(seed)
    vocab = make_vocabulary(rng)
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]  # Zipf: word frequencies in natural language
    cum = list(_accumulate(weights))
    per_conv = max(2, messages // conversations)
    msg_id = 0
    with Store.open(path) as store:
        for first in range(0, conversations, 1000):  # one transaction per slice keeps the WAL small
            with store.db.write() as conn:
                for c in range(first, min(first + 1000, conversations)):
                    msg_id = _add_conversation(conn, rng, vocab, cum, c, per_conv, msg_id)
        with store.db.read() as conn:
            conn.execute("INSERT INTO message_fts(message_fts) VALUES ('optimize')")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return vocab


def _add_conversation(
    conn: sqlite3.Connection, rng: random.Random, vocab: list[str], cum: list[float], c: int, per_conv: int,
    msg_id: int,
) -> int:
    """One conversation of ``per_conv`` alternating messages in a single branch; returns the last message id."""
    created = 1_700_000_000.0 + c * 600
    cur = conn.execute(
        "INSERT INTO conversations (uuid, title, title_source, created, updated, settings)"
        " VALUES (?, ?, 'auto', ?, ?, '{}')",
        (f"bench-{c}", " ".join(rng.choices(vocab[:3000], k=4)), created, created + per_conv * 30),
    )
    conv_id = cur.lastrowid
    parent = None
    for m in range(per_conv):
        user = m % 2 == 0
        n_words = rng.randint(5, 40) if user else rng.randint(30, 200)
        text = " ".join(rng.choices(vocab, cum_weights=cum, k=n_words))
        msg_id += 1
        conn.execute(
            "INSERT INTO messages (id, conversation_id, parent_id, role, content, status, created, updated,"
            " run_info) VALUES (?, ?, ?, ?, ?, 'complete', ?, ?, ?)",
            (msg_id, conv_id, parent, "user" if user else "assistant", text, created + m * 30, created + m * 30,
             None if user else dumps({"tokens": n_words, "stop_reason": "stop"})),
        )
        if parent is not None:
            conn.execute("UPDATE messages SET active_child_id = ? WHERE id = ?", (msg_id, parent))
        parent = msg_id
    conn.execute("UPDATE conversations SET selected_leaf_id = ? WHERE id = ?", (parent, conv_id))
    return msg_id


def _accumulate(values: list[float]) -> list[float]:
    total = 0.0
    out = []
    for v in values:
        total += v
        out.append(total)
    return out


def median_ms(fn: Callable[[], Any], reps: int) -> float:
    fn()  # warm the page cache: the app searches a database it has open
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_search(store: Store, vocab: list[str], reps: int) -> dict[str, Any]:
    # Text without a trailing space searches its last word as a prefix too (the user is still typing).
    queries = {
        "very common word, typed": f"{vocab[0]} ",
        "very common word, while typing": vocab[0],
        "common word": f"{vocab[50]} ",
        "medium word": f"{vocab[2000]} ",
        "rare word": f"{vocab[20000]} ",
        "two words": f"{vocab[50]} {vocab[2000]} ",
        "prefix while typing": vocab[2000][:4],
        "phrase": f'"{vocab[3]} {vocab[7]}"',
        "no match": "xylophonequartz ",
    }
    with store.db.read() as conn:
        max_id = conn.execute("SELECT max(id) FROM messages").fetchone()[0]
    ids = random.Random(1).sample(range(1, max_id + 1), 50)
    pk_ms = median_ms(lambda: [store.messages.get(i) for i in ids], reps) / len(ids)
    results = []
    for label, query in queries.items():
        fts = median_ms(lambda q=query: store.search.messages(q, limit=50), reps)
        hits = store.search.count(query)
        like_term = "%" + query.strip().strip('"') + "%"

        def like(term: str = like_term) -> list[Any]:
            with store.db.read() as conn:
                return conn.execute(
                    "SELECT id FROM messages WHERE content LIKE ? ORDER BY created DESC LIMIT 50", (term,)
                ).fetchall()

        like_ms = median_ms(like, max(1, reps // 2))
        results.append({
            "query": label, "text": query, "matches": hits, "fts_ms": round(fts, 3), "like_scan_ms": round(like_ms, 2),
            "fts_vs_like": round(fts / like_ms, 4), "fts_vs_pk_lookup": round(fts / pk_ms, 1),
        })
    fts_all = [r["fts_ms"] for r in results]
    like_all = [r["like_scan_ms"] for r in results]
    return {
        "queries": results,
        "pk_lookup_ms": round(pk_ms, 4),
        "fts_median_ms": round(statistics.median(fts_all), 3),
        "fts_max_ms": round(max(fts_all), 3),
        "like_median_ms": round(statistics.median(like_all), 2),
        "median_ratio_fts_vs_like": round(statistics.median(fts_all) / statistics.median(like_all), 4),
    }


def bench_streaming(store: Store, tokens: int, reps: int) -> dict[str, Any]:
    """Per-token cost of the answer loop with and without saving, on a simulated 50 tokens/s clock."""
    conv = store.conversations.create(title="streaming bench")
    user = store.messages.add_user_message(conv.id, "Write a long story.")
    deltas = [f" word{i % 977}" for i in range(tokens)]

    def plain() -> None:
        clock = FakeClock()
        parts: list[str] = []
        for d in deltas:
            clock.now += 0.02
            parts.append(d)
        "".join(parts)

    def saving(interval: float) -> Callable[[], None]:
        def run() -> None:
            clock = FakeClock()
            msg_id = store.messages.start_assistant_message(user.id)
            saver = StreamingSaver(store.messages, msg_id, clock=clock, interval_s=interval)
            for d in deltas:
                clock.now += 0.02
                saver.add(d)
            saver.finish()
        return run

    plain_ms = median_ms(plain, reps)
    saver_ms = median_ms(saving(1.0), reps)
    every_ms = median_ms(saving(0.0), max(1, reps // 2))
    per = 1000.0 / tokens  # ms per run → µs per token
    return {
        "tokens": tokens,
        "simulated_rate_tok_s": 50,
        "plain_loop_us_per_token": round(plain_ms * per, 3),
        "saver_1s_us_per_token": round(saver_ms * per, 3),
        "saver_overhead_us_per_token": round((saver_ms - plain_ms) * per, 3),
        "saves_per_answer": int(tokens * 0.02 // 1.0),
        "write_every_token_us_per_token": round(every_ms * per, 3),
    }


def bench_context(path: Path, store: Store, reps: int) -> dict[str, Any]:
    def reopen() -> None:
        Store.open(path, recover=False).close()

    def reopen_unchecked() -> None:
        Store.open(path, recover=False, check=False).close()

    conv_ids = [c.id for c in store.conversations.list_all(limit=200)]
    return {
        "db_mib": round(sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20, 1),
        "open_with_quick_check_ms": round(median_ms(reopen, max(1, reps // 2)), 1),
        "open_without_check_ms": round(median_ms(reopen_unchecked, reps), 2),
        "list_first_100_ms": round(median_ms(lambda: store.conversations.list_all(limit=100), reps), 3),
        "list_all_ms": round(median_ms(store.conversations.list_all, max(1, reps // 2)), 1),
        "active_branch_ms": round(median_ms(lambda: [store.messages.active_branch(i) for i in conv_ids[:20]],
                                            reps) / 20, 3),
    }


def run(conversations: int = 10_000, messages: int = 200_000, reps: int = 7, db: Path | None = None,
        stream_tokens: int = 5000) -> dict[str, Any]:
    """Build (or reuse) the corpus and measure; returns the results as a JSON-serialisable dict."""
    with tempfile.TemporaryDirectory() as tmp:
        path = db or Path(tmp) / "bench.db"
        started = time.perf_counter()
        if path.exists():
            vocab = make_vocabulary(random.Random(5))
            build_s = None
        else:
            vocab = build_corpus(path, conversations, messages)
            build_s = round(time.perf_counter() - started, 1)
        with Store.open(path, recover=False) as store:
            with store.db.read() as conn:
                counts = {
                    "conversations": conn.execute("SELECT count(*) FROM conversations").fetchone()[0],
                    "messages": conn.execute("SELECT count(*) FROM messages").fetchone()[0],
                }
            result = {
                "corpus": {**counts, "build_s": build_s},
                "search": bench_search(store, vocab, reps),
                "context": bench_context(path, store, reps),
                "streaming": bench_streaming(store, stream_tokens, reps),
                "sqlite": sqlite3.sqlite_version,
            }
            if db is not None:  # leave a reused database as it was
                for conv in store.conversations.list_all(title_filter="streaming bench"):
                    store.conversations.purge(conv.id)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--db", type=Path, help="keep the generated database here (reused if it exists)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    result = run(args.conversations, args.messages, args.reps, args.db)
    return print_and_save(result, args.json)


if __name__ == "__main__":
    sys.exit(main())
