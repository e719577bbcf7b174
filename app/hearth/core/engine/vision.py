"""Pictures into the model's context: the vision projector (mmproj) through llama.cpp's multimodal library, mtmd.

Runs only inside the engine host. It drives llama-cpp-python's ctypes bindings of mtmd (``llama_cpp.mtmd_cpp``)
directly: llama-cpp-python's ``MTMDChatHandler`` is built around the high-level ``Llama`` class, which the engine
does not use (see ``runtime``), and evaluates a whole prompt in one call with no way to stop it or to report progress.
Here a prompt is tokenized by ``mtmd_tokenize`` into text and image chunks; text chunks are decoded by the runtime
like any prompt (batches, progress, the abort callback), image chunks by ``mtmd_helper_eval_chunk_single`` (encode
the picture, decode its embeddings) with the same abort callback on the context, and a check of the cancel flag
between chunks (Llama 4 cuts a large picture into up to nine tiles and an overview, one chunk each).

Positions of a prompt are described by ``keys``: the token id for text, and for every position of an image chunk a
negative number derived from the picture's sha256 and the chunk's place among that picture's chunks. The host's
prefix cache compares keys, so a follow-up turn reuses everything up to the first chunk that changed, pictures
included; an image chunk is never cut in half (its embeddings are decoded as a whole).
"""

from __future__ import annotations

import ctypes
import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp as L
from llama_cpp import mtmd_cpp as M

from hearth.core.engine.media import ImageRef, image_bytes, image_key, image_name
from hearth.core.engine.runtime import DecodeAborted, ModelRuntime
from hearth.core.errors import GenerationError, VisionFileError
from hearth.core.images import RgbPixels, rgb_pixels

# Decoded pictures kept for the next turns of a conversation (the same picture is sent with every request).
_PIXEL_CACHE_BYTES = 64 * 1024 * 1024
# On the CPU the encoder's graph is computed in pieces of this many nodes, with a look at the cancel flag after each
# (Llama 4's encoder has ~1,400 nodes a tile: ~40 looks, each far shorter than the piece of work before it).
_NODES_PER_CANCEL_CHECK = 32


@dataclass(frozen=True)
class Segment:
    """Positions ``start..end-1`` of a prompt: text ``tokens``, or one image ``chunk`` (an mtmd pointer)."""

    start: int
    end: int
    tokens: tuple[int, ...] = ()
    chunk: int | None = None


class ImagePrompt:
    """A prompt of text and image chunks; owns mtmd's chunk list until ``close``.

    Attributes:
        keys: one per position (see the module docstring).
        segments: text and image chunks in order.
        image_count: pictures in the prompt.
        image_tokens: positions taken by pictures.
    """

    def __init__(self, chunks: int, segments: list[Segment], keys: list[int], image_count: int) -> None:
        self._chunks: int | None = chunks
        self.segments = segments
        self.keys = keys
        self.image_count = image_count
        self.image_tokens = sum(s.end - s.start for s in segments if s.chunk is not None)

    def __len__(self) -> int:
        return len(self.keys)

    def boundary_at_or_before(self, position: int) -> int:
        """``position``, or the start of the image chunk it falls inside (a chunk is evaluated whole)."""
        for segment in self.segments:
            if segment.chunk is not None and segment.start < position < segment.end:
                return segment.start
        return position

    def close(self) -> None:
        if self._chunks:
            M.mtmd_input_chunks_free(self._chunks)
            self._chunks = None


def _image_position_key(image_id: str, ordinal: int) -> int:
    digest = hashlib.sha256(f"{image_id}:{ordinal}".encode()).digest()
    return -1 - (int.from_bytes(digest[:8], "little") >> 2)  # negative: never a token id


