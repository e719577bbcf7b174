"""Image preparation on pictures the tests draw: orientation, scaling, metadata stripped, bombs refused."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from hearth.core.errors import CorruptDocumentError, FileTooLargeError, UnsafeDocumentError
from hearth.core.images import ImageOptions, prepare_image, prepare_image_bytes, rgb_pixels

_GPS_IFD = 0x8825
_ORIENTATION = 0x0112


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def _half_red(width: int, height: int) -> Image.Image:
    """Left half red, right half blue: orientation is visible in the pixels."""
    image = Image.new("RGB", (width, height), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, width // 2, height))
    return image


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/jpeg"),
                                           ("GIF", "image/png"), ("BMP", "image/png")])
def test_each_format_loads(fmt: str, mime: str) -> None:
    prepared = prepare_image_bytes(_encode(_half_red(64, 32), fmt), f"pic.{fmt.lower()}")
    assert (prepared.width, prepared.height) == (64, 32)
    assert prepared.mime == mime and prepared.source_format == fmt and not prepared.scaled
    with Image.open(io.BytesIO(prepared.data)) as back:
        assert back.size == (64, 32)
        red = back.convert("RGB").getpixel((4, 16))
        assert isinstance(red, tuple) and red[0] > 200 and red[2] < 60


def test_exif_orientation_is_applied_and_gps_is_stripped() -> None:
    exif = Image.Exif()
    exif[_ORIENTATION] = 6  # stored sideways: turn 90° clockwise to show
    exif[0x010F] = "CameraMaker"
    exif.get_ifd(_GPS_IFD).update({1: "N", 2: (59.0, 54.0, 36.0), 3: "E", 4: (10.0, 45.0, 0.0)})
    data = _encode(_half_red(200, 100), "JPEG", exif=exif.tobytes(), quality=95)
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(_GPS_IFD)
    prepared = prepare_image_bytes(data, "photo.jpg")
    assert (prepared.width, prepared.height) == (100, 200)
    assert (prepared.source_width, prepared.source_height) == (100, 200)
    with Image.open(io.BytesIO(prepared.data)) as back:
        assert not back.getexif() and not back.info.get("exif") and not back.info.get("icc_profile")
        top = back.convert("RGB").getpixel((50, 10))
        assert isinstance(top, tuple) and top[0] > 200  # the red half is now on top
    assert b"Exif" not in prepared.data and b"CameraMaker" not in prepared.data
    assert b"Exif" not in prepared.thumbnail


def test_png_text_chunks_and_icc_profile_do_not_survive() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "home address 12 Elm Street")
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = _encode(_half_red(40, 40), "PNG", pnginfo=info, icc_profile=profile)
    prepared = prepare_image_bytes(data, "shot.png")
    assert b"Elm Street" not in prepared.data
    with Image.open(io.BytesIO(prepared.data)) as back:
        assert "icc_profile" not in back.info and "Comment" not in back.info


def test_large_images_are_scaled_down_with_a_thumbnail() -> None:
    prepared = prepare_image_bytes(_encode(_half_red(3000, 1500), "JPEG"), "big.jpg",
                                   ImageOptions(max_side=1536, thumb_side=128))
    assert (prepared.width, prepared.height) == (1536, 768) and prepared.scaled
    assert (prepared.source_width, prepared.source_height) == (3000, 1500)
    assert (prepared.thumb_width, prepared.thumb_height) == (128, 64)
    with Image.open(io.BytesIO(prepared.thumbnail)) as thumb:
        assert thumb.size == (128, 64) and thumb.format == "JPEG"
    assert prepared.data_uri().startswith("data:image/jpeg;base64,")


def test_transparency_becomes_white_and_gif_uses_its_first_frame() -> None:
    clear = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    prepared = prepare_image_bytes(_encode(clear, "PNG"), "clear.png")
    with Image.open(io.BytesIO(prepared.data)) as back:
        assert back.mode == "RGB" and back.getpixel((5, 5)) == (255, 255, 255)
    frames = [Image.new("RGB", (20, 20), color) for color in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    gif = prepare_image_bytes(out.getvalue(), "anim.gif")
    assert gif.first_frame_only
    with Image.open(io.BytesIO(gif.data)) as back:
        pixel = back.convert("RGB").getpixel((10, 10))
        assert isinstance(pixel, tuple) and pixel[0] > 200 and pixel[1] < 60


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_decompression_bombs_are_refused_before_decoding() -> None:
    # 100,000 x 100,000 pixels declared in a 60-byte file: Pillow's own limit.
    with pytest.raises(UnsafeDocumentError):
        prepare_image_bytes(_png_header_only(100_000, 100_000), "bomb.png")
    # Under Pillow's limit but over ours.
    with pytest.raises(UnsafeDocumentError, match="million pixels"):
        prepare_image_bytes(_png_header_only(5000, 5000), "big.png", ImageOptions(max_pixels=10_000_000))


def test_bad_files(tmp_path: Path) -> None:
    data = _encode(_half_red(300, 300), "PNG")
    with pytest.raises(CorruptDocumentError):
        prepare_image_bytes(data[: len(data) // 2], "cut.png")
    with pytest.raises(CorruptDocumentError, match="not a PNG, JPEG"):
        prepare_image_bytes(_encode(_half_red(10, 10), "TIFF"), "scan.tiff")
    with pytest.raises(CorruptDocumentError, match="empty"):
        prepare_image_bytes(b"", "zero.png")
    path = tmp_path / "pic.png"
    path.write_bytes(data)
    with pytest.raises(FileTooLargeError, match="up to 100 bytes"):
        prepare_image(path, ImageOptions(max_bytes=100))
    assert prepare_image(path).width == 300


def test_sixteen_bit_grey_keeps_its_range() -> None:
    ramp = Image.new("I;16", (256, 4))
    ramp.putdata([x * 256 for x in range(256)] * 4)
    prepared = prepare_image_bytes(_encode(ramp, "PNG"), "ramp.png")
    with Image.open(io.BytesIO(prepared.data)) as back:
        rgb = back.convert("RGB")
        dark, light = rgb.getpixel((10, 1)), rgb.getpixel((250, 1))
        assert isinstance(dark, tuple) and isinstance(light, tuple)
        assert dark[0] < 20 and light[0] > 240


def test_rgb_pixels_of_a_prepared_png_are_its_pixels() -> None:
    prepared = prepare_image_bytes(_encode(_half_red(40, 20), "PNG"), "pic.png")
    pixels = rgb_pixels(prepared.data, "pic.png")
    assert (pixels.width, pixels.height) == (40, 20) and len(pixels.data) == 40 * 20 * 3
    assert pixels.data[:3] == bytes((255, 0, 0)) and pixels.data[-3:] == bytes((0, 0, 255))


def test_rgb_pixels_of_a_raw_photo_are_upright_scaled_and_opaque() -> None:
    exif = Image.Exif()
    exif[_ORIENTATION] = 6
    sideways = _encode(_half_red(300, 100), "JPEG", exif=exif.tobytes(), quality=95)
    pixels = rgb_pixels(sideways, "photo.jpg", ImageOptions(max_side=150))
    assert (pixels.width, pixels.height) == (50, 150), "turned upright, then fitted to max_side"
    top = pixels.data[(10 * 50 + 25) * 3:(10 * 50 + 25) * 3 + 3]
    assert top[0] > 200 and top[2] < 60, "the red half is on top"
    clear = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert rgb_pixels(_encode(clear, "PNG"), "clear.png").data == bytes([255]) * 48, "transparent becomes white"


def test_rgb_pixels_refuses_what_preparation_refuses() -> None:
    with pytest.raises(CorruptDocumentError):
        rgb_pixels(b"", "empty.png")
    with pytest.raises(CorruptDocumentError):
        rgb_pixels(b"not a picture at all", "text.png")
    with pytest.raises(UnsafeDocumentError):
        rgb_pixels(_encode(Image.new("L", (3000, 3000)), "PNG"), "big.png", ImageOptions(max_pixels=1_000_000))
