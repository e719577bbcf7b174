"""Image input benchmark: reading a picture, asking about it again, and stopping while it is read.

On the tiny random-weight Llama 4 and its tiny projector (the test fixtures) by default, or on real files
(``--model``/``--mmproj``, e.g. Llama 4 Scout and its mmproj on a GPU machine). Measured where the app sees the events:

1. A picture of ``--side`` pixels (a large photo: Llama 4 reads it as up to nine tiles and an overview): time until the
   prompt is read (host's ``prompt_eval_s``) and to the first token, per tile.
2. A follow-up question about the same picture: time to first token against the first question's.
   Target: <= 0.2x (the picture is not read again).
3. Stop while the picture is read (half a tile into the first tile): time from ``cancel()`` to the ``Finished``
   event. Target: under half a tile's time (the encoder is stopped inside the tile, not after it).

Run: ``python tests/bench/bench_vision.py [--model PATH --mmproj PATH] [--reps 3] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from hearth.core.engine import EngineClient, Finished, PromptProgress  # noqa: E402
from hearth.core.engine.media import image_ref  # noqa: E402
from hearth.core.engine.plan import LoadPlan  # noqa: E402
from hearth.core.engine.sampling import SamplingParams  # noqa: E402
from hearth.core.images import prepare_image_bytes  # noqa: E402
from tests.bench import print_and_save  # noqa: E402


def _photo(side: int, rep: int) -> dict[str, Any]:
    image = Image.effect_noise((side, side * 2 // 3), 40 + rep).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return image_ref(prepare_image_bytes(out.getvalue(), f"photo-{rep}.jpg"), f"photo-{rep}.jpg")


def _finished(client: EngineClient, messages: list[dict[str, Any]], max_tokens: int) -> Finished:
    done = None
    for event in client.chat(messages, SamplingParams(temperature=0.0, max_tokens=max_tokens)):
        if isinstance(event, Finished):
            done = event
    assert done is not None
    return done


def _cancel_latency(client: EngineClient, picture: dict[str, Any], delay_s: float) -> tuple[float, str]:
    """Seconds from cancel() (``delay_s`` after the text before the picture is read) to the Finished event."""
    cancelled_at = None
    for event in client.chat([{"role": "user", "content": "Describe it.", "images": [picture]}],
                             SamplingParams(temperature=0.0, max_tokens=4)):
        if isinstance(event, PromptProgress) and event.done > 0 and cancelled_at is None:
            time.sleep(delay_s)
            cancelled_at = time.perf_counter()
            client.cancel()
        elif isinstance(event, Finished):
            assert cancelled_at is not None
            return time.perf_counter() - cancelled_at, event.stats.stop_reason
    raise AssertionError("no Finished event")


def run(model: Path, mmproj: Path, *, reps: int = 3, side: int = 1400, n_ctx: int = 4096,
        threads: int | None = None) -> dict[str, Any]:
    client = EngineClient()
    info = client.load(LoadPlan(str(model), n_ctx=n_ctx, n_threads=threads, mmproj_path=str(mmproj)))
    assert info.vision
    eval_s, ttft_s, follow_ttft_s, tokens, cancel_s = [], [], [], [], []
    stop_reasons = []
    for rep in range(reps):
        picture = _photo(side, rep)  # a new picture each time: nothing cached
        first_turn = [{"role": "user", "content": "What is in this picture?", "images": [picture]}]
        first = _finished(client, first_turn, 8).stats
        eval_s.append(first.prompt_eval_s or 0.0)
        ttft_s.append(first.ttft_s or 0.0)
        tokens.append(first.image_tokens)
        follow = _finished(client, [*first_turn, {"role": "assistant", "content": "Noise."},
                                    {"role": "user", "content": "What colour is it mostly?"}], 8).stats
        assert follow.cached_tokens >= first.prompt_tokens, follow
        follow_ttft_s.append(follow.ttft_s or 0.0)
    # A picture smaller than a tile is read as one chunk: the large one's positions over its give the tiles read
    # (the overview counts as one).
    probe = _finished(client, [{"role": "user", "content": "?", "images": [_photo(16, 999)]}], 1).stats
    tiles = max(1, round(statistics.median(tokens) / max(1, probe.image_tokens)))
    half_tile_s = statistics.median(eval_s) / tiles / 2
    for rep in range(reps):
        latency, reason = _cancel_latency(client, _photo(side, reps + rep), half_tile_s)
        cancel_s.append(latency)
        stop_reasons.append(reason)
    client.close()
    med = statistics.median
    result: dict[str, Any] = {
        "model": model.name,
        "mmproj": mmproj.name,
        "reps": reps,
        "picture_px": [side, side * 2 // 3],
        "read_picture": {
            "image_tokens": int(med(tokens)),
            "tiles": tiles,
            "prompt_eval_ms": round(1000 * med(eval_s), 2),
            "ms_per_tile": round(1000 * med(eval_s) / tiles, 2),
            "ttft_ms": round(1000 * med(ttft_s), 2),
        },
        "follow_up_turn": {
            "first_ttft_ms": round(1000 * med(ttft_s), 2),
            "follow_up_ttft_ms": round(1000 * med(follow_ttft_s), 2),
            "ratio": round(med(follow_ttft_s) / med(ttft_s), 4),
            "target": "ratio <= 0.2",
        },
        "stop_while_reading": {
            "cancelled_into_tile_ms": round(1000 * half_tile_s, 2),
            "cancel_to_finished_ms": round(1000 * med(cancel_s), 2),
            "stop_reasons": sorted(set(stop_reasons)),
            "target": "cancel_to_finished_ms < cancelled_into_tile_ms",
        },
    }
    result["met"] = {
        "follow_up": result["follow_up_turn"]["ratio"] <= 0.2,
        "stop": med(cancel_s) < half_tile_s,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="GGUF file (default: the tiny Llama 4 test model)")
    parser.add_argument("--mmproj", type=Path, help="its vision file (default: the tiny test projector)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--side", type=int, default=1400, help="width of the test picture in pixels")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        model, mmproj = args.model, args.mmproj
        if model is None or mmproj is None:
            from tests.fixtures.tiny_llama4 import write_tiny_llama4
            from tests.fixtures.tiny_mmproj import SLOW_SHAPE, write_tiny_mmproj

            model = write_tiny_llama4(Path(folder) / "tiny-llama4.gguf", vision=True, weight_scale=0.2)[0]
            mmproj = write_tiny_mmproj(Path(folder) / "mmproj.gguf", shape=SLOW_SHAPE)
        result = run(model, mmproj, reps=args.reps, side=args.side, threads=args.threads)
    return print_and_save(result, args.json)


if __name__ == "__main__":
    sys.exit(main())
