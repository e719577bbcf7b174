"""What a file is: by its name and, above all, by its content. The one place that knows file kinds.

The name suggests; the bytes decide. A PDF saved as ``.txt`` is read as a PDF, a web page saved as ``.pdf`` is read
as a web page (with a note), and a binary file named ``.txt`` is refused instead of filling the prompt with noise.
The window, the CLI and the store ask here: ``detect`` when the bytes are at hand (whether an attachment is a
picture or a document), ``kind_from_name`` for what a name suggests before reading (a chip's label), and
``readable_patterns`` for a file dialog's filter.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

from hearth.core.documents.model import DocumentKind
from hearth.core.errors import BinaryFileError, CorruptDocumentError, UnsupportedDocumentError

TEXT_KINDS = frozenset(
    {DocumentKind.TEXT, DocumentKind.MARKDOWN, DocumentKind.HTML, DocumentKind.CSV, DocumentKind.JSON,
     DocumentKind.CODE}
)

_BY_EXTENSION: dict[str, DocumentKind] = {
    ".pdf": DocumentKind.PDF,
    ".docx": DocumentKind.DOCX, ".docm": DocumentKind.DOCX,
    ".txt": DocumentKind.TEXT, ".text": DocumentKind.TEXT, ".log": DocumentKind.TEXT, ".rst": DocumentKind.TEXT,
    ".md": DocumentKind.MARKDOWN, ".markdown": DocumentKind.MARKDOWN, ".mdown": DocumentKind.MARKDOWN,
    ".html": DocumentKind.HTML, ".htm": DocumentKind.HTML, ".xhtml": DocumentKind.HTML,
    ".csv": DocumentKind.CSV, ".tsv": DocumentKind.CSV,
    ".json": DocumentKind.JSON, ".ipynb": DocumentKind.JSON, ".geojson": DocumentKind.JSON,
    ".png": DocumentKind.IMAGE, ".jpg": DocumentKind.IMAGE, ".jpeg": DocumentKind.IMAGE,
    ".webp": DocumentKind.IMAGE, ".gif": DocumentKind.IMAGE, ".bmp": DocumentKind.IMAGE,
}

CODE_EXTENSIONS = frozenset(
    (
        ".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".java", ".kt", ".kts", ".scala", ".groovy",
        ".gradle", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".m", ".mm", ".cs", ".fs", ".go", ".rs", ".rb",
        ".php", ".swift", ".dart", ".lua", ".pl", ".pm", ".r", ".jl", ".hs", ".ml", ".ex", ".exs", ".erl", ".clj",
        ".el", ".vim", ".sh", ".bash", ".zsh", ".fish", ".ps1", ".bat", ".cmd", ".sql", ".css", ".scss", ".sass",
        ".less", ".vue", ".svelte", ".xml", ".xsd", ".svg", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf",
        ".properties", ".env", ".jsonl", ".ndjson", ".proto", ".graphql", ".tf", ".cmake", ".mk", ".tex", ".bib",
        ".diff", ".patch", ".asm", ".s", ".zig", ".nim", ".v", ".sv", ".vhd",
    )
)
IMAGE_EXTENSIONS = frozenset(suffix for suffix, kind in _BY_EXTENSION.items() if kind is DocumentKind.IMAGE)
_CODE_NAMES = frozenset({"makefile", "dockerfile", "cmakelists.txt", "gemfile", "rakefile", "justfile", "procfile"})

# Formats people will try; each gets a next step instead of a bare "unsupported".
_UNSUPPORTED_HINTS: dict[str, str] = {
    ".doc": "Open it in Word or LibreOffice and save it as .docx or PDF.",
    ".xls": "Save the sheet as CSV (File › Save As) and attach that.",
    ".xlsx": "Save the sheet as CSV (File › Save As) and attach that.",
    ".ods": "Save the sheet as CSV and attach that.",
    ".ppt": "Save the slides as PDF and attach that.",
    ".pptx": "Save the slides as PDF and attach that.",
    ".odt": "Save it as .docx or PDF and attach that.",
    ".rtf": "Save it as .docx, PDF or plain text and attach that.",
    ".epub": "Convert it to PDF or plain text and attach that.",
    ".pages": "Export it as PDF or .docx and attach that.",
}

_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")
_BINARY_MAGIC = (
    b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"Rar!", b"\x7fELF", b"MZ", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe",
    b"GGUF", b"SQLite format 3\x00", b"OggS", b"ID3", b"fLaC", b"\x00\x00\x00",
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I | re.S)
_MD_HEADING = re.compile(r"^#{1,6} \S", re.M)


@dataclass(frozen=True)
class Detection:
    """What a file was found to be.

    Attributes:
        kind: the kind to read it as.
        note: a plain-words remark when the name and the content disagree, else "".
    """

    kind: DocumentKind
    note: str = ""


def kind_from_name(name: str) -> DocumentKind | None:
    """The kind a file's name suggests, or None when the name says nothing we know."""
    path = PurePath(name)
    suffix = path.suffix.lower()
    if suffix in _BY_EXTENSION:
        return _BY_EXTENSION[suffix]
    if suffix in CODE_EXTENSIONS or path.name.lower() in _CODE_NAMES:
        return DocumentKind.CODE
    return None


def readable_patterns() -> tuple[str, ...]:
    """Glob patterns (``*.pdf``...) of the names of files Hearth reads, documents and pictures, for a file dialog."""
    return tuple(sorted({f"*{suffix}" for suffix in (*_BY_EXTENSION, *CODE_EXTENSIONS)}))


