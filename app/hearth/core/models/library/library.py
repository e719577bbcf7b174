"""The models on this computer: what is downloaded, downloading, paused, broken or imported; removing and importing.

The models folder is the registry: download manifests (``hearth.core.models.download.state``) say where each downloaded
model came from and how far it got; any other ``.gguf`` there (imported, the starter model) is listed as found on disk.
A model is "ready" only when every shard is present under its final name (and, for downloads, verified). Hugging Face's
cache and LM Studio's folders are searched for GGUF files the user may want to bring in (``discover``).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from hearth.core.errors import DownloadError, ModelFileError
from hearth.core.gguf.files import check_model_path, split_parts
from hearth.core.models.download.lock import lock_owner
from hearth.core.models.download.state import STATE_DIR, DownloadState, Manifest, manifest_path, manifests_in
from hearth.core.models.hub.repo_files import safe_repo_path


class InstalledState(str, Enum):
    """What a model in the models folder can be used for now.

    ``READY``: every file is there (and, for downloads, verified). ``DOWNLOADING``: a download into its folder is
    running. ``PAUSED``: a download stopped before the end; it can resume. ``FAILED``: a download stopped on an error
    (``InstalledModel.problem`` says which). ``BROKEN``: files are missing.
    """

    READY = "ready"
    DOWNLOADING = "downloading"
    PAUSED = "paused"
    FAILED = "failed"
    BROKEN = "broken"

    @property
    def unfinished_download(self) -> bool:
        """A download the Downloads tab can show and resume."""
        return self in (InstalledState.DOWNLOADING, InstalledState.PAUSED, InstalledState.FAILED)


@dataclass(frozen=True)
class InstalledModel:
    """One model in the models folder.

    Attributes:
        name: what to show ("unsloth/Llama-4-Scout-17B-16E-Instruct-GGUF UD-Q4_K_XL", or the file name).
        path: the file to load (the first shard).
        files: every file of the model (shards; not the vision projector).
        mmproj: the vision projector kept with it, if any.
        state: what it can be used for now.
        size_bytes: bytes on disk now (including partial files).
        total_bytes: bytes when complete.
        repo_id, quant: where a download came from (None for files found on disk).
        problem: why it is not ready, in words.
    """

    name: str
    path: Path
    files: tuple[Path, ...]
    mmproj: Path | None
    state: InstalledState
    size_bytes: int
    total_bytes: int
    repo_id: str | None = None
    quant: str | None = None
    problem: str = ""

    @property
    def usable(self) -> bool:
        return self.state is InstalledState.READY


@dataclass(frozen=True)
class FoundModel:
    """A GGUF file outside Hearth's folder that could be imported."""

    path: Path
    source: str  # "Hugging Face cache" or "LM Studio"
    size_bytes: int


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class ModelLibrary:
    """Lists, removes and imports models in ``models_dir``."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir

    # --- listing -------------------------------------------------------------------------------------------------

    def models(self) -> list[InstalledModel]:
        if not self.models_dir.is_dir():
            return []
        found: list[InstalledModel] = []
        claimed: set[Path] = set()
        for folder in sorted({p.parent.parent for p in self.models_dir.rglob(f"{STATE_DIR}/*.download.json")}):
            for _, manifest in manifests_in(folder):
                model = self._from_manifest(folder, manifest)
                found.append(model)
                claimed.update(model.files)
                if model.mmproj:
                    claimed.add(model.mmproj)
        loose = sorted(p for p in self.models_dir.rglob("*.gguf") if p not in claimed and STATE_DIR not in p.parts)
        seen: set[Path] = set()
        for path in loose:
            if path in seen or "mmproj" in path.name.lower():
                continue
            parts = split_parts(path) or (path,)
            seen.update(parts)
            present = [p for p in parts if p.is_file()]
            missing = [p.name for p in parts if not p.is_file()]
            mmproj = next(iter(sorted(path.parent.glob("mmproj*.gguf"))), None)
            found.append(InstalledModel(
                name=parts[0].name, path=parts[0], files=tuple(parts), mmproj=mmproj,
                state=InstalledState.BROKEN if missing else InstalledState.READY,
                size_bytes=sum(_size(p) for p in present), total_bytes=sum(_size(p) for p in present),
                problem=f"missing {', '.join(missing)}" if missing else "",
            ))
        return found

    def _from_manifest(self, folder: Path, manifest: Manifest) -> InstalledModel:
        locals_ = [(r, folder.joinpath(*safe_repo_path(r.path).parts)) for r in manifest.files]
        shards = tuple(p for r, p in locals_ if r.role == "model")
        mmproj = next((p for r, p in locals_ if r.role == "mmproj"), None)
        on_disk = sum(_size(p) if p.is_file() else _size(p.with_name(p.name + ".part")) for _, p in locals_)
        missing = [r.path for r, p in locals_ if not p.is_file()]
        if manifest.state in (DownloadState.DOWNLOADING, DownloadState.VERIFYING, DownloadState.QUEUED) \
                and lock_owner(folder) is not None:
            state, problem = InstalledState.DOWNLOADING, ""
        elif manifest.state is DownloadState.READY and not missing:
            state, problem = InstalledState.READY, ""
        elif manifest.state is DownloadState.READY:
            state, problem = InstalledState.BROKEN, f"missing {', '.join(missing)}"
        elif manifest.state is DownloadState.FAILED:
            state, problem = InstalledState.FAILED, manifest.message
        else:
            state, problem = InstalledState.PAUSED, manifest.message or "download not finished"
        return InstalledModel(
            name=f"{manifest.repo_id} {manifest.quant}", path=shards[0], files=shards, mmproj=mmproj, state=state,
            size_bytes=on_disk, total_bytes=manifest.total_bytes, repo_id=manifest.repo_id, quant=manifest.quant,
            problem=problem,
        )

    def find(self, name: str) -> InstalledModel | None:
        """A model by path, by "repo quant" name, by "repo:quant", or by file name (case-insensitive)."""
        want = name.lower().replace(":", " ")
        target = Path(name).expanduser()
        for model in self.models():
            if target.exists() and (target.resolve() in {f.resolve() for f in model.files if f.exists()}):
                return model
            if want in (model.name.lower(), model.path.name.lower()):
                return model
        return None

    def vision_file_for(self, model_path: Path) -> Path | None:
        """The vision projector that belongs to a model: the library's record, else ``mmproj*.gguf`` beside it."""
        model = self.find(str(model_path))
        if model is not None and model.mmproj is not None:
            return model.mmproj
        return next(iter(sorted(Path(model_path).parent.glob("mmproj*.gguf"))), None)

    # --- removing ------------------------------------------------------------------------------------------------

    def remove(self, model: InstalledModel) -> int:
        """Delete a model's files (and partial files); return the bytes freed.

        The vision projector is deleted only if no other model in its folder uses it. An imported link is removed
        without touching the file it points to.

        Raises:
            DownloadError: the model is being downloaded right now.
        """
        folder = model.path.parent
        if model.repo_id is not None:
            folder = self.models_dir.joinpath(*model.repo_id.split("/"))
            if lock_owner(folder) is not None:
                raise DownloadError(f"{model.name} is being downloaded.", hint="Pause or cancel the download first.")
        victims = [*model.files]
        others = [m for m in self.models() if m != model and m.mmproj == model.mmproj]
        if model.mmproj is not None and not others:
            victims.append(model.mmproj)
        freed = 0
        for path in victims:
            for candidate in (path, path.with_name(path.name + ".part")):
                if candidate.is_symlink():
                    candidate.unlink()
                elif candidate.is_file():
                    freed += _size(candidate)
                    candidate.unlink()
        if model.repo_id is not None and model.quant is not None:
            manifest_path(folder, model.quant).unlink(missing_ok=True)
        return freed

    # --- importing -----------------------------------------------------------------------------------------------

    def import_model(self, source: Path, *, link: bool = False) -> InstalledModel:
        """Bring a GGUF file (all shards, and ``mmproj*.gguf`` beside it) into the models folder.

        The header is checked first. ``link`` makes symbolic links instead of copies (no extra disk space; the
        model breaks if the original is moved). Copies are written as ``.part`` and renamed when complete.

        Raises:
            ModelFileError: not a usable GGUF model, or a shard is missing.
        """
        files = check_model_path(source)
        target_dir = self.models_dir / "imported"
        target_dir.mkdir(parents=True, exist_ok=True)
        mmproj = sorted(files.first.parent.glob("mmproj*.gguf"))
        for path in [*files.parts, *mmproj[:1]]:
            target = target_dir / path.name
            if target.exists() or target.is_symlink():
                if target.resolve() == path.resolve():
                    continue
                raise ModelFileError(f"{target.name} is already in the library.",
                                     hint="Remove it first, or rename the file you are importing.")
            if link:
                try:
                    target.symlink_to(path.resolve())
                    continue
                except OSError:
                    pass  # no symlinks (Windows without developer mode): copy instead
            partial = target.with_name(target.name + ".part")
            try:
                shutil.copyfile(path, partial)
                os.replace(partial, target)
            except OSError as exc:
                partial.unlink(missing_ok=True)
                raise ModelFileError(f"{path.name} could not be copied: {exc.strerror}.") from exc
        model = self.find(str(target_dir / files.first.name))
        assert model is not None
        return model

    # --- other apps' folders -------------------------------------------------------------------------------------

    def discover(self, home: Path | None = None) -> list[FoundModel]:
        """GGUF files in the Hugging Face cache and LM Studio's folders that are not in the library yet."""
        home = home or Path.home()
        hf_cache = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME") or home / ".cache" /
                                                                 "huggingface") / "hub")
        places = [(hf_cache, "Hugging Face cache"), (home / ".lmstudio" / "models", "LM Studio"),
                  (home / ".cache" / "lm-studio" / "models", "LM Studio")]
        known = {f.resolve() for m in self.models() for f in m.files if f.exists()}
        found = []
        for root, source in places:
            if not root.is_dir():
                continue
            for path in sorted(root.rglob("*.gguf")):
                if "mmproj" in path.name.lower() or path.resolve() in known:
                    continue
                parts = split_parts(path)
                if parts is not None and path != parts[0]:
                    continue  # list a split model once, by its first shard
                size = sum(_size(p) for p in (parts or (path,)))
                found.append(FoundModel(path, source, size))
        return found
