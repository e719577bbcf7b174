"""Typed, versioned settings, loaded from and saved to an explicit path (tests pass ``tmp_path``)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

SETTINGS_VERSION = 1


@dataclass(frozen=True)
class Settings:
    """What the user chose.

    Attributes:
        default_model: path of the model to load at start (None: the starter model).
        models_dir: where models are stored (None: the platform's data folder).
        theme: "system", "light" or "dark".
        zoom: text zoom in percent.
        send_on_enter: Enter sends and Shift+Enter adds a line (else the reverse).
        offline: never open a network connection, even for catalog refreshes.
        model_overrides: per-model settings keyed by model path (context, sampling, system prompt...).
        workers: llama.cpp RPC workers (HOST:PORT) the planner may spread a model over (Models → Workers).
        remote_servers: base URLs of OpenAI-compatible servers (Models → Servers); their keys are kept elsewhere.
        api_server: serve the loaded model through the local OpenAI-compatible API while the window is open.
        api_port: its TCP port.
        api_lan: listen on every network interface, so other computers can connect (off: this computer only).
        api_require_key: clients must send the API key (may be off only without ``api_lan``).
        api_cors_origins: web origins allowed to call from a browser (none: browsers are refused).
        api_model_switch: a request's ``model`` may load another installed model.
    """

    version: int = SETTINGS_VERSION
    default_model: str | None = None
    models_dir: str | None = None
    theme: str = "system"
    zoom: int = 100
    send_on_enter: bool = True
    offline: bool = False
    debug_logging: bool = False
    first_run_done: bool = False
    model_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    workers: list[str] = field(default_factory=list)
    remote_servers: list[str] = field(default_factory=list)
    api_server: bool = False
    api_port: int = 8080
    api_lan: bool = False
    api_require_key: bool = True
    api_cors_origins: list[str] = field(default_factory=list)
    api_model_switch: bool = False

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        data = migrate(dict(data))
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        defaults = cls()
        clean: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in values:
                continue
            value = values[f.name]
            expected = type(getattr(defaults, f.name))
            if getattr(defaults, f.name) is None or isinstance(value, expected) or value is None:
                clean[f.name] = value
        return replace(defaults, **clean)


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring settings written by an older Hearth up to ``SETTINGS_VERSION``."""
    version = int(data.get("version", 1))
    # Version 1 is the first; later versions add steps here, each one version up.
    data["version"] = max(version, SETTINGS_VERSION)
    return data


def load_settings(path: Path) -> Settings:
    """Read settings; a missing or unreadable file gives the defaults (the bad file is kept aside)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except OSError:
        return Settings()
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("settings are not an object")
        return Settings.from_dict(data)
    except (ValueError, TypeError):
        try:
            os.replace(path, path.with_name(path.name + ".broken"))
        except OSError:
            pass
        return Settings()


def save_settings(settings: Settings, path: Path) -> None:
    """Write settings atomically (a crash mid-write leaves the old file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(json.dumps(settings.to_dict(), indent=2, sort_keys=True), encoding="utf-8")
    os.replace(temp, path)
