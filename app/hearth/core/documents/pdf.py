"""PDF: text page by page with pypdf (``report.pdf p.12``), and the pictures of scanned pages.

pypdf reads text layers; it does not draw pages. A scanned PDF is one picture per page, so for those pages the
embedded picture *is* the page, and ``pdf_page_images`` hands it (scaled, stripped of metadata) to a vision model.
Pages that mix drawn text and pictures cannot be rendered without a rasterizer such as pdfium or poppler.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from hearth.core.documents.limits import too_much_text
from hearth.core.documents.model import AnchorKind, Section
from hearth.core.documents.pdf_nesting import MAX_NESTING, too_deeply_nested
from hearth.core.errors import (
    CorruptDocumentError,
    DocumentError,
    EncryptedDocumentError,
    ExtractionCancelled,
    UnsafeDocumentError,
)
from hearth.core.images import ImageOptions, PreparedImage, prepare_pil_image

# pypdf reports recoverable oddities ("EOF marker not found") through logging; without a handler Python prints them
# on stderr. What matters reaches the user as a typed error or a document warning instead. They stop here rather than
# reach any log of the app's: they may quote the document, and a hostile file can make formatting them slow.
logging.getLogger("pypdf").addHandler(logging.NullHandler())
logging.getLogger("pypdf").propagate = False

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]

# Characters that confuse a model and carry nothing: NUL and other C0 controls except tab and newline.
_CONTROL = {c: None for c in range(32) if c not in (9, 10)} | {12: "\n"}


@dataclass(frozen=True)
class PdfText:
    """What the text pass over a PDF found."""

    sections: list[Section]
    page_count: int
    pages_without_text: tuple[int, ...]
    failed_pages: tuple[int, ...]
    warnings: tuple[str, ...]


def open_pdf(name: str, data: bytes, password: str | None) -> Any:
    """A ``pypdf.PdfReader`` for ``data``, decrypted when needed.

    Raises:
        EncryptedDocumentError: a password is needed (or the one given is wrong).
        CorruptDocumentError: the file is not a readable PDF.
    """
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, PdfReadError

    if too_deeply_nested(data):  # before pypdf recurses into it, level by level, for seconds
        raise CorruptDocumentError(
            f"{name} is damaged and could not be read as a PDF: it nests its contents more than "
            f"{MAX_NESTING} levels deep, which no real document does.",
            hint="If it came from a download or an e-mail, get it again; or open it in a PDF viewer and "
                 "print it to a new PDF.",
        )
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    except (PdfReadError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        raise CorruptDocumentError(
            f"{name} is damaged and could not be read as a PDF.",
            hint="If it came from a download or an e-mail, get it again; or open it in a PDF viewer and "
                 "print it to a new PDF.",
            details=repr(exc),
        ) from exc
    if not reader.is_encrypted:
        return reader
    try:
        # pypdf already tried the empty password; files that only restrict printing open with it.
        if reader.decrypt("") != PasswordType.NOT_DECRYPTED:
            return reader
        if password is None:
            raise EncryptedDocumentError(
                f"{name} is protected with a password.",
                hint="Enter the document's password to read it.",
                name=name,
            )
        if reader.decrypt(password) == PasswordType.NOT_DECRYPTED:
            raise EncryptedDocumentError(
                f"The password for {name} is not correct.",
                hint="Check the password (it is case-sensitive) and try again.",
                wrong_password=True,
                name=name,
            )
    except DependencyError as exc:
        raise DocumentError(
            f"{name} uses an encryption Hearth cannot open because a component is missing.",
            hint="Reinstall Hearth; the 'cryptography' package is needed for encrypted PDFs.",
            details=repr(exc),
        ) from exc
    return reader


def _clean(text: str) -> str:
    lines = [line.rstrip() for line in text.translate(_CONTROL).split("\n")]
    return "\n".join(lines).strip()


def _image_names(page: Any) -> list[tuple[str, int, int]]:
    """(name, width, height) of the picture objects a page draws from its resources, without decoding them."""
    found: list[tuple[str, int, int]] = []
    try:
        resources = page.get("/Resources")
        resources = resources.get_object() if resources is not None else None
        xobjects = resources.get("/XObject") if resources is not None else None
        xobjects = xobjects.get_object() if xobjects is not None else None
        if xobjects is None:
            return found
        for key in xobjects:
            obj = xobjects[key].get_object()
            if obj.get("/Subtype") == "/Image":
                found.append((str(key), int(obj.get("/Width", 0)), int(obj.get("/Height", 0))))
    except Exception:  # a broken resource dictionary just means "no pictures found"
        return []
    return found


class _PypdfComplaints(logging.Handler):
    """Counts what pypdf reports (through logging) about broken structure while this thread reads a PDF."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.count += 1


