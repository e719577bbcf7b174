"""The local API's routes: ``GET /v1/models``, ``POST /v1/chat/completions``, ``POST /v1/completions``.

Each answer is one request to the shared ``EngineService``, in the turn of the client that sent it (its ``user``
field, else its connection). Events come back from the engine's thread through the event loop
(``call_soon_threadsafe``); a client that goes away, streamed or not, cancels its answer, which stops within a token.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from hearth.core.engine.events import EngineEvent, Finished, ModelInfo, TokenDelta
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.service import EngineService, Ticket
from hearth.core.engine.tools import ToolFormat
from hearth.core.errors import HearthError
from hearth.server.catalog import ModelCatalog
from hearth.server.config import ServerConfig
from hearth.server.errors import ApiError, from_hearth_error, internal_error
from hearth.server.guard import Guard, RequestStats, body_too_large
from hearth.server.requests import ParsedRequest, Parser, chat_request, completion_request, parse_json_body
from hearth.server.responses import AnswerWriter

log = logging.getLogger(__name__)
Item = EngineEvent | HearthError
INLINE_PARSE_BYTES = 64 * 1024


@dataclass
class ApiContext:
    """What the routes need, built once by whoever starts the server.

    Attributes:
        service: the shared engine.
        config: the server's settings.
        catalog: model names.
        sampling_for: the sampling settings a request starts from (the loaded model's settings in Hearth).
        system_prompt_for: the system prompt a chat request without one gets (the loaded model's in Hearth: the
            user's for the model, else its recommended one; "" for none). Small models answer far worse without
            the one they were tuned with, and an app calling the API cannot know it.
        plan_for: how to load an installed model when a request switches (with ``config.allow_model_switch``).
        stats: counts of recent requests.
    """

    service: EngineService
    config: ServerConfig
    catalog: ModelCatalog
    sampling_for: Callable[[], SamplingParams] = SamplingParams
    system_prompt_for: Callable[[], str] = str
    plan_for: Callable[[Path], LoadPlan] | None = None
    stats: RequestStats = field(default_factory=RequestStats)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` (a chunked body has no Content-Length to check)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


class Routes:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    # --- models --------------------------------------------------------------------------------------------------

    def _model_object(self, model_id: str, created: int) -> dict[str, Any]:
        return {"id": model_id, "object": "model", "created": created, "owned_by": "hearth"}

    async def models(self, request: Request) -> Response:
        created = int(time.time())
        entries = self.ctx.catalog.entries(installed=self.ctx.config.allow_model_switch)
        return JSONResponse({"object": "list", "data": [self._model_object(e.id, created) for e in entries]})

    async def model(self, request: Request) -> Response:
        name = request.path_params["model"]
        entry = self.ctx.catalog.find(name, installed=self.ctx.config.allow_model_switch)
        if entry is None:
            raise ApiError(404, f"The model '{name}' does not exist here.", code="model_not_found", param="model")
        return JSONResponse(self._model_object(entry.id, int(time.time())))

    async def _ensure_model(self, name: str, source: str) -> str:
        """The id of the model that will answer; loads an installed one when switching is allowed."""
        ctx = self.ctx
        loaded = ctx.catalog.loaded()
        if loaded is not None and ctx.catalog.matches(name, loaded):
            return loaded.id
        entry = ctx.catalog.find(name, installed=ctx.config.allow_model_switch and ctx.plan_for is not None)
        if entry is None:
            if loaded is None:
                raise ApiError(503, "No model is loaded in Hearth yet.", type="server_error",
                               code="engine_not_ready")
            raise ApiError(404, f"The model '{name}' is not loaded. The loaded model is '{loaded.id}'.",
                           code="model_not_found", param="model")
        assert ctx.plan_for is not None
        loop = asyncio.get_running_loop()
        done: asyncio.Future[ModelInfo | HearthError] = loop.create_future()
        plan = await asyncio.to_thread(ctx.plan_for, entry.path)  # reads the GGUF header: not on the loop
        def settle(outcome: ModelInfo | HearthError) -> None:
            if not done.done():
                done.set_result(outcome)

        try:
            ctx.service.load(source, plan, on_done=lambda outcome: loop.call_soon_threadsafe(settle, outcome),
                             bounded=True)
        except HearthError as exc:
            raise from_hearth_error(exc) from None
        outcome = await done
        if isinstance(outcome, HearthError):
            raise from_hearth_error(outcome)
        return entry.id

    # --- answers -------------------------------------------------------------------------------------------------

    async def chat_completions(self, request: Request) -> Response:
        return await self._answer(request, chat_request, completion=False)

    async def completions(self, request: Request) -> Response:
        return await self._answer(request, completion_request, completion=True)

    async def _answer(self, request: Request, parse: Parser, *, completion: bool) -> Response:
        ctx = self.ctx
        raw = await read_body(request, ctx.config.max_body_bytes)
        defaults = ctx.sampling_for()
        if len(raw) > INLINE_PARSE_BYTES:
            # Parsing megabytes of JSON and preparing pictures is CPU work: not on the event loop, where it would
            # hold up every other client's stream. A small body is parsed at once (a thread hop costs more).
            body = await asyncio.to_thread(parse_json_body, raw)
            parsed = await asyncio.to_thread(parse, body, defaults)
        else:
            body = parse_json_body(raw)
            parsed = parse(body, defaults)
        if ctx.config.debug:
            log.debug("%s body: %s", request.url.path, json.dumps(body, ensure_ascii=False)[:100_000])
        client = request.client
        source = "api:" + (parsed.user or (f"{client.host}:{client.port}" if client else "unknown"))
        model_id = await self._ensure_model(parsed.model, source)
        if not completion:
            parsed = with_system_prompt(parsed, ctx.system_prompt_for())
        info = ctx.service.client.info
        tool_format = ToolFormat(info.tool_format) if info is not None else ToolFormat.HERMES
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[Item] = asyncio.Queue()
        try:
            ticket = ctx.service.chat(source, parsed.chat, lambda item: loop.call_soon_threadsafe(items.put_nowait,
                                                                                               item))
        except HearthError as exc:
            raise from_hearth_error(exc) from None
        writer = AnswerWriter(parsed, model_id, tool_format, completion=completion)
        first = await _next_unless_gone(request, items, ticket)
        if first is None:
            return Response(status_code=499)  # nobody is listening any more
        if isinstance(first, HearthError):
            raise from_hearth_error(first)
        if parsed.stream:
            return EventSourceResponse(self._events(request, parsed, writer, first, items, ticket), sep="\n",
                                       ping=15)
        return await self._whole(request, writer, first, items, ticket)

    async def _whole(self, request: Request, writer: AnswerWriter, item: Item, items: asyncio.Queue[Item],
                     ticket: Ticket) -> Response:
        while True:
            if isinstance(item, HearthError):
                raise from_hearth_error(item)
            if isinstance(item, TokenDelta):
                writer.text.append(item.text)
            elif isinstance(item, Finished):
                body = writer.response(item.stats)
                _note(request, item)
                return JSONResponse(body)
            following = await _next_unless_gone(request, items, ticket)
            if following is None:
                return Response(status_code=499)
            item = following

    async def _events(self, request: Request, parsed: ParsedRequest, writer: AnswerWriter, item: Item,
                      items: asyncio.Queue[Item], ticket: Ticket) -> AsyncIterator[dict[str, str]]:
        finished = False
        try:
            for chunk in writer.first_chunks():
                yield {"data": json.dumps(chunk, ensure_ascii=False)}
            while True:
                if isinstance(item, HearthError):
                    error = from_hearth_error(item)
                    yield {"data": json.dumps(error.body(), ensure_ascii=False)}
                    request.state.finish = "error"
                    finished = True
                    return
                if isinstance(item, TokenDelta):
                    for chunk in writer.text_chunks(item.text):
                        yield {"data": json.dumps(chunk, ensure_ascii=False)}
                elif isinstance(item, Finished):
                    for chunk in writer.last_chunks(item.stats):
                        yield {"data": json.dumps(chunk, ensure_ascii=False)}
                    yield {"data": "[DONE]"}
                    _note(request, item)
                    finished = True
                    return
                item = await items.get()
        except (asyncio.CancelledError, GeneratorExit):
            raise
        except Exception:
            log.exception("unexpected failure while streaming")
            yield {"data": json.dumps(internal_error().body())}
            finished = True
        finally:
            if not finished:  # the client went away mid-stream: stop writing for nobody
                ticket.cancel()
                request.state.finish = "client gone"


def _note(request: Request, finished: Finished) -> None:
    request.state.usage = (finished.stats.prompt_tokens, finished.stats.tokens)
    request.state.finish = finished.stats.stop_reason


async def _next_unless_gone(request: Request, items: asyncio.Queue[Item], ticket: Ticket) -> Item | None:
    """The next item from the engine, or None (and the request cancelled) if the client disconnects first."""
    if not items.empty():
        return items.get_nowait()
    getting = asyncio.ensure_future(items.get())
    watching = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({getting, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watching.cancel()
        if not getting.done():
            getting.cancel()
    if getting in done:
        return getting.result()
    ticket.cancel()
    request.state.finish = "client gone"
    return None


async def _disconnected(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    message = {404: "There is nothing at this path. The API is under /v1.",
               405: "This path does not take that method."}.get(exc.status_code, str(exc.detail))
    return ApiError(exc.status_code, message, code=code).response()


Handler = Callable[[Request], Awaitable[Response]]


def _safe(handler: Handler) -> Handler:
    """Every failure becomes an error object here: a request can never take the server down or leak a traceback."""

    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.response()
        except Exception:
            log.exception("unexpected failure serving %s", request.url.path)
            return internal_error().response()

    return run


def create_app(ctx: ApiContext) -> ASGIApp:
    """The whole application: routes behind CORS (when origins are listed) behind the guard."""
    routes = Routes(ctx)
    app: ASGIApp = Starlette(
        routes=[
            Route("/v1/models", _safe(routes.models), methods=["GET"]),
            Route("/v1/models/{model:path}", _safe(routes.model), methods=["GET"]),
            Route("/v1/chat/completions", _safe(routes.chat_completions), methods=["POST"]),
            Route("/v1/completions", _safe(routes.completions), methods=["POST"]),
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
    if ctx.config.cors_origins:
        app = CORSMiddleware(app, allow_origins=list(ctx.config.cors_origins), allow_methods=["GET", "POST"],
                             allow_headers=["Authorization", "Content-Type"], max_age=600)
    return Guard(app, ctx.config, ctx.stats)


def with_system_prompt(parsed: ParsedRequest, system_prompt: str) -> ParsedRequest:
    """The request with ``system_prompt`` first when it has no system (or developer) message of its own."""
    messages = parsed.chat.messages
    if not system_prompt.strip() or any(m.get("role") in ("system", "developer") for m in messages):
        return parsed
    chat = replace(parsed.chat, messages=[{"role": "system", "content": system_prompt}, *messages])
    return replace(parsed, chat=chat)
