"""Images in chat messages: the wire format the app and the engine host share.

A message may carry pictures next to its text::

    {"role": "user", "content": "What is on this label?", "images": [ref, ...]}

Each ``ref`` is a dictionary with either ``data`` (the encoded picture, base64) or ``path`` (a file the engine host
may read), plus ``sha256`` (identifies the picture; the engine reuses its cached evaluation when the same picture
comes again), ``mime`` and ``name``. ``image_ref(prepared)`` builds one from ``hearth.core.images.prepare_image``'s
result; ``image_file_ref(path)`` from a picture already stored on disk (no base64 through the pipe).

The pictures of a message go before its text, as Llama 4 was trained (``<|image|>`` then the question). The host
puts a marker where each picture belongs, renders the chat template as usual, and llama.cpp's multimodal library
(mtmd) swaps each marker for the picture's embeddings. Plain Python: used by both sides, imports no llama.cpp.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hearth.core.errors import DocumentError, NoVisionError

if TYPE_CHECKING:
    from hearth.core.images import PreparedImage

ImageRef = dict[str, Any]
Message = dict[str, Any]

# Positions one picture may take, for budgets made before the engine counts: Llama 4 cuts a large picture into
# up to nine tiles and an overview of 144 positions each (other models take fewer, e.g. 256 for Gemma 3).
IMAGE_TOKENS_ESTIMATE = 1440

# What an older message's pictures become for a model that cannot see: the turn keeps its place and its meaning.
OMITTED_IMAGE_NOTE = "[image not shown: the current model can't see images]"


def image_ref(image: PreparedImage, name: str = "") -> ImageRef:
    """A picture prepared by ``hearth.core.images`` as it travels to the engine (base64 inside the request)."""
    return {
        "data": base64.b64encode(image.data).decode("ascii"),
        "mime": image.mime,
        "sha256": image.sha256,
        "name": name,
        "width": image.width,
        "height": image.height,
    }


def image_file_ref(path: Path, *, sha256: str | None = None, name: str | None = None) -> ImageRef:
    """A picture on disk (e.g. an attachment Hearth stored after preparing it); the engine host reads the file.

    Args:
        path: the picture. Prepared pictures load fastest; others are turned upright and scaled by the host.
        sha256: its digest if known (saves reading the file here).
        name: what messages call it (default: the file name).
    """
    if sha256 is None:
        try:
            sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise DocumentError(f"{path.name} could not be opened: {exc.strerror or exc}.",
                                hint="Check that the picture still exists.", details=repr(exc)) from exc
    return {"path": str(path), "sha256": sha256, "name": name if name is not None else path.name}


def message_images(message: Message) -> list[ImageRef]:
    images = message.get("images")
    return list(images) if isinstance(images, list) else []


def has_images(messages: Sequence[Message]) -> bool:
    return any(message.get("images") for message in messages)


def newest_user_has_images(messages: Sequence[Message]) -> bool:
    """Whether the message being answered (the last user message) carries pictures."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return bool(message_images(message))
    return False


def no_vision_error() -> NoVisionError:
    return NoVisionError(
        "This model can't see images — load Llama 4 Scout with its vision file (mmproj).",
        hint="Choose a vision file (mmproj) for this model in its settings, or send the message without the image.",
    )


def image_key(ref: ImageRef) -> str:
    """What identifies a picture: its sha256, else a digest of what was sent."""
    digest = ref.get("sha256")
    if isinstance(digest, str) and digest:
        return digest
    source = str(ref.get("data") or ref.get("path") or "")
    return hashlib.sha256(source.encode()).hexdigest()


def image_name(ref: ImageRef, index: int) -> str:
    name = ref.get("name")
    if isinstance(name, str) and name:
        return name
    path = ref.get("path")
    return Path(path).name if isinstance(path, str) and path else f"image {index + 1}"


def image_bytes(ref: ImageRef, index: int = 0) -> bytes:
    """The encoded picture a reference points at.

    Raises:
        DocumentError: the file cannot be read, or the data is not base64.
    """
    name = image_name(ref, index)
    data = ref.get("data")
    if isinstance(data, str) and data:
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DocumentError(f"{name} arrived damaged (its data is not base64).", details=repr(exc)) from exc
    path = ref.get("path")
    if isinstance(path, str) and path:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise DocumentError(f"{name} could not be opened: {exc.strerror or exc}.",
                                hint="Check that the picture still exists.", details=repr(exc)) from exc
    raise DocumentError(f"{name} has neither data nor a path.")


def with_markers(messages: Sequence[Message], marker: str) -> tuple[list[Message], list[ImageRef]]:
    """Messages with each picture replaced by ``marker`` before the text, and the pictures in prompt order."""
    out: list[Message] = []
    refs: list[ImageRef] = []
    for message in messages:
        images = message_images(message)
        plain = {k: v for k, v in message.items() if k != "images"}
        if images:
            plain["content"] = marker * len(images) + str(message.get("content") or "")
            refs.extend(images)
        out.append(plain)
    return out, refs


def without_images(messages: Sequence[Message], note: str = OMITTED_IMAGE_NOTE) -> list[Message]:
    """Messages for a model that cannot see: each picture becomes a short note in its message's text."""
    out: list[Message] = []
    for message in messages:
        images = message_images(message)
        plain = {k: v for k, v in message.items() if k != "images"}
        if images:
            notes = " ".join([note] * len(images))
            text = str(message.get("content") or "")
            plain["content"] = f"{notes}\n{text}" if text else notes
        out.append(plain)
    return out