def looks_binary(head: bytes) -> bool:
    """Whether the first bytes of a file are binary data rather than text in some encoding."""
    if head.startswith(_BOMS):
        return False
    if b"\x00" in head:
        return True
    # Control characters other than tab, newline, carriage return, form feed and escape are rare in text.
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls > max(2, len(head) // 50)


def _sniff_binary(head: bytes) -> str | None:
    """A coarse content type from magic numbers: "pdf", "zip", "image", "ole" or "binary"; None for text."""
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if head.startswith(_OLE_MAGIC):
        return "ole"
    if head.startswith(_BINARY_MAGIC) or looks_binary(head):
        return "binary"
    return None


def _zip_kind(name: str, data: bytes) -> DocumentKind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise CorruptDocumentError(
            f"{name} is damaged: it is a zip archive (as Word files are) that cannot be opened.",
            hint="If it came from a download or an e-mail, get it again; otherwise open it in Word and save a copy.",
            details=repr(exc),
        ) from exc
    if "word/document.xml" in names:
        return DocumentKind.DOCX
    if any(n.startswith("xl/") for n in names):
        raise UnsupportedDocumentError(f"{name} is an Excel workbook, which Hearth cannot read yet.",
                                       hint=_UNSUPPORTED_HINTS[".xlsx"])
    if any(n.startswith("ppt/") for n in names):
        raise UnsupportedDocumentError(f"{name} is a PowerPoint file, which Hearth cannot read yet.",
                                       hint=_UNSUPPORTED_HINTS[".pptx"])
    if kind_from_name(name) is DocumentKind.DOCX:
        raise CorruptDocumentError(f"{name} is not a Word document: it is a zip archive without one inside.",
                                   hint="Open it in Word and save it again as .docx.")
    raise UnsupportedDocumentError(f"{name} is a zip archive. Hearth reads the files in it, not the archive.",
                                   hint="Unpack it and attach the documents inside.")


def _text_flavour(data: bytes) -> DocumentKind:
    head = data[:65536]
    if _HTML_START.match(head):
        return DocumentKind.HTML
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        try:
            json.loads(data.decode("utf-8-sig"))
            return DocumentKind.JSON
        except (UnicodeDecodeError, ValueError):
            pass
    if _MD_HEADING.search(head.decode("utf-8", "replace")):
        return DocumentKind.MARKDOWN
    return DocumentKind.TEXT


def detect(name: str, data: bytes) -> Detection:
    """Decide how to read a file from its name and its bytes.

    Args:
        name: the file's name (only its extension is used).
        data: the file's content (at least the first 64 KiB; all of it for zip-based formats).

    Returns:
        The kind to read it as; ``IMAGE`` for pictures (which go to ``hearth.core.images``, not to text extraction).

    Raises:
        BinaryFileError: a file named like text holds binary data.
        CorruptDocumentError: a PDF or Word file whose bytes are neither that nor text.
        UnsupportedDocumentError: a kind of file Hearth does not read, with what to do instead.
    """
    by_name = kind_from_name(name)
    suffix = PurePath(name).suffix.lower()
    content = _sniff_binary(data[:4096])
    if content == "pdf":
        note = "" if by_name is DocumentKind.PDF else f"{name} is a PDF despite its name; it was read as one."
        return Detection(DocumentKind.PDF, note)
    if content == "zip":
        kind = _zip_kind(name, data)
        note = "" if by_name is DocumentKind.DOCX else f"{name} is a Word document despite its name."
        return Detection(kind, note)
    if content == "image":
        return Detection(DocumentKind.IMAGE)
    if content == "ole":
        raise UnsupportedDocumentError(
            f"{name} is in an older Microsoft Office format (.doc, .xls or .ppt) that Hearth cannot read.",
            hint=_UNSUPPORTED_HINTS.get(suffix, "Save it as .docx, PDF or CSV and attach that."),
        )
    if content == "binary":
        if by_name in TEXT_KINDS:
            raise BinaryFileError(
                f"{name} is named like a text file but holds binary data, so it was not read.",
                hint="Check that this is the file you meant; if it is a document, attach it in its own format.",
            )
        if by_name in (DocumentKind.PDF, DocumentKind.DOCX):
            what = "PDF" if by_name is DocumentKind.PDF else "Word document"
            raise CorruptDocumentError(
                f"{name} is not a readable {what}: its content is damaged or of another kind.",
                hint="If it came from a download or an e-mail, get it again.",
            )
        raise UnsupportedDocumentError(
            f"Hearth cannot read {name}: it is not a document or text file it knows.",
            hint=_UNSUPPORTED_HINTS.get(suffix, "Attach PDF, Word (.docx), text, Markdown, HTML, CSV, JSON or code."),
        )
    # Text. The name picks the flavour; content decides when the name is unknown or claims a binary format.
    if by_name in TEXT_KINDS:
        return Detection(by_name)
    flavour = _text_flavour(data)
    if by_name in (DocumentKind.PDF, DocumentKind.DOCX):
        what = "PDF" if by_name is DocumentKind.PDF else "Word document"
        return Detection(flavour, f"{name} is not a {what} but plain text (perhaps a web page saved under that "
                                  f"name); it was read as text.")
    if suffix in _UNSUPPORTED_HINTS:
        raise UnsupportedDocumentError(f"Hearth cannot read {suffix} files yet.", hint=_UNSUPPORTED_HINTS[suffix])
    return Detection(flavour)
