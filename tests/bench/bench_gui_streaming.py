"""Benchmark 3, GUI streaming cost: GUI-thread CPU per token and the worst event-loop stall while an answer streams.

A recorded-style token stream of realistic Markdown (paragraphs, lists, a code block, a table) is replayed into the
chat view at 200 tokens/s from a QTimer in the GUI thread, exactly as the engine bridge delivers tokens, so this
measures the GUI alone. The last ``window`` tokens of every answer are the same passage (heading, paragraph, list,
code), so the cost of a token is compared on identical content at each length; the view holds a short conversation
before the answer, so the window is full from the first token, as in real use. For each answer length (100, 1,000,
4,000 tokens) and repetition it reports:

- ``marginal_us``: GUI-thread CPU time (``time.thread_time``) per token over the last ``window`` tokens before the
  answer reaches that length (the cost of a token *at* that length), minus the idle cost of the same timers;
- ``average_us``: the same over the whole answer, including begin/end of the stream;
- ``stall_ms``: the worst lateness of a 5 ms probe timer during the whole answer.

Medians over the repetitions are reported. The baseline in the same run is the naive approach: ``setMarkdown`` of the
whole answer in a QTextBrowser on every token (its early tokens are pre-filled in one call to save time; only its
marginal cost at each length is measured). Targets: marginal cost at 4,000 tokens ≤ 1.2× that at 100; stall < 16 ms.

Run: ``python tests/bench/bench_gui_streaming.py --json out.json`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for entry in (str(ROOT), str(ROOT / "app")):
    if entry not in sys.path:
        sys.path.insert(0, entry)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QEventLoop, QObject, QTimer, Slot  # noqa: E402
from PySide6.QtWidgets import QApplication, QTextBrowser  # noqa: E402

from hearth.core.store import MessageStatus, Role  # noqa: E402
from hearth.ui.chat.message_types import MessageView  # noqa: E402
from hearth.ui.chat.view import ChatView  # noqa: E402
from hearth.ui.shell.theme import resolve_theme  # noqa: E402
from tests.fixtures.chat_samples import sample_conversation, token_stream  # noqa: E402

RATE = 200.0  # tokens per second
PROBE_MS = 5
WINDOW = 100
SIZE = (1100, 760)
RATIO_MAX = 1.2  # a token at 4,000 tokens may cost the GUI thread at most this many times one at 100


@dataclass
class Sample:
    """One streamed answer."""

    tokens: int
    marginal_us: float
    average_us: float | None
    stall_ms: float


class _Replay(QObject):
    """Feeds tokens at ``RATE`` from a 5 ms timer and probes event-loop lateness with another."""

    def __init__(self, tokens: list[str], feed: Callable[[str], None], finish: Callable[[], None],
                 window: int) -> None:
        super().__init__()
        self.tokens, self.feed, self.finish, self.window = tokens, feed, finish, window
        self.sent = 0
        self.clock = QElapsedTimer()
        self.loop = QEventLoop()
        self.producer = QTimer(self)
        self.producer.setInterval(PROBE_MS)
        self.producer.timeout.connect(self._on_producer_timeout)
        self.probe = QTimer(self)
        self.probe.setInterval(PROBE_MS)
        self.probe.timeout.connect(self._on_probe_timeout)
        self.last_probe = 0.0
        self.stall = 0.0
        self.window_start_cpu = 0.0
        self.start_cpu = 0.0
        self.end_cpu = 0.0
        self.done_at = -1.0

    def run(self) -> None:
        self.clock.start()
        self.start_cpu = time.thread_time()
        if self.window >= len(self.tokens):
            self.window_start_cpu = self.start_cpu
        self.last_probe = 0.0
        self.probe.start()
        self.producer.start()
        self.loop.exec()
        self.probe.stop()
        self.producer.stop()

    @Slot()
    def _on_probe_timeout(self) -> None:
        now = self.clock.nsecsElapsed() / 1e6
        if self.last_probe:
            self.stall = max(self.stall, now - self.last_probe - PROBE_MS)
        self.last_probe = now

    @Slot()
    def _on_producer_timeout(self) -> None:
        elapsed = self.clock.nsecsElapsed() / 1e9
        if self.sent < len(self.tokens):
            due = min(len(self.tokens), int(elapsed * RATE) + 1)
            while self.sent < due:
                if self.sent == len(self.tokens) - self.window:
                    self.window_start_cpu = time.thread_time()
                self.feed(self.tokens[self.sent])
                self.sent += 1
            if self.sent == len(self.tokens):
                self.done_at = elapsed
            return
        # All sent: let the repaint timer show the last tokens (two flush periods), then end the stream.
        if elapsed - self.done_at >= 0.07:
            self.end_cpu = time.thread_time()
            self.finish()
            self.loop.quit()


def _settle(app: QApplication, seconds: float = 0.05) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()


def _stream_into_chat_view(app: QApplication, tokens: list[str], window: int) -> tuple[float, float | None, float]:
    """Stream into a fresh ChatView; returns (window CPU s, whole-answer CPU s, worst stall ms)."""
    view = ChatView(resolve_theme("light"))
    view.resize(*SIZE)
    # A conversation with some history, so the window is full from the first token (as it is in real use).
    view.set_messages(sample_conversation())
    view.append_message(MessageView(100, Role.USER, "Explain how to configure the model, with examples."))
    view.append_message(MessageView(101, Role.ASSISTANT, "", status=MessageStatus.STREAMING, author="Llama 4 Scout"))
    view.show()
    _settle(app)
    view.begin_stream(101)
    chunks: list[str] = []

    def feed(token: str) -> None:
        chunks.append(token)
        view.append_stream(101, token)

    def finish() -> None:
        view.end_stream(101, MessageView(101, Role.ASSISTANT, "".join(chunks), author="Llama 4 Scout",
                                         stats=f"{len(tokens)} tokens · 200.0 tok/s"))

    replay = _Replay(tokens, feed, finish, window)
    replay.run()
    finish_cpu = time.thread_time()
    result = (replay.end_cpu - replay.window_start_cpu, finish_cpu - replay.start_cpu, replay.stall)
    view.close()
    view.deleteLater()
    _settle(app)
    return result


def _stream_naive(app: QApplication, tokens: list[str], window: int) -> tuple[float, float | None, float]:
    """The baseline: setMarkdown of the whole answer per token (early tokens pre-filled in one call, so there is no
    whole-answer figure)."""
    browser = QTextBrowser()
    browser.resize(*SIZE)
    browser.show()
    prefix = tokens[: len(tokens) - window]
    text = ["".join(prefix)]
    browser.setMarkdown(text[0])
    _settle(app)
    bar = browser.verticalScrollBar()

    def feed(token: str) -> None:
        text[0] += token
        browser.setMarkdown(text[0])
        bar.setValue(bar.maximum())

    replay = _Replay(tokens[len(prefix):], feed, lambda: None, window)
    replay.run()
    result = (replay.end_cpu - replay.window_start_cpu, None, replay.stall)
    browser.close()
    browser.deleteLater()
    _settle(app)
    return result


def _idle_cpu_per_second(app: QApplication) -> float:
    """CPU the replay's own timers cost per second with nothing consuming the tokens."""
    replay = _Replay(["x"] * 200, lambda token: None, lambda: None, 200)
    replay.run()
    return (replay.end_cpu - replay.start_cpu) / (200 / RATE + 0.07)


