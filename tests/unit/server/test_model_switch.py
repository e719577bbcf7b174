"""The server on a thread in this process (as the window runs it), over the real engine: the ``model`` field switches
among installed models only when allowed, and the window's session hears of the switch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from hearth.core.engine import EngineClient
from hearth.core.engine.events import ModelInfo
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.service import EngineService
from hearth.core.errors import HearthError
from hearth.server.app import ApiContext
from hearth.server.catalog import ModelCatalog
from hearth.server.config import ServerConfig, ServerConfigError
from hearth.server.runner import ApiServer
from tests.fixtures.tiny_llama4 import write_tiny_llama4

KEY = "test-key-0123456789abcdef"


def _plan(path: Path) -> LoadPlan:
    return LoadPlan(str(path), n_ctx=512, n_threads=2)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    write_tiny_llama4(folder / "tiny-one.gguf", seed=1)
    write_tiny_llama4(folder / "tiny-two.gguf", seed=2)
    return folder


@pytest.fixture
def service(models: Path) -> Iterator[EngineService]:
    service = EngineService(EngineClient())
    done: list[ModelInfo | HearthError] = []
    ticket = service.load("test", _plan(models / "tiny-one.gguf"), on_done=done.append)
    assert ticket.wait(120) and isinstance(done[0], ModelInfo)
    yield service
    service.close()


def _serve(service: EngineService, models: Path, *, switch: bool) -> ApiServer:
    client = service.client
    catalog = ModelCatalog(lambda: client.plan.model_path if client.plan else None, lambda: models)
    server = ApiServer(ApiContext(service, ServerConfig(port=0, api_key=KEY, allow_model_switch=switch), catalog,
                                  plan_for=_plan))
    server.start()
    return server


def test_without_switching_only_the_loaded_model_answers(service: EngineService, models: Path) -> None:
    server = _serve(service, models, switch=False)
    client = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
    try:
        assert [m.id for m in client.models.list()] == ["tiny-one"]
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="tiny-two", max_tokens=2,
                                           messages=[{"role": "user", "content": "hi"}])
        assert Path(service.client.plan.model_path).name == "tiny-one.gguf"  # type: ignore[union-attr]
        with pytest.raises(ServerConfigError, match="already in use"):
            ApiServer(ApiContext(service, ServerConfig(port=server.port, api_key=KEY),
                                 ModelCatalog(lambda: None)))
    finally:
        client.close()
        server.stop()
    assert not server.running


def test_with_switching_a_request_loads_the_model_it_names(service: EngineService, models: Path) -> None:
    heard: list[tuple[str, str]] = []
    service.add_model_listener(lambda source, info, _plan: heard.append((source, info.path if info else "")))
    server = _serve(service, models, switch=True)
    client = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
    try:
        assert sorted(m.id for m in client.models.list()) == ["tiny-one", "tiny-two"]
        answer = client.chat.completions.create(model="TINY-TWO.gguf", max_tokens=3, temperature=0,
                                                messages=[{"role": "user", "content": "hi"}])
        assert answer.model == "tiny-two" and answer.usage is not None and answer.usage.completion_tokens > 0
        assert Path(service.client.plan.model_path).name == "tiny-two.gguf"  # type: ignore[union-attr]
        assert heard and heard[-1][0].startswith("api:") and heard[-1][1].endswith("tiny-two.gguf")
        assert next(m.id for m in client.models.list()) == "tiny-two"  # the loaded model comes first
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="not-installed", max_tokens=2,
                                           messages=[{"role": "user", "content": "hi"}])
    finally:
        client.close()
        server.stop()
