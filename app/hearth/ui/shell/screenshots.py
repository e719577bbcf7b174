"""``hearth --screenshot DIR``: save PNGs of the window (light and dark, with a conversation) and exit.

Runs in a throw-away data folder (``run_app`` points ``HEARTH_HOME`` at one), so the user's conversations are never
touched. The conversation is written to the real store and drawn by the real views; the model is really loaded.
The Models page and the first-run wizard need a Hugging Face Hub to show a download: ``tools/screenshots.py`` (in a
source checkout) serves one on loopback and takes those too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtWidgets import QApplication

from hearth.core.store import MessageStatus, Role, RunInfo, Store
from hearth.ui.model_session import ModelSession
from hearth.ui.shell.main_window import MainWindow
from hearth.ui.shell.theme import ThemeController


class ShownApp(Protocol):
    """What the screenshots need of the app (``hearth.ui.app.HearthApp``, built by ``build_app``)."""

    qapp: QApplication
    store: Store
    session: ModelSession
    theme: ThemeController
    window: MainWindow

    def start(self) -> None: ...

DEMO_QUESTION = "How can Llama 4 Scout run on a gaming PC with a 24 GB GPU?"
DEMO_ANSWER = r"""Llama 4 Scout is a **mixture-of-experts** model: 109B parameters in all, but only **17B are
active** for each token. That is what makes it practical on a consumer GPU.

### The trick: experts in RAM, everything else on the GPU

1. Put every layer's attention, shared expert and the KV cache on the GPU (about 7 GB at Q4).
2. Keep the 16 routed experts of each layer in system RAM (`--cpu-moe` in llama.cpp).
3. Each token reads only the one expert it is routed to, so RAM bandwidth stays manageable.

| Quantization | File size | Fits 64 GB RAM + 24 GB GPU | Expected speed |
|---|---:|:---:|---:|
| UD-IQ2_XXS | 38.6 GB | yes | ~14 tokens/s |
| UD-Q3_K_XL | 52.9 GB | yes | ~11 tokens/s |
| UD-Q4_K_XL | 65.6 GB | tight | ~9 tokens/s |

The speed follows from bandwidth: with $b$ bytes read per token and a memory bandwidth of $B$,
$$t \approx \frac{b}{B}$$

```python
from hearth.core.engine.plan import LoadPlan, expert_patterns

plan = LoadPlan("Llama-4-Scout-UD-Q3_K_XL.gguf", n_gpu_layers=-1,
                cpu_tensor_patterns=expert_patterns(), n_ctx=8192)
```

> Hearth's planner makes this choice for you and explains it before you download anything."""
DEMO_FOLLOW_UP = "And the vision part?"
DEMO_FOLLOW_ANSWER = (
    "Scout reads images natively. Download its vision file (`mmproj`) with the model, then drop a picture on the "
    "window and ask about it — the image is resized and stripped of location data before it is read, and never "
    "leaves your computer."
)


def settle(app: QApplication, seconds: float, until: Callable[[], bool] | None = None) -> None:
    """Run the event loop for ``seconds`` (or until ``until()`` holds): layouts, repaints and results arrive."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()
        if until is not None and until():
            break
        time.sleep(0.02)
    for _ in range(10):
        app.processEvents()


def seed_demo(store: Store) -> int:
    """A conversation worth looking at, plus a few others in the side list; returns the conversation's id."""
    for title in ("Trip to Lisbon: three-day plan", "Explain this Python traceback", "Quarterly report summary"):
        conv = store.conversations.create(title=title)
        store.messages.add_user_message(conv.id, title)
    conv = store.conversations.create()
    user = store.messages.add_user_message(conv.id, DEMO_QUESTION)
    for text in (DEMO_ANSWER, DEMO_ANSWER):  # two versions: the branch switcher shows "2/2"
        answer_id = store.messages.start_assistant_message(user.id)
        store.messages.finish_message(answer_id, text, MessageStatus.COMPLETE, RunInfo(
            model_file="Llama-4-Scout-17B-16E-Instruct-UD-Q3_K_XL.gguf", tokens=412, tokens_per_s=11.4,
            ttft_s=0.8, stop_reason="eos", plan_summary="GPU + experts in RAM"))
    follow = store.messages.add_user_message(conv.id, DEMO_FOLLOW_UP, parent_id=answer_id)
    follow_id = store.messages.start_assistant_message(follow.id)
    store.messages.finish_message(follow_id, DEMO_FOLLOW_ANSWER, MessageStatus.COMPLETE, RunInfo(
        model_file="Llama-4-Scout-17B-16E-Instruct-UD-Q3_K_XL.gguf", tokens=61, tokens_per_s=11.9,
        stop_reason="eos"))
    assert store.messages.get(follow_id).role is Role.ASSISTANT
    store.set_state("last_conversation_id", conv.id)
    return conv.id


def take_screenshots(app: ShownApp, out: Path) -> int:
    """Save ``main-light.png`` and ``main-dark.png`` to ``out`` and close the window; returns the exit status."""
    window_screenshots(app, out)
    app.window.close()
    return 0


def window_screenshots(app: ShownApp, out: Path) -> list[Path]:
    """Start the app on a demo conversation and save the window in both themes; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    qapp = app.qapp
    conversation = seed_demo(app.store)
    app.window.resize(1280, 860)
    app.start()
    app.window.sidebar.refresh()
    settle(qapp, 90, until=lambda: app.session.ready)
    first = app.store.messages.active_branch(conversation)[0]
    app.window.chat_view.restore_scroll_state(float(first.id))
    written = []
    for mode in ("light", "dark"):
        app.theme.set_mode(mode)
        settle(qapp, 0.5)
        path = out / f"main-{mode}.png"
        app.window.grab().save(str(path))
        written.append(path)
    app.theme.set_mode("light")
    return written
