"""``hearth --screenshot DIR``: save PNGs of the window (light and dark, with a conversation), the empty chat, an
answer with a reasoning model's thinking (closed and open) and the preset picker open, and exit.

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

from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QMenu, QWidget

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


THINKING_QUESTION = "Is 1,001 a prime number?"
THINKING_ANSWER = (
    "<think>\n1001 ends in 1, so not divisible by 2 or 5. Digit sum is 2, so not by 3. Try 7: 7 × 143 = 1001. "
    "So it is not prime. 143 = 11 × 13, so 1001 = 7 × 11 × 13.\n</think>\n\n"
    "No. **1,001 = 7 × 11 × 13**, so it has divisors other than 1 and itself.\n\n"
    "A quick way to spot it: 1,001 × any three-digit number *abc* gives *abcabc* — which is why numbers like "
    "123,123 are never prime either."
)


def seed_thinking(store: Store) -> int:
    """A conversation with a reasoning model's answer (its thinking folded away); returns its id."""
    conv = store.conversations.create(system_prompt="Answer briefly and directly.", preset="Concise answers")
    user = store.messages.add_user_message(conv.id, THINKING_QUESTION)
    answer_id = store.messages.start_assistant_message(user.id)
    store.messages.finish_message(answer_id, THINKING_ANSWER, MessageStatus.COMPLETE, RunInfo(
        model_file="Qwen3-8B-Q4_K_M.gguf", tokens=118, tokens_per_s=24.6, ttft_s=0.4, stop_reason="eos",
        plan_summary="GPU", extra={"thinking_s": 12.4}))
    return conv.id


def _with_menu(window: QWidget, button: QWidget, menu: QMenu) -> QPixmap:
    """The window with a menu drawn where it opens under ``button`` (a menu is a window of its own)."""
    shot = window.grab()
    painter = QPainter(shot)
    corner = button.mapTo(window, button.rect().bottomLeft())
    painter.drawPixmap(corner.x() + button.width() - menu.sizeHint().width(), corner.y() + 2, menu.grab())
    painter.end()
    return shot


def chat_screenshots(app: ShownApp, out: Path) -> None:
    """The empty chat with the starter model, a thinking block, and the preset picker open."""
    qapp = app.qapp
    window = app.window
    window.new_chat()
    settle(qapp, 0.5)
    window.grab().save(str(out / "empty-chat.png"))
    thinking = seed_thinking(app.store)
    window.sidebar.refresh()
    window.open_conversation(thinking)
    settle(qapp, 0.5)
    window.grab().save(str(out / "thinking.png"))
    first = app.store.messages.active_branch(thinking)[-1]
    widget = window.chat_view.message_widget(first.id)
    if widget is not None and widget.thinking_block is not None:
        widget.thinking_block.toggle.setChecked(True)
        settle(qapp, 0.3)
        window.grab().save(str(out / "thinking-open.png"))
    picker = window.preset_picker
    picker.build_menu()
    picker.menu_.popup(picker.mapToGlobal(picker.rect().bottomLeft()))
    settle(qapp, 0.3)
    _with_menu(window, picker, picker.menu_).save(str(out / "presets.png"))
    picker.menu_.hide()


def take_screenshots(app: ShownApp, out: Path) -> int:
    """Save ``main-light.png``, ``main-dark.png``, ``empty-chat.png``, ``thinking.png``, ``thinking-open.png`` and
    ``presets.png`` to ``out`` and close the window; returns the exit status."""
    window_screenshots(app, out)
    chat_screenshots(app, out)
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