def _limit_error() -> type[Exception]:
    """pypdf's error for a stream that unpacks beyond its limits (pypdf >= 6), or a class nothing raises."""
    try:
        from pypdf.errors import LimitReachedError
    except ImportError:  # pragma: no cover - older pypdf
        return type("_NeverRaised", (Exception,), {})
    return LimitReachedError


def pdf_text(
    name: str,
    data: bytes,
    password: str | None = None,
    *,
    on_progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    max_chars: int | None = None,
) -> PdfText:
    """Extract the text of every page; pages that fail or have only pictures are counted, not dropped silently.

    Raises:
        EncryptedDocumentError, CorruptDocumentError: see ``open_pdf``.
        UnsafeDocumentError: every page with content unpacks beyond pypdf's limits (a "PDF bomb").
        FileTooLargeError: the pages read so far hold more than ``max_chars`` characters.
        ExtractionCancelled: ``should_cancel`` returned True.
    """
    complaints = _PypdfComplaints()
    logger = logging.getLogger("pypdf")
    logger.addHandler(complaints)
    try:
        with _stream_limits():
            return _pdf_text(name, data, password, on_progress, should_cancel, max_chars, complaints)
    finally:
        logger.removeHandler(complaints)


# The most a page's content stream may unpack to. pypdf's own limit (75 MB) stops "PDF bombs" from exhausting memory,
# but unpacking that much is one call that holds the interpreter's lock for ~50 ms, which the window feels; real pages
# (even dense vector drawings) stay far below this.
CONTENT_STREAM_LIMIT = 20_000_000


def _stream_limits() -> contextlib.AbstractContextManager[object]:
    """Hearth's tighter limits for pypdf, for this thread, where pypdf offers them (``apply_configuration``, 7+)."""
    try:
        from pypdf import apply_configuration  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # pragma: no cover - older pypdf: its own limits apply
        return contextlib.nullcontext()
    return apply_configuration(zlib_maximum_output_length=CONTENT_STREAM_LIMIT,  # type: ignore[no-any-return,unused-ignore]
                               lzw_maximum_output_length=CONTENT_STREAM_LIMIT,
                               run_length_maximum_output_length=CONTENT_STREAM_LIMIT)


def _pdf_text(
    name: str,
    data: bytes,
    password: str | None,
    on_progress: ProgressCallback | None,
    should_cancel: CancelCheck | None,
    max_chars: int | None,
    complaints: _PypdfComplaints,
) -> PdfText:
    limit_error = _limit_error()
    reader = open_pdf(name, data, password)
    try:
        pages = reader.pages
        total = len(pages)
    except Exception as exc:
        raise CorruptDocumentError(f"{name} is damaged: its list of pages cannot be read.",
                                   hint="If it came from a download or an e-mail, get it again.",
                                   details=repr(exc)) from exc
    sections: list[Section] = []
    no_text: list[int] = []
    failed: list[int] = []
    unpacks_too_far: list[int] = []
    chars = 0
    for index in range(total):
        if should_cancel is not None and should_cancel():
            raise ExtractionCancelled(f"Reading {name} was stopped at page {index + 1} of {total}.")
        number = index + 1
        try:
            page = pages[index]
            text = _clean(page.extract_text() or "")
        except limit_error:
            unpacks_too_far.append(number)
            text = ""
            page = None
        except Exception:  # pypdf raises many kinds on a broken content stream; that page is reported below
            failed.append(number)
            text = ""
            page = None
        if text:
            sections.append(Section(AnchorKind.PAGE, text, page=number))
            chars += len(text)
            if max_chars is not None and chars > max_chars:
                raise too_much_text(name, chars, max_chars, len(data))
        elif page is not None and _image_names(page):
            no_text.append(number)
        if on_progress is not None:
            on_progress(number, total)
    if unpacks_too_far and not sections:
        raise UnsafeDocumentError(
            f"{name} was not opened: {_page_list(unpacks_too_far)} would unpack to more than a real document "
            f"holds. It may be built to exhaust memory.",
            hint="If you trust the file, open it in a PDF viewer, print it to a new PDF and attach that.",
        )
    if not sections and not no_text and complaints.count and not failed:
        raise CorruptDocumentError(
            f"{name} is damaged: parts of it could not be read, and no text was found in the rest.",
            hint="Open it in a PDF viewer and print it to a new PDF, then attach that.",
            details=f"pypdf reported {complaints.count} problem(s) with its structure",
        )
    warnings: list[str] = []
    failed = sorted(failed + unpacks_too_far)
    if failed:
        warnings.append(f"{len(failed)} page{'s' if len(failed) != 1 else ''} of {name} could not be read "
                        f"({_page_list(failed)}).")
    if no_text and sections:
        warnings.append(f"{len(no_text)} page{'s' if len(no_text) != 1 else ''} of {name} "
                        f"{'are' if len(no_text) != 1 else 'is'} a picture without text ({_page_list(no_text)}); "
                        f"a vision model can read {'them' if len(no_text) != 1 else 'it'}.")
    return PdfText(sections, total, tuple(no_text), tuple(failed), tuple(warnings))


