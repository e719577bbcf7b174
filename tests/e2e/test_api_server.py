"""``hearth serve`` as a real process on the starter model, driven by the official ``openai`` client on loopback.

The server runs with the network guard loaded: it must never open a connection of its own. The starter (SmolLM2
135M Instruct) is small, so the tests check the shape of answers, never their wording; JSON and tool calls are
guaranteed by grammar whatever the model would write (its ChatML template knows no tools: they are described in the
system message).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hearth.core.models.library.recommended import SMOLLM_SYSTEM_PROMPT

ROOT = Path(__file__).resolve().parents[2]
GUARD = ROOT / "tests" / "fixtures" / "netguard"
WAIT = 240.0  # guards against a hang only
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12}},
                   "required": ["city"]}}}


@dataclass
class Served:
    process: subprocess.Popen[str]
    base_url: str
    key: str
    home: Path
    log: list[str] = field(default_factory=list)
    model: str = ""
    clients: list[openai.OpenAI] = field(default_factory=list)

    def client(self, **kwargs: object) -> openai.OpenAI:
        """A client kept until the module ends and closed then: a client dropped mid-module would close its
        sockets whenever the garbage collector runs, as a ResourceWarning inside whichever test is running."""
        options: dict[str, object] = {"base_url": self.base_url, "api_key": self.key, "max_retries": 0,
                                      "timeout": WAIT}
        options.update(kwargs)
        client = openai.OpenAI(**options)  # type: ignore[arg-type]
        self.clients.append(client)
        return client

    def http(self, method: str, path: str, *, headers: dict[str, str] | None = None,
             content: bytes | None = None) -> httpx2.Response:
        sent = {"Authorization": f"Bearer {self.key}", **(headers or {})}
        with httpx2.Client(timeout=WAIT) as http:
            return http.request(method, self.base_url.removesuffix("/v1") + path, headers=sent, content=content)

    def lines_matching(self, pattern: str, since: int = 0) -> list[str]:
        """The lines matching ``pattern`` among those logged from line ``since`` on (``len(log)`` marks now)."""
        return [line for line in list(self.log)[since:] if re.search(pattern, line)]

    def wait_for_lines(self, pattern: str, *, since: int = 0, count: int = 1) -> list[str]:
        """The lines matching ``pattern`` from line ``since`` on, once there are ``count``.

        The server writes a record before (or just after) the answer it records goes out, but the test reads the
        server's stderr on a thread of its own: on a busy machine the line can reach ``log`` a moment after the
        client has the answer. This waits for it; WAIT only guards against a hang, and a server that exits ends the
        wait at once. What it returns is checked by the caller, so a missing line still fails the test."""
        deadline = time.monotonic() + WAIT
        while True:
            found = self.lines_matching(pattern, since)
            if len(found) >= count or self.process.poll() is not None or time.monotonic() > deadline:
                return found
            time.sleep(0.02)


@pytest.fixture(scope="module")
def served(starter_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("api-home")
    netlog = home / "netguard.log"
    env = {**os.environ, "HEARTH_HOME": str(home), "HEARTH_NETGUARD_LOG": str(netlog),
           "PYTHONPATH": os.pathsep.join([str(GUARD), str(ROOT / "app")])}
    process = subprocess.Popen(
        [sys.executable, "-m", "hearth", "serve", "--model", str(starter_model), "--port", "0", "--ctx", "2048",
         "--max-queue", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    log: list[str] = []
    assert process.stderr is not None and process.stdout is not None
    threading.Thread(target=lambda: log.extend(iter(process.stderr.readline, "")), daemon=True).start()
    base_url = ""
    for line in iter(process.stdout.readline, ""):
        found = re.search(r"at (http://\S+/v1)", line)
        if found:
            base_url = found.group(1)
        if line.startswith("Press Ctrl+C"):
            break
    assert base_url, f"the server did not start: {''.join(log)}"
    key = (home / "config" / "api-key").read_text().strip()
    assert (home / "config" / "api-key").stat().st_mode & 0o077 == 0, "the key file is for this user only"
    served = Served(process, base_url, key, home, log, model=starter_model.name.removesuffix(".gguf"))
    try:
        yield served
    finally:
        for client in served.clients:
            client.close()
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        process.stdout.close()
        process.stderr.close()
        assert code == 0, "Ctrl+C stops the server cleanly"
        assert not netlog.exists() or netlog.read_text() == "", "the server opened a network connection"


def test_models_lists_the_loaded_model(served: Served) -> None:
    client = served.client()
    ids = [model.id for model in client.models.list()]
    assert ids == [served.model]
    assert client.models.retrieve(served.model).id == served.model
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], max_tokens=2)
    assert served.model in str(unknown.value)


def test_a_chat_without_a_system_prompt_gets_the_models_recommended_one(served: Served) -> None:
    client = served.client()

    def ask(*system: str) -> openai.types.chat.ChatCompletion:
        messages = [{"role": "system", "content": text} for text in system]
        return client.chat.completions.create(
            model=served.model, messages=[*messages, {"role": "user", "content": "What is the capital of France?"}],
            max_tokens=16, temperature=0, seed=1)

    bare, told = ask(), ask(SMOLLM_SYSTEM_PROMPT)
    own = ask("You are a pirate.")
    assert bare.usage is not None and told.usage is not None and own.usage is not None
    assert bare.usage.prompt_tokens == told.usage.prompt_tokens, "the starter's recommended system prompt was added"
    assert bare.choices[0].message.content == told.choices[0].message.content
    assert own.usage.prompt_tokens != told.usage.prompt_tokens, "a client's own system prompt is kept as it is"


def test_chat_without_streaming(served: Served) -> None:
    answer = served.client().chat.completions.create(
        model=served.model, messages=[{"role": "system", "content": "Be brief."},
                                      {"role": "user", "content": "Name a colour."}],
        max_tokens=8, temperature=0, seed=1)
    choice = answer.choices[0]
    assert answer.object == "chat.completion" and choice.message.role == "assistant"
    assert choice.finish_reason in ("stop", "length")
    assert answer.usage is not None and answer.usage.prompt_tokens > 0
    assert 0 < answer.usage.completion_tokens <= 8
    assert choice.message.content


def test_chat_streaming_ends_with_usage(served: Served) -> None:
    stream = served.client().chat.completions.create(
        model=served.model, messages=[{"role": "user", "content": "Count to five."}], max_tokens=6,
        temperature=0, stream=True, stream_options={"include_usage": True}, extra_body={"ignore_eos": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert text and reasons == ["length"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 6


def test_plain_completion(served: Served) -> None:
    answer = served.client().completions.create(model=served.model, prompt="The capital of France is",
                                                max_tokens=6, temperature=0)
    assert answer.object == "text_completion" and answer.choices[0].text
    assert answer.usage is not None and answer.usage.completion_tokens <= 6


@pytest.mark.timeout(900)
def test_json_schema_content_always_parses(served: Served) -> None:
    schema = {"type": "object", "properties": {
        "city": {"type": "string", "maxLength": 10}, "size": {"enum": ["small", "big"]},
        "coastal": {"type": "boolean"}}, "required": ["city", "size", "coastal"]}
    client = served.client()
    for temperature in (0.0, 1.0):
        answer = client.chat.completions.create(
            model=served.model, messages=[{"role": "user", "content": "Describe a city as JSON."}],
            response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema, "strict": True}},
            max_tokens=60, temperature=temperature, seed=7)
        assert answer.choices[0].finish_reason == "stop"
        value = json.loads(answer.choices[0].message.content or "")
        assert set(value) == {"city", "size", "coastal"}
        assert value["size"] in ("small", "big") and isinstance(value["coastal"], bool)
    free = client.chat.completions.create(model=served.model, messages=[{"role": "user", "content": "JSON please"}],
                                          response_format={"type": "json_object"}, max_tokens=30, temperature=0)
    if free.choices[0].finish_reason == "stop":  # else cut off by max_tokens, as OpenAI's would be
        assert isinstance(json.loads(free.choices[0].message.content or ""), dict)


@pytest.mark.timeout(900)
def test_a_forced_tool_call_comes_back_as_tool_calls(served: Served) -> None:
    client = served.client()
    answer = client.chat.completions.create(
        model=served.model, messages=[{"role": "user", "content": "What is the weather in Lisbon?"}],
        tools=[WEATHER_TOOL], tool_choice={"type": "function", "function": {"name": "get_weather"}},
        max_tokens=60, temperature=0)
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert call.function.name == "get_weather" and call.id.startswith("call_")  # type: ignore[union-attr]
    assert isinstance(json.loads(call.function.arguments)["city"], str)  # type: ignore[union-attr]
    # the result goes back, and the model answers in words
    follow = client.chat.completions.create(
        model=served.model, max_tokens=4, temperature=0, tools=[WEATHER_TOOL], tool_choice="none",
        messages=[{"role": "user", "content": "What is the weather in Lisbon?"}, choice.message.model_dump(),
                  {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 24 °C"}])
    assert follow.choices[0].finish_reason in ("stop", "length") and not follow.choices[0].message.tool_calls
    stream = client.chat.completions.create(
        model=served.model, messages=[{"role": "user", "content": "Weather in Oslo?"}], tools=[WEATHER_TOOL],
        tool_choice="required", parallel_tool_calls=False, max_tokens=60, temperature=0, stream=True)
    chunks = list(stream)
    calls = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
    assert [tc.function.name for tc in calls] == ["get_weather"]  # type: ignore[union-attr]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_the_log_holds_no_message_text(served: Served) -> None:
    secret = "Marmalade zeppelins whisper at dawn"
    since = len(served.log)
    answer = served.client().chat.completions.create(
        model=served.model, messages=[{"role": "user", "content": secret}], max_tokens=4, temperature=0)
    reply = answer.choices[0].message.content or ""
    assert served.wait_for_lines(r"POST /v1/chat/completions 200 \d+ ms tokens \d+\+\d+", since=since)
    assert not served.lines_matching(secret)
    for path in served.home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert secret.encode() not in data, path
            assert len(reply) < 8 or reply.encode() not in data, path


def test_a_wrong_key_is_an_authentication_error(served: Served) -> None:
    with pytest.raises(openai.AuthenticationError):
        served.client(api_key="not-the-key").models.list()
    response = served.http("GET", "/v1/models", headers={"Authorization": ""})
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"


def test_foreign_host_and_origin_headers_are_refused(served: Served) -> None:
    rebinding = served.http("GET", "/v1/models", headers={"Host": "attacker.example:8080"})
    assert rebinding.status_code == 400 and rebinding.json()["error"]["code"] == "invalid_host"
    page = served.http("POST", "/v1/chat/completions", headers={"Origin": "https://attacker.example"},
                       content=b'{"model": "x", "messages": []}')
    assert page.status_code == 403 and "error" in page.json()
    assert served.http("GET", "/v1/models", headers={"Host": "localhost:1234"}).status_code == 200


@pytest.mark.parametrize(("body", "status", "param"), [
    (b"{not json", 400, None),
    (b"[1, 2, 3]", 400, None),
    (b'{"model": "x"}', 400, "messages"),
    (b'{"messages": [{"role": "user", "content": "hi"}]}', 400, "model"),
    (b'{"model": "m", "messages": [{"role": "wizard", "content": "hi"}]}', 400, "messages[0].role"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}', 400, "temperature"),
    (b'{"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": '
     b'{"url": "https://example.com/cat.png"}}]}]}', 400, "messages[0].content[0].image_url"),
])
def test_malformed_requests_get_error_objects(served: Served, body: bytes, status: int, param: str | None) -> None:
    response = served.http("POST", "/v1/chat/completions", headers={"Content-Type": "application/json"},
                           content=body.replace(b'"m"', json.dumps(served.model).encode()))
    assert response.status_code == status
    error = response.json()["error"]
    assert error["message"] and error["type"] == "invalid_request_error"
    assert error["param"] == param


def test_bodies_over_the_limit_are_refused(served: Served) -> None:
    big = b'{"model": "x", "pad": "' + b"x" * (21 * 1024 * 1024) + b'"}'
    response = served.http("POST", "/v1/chat/completions", content=big)
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"model": "x", "pad": "'
        for _ in range(21):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    with httpx2.Client(timeout=WAIT) as http:
        response = http.post(served.base_url + "/chat/completions", content=chunked(),
                             headers={"Authorization": f"Bearer {served.key}"})
    assert response.status_code == 413


def test_a_client_gone_mid_stream_stops_its_answer(served: Served) -> None:
    client = served.client()
    since = len(served.log)
    stream = client.chat.completions.create(
        model=served.model, messages=[{"role": "user", "content": "Write a very long story."}], max_tokens=2000,
        temperature=0, stream=True, extra_body={"ignore_eos": True})
    received = 0
    for chunk in stream:
        received += 1 if chunk.choices and chunk.choices[0].delta.content else 0
        if received >= 3:
            break
    stream.close()  # the client goes away with 1,997 tokens still to write
    answer = client.chat.completions.create(model=served.model, messages=[{"role": "user", "content": "Hi"}],
                                            max_tokens=3, temperature=0)
    assert answer.choices[0].finish_reason in ("stop", "length")
    # The engine runs one answer at a time, so the next answer started only once the abandoned one had ended; the
    # engine's own record says how it ended: cancelled, long before its 2,000 tokens.
    abandoned = served.wait_for_lines(r"request \d+: \d+ tokens .* stop: cancelled", since=since)
    assert len(abandoned) == 1, served.lines_matching(r"request \d+: .* stop: ", since)
    found = re.search(r"request (\d+): (\d+) tokens", abandoned[0])
    assert found is not None
    assert received <= int(found.group(2)) < 2000
    # the engine numbers its requests in order: the short answer is the very next one, and it ran to its end
    after = served.wait_for_lines(rf"request {int(found.group(1)) + 1}: .* stop: ", since=since)
    assert len(after) == 1 and re.search(r"stop: (length|eos)", after[0]), after
    assert served.wait_for_lines(r"POST /v1/chat/completions 200 .*finish client gone", since=since)


@pytest.mark.timeout(900)  # five answers in a row on a busy machine; a guard against a hang, not a target
def test_sixteen_requests_at_once_are_answered_or_refused(served: Served) -> None:
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def ask(i: int) -> None:
        client = served.client()
        start.wait()
        try:
            answer = client.chat.completions.create(
                model=served.model, messages=[{"role": "user", "content": f"Request {i}"}], max_tokens=16,
                temperature=0, extra_body={"ignore_eos": True})
            outcome = "ok" if answer.usage and answer.usage.completion_tokens == 16 else "short"
        except openai.RateLimitError as busy:
            retry = busy.response.headers.get("retry-after", "")
            outcome = "429" if retry.isdigit() and int(retry) >= 1 else "429 without Retry-After"
        except openai.APIStatusError as refused:
            outcome = str(refused.status_code)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert len(outcomes) == 16
    assert set(outcomes) <= {"ok", "429", "503"}, outcomes
    assert "ok" in outcomes and "429" in outcomes  # a queue of 4: some wait their turn, the rest are told to retry
    assert served.process.poll() is None
    assert [m.id for m in served.client().models.list()] == [served.model]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_FIELDS = ("messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "min_p", "stream",
           "stream_options", "tools", "tool_choice", "parallel_tool_calls", "response_format", "stop", "logit_bias",
           "n", "seed", "presence_penalty", "frequency_penalty", "user", "grammar", "prompt", "logprobs", "suffix")
_MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "system", "developer", "assistant", "tool", "wizard"]),
     "content": st.text(max_size=20) | _JSON},
    optional={"tool_calls": _JSON, "tool_call_id": _JSON, "name": _JSON},
)
_BODY = st.fixed_dictionaries(
    {"messages": st.lists(_MESSAGE, max_size=3) | _JSON},
    optional={name: _JSON for name in _FIELDS if name != "messages"},
)


def _check_never_500(response: httpx2.Response) -> None:
    assert response.status_code < 500 or response.status_code == 503, response.text[:500]
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["message"], str) and error["message"]


@pytest.mark.timeout(900)  # 120 requests on a busy 2-core machine; a guard against a hang, not a target
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_BODY, right_model=st.booleans(), path=st.sampled_from(["/v1/chat/completions", "/v1/completions"]))
def test_fuzzed_bodies_never_get_a_500(served: Served, body: dict[str, object], right_model: bool,
                                       path: str) -> None:
    body["model"] = served.model if right_model else "fuzz"
    for name in ("max_tokens", "max_completion_tokens"):  # a valid request must stay short
        if isinstance(body.get(name), int) and not isinstance(body.get(name), bool):
            body[name] = 1
    body.setdefault("max_tokens", 1)
    _check_never_500(served.http("POST", path, headers={"Content-Type": "application/json"},
                                 content=json.dumps(body).encode()))


@settings(max_examples=40, deadline=None)
@given(raw=st.binary(max_size=200))
def test_fuzzed_bytes_never_get_a_500(served: Served, raw: bytes) -> None:
    _check_never_500(served.http("POST", "/v1/chat/completions", content=raw))


def test_the_server_is_alive_after_the_fuzzing(served: Served) -> None:
    assert served.process.poll() is None
    answer = served.client().chat.completions.create(model=served.model, max_tokens=2, temperature=0,
                                                     messages=[{"role": "user", "content": "Still there?"}])
    assert answer.choices[0].finish_reason in ("stop", "length")
    assert not served.lines_matching(r"Traceback|unexpected failure"), "no request met a bug"
