"""How much of a document Hearth reads, and the errors that say so in words: the limits extraction checks (in
``extract`` and, page by page, in ``pdf``)."""

from __future__ import annotations

from hearth.core.errors import EmptyDocumentError, FileTooLargeError
from hearth.core.units import MB, format_size

DEFAULT_MAX_BYTES = 200 * MB
# The most text one document may hold: ~2 million tokens (~2,700 pages), far beyond any context (retrieval picks
# passages). It keeps reading within ~150 MB of memory (the text is held several times over while it is cut up and
# stored; a 190 MB log file took 2.3 GB before this limit) and each step that holds the interpreter's lock (storing
# the text in SQLite, serialising it) short enough that the window does not stall.
DEFAULT_MAX_TEXT_CHARS = 8_000_000


def too_large(name: str, size: int, limit: int) -> FileTooLargeError:
    return FileTooLargeError(
        f"{name} is {format_size(size)}; Hearth reads documents up to {format_size(limit)}.",
        hint="Split it into smaller files, or attach only the part you need.",
        size_bytes=size,
        limit_bytes=limit,
    )


def empty(name: str) -> EmptyDocumentError:
    return EmptyDocumentError(f"{name} is empty (0 bytes).", hint="Check that this is the file you meant.")


def too_much_text(name: str, chars: int | None, limit: int, size: int = 0) -> FileTooLargeError:
    """The error for a document with more than ``limit`` characters of text (``chars`` None: its size says so)."""
    what = f"holds about {chars / 1e6:,.0f} million characters of text" if chars is not None else \
        f"is {format_size(size)} of text"
    return FileTooLargeError(
        f"{name} {what}; Hearth reads up to {limit / 1e6:,.0f} million characters from one document (about "
        f"{limit // 3000:,} pages).",
        hint="Split it into smaller files, or attach only the part you need.",
        size_bytes=size,
        limit_bytes=limit,
    )
