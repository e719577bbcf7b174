"""Pictures through the real multimodal pipeline: a tiny Llama 4 projector (mmproj) and the tiny Llama 4 in llama.cpp.

The projector and the model are random-weight GGUF files the fixtures write; the pictures are drawn here with Pillow.
"""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from hearth.core.engine import EngineClient, Finished, PromptProgress, TokenDelta
from hearth.core.engine.events import AnswerStats
from hearth.core.engine.media import ImageRef, image_file_ref, image_ref
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.errors import (
    CorruptDocumentError,
    ModelFileError,
    NoVisionError,
    VisionFileError,
)
from hearth.core.images import prepare_image, prepare_image_bytes
from tests.fixtures.tiny_mmproj import SLOW_SHAPE, TinyProjectorShape, write_tiny_mmproj

GREEDY = SamplingParams(loop_guard=False, temperature=0.0, max_tokens=16, seed=1)
TILE_TOKENS = TinyProjectorShape().tokens_per_tile
_ORIENTATION = 0x0112


def picture(colour: tuple[int, int, int], size: tuple[int, int] = (24, 24), fmt: str = "PNG") -> bytes:
    """A picture with a coloured left half and a grey right half (its orientation shows in the pixels)."""
    image = Image.new("RGB", size, (128, 128, 128))
    image.paste(colour, (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def ref(colour: tuple[int, int, int], size: tuple[int, int] = (24, 24)) -> ImageRef:
    return image_ref(prepare_image_bytes(picture(colour, size), "picture.png"), "picture.png")


def ask(client: EngineClient, messages: list[dict[str, object]], params: SamplingParams = GREEDY) -> tuple[
    str, AnswerStats, list[PromptProgress]
]:
    text: list[str] = []
    progress: list[PromptProgress] = []
    stats = None
    for event in client.chat(messages, params):
        if isinstance(event, TokenDelta):
            text.append(event.text)
        elif isinstance(event, PromptProgress):
            progress.append(event)
        elif isinstance(event, Finished):
            stats = event.stats
    assert stats is not None
    return "".join(text), stats, progress


def look(image: ImageRef, question: str = "What is in this picture?") -> list[dict[str, object]]:
    return [{"role": "user", "content": question, "images": [image]}]


@pytest.fixture(scope="module")
def seeing(tiny_llama4_vision: Path, tiny_mmproj: Path) -> Iterator[EngineClient]:
    client = EngineClient()
    client.load(LoadPlan(str(tiny_llama4_vision), n_ctx=2048, n_threads=1, mmproj_path=str(tiny_mmproj)))
    yield client
    client.close()


def test_a_model_with_its_projector_can_see(seeing: EngineClient, tiny_mmproj: Path) -> None:
    assert seeing.info is not None
    assert seeing.info.vision
    assert seeing.info.mmproj_path == str(tiny_mmproj)
    assert seeing.info.architecture == "llama4"


def test_image_prompt_streams_tokens(seeing: EngineClient) -> None:
    deltas: list[str] = []
    stats = None
    for event in seeing.chat(look(ref((255, 0, 0))), GREEDY):
        if isinstance(event, TokenDelta):
            deltas.append(event.text)
        elif isinstance(event, Finished):
            stats = event.stats
    assert stats is not None
    assert len(deltas) >= 2, "the answer arrives token by token"
    assert stats.tokens == GREEDY.max_tokens and stats.stop_reason == "length"
    assert stats.images == 1
    assert stats.image_tokens == TILE_TOKENS, "a picture no larger than one tile is one chunk"
    assert stats.prompt_tokens > stats.image_tokens


def test_the_picture_decides_the_answer(seeing: EngineClient) -> None:
    red, _, _ = ask(seeing, look(ref((255, 0, 0))))
    red_again, _, _ = ask(seeing, look(ref((255, 0, 0))))
    blue, _, _ = ask(seeing, look(ref((0, 0, 255))))
    assert red == red_again, "the same picture gives the same greedy answer"
    assert red != blue, "the pixels reach the model: another picture, another answer"


def test_a_large_picture_is_read_in_tiles_with_progress(seeing: EngineClient) -> None:
    _, stats, progress = ask(seeing, look(ref((0, 200, 0), size=(90, 60))))
    assert stats.image_tokens > TILE_TOKENS and stats.image_tokens % TILE_TOKENS == 0
    done = [p.done for p in progress]
    assert done == sorted(done) and done[-1] == progress[-1].total == stats.prompt_tokens - stats.cached_tokens
    assert len(done) > stats.image_tokens // TILE_TOKENS, "progress is reported after each tile"


def test_follow_up_turn_reuses_the_picture_in_the_cache(seeing: EngineClient) -> None:
    history: list[dict[str, object]] = look(ref((10, 20, 200), size=(80, 80)), "Describe it.")
    first_answer, first, _ = ask(seeing, history)
    history += [{"role": "assistant", "content": first_answer}, {"role": "user", "content": "And the colours?"}]
    _, second, _ = ask(seeing, history)
    assert second.images == 1
    assert second.cached_tokens >= first.prompt_tokens, "the first turn, picture included, is not read again"


def test_text_after_an_image_conversation_still_answers(seeing: EngineClient) -> None:
    _, stats, _ = ask(seeing, [{"role": "user", "content": "hello"}])
    assert stats.images == 0 and stats.tokens >= 1 and stats.stop_reason in ("length", "eos")
    assert 0 < stats.cached_tokens < stats.prompt_tokens, "the text before the earlier picture is reused"


def test_oversized_exif_rotated_photo(seeing: EngineClient, tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[_ORIENTATION] = 6  # stored sideways: shown turned 90° clockwise
    photo = tmp_path / "photo.jpg"
    big = Image.new("RGB", (3000, 2000), (128, 128, 128))
    big.paste((250, 30, 30), (0, 0, 1500, 2000))
    big.save(photo, "JPEG", quality=85, exif=exif.tobytes())
    prepared = prepare_image(photo)
    assert prepared.scaled and (prepared.width, prepared.height) == (1024, 1536), "upright and scaled down"
    text, stats, _ = ask(seeing, look(image_ref(prepared, photo.name)))
    assert stats.tokens == GREEDY.max_tokens and text
    assert stats.image_tokens > TILE_TOKENS


def test_the_host_turns_a_raw_picture_upright_as_preparation_does(seeing: EngineClient, tmp_path: Path) -> None:
    """A picture given by path, not prepared, is turned upright and scaled by the host itself."""
    exif = Image.Exif()
    exif[_ORIENTATION] = 8  # shown turned 90° counter-clockwise
    sideways = Image.new("RGB", (60, 40), (128, 128, 128))
    sideways.paste((0, 0, 255), (0, 0, 30, 40))
    raw = tmp_path / "sideways.png"
    sideways.save(raw, "PNG", exif=exif.tobytes())
    no_tag = tmp_path / "no-tag.png"
    sideways.save(no_tag, "PNG")
    prepared = prepare_image(raw)
    assert (prepared.width, prepared.height) == (40, 60) and prepared.mime == "image/png"  # upright, lossless
    from_prepared, _, _ = ask(seeing, look(image_ref(prepared, "sideways.png")))
    from_raw, _, _ = ask(seeing, look(image_file_ref(raw)))
    ignoring_orientation, _, _ = ask(seeing, look(image_file_ref(no_tag)))
    assert from_raw == from_prepared
    assert from_raw != ignoring_orientation


def test_damaged_picture_is_a_clear_error_and_the_model_goes_on(seeing: EngineClient, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(picture((1, 2, 3))[:40])
    with pytest.raises(CorruptDocumentError, match=r"broken\.png"):
        ask(seeing, look(image_file_ref(broken)))
    _, stats, _ = ask(seeing, look(ref((255, 0, 0))))
    assert stats.tokens == GREEDY.max_tokens


def test_text_only_model_refuses_images_before_reading(tiny_llama4: Path) -> None:
    with EngineClient() as client:
        info = client.load(LoadPlan(str(tiny_llama4), n_ctx=512))
        assert not info.vision
        with pytest.raises(NoVisionError, match="can't see images — load Llama 4 Scout with its vision file"):
            ask(client, look(ref((255, 0, 0))))
        # The engine host refuses too, whatever the app believes (here: told the model can see).
        assert client.info is not None
        client.info = dataclasses.replace(client.info, vision=True)
        with pytest.raises(NoVisionError) as caught:
            ask(client, look(ref((255, 0, 0))))
        assert caught.value.hint
        # Pictures in earlier turns become a note; the conversation goes on.
        history = [*look(ref((255, 0, 0))), {"role": "assistant", "content": "A picture."},
                   {"role": "user", "content": "hello"}]
        _, stats, _ = ask(client, history)
        assert stats.tokens == GREEDY.max_tokens and stats.images == 0


def test_cancel_while_the_picture_is_read(tiny_llama4_vision: Path, tmp_path: Path) -> None:
    slow = write_tiny_mmproj(tmp_path / "slow-mmproj.gguf", shape=SLOW_SHAPE)
    photo = ref((200, 100, 0), size=(1400, 1000))  # nine tiles and an overview, each a fraction of a second
    with EngineClient() as client:
        client.load(LoadPlan(str(tiny_llama4_vision), n_ctx=4096, n_threads=1, mmproj_path=str(slow)))
        progress: list[PromptProgress] = []
        stats = None
        for event in client.chat(look(photo), SamplingParams(loop_guard=False, temperature=0.0, max_tokens=8)):
            if isinstance(event, PromptProgress):
                progress.append(event)
                if event.done > 0:  # the text before the picture is read: Stop while the first tile is encoded
                    client.cancel()
            elif isinstance(event, TokenDelta):
                pytest.fail("no token may be written after Stop")
            elif isinstance(event, Finished):
                stats = event.stats
        assert stats is not None and stats.stop_reason == "cancelled" and stats.tokens == 0
        assert progress[-1].done < progress[0].total, "stopped before the picture was read"
        # What is kept ends at a tile's edge: the text before the picture and whole tiles (usually none), never
        # part of one.
        before_picture = progress[1].done
        kept_of_picture = stats.context_used - before_picture
        assert 0 <= kept_of_picture < stats.image_tokens and kept_of_picture % SLOW_SHAPE.tokens_per_tile == 0
        # The model is ready at once, and what was read stays in the cache.
        _, again, _ = ask(client, look(photo), SamplingParams(loop_guard=False, temperature=0.0, max_tokens=4))
        assert again.stop_reason == "length" and again.tokens == 4
        assert again.cached_tokens == stats.context_used


def _good_load_after(client: EngineClient, model: Path, projector: Path) -> None:
    info = client.load(LoadPlan(str(model), n_ctx=512, n_threads=1, mmproj_path=str(projector)))
    assert info.vision
    _, stats, _ = ask(client, look(ref((255, 0, 0))))
    assert stats.tokens == GREEDY.max_tokens


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncated", "incomplete or damaged"),
        ("language-model", "is a language model (llama4), not a vision file"),
        ("other-model", "belongs to a different model: it makes image embeddings 32 wide, and this model reads 64"),
        ("unknown-type", "kind of vision projector that the bundled llama.cpp does not know"),
        ("missing-tensor", "incomplete or damaged"),
        ("missing-file", "does not exist"),
    ],
)
def test_bad_vision_file_is_a_clear_load_error(
    tiny_llama4_vision: Path, tiny_mmproj: Path, tmp_path: Path, damage: str, message: str
) -> None:
    bad = tmp_path / "mmproj-bad.gguf"
    if damage == "truncated":
        data = tiny_mmproj.read_bytes()
        bad.write_bytes(data[: len(data) * 2 // 3])
    elif damage == "language-model":
        shutil.copy(tiny_llama4_vision, bad)
    elif damage == "other-model":
        write_tiny_mmproj(bad, shape=TinyProjectorShape(text_embd=32))
    elif damage == "unknown-type":
        write_tiny_mmproj(bad, projector_type="no-such-projector")
    elif damage == "missing-tensor":
        write_tiny_mmproj(bad, skip_tensors=("mm.model.fc.weight",))
    with EngineClient() as client:
        with pytest.raises(VisionFileError, match=re.escape(message)) as caught:
            client.load(LoadPlan(str(tiny_llama4_vision), n_ctx=512, mmproj_path=str(bad)))
        assert caught.value.hint
        assert client.info is None
        _good_load_after(client, tiny_llama4_vision, tiny_mmproj)


def test_projector_given_as_the_model(tiny_mmproj: Path) -> None:
    with EngineClient() as client, pytest.raises(ModelFileError, match=r"vision projector \(mmproj\), not a model"):
        client.load(LoadPlan(str(tiny_mmproj), n_ctx=512))
