"""The user's own system-prompt presets, kept in the database beside the conversations (a backup keeps them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hearth.core.errors import StoreError
from hearth.core.store.db import Database

MAX_NAME_CHARS = 60


@dataclass(frozen=True)
class StoredPreset:
    """A preset the user saved: a name and the system prompt it sets."""

    name: str
    system_prompt: str


class Presets:
    """Save, list and delete the user's presets (names are unique, compared case-insensitively)."""

    def __init__(self, db: Database, clock: Callable[[], float]) -> None:
        self._db = db
        self._clock = clock

    def list(self) -> list[StoredPreset]:
        """The user's presets, by name."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT name, system_prompt FROM presets ORDER BY name COLLATE NOCASE").fetchall()
        return [StoredPreset(row["name"], row["system_prompt"]) for row in rows]

    def save(self, name: str, system_prompt: str) -> StoredPreset:
        """Add a preset, or replace the one with the same name.

        Raises:
            StoreError: the name is empty or the prompt is empty.
        """
        name = " ".join(name.split())[:MAX_NAME_CHARS]
        if not name:
            raise StoreError("A preset needs a name.")
        if not system_prompt.strip():
            raise StoreError("A preset needs a system prompt.", hint="Write what the model should do, then save.")
        with self._db.write() as conn:
            conn.execute("DELETE FROM presets WHERE name = ? COLLATE NOCASE", (name,))
            conn.execute("INSERT INTO presets (name, system_prompt, created) VALUES (?, ?, ?)",
                         (name, system_prompt.strip(), self._clock()))
        return StoredPreset(name, system_prompt.strip())

    def delete(self, name: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM presets WHERE name = ? COLLATE NOCASE", (name,))
