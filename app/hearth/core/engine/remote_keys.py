"""API keys of remote servers: in the operating system's keyring when ``keyring`` is installed and has a backend,
else in a file only this user can read (0600) in Hearth's config folder. Keys never go into settings or logs."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

SERVICE = "Hearth remote servers"
FILE_NAME = "server-keys.json"

log = logging.getLogger(__name__)


def _keyring() -> Any:
    """The keyring module when it has a usable backend, else None."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration must not stop the app
        return None
    return None if isinstance(backend, fail.Keyring) else keyring


class KeyStore:
    """Keys by server base URL.

    Args:
        config_dir: Hearth's config folder (the 0600 file's home).
        use_keyring: try the OS keyring first (tests pass False).
    """

    def __init__(self, config_dir: Path, *, use_keyring: bool = True) -> None:
        self.path = Path(config_dir) / FILE_NAME
        self._keyring = _keyring() if use_keyring else None

    @property
    def where(self) -> str:
        """Where keys are kept, in words."""
        return "the system keyring" if self._keyring is not None else f"{self.path} (readable only by you)"

    def get(self, base_url: str) -> str | None:
        url = _key(base_url)
        if self._keyring is not None:
            with contextlib.suppress(Exception):
                found = self._keyring.get_password(SERVICE, url)
                if found:
                    return str(found)
        return self._read().get(url)

    def set(self, base_url: str, key: str) -> None:
        url = _key(base_url)
        if not key:
            self.delete(base_url)
            return
        if self._keyring is not None:
            try:
                self._keyring.set_password(SERVICE, url, key)
                return
            except Exception as exc:  # no usable keyring after all: the file
                log.info("keyring refused the key (%s); keeping it in %s", type(exc).__name__, self.path)
        keys = self._read()
        keys[url] = key
        self._write(keys)

    def delete(self, base_url: str) -> None:
        url = _key(base_url)
        if self._keyring is not None:
            with contextlib.suppress(Exception):
                self._keyring.delete_password(SERVICE, url)
        keys = self._read()
        if keys.pop(url, None) is not None:
            self._write(keys)

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _write(self, keys: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        # Created 0600 from the start: the key is never readable by others, not even for a moment.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(keys, out)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)


def _key(base_url: str) -> str:
    return base_url.strip().rstrip("/")