def _page_list(pages: list[int], limit: int = 8) -> str:
    shown = ", ".join(str(p) for p in pages[:limit])
    more = f" and {len(pages) - limit} more" if len(pages) > limit else ""
    return f"page{'s' if len(pages) != 1 else ''} {shown}{more}"


@dataclass(frozen=True)
class PageImage:
    """The picture of one scanned page, ready for a vision model."""

    page: int
    image: PreparedImage


@dataclass(frozen=True)
class PageImages:
    """Page pictures, and plain-words notes about pages that had none or could not be decoded.

    Attributes:
        images: the pictures, in page order.
        warnings: pages that had no usable picture, in plain words.
        page_count: the pages of the whole PDF (also those not asked for).
    """

    images: tuple[PageImage, ...]
    warnings: tuple[str, ...]
    page_count: int = 0


def pdf_page_images(
    name: str,
    data: bytes,
    pages: Iterable[int] | None = None,
    *,
    password: str | None = None,
    options: ImageOptions | None = None,
    on_progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
) -> PageImages:
    """The largest picture on each of ``pages`` (1-based; all pages when None), prepared like an attached image.

    This is what a scanned page looks like, because a scanner stores each page as one picture. It is not a
    rendering of the page: text drawn as text, and vector drawings, are not in it.

    Raises:
        EncryptedDocumentError, CorruptDocumentError: see ``open_pdf``.
        ExtractionCancelled: ``should_cancel`` returned True.
    """
    options = options or ImageOptions()
    reader = open_pdf(name, data, password)
    total = len(reader.pages)
    wanted = [p for p in (range(1, total + 1) if pages is None else pages) if 1 <= p <= total]
    images: list[PageImage] = []
    warnings: list[str] = []
    for done, number in enumerate(wanted, start=1):
        if should_cancel is not None and should_cancel():
            raise ExtractionCancelled(f"Getting the page pictures of {name} was stopped.")
        page = reader.pages[number - 1]
        candidates = [c for c in _image_names(page) if c[1] * c[2] <= options.max_pixels]
        if not candidates:
            warnings.append(f"Page {number} of {name} has no picture that can be used.")
        else:
            key = max(candidates, key=lambda c: c[1] * c[2])[0]
            try:
                picture = page.images[key].image
                if picture is None:
                    raise ValueError("no decodable image")
                images.append(PageImage(number, prepare_pil_image(picture, f"{name} p.{number}", options)))
            except DocumentError as exc:
                warnings.append(str(exc))
            except Exception as exc:  # JBIG2/CCITT and other codecs pypdf or Pillow cannot decode
                warnings.append(f"The picture on page {number} of {name} could not be decoded ({type(exc).__name__}).")
        if on_progress is not None:
            on_progress(done, len(wanted))
    return PageImages(tuple(images), tuple(warnings), total)