class VisionProjector:
    """An mmproj file loaded next to the text model.

    Args:
        path: the projector GGUF.
        runtime: the loaded text model and its context (the projector must match its embedding width).
        use_gpu: run the image encoder on the GPU when llama.cpp has one.
        n_threads: CPU threads for the encoder.
        abort_flag: the host's cancel flag.
        on_progress: load progress (0..1); return False to cancel loading.

    Raises:
        VisionFileError: mtmd refused the file (the log says why; the client turns it into words).
    """

    def __init__(
        self,
        path: str,
        runtime: ModelRuntime,
        *,
        use_gpu: bool,
        n_threads: int,
        abort_flag: threading.Event,
        on_progress: Callable[[float], bool],
    ) -> None:
        self.path = path
        self.runtime = runtime
        self._abort_flag = abort_flag
        self._on_progress = on_progress
        self._pixels: OrderedDict[str, RgbPixels] = OrderedDict()
        # A marker no user will type: mtmd splits the rendered prompt at each occurrence.
        self.marker = f"<__hearth_image_{secrets.token_hex(6)}__>"
        self._marker_bytes = self.marker.encode()
        # A CPU-only build of llama.cpp runs the encoder on the CPU whatever is asked.
        on_gpu = use_gpu and bool(L.llama_supports_gpu_offload())
        params = M.mtmd_context_params_default()
        params.use_gpu = on_gpu
        params.n_threads = max(1, n_threads)
        params.print_timings = False
        params.media_marker = self._marker_bytes
        params.flash_attn_type = L.LLAMA_FLASH_ATTN_TYPE_AUTO
        # The warm-up encodes a blank tile to size the buffers: cheap on a GPU (and it finds a lack of video
        # memory at load time), seconds of a CPU's time for Llama 4's encoder, which the first picture pays anyway.
        params.warmup = on_gpu
        self._progress_cb = M.mtmd_progress_callback(self._progress)
        params.progress_callback = self._progress_cb
        # On the CPU one tile takes seconds: the scheduler asks this callback about each node of the encoder's
        # graph, and computes the graph in pieces that end at the nodes it says it wants to see, so Stop can cut an
        # encode short. On a GPU a tile takes milliseconds and the graph is best computed in one go.
        self._asked = 0
        self._eval_cb = L.ggml_backend_sched_eval_callback(self._should_stop_encode)
        if not on_gpu:
            params.cb_eval = self._eval_cb
        ctx = M.mtmd_init_from_file(path.encode(), runtime.model, params)
        if not ctx:
            raise VisionFileError(
                f"The vision file (mmproj) {Path(path).name} could not be loaded.",
                hint="Choose the mmproj file made for this model.",
            )
        self.ctx = ctx
        if not M.mtmd_support_vision(ctx):
            self.close()
            raise VisionFileError(
                f"{Path(path).name} is not a vision projector: it has no image encoder.",
                hint="Choose the mmproj file made for this model.",
            )

    def _progress(self, fraction: float, _user: ctypes.c_void_p) -> bool:
        try:
            return bool(self._on_progress(float(fraction)))
        except Exception:  # an exception must not unwind through C
            return True

    def _should_stop_encode(self, _tensor: ctypes.c_void_p, ask: bool, _user: ctypes.c_void_p) -> bool:
        if not ask:
            # The scheduler computed up to a node we asked to see: False ends the computation of this graph.
            return not self._abort_flag.is_set()
        # Asked (before computing) whether this node's result is wanted: every so often, or at once when stopping.
        self._asked += 1
        return self._abort_flag.is_set() or self._asked % _NODES_PER_CANCEL_CHECK == 0

    def describe(self) -> dict[str, Any]:
        return {"vision": True, "mmproj_path": self.path}

    # --- prompts ---------------------------------------------------------------------------------------------------

    def _decoded(self, ref: ImageRef, index: int) -> RgbPixels:
        key = image_key(ref)
        cached = self._pixels.get(key)
        if cached is not None:
            self._pixels.move_to_end(key)
            return cached
        pixels = rgb_pixels(image_bytes(ref, index), image_name(ref, index))
        self._pixels[key] = pixels
        while len(self._pixels) > 1 and sum(len(p.data) for p in self._pixels.values()) > _PIXEL_CACHE_BYTES:
            self._pixels.popitem(last=False)
        return pixels

    def tokenize(self, text: str, images: Sequence[ImageRef], *, add_special: bool) -> ImagePrompt:
        """Split ``text`` at each marker and put the pictures' chunks there.

        Raises:
            DocumentError: a picture cannot be read or decoded.
            GenerationError: mtmd could not prepare a picture, or markers and pictures do not match.
        """
        bitmaps = []
        try:
            for index, ref in enumerate(images):
                pixels = self._decoded(ref, index)
                buffer = (ctypes.c_uint8 * len(pixels.data)).from_buffer_copy(pixels.data)
                bitmap = M.mtmd_bitmap_init(pixels.width, pixels.height, buffer)
                if not bitmap:
                    raise GenerationError(f"{image_name(ref, index)} could not be handed to the vision encoder.")
                bitmaps.append(bitmap)
                M.mtmd_bitmap_set_id(bitmap, image_key(ref).encode())
            data = text.encode("utf-8")
            source = M.mtmd_input_text(text=data, text_len=len(data), add_special=add_special, parse_special=True)
            chunks = M.mtmd_input_chunks_init()
            array = (M.mtmd_bitmap_p_ctypes * max(1, len(bitmaps)))(*bitmaps)
            rc = M.mtmd_tokenize(self.ctx, chunks, ctypes.byref(source), array, len(bitmaps))
        finally:
            for bitmap in bitmaps:
                M.mtmd_bitmap_free(bitmap)
        if rc != 0:
            M.mtmd_input_chunks_free(chunks)
            reason = ("the pictures do not match their places in the prompt" if rc == 1
                      else "a picture could not be prepared for the vision encoder")
            raise GenerationError(f"The message could not be read: {reason}.", details=f"mtmd_tokenize returned {rc}")
        return self._describe_chunks(chunks, len(images))

    def _describe_chunks(self, chunks: int, image_count: int) -> ImagePrompt:
        segments: list[Segment] = []
        keys: list[int] = []
        seen: dict[str, int] = {}
        for i in range(M.mtmd_input_chunks_size(chunks)):
            chunk = M.mtmd_input_chunks_get(chunks, i)
            start = len(keys)
            if M.mtmd_input_chunk_get_type(chunk) == M.MTMD_INPUT_CHUNK_TYPE_TEXT:
                count = ctypes.c_size_t(0)
                pointer = M.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(count))
                tokens = tuple(pointer[: count.value]) if pointer and count.value else ()
                keys.extend(tokens)
                segments.append(Segment(start, len(keys), tokens=tokens))
            else:
                raw_id = M.mtmd_input_chunk_get_id(chunk)
                image_id = raw_id.decode("utf-8", errors="replace") if raw_id else f"#{i}"
                ordinal = seen.get(image_id, 0)
                seen[image_id] = ordinal + 1
                # M-RoPE models (Qwen-VL) give a picture fewer positions than embeddings; positions are what count.
                n_pos = int(M.mtmd_input_chunk_get_n_pos(chunk))
                keys.extend([_image_position_key(image_id, ordinal)] * n_pos)
                segments.append(Segment(start, len(keys), chunk=chunk))
        return ImagePrompt(chunks, segments, keys, image_count)

    # --- evaluation ------------------------------------------------------------------------------------------------

    def evaluate(self, prompt: ImagePrompt, start: int, on_progress: Callable[[int], None]) -> None:
        """Decode ``prompt`` from position ``start`` (a chunk boundary) on; logits are kept for its last token.

        Args:
            prompt: the tokenized prompt.
            start: positions before it are already in the cache.
            on_progress: called with the number of positions read since ``start``.

        Raises:
            DecodeAborted: stopped; the cache holds ``kept`` positions (never part of a picture).
            ContextFull, GenerationError: as ``ModelRuntime.decode``.
        """
        rt = self.runtime
        if prompt.segments and prompt.segments[-1].chunk is not None:
            raise GenerationError("The prompt ends with a picture; the chat template must add text after it.")
        for segment in prompt.segments:
            if segment.end <= start:
                continue
            if self._abort_flag.is_set():
                raise DecodeAborted(max(start, segment.start))
            if segment.chunk is None:
                offset = max(start, segment.start)

                def report(done: int, offset: int = offset) -> None:
                    on_progress(offset - start + done)

                rt.decode(segment.tokens[offset - segment.start:], offset, report)
            else:
                self._evaluate_image(segment)
                on_progress(segment.end - start)

    def _evaluate_image(self, segment: Segment) -> None:
        rt = self.runtime
        new_n_past = L.llama_pos(segment.start)
        with rt.abortable():
            rc = M.mtmd_helper_eval_chunk_single(
                self.ctx, rt.ctx, segment.chunk, segment.start, 0, rt.n_batch, False, ctypes.byref(new_n_past)
            )
        if self._abort_flag.is_set() or rc == 2:
            # A stopped encode leaves partial embeddings: drop whatever of this picture reached the cache.
            rt.keep_prefix(segment.start)
            raise DecodeAborted(segment.start)
        if rc != 0:
            rt.keep_prefix(segment.start)
            raise GenerationError(
                "llama.cpp could not read a picture into the model's context.",
                hint="Try a smaller picture or a larger context size.",
                details=f"mtmd_helper_eval_chunk_single returned {rc}",
            )

    def close(self) -> None:
        if getattr(self, "ctx", None):
            M.mtmd_free(self.ctx)
            self.ctx = None
        self._pixels.clear()
