"""One friendly name per model, the same on the Models page, in the chat header, the status bar and over answers.

"SmolLM2-135M-Instruct.Q4_1.gguf" becomes "SmolLM2 135M Instruct", "gemma-3-270m-q4_k_m.gguf" "Gemma 3 270M", and a
download from the catalog takes the catalog's name ("Llama 4 Scout 17B-16E Instruct"). The quantization is left out:
the Models page shows it as a badge of its own.
"""

from __future__ import annotations

import re
from pathlib import Path

from hearth.core.gguf.files import split_parts
from hearth.core.models.discover.catalog import find_entry
from hearth.core.models.download.state import STATE_DIR, manifests_in
from hearth.core.models.hub.repo_files import quant_label
from hearth.core.models.library.starter import STARTER_DISPLAY_NAME, is_starter

_SIZE = re.compile(r"^\d+(\.\d+)?[bmkBMK]$")
_SHARD = re.compile(r"-\d{5}-of-\d{5}$")
# Words that read better in a set case than capitalised.
_CASED = {"gguf": "", "it": "Instruct", "instruct": "Instruct", "chat": "Chat", "moe": "MoE", "ud": ""}


def model_display_name(path: Path | str, repo_id: str | None = None) -> str:
    """A person's name for the model in ``path`` (its first file), from its catalog entry or its file name."""
    path = Path(path)
    if is_starter(path):
        return STARTER_DISPLAY_NAME
    repo_id = repo_id or downloaded_from(path)
    if repo_id:
        entry = find_entry(repo_id)
        return entry.name if entry else repo_id.split("/")[-1].removesuffix("-GGUF").replace("-", " ")
    parts = split_parts(path)
    first = parts[0] if parts else path
    stem = _SHARD.sub("", first.name.removesuffix(".gguf"))
    quant = quant_label(first.name)
    if quant and quant != first.name.removesuffix(".gguf"):
        for sep in ("-", ".", "_"):
            if stem.lower().endswith(sep + quant.lower()):
                stem = stem[: -len(quant) - 1]
                break
    words = [w for w in re.split(r"[-_ ]+", stem) if w]
    out = []
    for word in words:
        lower = word.lower()
        if lower in _CASED:
            if _CASED[lower]:
                out.append(_CASED[lower])
        elif _SIZE.match(word):
            out.append(word.upper())
        elif word[:1].islower() and word.isalnum() and not re.match(r"v\d", word):
            out.append(word[:1].upper() + word[1:])
        else:
            out.append(word)
    return " ".join(out) or first.name


def downloaded_from(path: Path) -> str | None:
    """The Hugging Face repository a downloaded model came from (its download record, a few folders up), or None."""
    folder = path.parent
    for _ in range(4):
        if (folder / STATE_DIR).is_dir():
            for _, manifest in manifests_in(folder):
                if any(folder.joinpath(*record.path.split("/")) == path for record in manifest.files):
                    return manifest.repo_id
            return None
        folder = folder.parent
    return None


def answer_author(model_file: str) -> str:
    """The name over an answer, from the file name stored with it."""
    return model_display_name(Path("models") / model_file) if model_file else ""
