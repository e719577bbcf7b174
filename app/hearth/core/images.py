"""Pictures for a vision model: loaded safely, turned upright, scaled down, stripped of metadata, thumbnailed.

Only pixels leave this module. The output is re-encoded from raw pixel data, so EXIF (GPS position, camera, date),
XMP, comments and colour profiles of the original never reach the prompt or the database; colours are converted to
sRGB first so that dropping the profile does not change them. Decoding is bounded: the size in pixels is read from
the header and checked before any pixel is decoded ("decompression bombs" are a few KB that decode to gigabytes).
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hearth.core.errors import CorruptDocumentError, DocumentError, FileTooLargeError, UnsafeDocumentError
from hearth.core.units import MB, format_size

if TYPE_CHECKING:
    from PIL import Image  # imported where it is used: the window's start does not need Pillow

# Formats a user can drop; Pillow is never asked to try others (some, like EPS, call external programs).
ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
_LOSSY = frozenset({"JPEG", "WEBP"})
_ORIENTATION = 0x0112  # EXIF tag


@dataclass(frozen=True)
class ImageOptions:
    """Limits and sizes for prepared images.

    Attributes:
        max_side: the longest side, in pixels, of the image sent to the model (larger ones are scaled down).
        thumb_side: the longest side of the thumbnail shown in the composer and the message.
        max_pixels: images with more pixels (width × height) are refused before decoding.
        max_bytes: files larger than this are refused before reading.
        jpeg_quality: quality of re-encoded photos.
    """

    max_side: int = 1536
    thumb_side: int = 256
    max_pixels: int = 60_000_000
    max_bytes: int = 50 * MB
    jpeg_quality: int = 90


@dataclass(frozen=True)
class PreparedImage:
    """An image ready to send and to store: the pixels, re-encoded, and a thumbnail.

    Attributes:
        data: the encoded image (PNG for graphics and screenshots, JPEG for photos).
        mime: ``image/png`` or ``image/jpeg``.
        width, height: size of ``data`` in pixels (upright).
        thumbnail: a small JPEG for the composer and the message.
        thumb_width, thumb_height: its size.
        source_format: what the original was (``PNG``, ``JPEG``...).
        source_width, source_height: the original's size (upright).
        scaled: True when the image was made smaller to fit ``max_side``.
        first_frame_only: True when the original was animated and only its first frame is used.
        sha256: hex digest of ``data`` (what is stored and sent).
    """

    data: bytes
    mime: str
    width: int
    height: int
    thumbnail: bytes
    thumb_width: int
    thumb_height: int
    source_format: str
    source_width: int
    source_height: int
    scaled: bool
    first_frame_only: bool
    sha256: str

    def data_uri(self) -> str:
        """The image as a ``data:`` URI (what llama-cpp-python's multimodal chat handlers accept)."""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def _fit(width: int, height: int, side: int) -> tuple[int, int]:
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_srgb(image: Image.Image) -> Image.Image:
    from PIL import ImageCms

    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"),
                                              outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: keep the pixels as they are
    return converted if converted is not None else image


def _flatten(image: Image.Image) -> Image.Image:
    """RGB pixels; transparency becomes white (vision encoders drop alpha, which would often leave black)."""
    from PIL import Image, ImageOps

    if image.mode == "F":
        image = ImageOps.autocontrast(image.convert("L"))
    elif image.mode.startswith("I"):
        # 16-bit grey (medical and scientific PNGs): keep the top 8 bits rather than clipping at 255.
        image = image.convert("I").point(lambda v: v / 256).convert("L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _encode(image: Image.Image, fmt: str, quality: int) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=quality, optimize=True)
    else:
        image.save(out, "PNG", compress_level=6)
    return out.getvalue()


def _too_large(name: str, size: int, limit: int) -> FileTooLargeError:
    return FileTooLargeError(
        f"{name} is {format_size(size)}; pictures up to {format_size(limit)} can be attached.",
        hint="Save it at a smaller size or as JPEG and attach it again.",
        size_bytes=size,
        limit_bytes=limit,
    )


def _upright_pixels(image: Image.Image, name: str, options: ImageOptions) -> tuple[Image.Image, int, int]:
    """RGB pixels turned upright and scaled to fit ``options.max_side``, and the upright size of the original."""
    from PIL import Image, ImageOps

    source_format = (image.format or "PNG").upper()
    width, height = image.size
    if width * height > options.max_pixels:
        raise UnsafeDocumentError(
            f"{name} is {width:,} × {height:,} pixels, more than the {options.max_pixels / 1e6:,.0f} million "
            f"pixels Hearth opens.",
            hint="Scale the picture down in an image editor and attach it again.",
        )
    animated = bool(getattr(image, "is_animated", False))
    try:
        orientation = int(image.getexif().get(_ORIENTATION, 1))
    except (OSError, ValueError, SyntaxError, TypeError):
        orientation = 1
    # EXIF orientations 5-8 turn the picture by 90°: width and height swap.
    source_w, source_h = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    target = _fit(source_w, source_h, options.max_side)
    try:
        if animated:
            image.seek(0)
        if source_format == "JPEG":
            # Decode at a reduced scale when the JPEG is far larger than needed (much faster, far less memory).
            image.draft("RGB", _fit(width, height, options.max_side))
        image.load()
        upright = ImageOps.exif_transpose(image) or image
        pixels = _flatten(_to_srgb(upright))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise CorruptDocumentError(f"{name} is damaged: its picture could not be decoded.",
                                   hint="Open it in an image viewer and save a copy, then attach that.",
                                   details=repr(exc)) from exc
    if pixels.size != target:
        pixels = pixels.resize(target, Image.Resampling.LANCZOS)
    return pixels, source_w, source_h


def prepare_pil_image(image: Image.Image, name: str, options: ImageOptions | None = None) -> PreparedImage:
    """Prepare an image that is already open (e.g. a page picture from a PDF). See ``prepare_image_bytes``.

    Raises:
        UnsafeDocumentError: the image has more pixels than ``options.max_pixels``.
        CorruptDocumentError: the pixels cannot be decoded.
    """
    from PIL import Image

    options = options or ImageOptions()
    source_format = (image.format or "PNG").upper()
    animated = bool(getattr(image, "is_animated", False))
    pixels, source_w, source_h = _upright_pixels(image, name, options)
    target = pixels.size
    # Only pixels survive: a fresh image from raw bytes has no info, EXIF, XMP or ICC to carry along.
    clean = Image.frombytes("RGB", pixels.size, pixels.tobytes())
    fmt = "JPEG" if source_format in _LOSSY else "PNG"
    data = _encode(clean, fmt, options.jpeg_quality)
    thumb = clean.copy()
    thumb.thumbnail((options.thumb_side, options.thumb_side), Image.Resampling.LANCZOS)
    return PreparedImage(
        data=data,
        mime="image/jpeg" if fmt == "JPEG" else "image/png",
        width=clean.width,
        height=clean.height,
        thumbnail=_encode(thumb, "JPEG", 80),
        thumb_width=thumb.width,
        thumb_height=thumb.height,
        source_format=source_format,
        source_width=source_w,
        source_height=source_h,
        scaled=target != (source_w, source_h),
        first_frame_only=animated,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def prepare_image_bytes(data: bytes, name: str, options: ImageOptions | None = None) -> PreparedImage:
    """Prepare a PNG, JPEG, WebP, GIF (first frame) or BMP for a vision model.

    The image is turned upright by its EXIF orientation, scaled down to ``options.max_side``, converted to sRGB
    without transparency, and re-encoded from its pixels alone (no EXIF, GPS, XMP or colour profile survives).

    Args:
        data: the file's bytes.
        name: the file's name, for messages.
        options: sizes and limits.

    Raises:
        FileTooLargeError: more than ``options.max_bytes``.
        UnsafeDocumentError: more than ``options.max_pixels`` pixels (checked before decoding).
        CorruptDocumentError: empty, truncated or not one of the accepted formats.
    """
    options = options or ImageOptions()
    with _open(data, name, options) as image:
        return prepare_pil_image(image, name, options)


def _open(data: bytes, name: str, options: ImageOptions) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise CorruptDocumentError(f"{name} is empty (0 bytes).", hint="Check that this is the picture you meant.")
    if len(data) > options.max_bytes:
        raise _too_large(name, len(data), options.max_bytes)
    try:
        # Pillow warns past its own pixel limit and raises past twice that; ``max_pixels`` (checked before
        # decoding, in prepare_pil_image) is the limit that decides. Where warnings are errors, the warning is one.
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnsafeDocumentError(f"{name} is far too large in pixels to open safely.",
                                  hint="Scale the picture down in an image editor and attach it again.",
                                  details=repr(exc)) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise CorruptDocumentError(
            f"{name} is not a PNG, JPEG, WebP, GIF or BMP picture, or it is damaged.",
            hint="Open it in an image viewer and save it as PNG or JPEG, then attach that.",
            details=repr(exc),
        ) from exc
    return image


@dataclass(frozen=True)
class RgbPixels:
    """Decoded pixels for a vision encoder: ``width`` × ``height`` × 3 bytes, RGB, rows from the top."""

    width: int
    height: int
    data: bytes


def rgb_pixels(data: bytes, name: str, options: ImageOptions | None = None) -> RgbPixels:
    """Decode an image to upright 8-bit RGB pixels (what llama.cpp's vision encoders read).

    A prepared image (``PreparedImage.data``) decodes as it is; any other picture gets the same limits, EXIF
    orientation, sRGB conversion, white background and scaling as ``prepare_image_bytes``, without re-encoding.

    Raises:
        FileTooLargeError, UnsafeDocumentError, CorruptDocumentError: as ``prepare_image_bytes``.
    """
    options = options or ImageOptions()
    with _open(data, name, options) as image:
        pixels, _w, _h = _upright_pixels(image, name, options)
    return RgbPixels(pixels.width, pixels.height, pixels.tobytes())


def prepare_image(path: Path, options: ImageOptions | None = None) -> PreparedImage:
    """Read and prepare an image file; see ``prepare_image_bytes``.

    Raises:
        DocumentError: the file cannot be read (missing, no permission), or the errors of
        ``prepare_image_bytes``.
    """
    options = options or ImageOptions()
    try:
        size = path.stat().st_size
        if size > options.max_bytes:
            raise _too_large(path.name, size, options.max_bytes)
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path.name} could not be opened: {exc.strerror or exc}.",
                            hint="Check that the file exists and that you may read it.", details=repr(exc)) from exc
    return prepare_image_bytes(data, path.name, options)
