"""``hearth chat --image`` and scanned PDFs: the real CLI and engine, the tiny Llama 4 with its projector, pictures and
scans the test draws."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.fixtures.documents import make_pdf

ROOT = Path(__file__).resolve().parents[2]
_ORIENTATION = 0x0112


def _hearth(*args: str, home: Path, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_HOME": str(home), "PYTHONPATH": str(ROOT / "app")}
    return subprocess.run([sys.executable, "-m", "hearth", *args], input=input_text, capture_output=True, text=True,
                          env=env, timeout=240, check=False)


def _stats(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{") and '"stop_reason"' in line]


def _photo(path: Path) -> Path:
    """A 2400 × 1600 JPEG stored sideways with an EXIF orientation tag and a GPS position."""
    exif = Image.Exif()
    exif[_ORIENTATION] = 6
    exif.get_ifd(0x8825).update({1: "N", 2: (59.0, 54.0, 36.0)})
    image = Image.new("RGB", (2400, 1600), (90, 90, 90))
    image.paste((240, 200, 20), (0, 0, 1200, 1600))
    image.save(path, "JPEG", quality=85, exif=exif.tobytes())
    return path


def test_one_shot_question_about_a_photo(tiny_llama4_vision: Path, tiny_mmproj: Path, tmp_path: Path,
                                         hearth_home: Path) -> None:
    photo = _photo(tmp_path / "holiday.jpg")
    run = _hearth("chat", "--model", str(tiny_llama4_vision), "--mmproj", str(tiny_mmproj), "--image", str(photo),
                  "--prompt", "What is in this picture?", "--max-tokens", "8", "--temperature", "0", "--json",
                  "--threads", "1", home=hearth_home)
    assert run.returncode == 0, run.stderr
    (stats,) = _stats(run.stdout)
    assert stats["images"] == 1 and isinstance(stats["image_tokens"], int) and stats["image_tokens"] > 4
    assert stats["stop_reason"] in ("length", "eos") and stats["tokens"]
    assert "Image holiday.jpg: 1,024 × 1,536 (scaled down from 1,600 × 2,400)" in run.stderr


def test_pictures_stay_in_the_conversation(tiny_llama4_vision: Path, tiny_mmproj: Path, tmp_path: Path,
                                           hearth_home: Path) -> None:
    photo = _photo(tmp_path / "holiday.jpg")
    run = _hearth("chat", "--model", str(tiny_llama4_vision), "--mmproj", str(tiny_mmproj), "--image", str(photo),
                  "--max-tokens", "6", "--temperature", "0", "--json", "--threads", "1", home=hearth_home,
                  input_text="What is this?\nAnd the colours?\n/exit\n")
    assert run.returncode == 0, run.stderr
    first, second = _stats(run.stdout)
    assert first["images"] == second["images"] == 1
    assert isinstance(first["prompt_tokens"], int) and isinstance(second["cached_tokens"], int)
    assert second["cached_tokens"] >= first["prompt_tokens"], "the picture is read once"


def test_image_without_a_vision_file_is_refused_before_loading(tiny_llama4: Path, tmp_path: Path,
                                                               hearth_home: Path) -> None:
    photo = _photo(tmp_path / "holiday.jpg")
    run = _hearth("chat", "--model", str(tiny_llama4), "--image", str(photo), "--prompt", "What is this?",
                  home=hearth_home)
    assert run.returncode == 1
    assert "This model can't see images — load Llama 4 Scout with its vision file (mmproj)." in run.stderr
    assert "Traceback" not in run.stderr


def test_bad_picture_and_bad_vision_file_are_messages(tiny_llama4_vision: Path, tmp_path: Path,
                                                      hearth_home: Path) -> None:
    notes = tmp_path / "notes.png"
    notes.write_text("this is not a picture")
    run = _hearth("chat", "--model", str(tiny_llama4_vision), "--mmproj", str(tiny_llama4_vision), "--image",
                  str(notes), "--prompt", "?", home=hearth_home)
    assert run.returncode == 1 and "notes.png is not a PNG, JPEG, WebP, GIF or BMP picture" in run.stderr
    photo = _photo(tmp_path / "holiday.jpg")
    run = _hearth("chat", "--model", str(tiny_llama4_vision), "--mmproj", str(tiny_llama4_vision), "--image",
                  str(photo), "--prompt", "?", home=hearth_home)
    assert run.returncode == 1 and "is a language model (llama4), not a vision file (mmproj)" in run.stderr
    assert "Traceback" not in run.stderr


def test_scanned_pdf_goes_as_page_pictures_to_a_vision_model(tiny_llama4_vision: Path, tiny_mmproj: Path,
                                                              tmp_path: Path, hearth_home: Path) -> None:
    scan = tmp_path / "scan.pdf"
    make_pdf([None, None, None], scan)
    run = _hearth("chat", "--model", str(tiny_llama4_vision), "--mmproj", str(tiny_mmproj), "--attach", str(scan),
                  "--prompt", "What do these pages say?", "--max-tokens", "8", "--temperature", "0", "--json",
                  "--threads", "1", "--ctx", "8192", home=hearth_home)
    assert run.returncode == 0, run.stderr
    sent = re.search(r"scan\.pdf has no text: sending (\d+) of its 3 pages to the model as pictures\.", run.stderr)
    assert sent is not None, run.stderr
    pages = int(sent.group(1))
    assert 1 <= pages < 3, "capped by the context"
    assert f"{pages} of the 3 pages of scan.pdf went as pictures (the first ones)" in run.stderr
    (stats,) = _stats(run.stdout)
    assert stats["images"] == pages and isinstance(stats["image_tokens"], int) and stats["image_tokens"] > 4


def test_scanned_pdf_without_a_vision_file_is_refused_with_what_to_do(tiny_llama4: Path, tmp_path: Path,
                                                                      hearth_home: Path) -> None:
    scan = tmp_path / "scan.pdf"
    make_pdf([None, None, None], scan)
    run = _hearth("chat", "--model", str(tiny_llama4), "--attach", str(scan), "--prompt", "What is this?",
                  home=hearth_home)
    assert run.returncode == 1
    assert "hearth: scan.pdf has no text to read: its 3 pages are scanned pictures." in run.stderr
    assert "Give the model its vision file (--mmproj) to send the pages as pictures" in run.stderr
    assert "Traceback" not in run.stderr
