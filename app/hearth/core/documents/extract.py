"""Reading a file into an ``ExtractedDocument``: limits first, then detection, then the reader for its kind.

Extraction is plain blocking Python so that the GUI can run it in a worker thread: ``on_progress(done, total)``
reports pages (or 0/1 then 1/1 for files without pages) and ``should_cancel()`` is polled between pages.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hearth.core.documents.detect import detect
from hearth.core.documents.document import ExtractedDocument
from hearth.core.documents.limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_TEXT_CHARS, empty, too_large, too_much_text
from hearth.core.documents.markdown import markdown_sections
from hearth.core.documents.model import ChunkOptions, DocumentKind, Section
from hearth.core.documents.pdf import pdf_text
from hearth.core.documents.plain import decode_text, json_sections, line_sections
from hearth.core.documents.table import csv_sections
from hearth.core.documents.web import html_charset, html_sections
from hearth.core.documents.word import ZipLimits, docx_sections
from hearth.core.errors import (
    CorruptDocumentError,
    DocumentError,
    EmptyDocumentError,
    ExtractionCancelled,
    NoTextLayerError,
    UnsupportedDocumentError,
)
from hearth.core.units import MiB, format_size

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]

# Text decodes to at least one character per three bytes (UTF-8 CJK); larger text files are refused unread.
_MAX_BYTES_PER_CHAR = 3
_HASH_BLOCK = MiB


@dataclass(frozen=True)
class ExtractOptions:
    """Limits and chunking for extraction.

    Attributes:
        max_bytes: larger files are refused before reading (the message says the limit).
        max_text_chars: documents with more text are refused (text files before decoding when their size alone
            says so; PDFs as soon as the pages read so far pass it).
        chunking: how sections are cut into passages.
        zip_limits: what a .docx may expand to.
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    chunking: ChunkOptions = field(default_factory=ChunkOptions)
    zip_limits: ZipLimits = field(default_factory=ZipLimits)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in blocks: the key under which its extracted text is stored.

    Raises:
        DocumentError: the file cannot be read.
    """
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while block := handle.read(_HASH_BLOCK):
                digest.update(block)
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    return digest.hexdigest()


def _unreadable(path: Path, exc: OSError) -> DocumentError:
    return DocumentError(f"{path.name} could not be opened: {exc.strerror or exc}.",
                         hint="Check that the file exists and that you may read it.", details=repr(exc))


def read_document_file(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """A document's bytes, read once.

    Larger files are refused before anything is read; only regular files are read (a device or a pipe could block
    or never end); a file whose size changes while it is read (being saved, truncated, on a vanishing drive) is
    refused rather than read half old, half new. Reading once also means that what is stored is what was read.

    Raises:
        DocumentError: missing, unreadable, not a regular file, or changed while read; or ``FileTooLargeError``,
            ``EmptyDocumentError``.
    """
    try:
        if not path.is_file():
            if not path.exists():
                raise FileNotFoundError(2, "No such file or directory", str(path))
            raise DocumentError(f"{path.name} is not a regular file, so it was not read.",
                                hint="Attach a document saved on disk.")
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                raise empty(path.name)
            if size > max_bytes:
                raise too_large(path.name, size, max_bytes)
            data = handle.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise DocumentError(f"{path.name} is no longer there.", hint="Attach it again.", details=repr(exc)) from exc
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    if len(data) != size:
        raise DocumentError(f"{path.name} changed while it was being read ({format_size(size)} when opened, "
                            f"{format_size(len(data))} read).", hint="Attach it again once it has been saved.")
    return data


def extract_document(
    path: Path,
    *,
    password: str | None = None,
    options: ExtractOptions | None = None,
    on_progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
) -> ExtractedDocument:
    """Read a document file into text with anchors, cut into labelled passages.

    Args:
        path: the file.
        password: for an encrypted PDF (None: ask for one if it is needed).
        options: size limit and chunking.
        on_progress: called with (pages done, pages total) as extraction goes.
        should_cancel: polled between pages; when it returns True, extraction stops.

    Raises:
        DocumentError: the file cannot be read, or one of its subclasses: ``FileTooLargeError``,
            ``EmptyDocumentError``, ``EncryptedDocumentError``, ``NoTextLayerError``, ``CorruptDocumentError``,
            ``BinaryFileError``, ``UnsupportedDocumentError``, ``UnsafeDocumentError``, ``ExtractionCancelled``.
    """
    options = options or ExtractOptions()
    data = read_document_file(path, options.max_bytes)
    return extract_bytes(data, path.name, password=password, options=options, on_progress=on_progress,
                         should_cancel=should_cancel)


def extract_bytes(
    data: bytes,
    name: str,
    *,
    password: str | None = None,
    options: ExtractOptions | None = None,
    on_progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
) -> ExtractedDocument:
    """Like ``extract_document``, for content already in memory (a paste, a stored attachment)."""
    options = options or ExtractOptions()
    if not data:
        raise empty(name)
    if len(data) > options.max_bytes:
        raise too_large(name, len(data), options.max_bytes)
    if should_cancel is not None and should_cancel():
        raise ExtractionCancelled(f"Reading {name} was stopped.")
    sha256 = hashlib.sha256(data).hexdigest()
    detection = detect(name, data)
    kind = detection.kind
    warnings: list[str] = [detection.note] if detection.note else []
    page_count = 0
    pages_without_text: tuple[int, ...] = ()
    if on_progress is not None and kind is not DocumentKind.PDF:
        on_progress(0, 1)
    if kind is DocumentKind.IMAGE:
        raise UnsupportedDocumentError(f"{name} is a picture, not a document.",
                                       hint="Attach it as an image; a model with vision can look at it.")
    if kind is DocumentKind.PDF:
        result = pdf_text(name, data, password, on_progress=on_progress, should_cancel=should_cancel,
                          max_chars=options.max_text_chars)
        sections: list[Section] = result.sections
        page_count, pages_without_text = result.page_count, result.pages_without_text
        warnings.extend(result.warnings)
        if not sections:
            if pages_without_text:
                raise NoTextLayerError(
                    f"{name} has no text to read: its {page_count:,} page{'s are' if page_count != 1 else ' is'} "
                    f"scanned pictures.",
                    hint="Load a model that can see images to read its pages, or run the PDF through OCR first.",
                    page_count=page_count,
                    name=name,
                )
            if result.failed_pages:
                raise CorruptDocumentError(
                    f"{name} is damaged: none of its {page_count:,} pages could be read.",
                    hint="Open it in a PDF viewer and print it to a new PDF, then attach that.",
                )
            raise EmptyDocumentError(f"{name} has no text in it.", hint="Check that this is the file you meant.")
    elif kind is DocumentKind.DOCX:
        sections = docx_sections(name, data, options.zip_limits)
    else:
        if len(data) > options.max_text_chars * _MAX_BYTES_PER_CHAR:
            raise too_much_text(name, None, options.max_text_chars, len(data))
        declared = html_charset(data) if kind is DocumentKind.HTML else None
        decoded = decode_text(name, data, declared)
        if len(decoded.text) > options.max_text_chars:
            raise too_much_text(name, len(decoded.text), options.max_text_chars, len(data))
        warnings.extend(decoded.warnings)
        sections, more = _text_sections(name, kind, decoded.text)
        warnings.extend(more)
    if not sections:
        raise EmptyDocumentError(f"{name} has no text in it.", hint="Check that this is the file you meant.")
    chars = sum(len(section.text) for section in sections)
    if chars > options.max_text_chars:
        raise too_much_text(name, chars, options.max_text_chars, len(data))
    if on_progress is not None and kind is not DocumentKind.PDF:
        on_progress(1, 1)
    return ExtractedDocument(
        name=name,
        sha256=sha256,
        kind=kind,
        size_bytes=len(data),
        sections=tuple(sections),
        page_count=page_count,
        pages_without_text=pages_without_text,
        warnings=tuple(warnings),
        chunking=options.chunking,
    )


def _text_sections(name: str, kind: DocumentKind, text: str) -> tuple[list[Section], list[str]]:
    if kind is DocumentKind.MARKDOWN:
        return markdown_sections(text), []
    if kind is DocumentKind.HTML:
        sections, _title = html_sections(text)
        return sections, []
    if kind is DocumentKind.CSV:
        return csv_sections(name, text)
    if kind is DocumentKind.JSON:
        return json_sections(name, text)
    return line_sections(text), []