def _median_or_none(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 1) if present else None


def run(lengths: tuple[int, ...] = (100, 1000, 4000), repetitions: int = 3, window: int = WINDOW,
        baseline: bool = True) -> dict[str, object]:
    """Run the benchmark and return the report (see the module docstring)."""
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    idle = _idle_cpu_per_second(app)
    idle_per_token = idle / RATE
    approaches: dict[str, Callable[[QApplication, list[str], int], tuple[float, float | None, float]]] = {
        "chat_view": _stream_into_chat_view}
    if baseline:
        approaches["naive_setMarkdown"] = _stream_naive
    _stream_into_chat_view(app, token_stream(60), 30)  # warm-up: imports, lexers, fonts
    report: dict[str, object] = {
        "benchmark": "gui_streaming", "rate_tokens_per_s": RATE, "window_tokens": window,
        "idle_timer_cost_us_per_token": round(idle_per_token * 1e6, 2),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "qt_platform": os.environ.get("QT_QPA_PLATFORM", "")},
    }
    samples: dict[tuple[str, int], list[Sample]] = {(name, n): [] for name in approaches for n in lengths}
    streams = {n: token_stream(n, reference=min(window, n)) for n in lengths}
    # Repetitions outermost, so slow drift of a shared machine touches every length alike.
    for _ in range(repetitions):
        for name, approach in approaches.items():
            for length in lengths:
                win = min(window, length)
                window_cpu, total_cpu, stall = approach(app, streams[length], win)
                average = None if total_cpu is None else (total_cpu / length - idle_per_token) * 1e6
                samples[name, length].append(Sample(length, (window_cpu / win - idle_per_token) * 1e6, average,
                                                    stall))
    results: dict[str, dict[str, dict[str, object]]] = {name: {} for name in approaches}
    for (name, length), runs in samples.items():
        results[name][str(length)] = {
            "marginal_us_per_token": round(statistics.median(s.marginal_us for s in runs), 1),
            "average_us_per_token": _median_or_none([s.average_us for s in runs]),
            "worst_stall_ms": round(statistics.median(s.stall_ms for s in runs), 2),
            "samples": [asdict(s) for s in runs],
        }
    report["results"] = results
    view = results["chat_view"]
    first, last = str(lengths[0]), str(lengths[-1])
    ratio = float(view[last]["marginal_us_per_token"]) / max(1e-9, float(view[first]["marginal_us_per_token"]))
    stall = max(float(entry["worst_stall_ms"]) for entry in view.values())
    report["summary"] = {
        f"chat_view_marginal_ratio_{last}_vs_{first}": round(ratio, 2),
        "chat_view_worst_stall_ms": stall,
        "targets": {"ratio_max": RATIO_MAX, "stall_max_ms": 16.0},
        "meets_ratio": ratio <= RATIO_MAX,
        "meets_stall": stall < 16.0,
    }
    if baseline:
        naive = results["naive_setMarkdown"]
        report["summary"][f"naive_marginal_ratio_{last}_vs_{first}"] = round(  # type: ignore[index]
            float(naive[last]["marginal_us_per_token"]) / max(1e-9, float(naive[first]["marginal_us_per_token"])), 2)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--lengths", type=int, nargs="+", default=[100, 1000, 4000])
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive setMarkdown baseline")
    parser.add_argument("--quick", action="store_true", help="a smoke run: short answers, one repetition")
    args = parser.parse_args(argv)
    if args.quick:
        report = run((20, 60), 1, 10, baseline=not args.no_baseline)
    else:
        report = run(tuple(args.lengths), args.repetitions, baseline=not args.no_baseline)
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    summary = report["summary"]
    results = report["results"]
    assert isinstance(results, dict)
    for name, rows in results.items():
        for length, row in rows.items():
            average = row["average_us_per_token"]
            print(f"{name:>18} {length:>5} tokens: {row['marginal_us_per_token']:>8.1f} us/token at this length, "
                  f"{'-' if average is None else f'{average:.1f}'} us/token on average, "
                  f"worst stall {row['worst_stall_ms']} ms")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
