"""Save PNGs of the chat view (light and dark) with a realistic conversation: ``python tests/ui/screenshots.py DIR``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "app"), str(ROOT)]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from hearth.core.store import MessageStatus, Role  # noqa: E402
from hearth.ui.chat.message_types import MessageView  # noqa: E402
from hearth.ui.chat.view import ChatView  # noqa: E402
from hearth.ui.shell.theme import apply_theme, resolve_theme  # noqa: E402
from tests.fixtures.chat_samples import sample_conversation  # noqa: E402


def save_screenshots(out: Path, width: int = 1000, height: int = 2600) -> list[Path]:
    """Render the sample conversation in both themes; returns the files written."""
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for mode in ("light", "dark"):
        theme = resolve_theme(mode)
        apply_theme(app, theme)
        view = ChatView(theme)
        view.resize(width, height)
        view.set_messages(sample_conversation())
        view.show()
        for _ in range(5):
            app.processEvents()
        view.scroll_to_bottom()
        app.processEvents()
        path = out / f"chat-{mode}.png"
        view.grab().save(str(path))
        written.append(path)
        view.resize(width, 760)
        app.processEvents()
        view.scroll_to_bottom()
        app.processEvents()
        path = out / f"chat-{mode}-window.png"
        view.grab().save(str(path))
        written.append(path)
        # Mid-answer: an open code fence streaming in.
        view.append_message(MessageView(20, Role.USER, "Show me how to load it from Python."))
        view.append_message(MessageView(21, Role.ASSISTANT, "", status=MessageStatus.STREAMING, author="Llama 4 Scout"))
        view.begin_stream(21)
        message = view.message_widget(21)
        assert message is not None
        message.stream_text("Sure. Load the model with the planner's placement:\n\n```python\nfrom hearth import "
                            "planner\n\nplan = planner.plan(\"scout.gguf\", ctx=8192)\nmodel = Llama(\"scout")
        for _ in range(5):
            app.processEvents()
        view.scroll_to_bottom()
        app.processEvents()
        path = out / f"chat-{mode}-streaming.png"
        view.grab().save(str(path))
        written.append(path)
        view.close()
        view.deleteLater()
    return written


if __name__ == "__main__":
    for file in save_screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/chatview-shots")):
        print(file)
