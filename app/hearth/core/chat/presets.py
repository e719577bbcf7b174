"""System-prompt presets: a few useful built-ins and the user's own (kept in the store), as one list.

A conversation stores the system prompt it uses and the name of the preset it came from; changing a preset later
does not change conversations that already use it (they keep the words they were given).
"""

from __future__ import annotations

from dataclasses import dataclass

from hearth.core.store import Store


@dataclass(frozen=True)
class Preset:
    """A named system prompt.

    Attributes:
        name: what the picker shows.
        system_prompt: the instructions the model is given ("" for none).
        description: one line on what it is for (built-ins).
        builtin: comes with Hearth (cannot be deleted).
    """

    name: str
    system_prompt: str
    description: str = ""
    builtin: bool = False


NO_PRESET = Preset("No preset", "", "Plain chat, no special instructions", builtin=True)

BUILTIN_PRESETS: tuple[Preset, ...] = (
    Preset("Concise answers", "Answer briefly and directly. Use at most three sentences unless asked for more. "
           "Do not repeat the question.", "Short, direct answers", builtin=True),
    Preset("Teacher", "You are a patient teacher. Explain step by step in plain words, give one small example, and "
           "end with a short question that checks understanding.", "Step-by-step explanations", builtin=True),
    Preset("Translator", "You are a translator. Translate the user's text into English; if it is already English, "
           "translate it into French. Reply with the translation only, keeping the meaning, tone and formatting.",
           "Translations only, nothing else", builtin=True),
    Preset("Code reviewer", "You are a careful code reviewer. Point out bugs, security problems and unclear code "
           "first, then smaller style issues. Quote the lines you mean and suggest a fix for each.",
           "Bugs first, then style", builtin=True),
    Preset("Writing helper", "Help the user improve their writing. Keep their voice. Fix grammar and clarity, and "
           "briefly say what you changed and why.", "Clearer writing in your own voice", builtin=True),
)


def all_presets(store: Store) -> list[Preset]:
    """The built-in presets, then the user's own by name."""
    own = [Preset(p.name, p.system_prompt) for p in store.presets.list()]
    builtin_names = {p.name.lower() for p in BUILTIN_PRESETS}
    return [NO_PRESET, *BUILTIN_PRESETS, *(p for p in own if p.name.lower() not in builtin_names)]


def find_preset(store: Store, name: str) -> Preset | None:
    """A preset by name (case-insensitive), or None."""
    return next((p for p in all_presets(store) if p.name.lower() == name.lower()), None)
