"""``EngineApi``: what the app needs from an engine, whatever runs it.

The GUI's engine worker (``hearth.ui.engine_bridge``) and the command line (``hearth.cli.chat``) drive an engine only
through this interface. ``EngineClient`` implements it with llama.cpp in a child process; the tests' named fake
(``tests/fixtures/fake_engine.py``, ``FakeEngineClient``) implements it with scripted answers. An engine elsewhere
(an OpenAI-compatible server, a queue shared with the local API) implements the same few calls.

The contract:

- One answer at a time. ``load`` and ``chat`` block (they run on a worker thread in the GUI); ``cancel`` and
  ``cancel_load`` may be called from any thread and return at once.
- ``chat`` yields ``EngineEvent`` objects and ends with exactly one ``Finished`` (a stopped answer finishes too,
  with ``StopReason.CANCELLED``). Failures are raised as ``HearthError`` subclasses: ``HostCrashedError`` when the
  engine died (the text streamed so far stays valid; the next call starts afresh), ``EngineNotReadyError`` with no
  model, ``ContextOverflowError``, ``NoVisionError``...
- ``info`` is the loaded model (None when none is). ``debug`` is the user's debug-logging setting, which may change
  at any time: when on, the messages of each request may be logged (never otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from hearth.core.engine.events import EngineEvent, ModelInfo
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.tools import ToolChoice, ToolSpec


class EngineApi(Protocol):
    """An engine that loads one model and answers conversations with it (see the module's contract)."""

    debug: bool
    plan: LoadPlan | None  # what the loaded model was loaded with (None when none is)

    @property
    def info(self) -> ModelInfo | None:
        """The loaded model, or None."""
        ...

    def load(self, plan: LoadPlan, on_progress: Callable[[float], None] | None = None) -> ModelInfo:
        """Load a model as ``plan`` says, replacing the loaded one; ``on_progress`` hears fractions 0..1.

        Raises:
            ModelLoadError: the model could not be loaded (its subclasses say why).
        """
        ...

    def cancel_load(self) -> None:
        """Stop a running ``load`` (it then raises ``ModelLoadError``). Safe from any thread."""
        ...

    def chat(
        self,
        messages: Sequence[dict[str, Any]],
        params: SamplingParams | None = None,
        *,
        continue_last: bool = False,
        tools: Sequence[ToolSpec] = (),
        tool_choice: ToolChoice | None = None,
        raw: bool = False,
    ) -> Iterator[EngineEvent]:
        """Answer a conversation (role/content dictionaries, oldest first), streaming events; ends with ``Finished``.

        Args:
            continue_last: the last message is a partial assistant answer to carry on.
            tools: tools offered to the model through its chat template (``hearth.core.engine.tools``).
            tool_choice: whether the model may, must or must not call one (REQUIRED or NAMED force a call).
            raw: the one message's text is the whole prompt, without the chat template (a plain completion).
        """
        ...

    def cancel(self) -> bool:
        """Stop the running answer as soon as possible (it still ends with ``Finished``). Safe from any thread.

        Returns:
            Whether an answer was running to be stopped.
        """
        ...

    def unload(self) -> None:
        """Forget the model and give its memory back."""
        ...

    def close(self) -> None:
        """End the engine (at exit); a later ``load`` may start it again."""
        ...
