"""One models folder's services: what is in it and what comes into it."""

from __future__ import annotations

from dataclasses import dataclass

from hearth.core.models.download.manager import DownloadManager
from hearth.core.models.library.library import ModelLibrary


@dataclass(frozen=True)
class ModelsFolder:
    """What works on one models folder: the library (what is in it) and the download manager (what comes into it).
    Built by the composition root, again when the user picks another folder."""

    library: ModelLibrary
    downloads: DownloadManager
