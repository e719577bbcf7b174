"""One engine handle for the window: models on this computer through the engine host, models of remote servers
through ``RemoteEngineClient``.

The window loads a plan and chats; a plan made by ``remote_plan`` selects a server's model, any other plan a local
model. Choosing a remote model ends the local engine host (its memory is freed, as when another local model is
chosen); choosing a local model forgets the remote one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from hearth.core.engine.client import EngineClient
from hearth.core.engine.events import EngineEvent, ModelInfo
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.remote import RemoteEngineClient, RemoteServer, remote_of
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.tools import ToolChoice, ToolSpec
from hearth.core.errors import InvalidRequestError


class RoutingEngineClient(EngineClient):
    """``EngineClient`` that also reaches remote servers.

    Args:
        key_for: the saved key of a server's base URL (None: none).
        offline: the app's offline mode, asked before every remote connection.
        **kwargs: ``EngineClient``'s.
    """

    def __init__(self, *, key_for: Callable[[str], str | None] = lambda _url: None,
                 offline: Callable[[], bool] = lambda: False, log_path: Path | None = None,
                 **kwargs: Any) -> None:
        super().__init__(log_path=log_path, **kwargs)
        self._key_for = key_for
        self._offline = offline
        self.remote: RemoteEngineClient | None = None

    def load(self, plan: LoadPlan, on_progress: Callable[[float], None] | None = None) -> ModelInfo:
        remote = remote_of(plan)
        if remote is None:
            self.remote = None
            return super().load(plan, on_progress)
        base_url, model = remote
        client = RemoteEngineClient(RemoteServer(base_url, self._key_for(base_url) or ""), model,
                                    offline=self._offline)
        info = client.load(plan, on_progress)
        super().unload()  # the local model's memory is not needed while a server answers
        self.remote = client
        self.plan = plan
        self.info = info
        return info

    def chat(self, messages: Sequence[dict[str, Any]], params: SamplingParams | None = None, *,
             continue_last: bool = False, tools: Sequence[ToolSpec] = (), tool_choice: ToolChoice | None = None,
             raw: bool = False) -> Iterator[EngineEvent]:
        if self.remote is not None:
            if tools or raw or (params is not None and (params.json_schema or params.grammar)):
                raise InvalidRequestError("Tools, JSON formats, grammars and plain completions need a model on this "
                                          "computer; the chosen model is on a remote server.")
            return self.remote.chat(messages, params, continue_last=continue_last)
        return super().chat(messages, params, continue_last=continue_last, tools=tools, tool_choice=tool_choice,
                            raw=raw)

    def cancel(self) -> bool:
        if self.remote is not None:
            self.remote.cancel()
            return True
        return super().cancel()

    def cancel_load(self) -> None:
        if self.remote is None:
            super().cancel_load()

    def unload(self) -> None:
        if self.remote is not None:
            self.remote.unload()
            self.remote = None
        super().unload()

    def close(self) -> None:
        if self.remote is not None:
            self.remote.close()
            self.remote = None
        super().close()
