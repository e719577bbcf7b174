"""The wire format of pictures in chat messages (plain Python, both sides of the engine pipe)."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from hearth.core.engine.media import (
    OMITTED_IMAGE_NOTE,
    has_images,
    image_bytes,
    image_file_ref,
    image_key,
    image_ref,
    newest_user_has_images,
    no_vision_error,
    with_markers,
    without_images,
)
from hearth.core.errors import DocumentError, NoVisionError
from hearth.core.images import prepare_image_bytes


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (10, 200, 30)).save(out, "PNG")
    return out.getvalue()


def test_image_ref_carries_the_prepared_picture() -> None:
    prepared = prepare_image_bytes(_png(), "green.png")
    ref = image_ref(prepared, "green.png")
    assert base64.b64decode(ref["data"]) == prepared.data
    assert ref["sha256"] == prepared.sha256 and ref["mime"] == "image/png" and ref["name"] == "green.png"
    assert (ref["width"], ref["height"]) == (8, 6)
    assert image_bytes(ref) == prepared.data
    assert image_key(ref) == prepared.sha256


def test_file_ref_reads_the_digest_and_the_host_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pic.png"
    path.write_bytes(_png())
    ref = image_file_ref(path)
    assert ref == {"path": str(path), "sha256": hashlib.sha256(_png()).hexdigest(), "name": "pic.png"}
    assert image_bytes(ref) == _png()
    path.unlink()
    with pytest.raises(DocumentError, match=r"pic\.png could not be opened"):
        image_bytes(ref)
    with pytest.raises(DocumentError, match="could not be opened"):
        image_file_ref(path)


@pytest.mark.parametrize(
    ("ref", "message"),
    [({"data": "not base64!", "name": "x.png"}, "x.png arrived damaged"), ({"name": "y.png"}, "neither data nor")],
)
def test_unusable_refs_are_document_errors(ref: dict[str, str], message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        image_bytes(ref)
    assert len(image_key(ref)) == 64


def test_markers_go_before_the_text_in_prompt_order() -> None:
    a, b, c = {"sha256": "a"}, {"sha256": "b"}, {"sha256": "c"}
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Compare these.", "images": [a, b], "id": 7},
        {"role": "assistant", "content": "They differ."},
        {"role": "user", "content": "And this?", "images": [c]},
    ]
    plain, refs = with_markers(messages, "<M>")
    assert refs == [a, b, c]
    assert plain[1] == {"role": "user", "content": "<M><M>Compare these.", "id": 7}
    assert plain[3]["content"] == "<M>And this?"
    assert plain[0] == messages[0] and "images" not in plain[3]
    assert messages[1]["images"] == [a, b], "the caller's messages are not changed"


def test_without_images_leaves_a_note_in_place_of_each_picture() -> None:
    messages = [{"role": "user", "content": "What is it?", "images": [{}, {}]}, {"role": "user", "content": "",
                                                                              "images": [{}]}]
    plain = without_images(messages)
    assert plain[0]["content"] == f"{OMITTED_IMAGE_NOTE} {OMITTED_IMAGE_NOTE}\nWhat is it?"
    assert plain[1]["content"] == OMITTED_IMAGE_NOTE
    assert not has_images(plain) and has_images(messages)


def test_only_the_newest_user_message_decides_a_refusal() -> None:
    picture = {"sha256": "p"}
    older = [{"role": "user", "content": "x", "images": [picture]}, {"role": "assistant", "content": "y"},
             {"role": "user", "content": "z"}]
    assert not newest_user_has_images(older)
    assert newest_user_has_images([*older, {"role": "user", "content": "w", "images": [picture]}])
    assert newest_user_has_images([{"role": "user", "content": "w", "images": [picture]},
                                   {"role": "assistant", "content": "partial"}]), "continuing an answer about it"
    assert not newest_user_has_images([])


def test_no_vision_error_says_what_to_do() -> None:
    error = no_vision_error()
    assert isinstance(error, NoVisionError)
    assert str(error) == "This model can't see images — load Llama 4 Scout with its vision file (mmproj)."
    assert "mmproj" in error.hint
