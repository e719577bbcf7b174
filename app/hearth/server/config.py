"""The local API server's settings, and its API key kept in a file only this user can read."""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from hearth.core.errors import HearthError

KEY_FILE_NAME = "api-key"
DEFAULT_PORT = 8080
DEFAULT_HOST = "127.0.0.1"
MAX_BODY_BYTES = 20 * 1024 * 1024
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class ServerConfigError(HearthError):
    """The server cannot start with these settings (a port in use, no key off loopback...)."""

    title = "The local API server could not start"


@dataclass(frozen=True)
class ServerConfig:
    """How the local API listens and whom it lets in.

    Attributes:
        host: the address to bind (127.0.0.1 by default; anything else is reachable from other computers).
        port: the TCP port (0: any free one).
        api_key: the Bearer token clients must send, or "" when ``require_key`` is off.
        require_key: False lets any program on this computer in without a key (allowed on loopback only).
        cors_origins: web origins allowed to call from a browser (none: CORS off and any Origin refused).
        allowed_hosts: more names the Host header may carry (e.g. this computer's name on the network).
        max_body_bytes: bigger request bodies are refused with 413.
        max_waiting: requests that may wait for the engine before more are refused with 429.
        allow_model_switch: the ``model`` field may load another installed model (else only the loaded one answers).
        debug: log request bodies (the user's debug logging).
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    api_key: str = ""
    require_key: bool = True
    cors_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    max_body_bytes: int = MAX_BODY_BYTES
    max_waiting: int = 8
    allow_model_switch: bool = False
    debug: bool = False

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def check(self) -> None:
        """Refuse settings that would be unsafe.

        Raises:
            ServerConfigError: no key while listening beyond this computer, or a key too short to be one.
        """
        if not self.require_key and not self.loopback:
            raise ServerConfigError(
                f"The API key may be turned off only when the server listens on this computer alone (not {self.host}).",
                hint="Keep the key, or listen on 127.0.0.1.",
            )
        if self.require_key and len(self.api_key) < 16:
            raise ServerConfigError("The API key must be at least 16 characters long.")
        if not 0 <= self.port <= 65535:
            raise ServerConfigError(f"{self.port} is not a TCP port (0-65535).")

    def base_url(self, port: int | None = None) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else "[::1]" if self.host == "::" else self.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{port if port is not None else self.port}/v1"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def key_path(config_dir: Path) -> Path:
    return config_dir / KEY_FILE_NAME


def load_or_create_key(config_dir: Path) -> str:
    """The API key, made on first use: 32 random bytes, written so that only this user can read it (0600).

    A key file others can read is tightened first; an unreadable or empty one is replaced.

    Raises:
        ServerConfigError: the config folder cannot be written.
    """
    path = key_path(config_dir)
    try:
        if path.is_file():
            if stat.S_IMODE(path.stat().st_mode) & 0o077:
                os.chmod(path, 0o600)
            key = path.read_text(encoding="utf-8").strip()
            if len(key) >= 16:
                return key
        config_dir.mkdir(parents=True, exist_ok=True)
        key = "hearth-" + secrets.token_urlsafe(32)
        temp = path.with_name(path.name + ".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(key + "\n")
        os.replace(temp, path)
        return key
    except OSError as exc:
        raise ServerConfigError(f"The API key could not be kept in {config_dir}: {exc.strerror or exc}.") from exc


def new_key(config_dir: Path) -> str:
    """Replace the API key (clients with the old one are refused from now on)."""
    try:
        key_path(config_dir).unlink(missing_ok=True)
    except OSError:
        pass
    return load_or_create_key(config_dir)
