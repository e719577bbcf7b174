"""The server's gate and settings without a socket: Host names, key storage, the settings it refuses, error objects."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hearth.core.errors import (
    ContextOverflowError,
    EngineBusyError,
    EngineNotReadyError,
    InvalidRequestError,
    NoVisionError,
)
from hearth.server.config import ServerConfig, ServerConfigError, load_or_create_key, new_key
from hearth.server.errors import from_hearth_error
from hearth.server.guard import Guard, RequestRecord, RequestStats


async def _app(scope: object, receive: object, send: object) -> None:
    raise AssertionError("not called")


@pytest.mark.parametrize(("host", "allowed"), [
    ("localhost:8080", True), ("127.0.0.1:8080", True), ("[::1]:8080", True), ("LOCALHOST", True),
    ("attacker.example", False), ("attacker.example:8080", False), ("127.0.0.1.nip.io", False),
    ("192.168.1.5:8080", False), ("", False), (None, False),
])
def test_host_names_on_loopback(host: str | None, allowed: bool) -> None:
    guard = Guard(_app, ServerConfig(api_key="k" * 20), RequestStats())
    assert guard.host_allowed(host) is allowed


def test_on_all_interfaces_ip_literals_and_named_hosts_pass() -> None:
    guard = Guard(_app, ServerConfig(host="0.0.0.0", api_key="k" * 20, allowed_hosts=("hearth.lan",)),
                  RequestStats())
    assert guard.host_allowed("192.168.1.5:8080") and guard.host_allowed("hearth.lan")
    assert not guard.host_allowed("attacker.example")


def test_the_key_file_is_made_once_and_private(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path)
    path = tmp_path / "api-key"
    assert len(key) >= 40 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(tmp_path) == key
    path.chmod(0o644)
    assert load_or_create_key(tmp_path) == key and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert new_key(tmp_path) != key


def test_unsafe_settings_are_refused() -> None:
    with pytest.raises(ServerConfigError):
        ServerConfig(host="0.0.0.0", require_key=False).check()  # no key beyond this computer
    with pytest.raises(ServerConfigError):
        ServerConfig(api_key="short").check()
    ServerConfig(require_key=False).check()  # loopback without a key is the user's choice
    assert ServerConfig(host="0.0.0.0").base_url(8080) == "http://127.0.0.1:8080/v1"
    assert ServerConfig(host="::1").base_url(9) == "http://[::1]:9/v1"


def test_errors_get_the_right_status() -> None:
    assert from_hearth_error(InvalidRequestError("bad", param="tools")).status == 400
    assert from_hearth_error(NoVisionError("no eyes")).status == 400
    assert from_hearth_error(ContextOverflowError("long")).body()["error"]["code"] == "context_length_exceeded"
    busy = from_hearth_error(EngineBusyError("busy", retry_after_s=3))
    assert busy.status == 429 and busy.headers == {"Retry-After": "3"}
    assert from_hearth_error(EngineNotReadyError("none")).status == 503


def test_counts_of_requests() -> None:
    stats = RequestStats()
    seen: list[RequestRecord] = []
    stats.listener = seen.append
    for status, tokens in ((200, 5), (429, 0), (401, 0), (503, 0), (200, 7)):
        stats.record(RequestRecord(0.0, "POST", "/v1/chat/completions", status, 1.0, 3, tokens))
    assert stats.snapshot() == {"total": 5, "answered": 2, "refused": 1, "busy": 1, "failed": 1,
                                "completion_tokens": 12}
    assert len(seen) == 5
