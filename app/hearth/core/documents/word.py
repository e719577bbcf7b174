"""Word (.docx): paragraphs and tables in document order, in sections by heading (``memo.docx §Budget``).

A .docx is a zip archive. Its declared sizes are checked before python-docx opens it, so a "zip bomb" (a few KB that
inflate to gigabytes) is refused instead of eating the machine's memory. zipfile never reads past a member's declared
size (a lying header fails its CRC check), so checking the declared sizes is enough.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any

from hearth.core.documents.markdown import unique_heading
from hearth.core.documents.model import AnchorKind, Section
from hearth.core.errors import CorruptDocumentError, UnsafeDocumentError
from hearth.core.units import MiB, format_size


@dataclass(frozen=True)
class ZipLimits:
    """What a zip-based document may expand to.

    Attributes:
        max_uncompressed_bytes: all members together, uncompressed.
        max_ratio: uncompressed / compressed size of the whole archive, checked once it exceeds ``ratio_floor_bytes``.
        ratio_floor_bytes: below this total, any ratio is fine (small repetitive XML compresses very well).
        max_members: number of files in the archive.
    """

    max_uncompressed_bytes: int = 512 * MiB
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 32 * MiB
    max_members: int = 10_000


def check_zip(name: str, data: bytes, limits: ZipLimits) -> None:
    """Refuse archives whose declared content is far bigger than a real document's.

    Raises:
        UnsafeDocumentError: too many members, too large uncompressed, or an implausible compression ratio.
        CorruptDocumentError: the archive cannot be read.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise CorruptDocumentError(f"{name} is damaged and cannot be opened.",
                                   hint="If it came from a download or an e-mail, get it again.",
                                   details=repr(exc)) from exc
    total = sum(info.file_size for info in infos)
    packed = max(1, sum(info.compress_size for info in infos))
    why = ""
    if len(infos) > limits.max_members:
        why = f"it holds {len(infos):,} files"
    elif total > limits.max_uncompressed_bytes:
        why = f"it would expand to {format_size(total)}"
    elif total > limits.ratio_floor_bytes and total / packed > limits.max_ratio:
        why = f"it would expand {total / packed:,.0f} times, to {format_size(total)}"
    if why:
        raise UnsafeDocumentError(
            f"{name} was not opened: {why}, far more than a real document. It may be built to exhaust memory.",
            hint="If you trust the file, open it in Word, save a copy and attach that.",
            details=f"members={len(infos)} uncompressed={total} compressed={packed}",
        )


def _heading_level(style_name: str) -> int | None:
    lowered = style_name.lower()
    if lowered == "title":
        return 0
    if lowered.startswith("heading"):
        rest = lowered[len("heading"):].strip()
        return int(rest) if rest.isdigit() else 1
    return None


def _table_lines(table: Any) -> list[str]:
    lines: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            # A merged cell is reported once per grid column it spans; show it once.
            if not cells or cells[-1] != text:
                cells.append(text)
        if any(cells):
            lines.append(" | ".join(cells))
    return lines


def docx_sections(name: str, data: bytes, limits: ZipLimits) -> list[Section]:
    """Sections of a Word document: paragraphs before the first heading (``¶1-9``), then one per heading.

    Raises:
        UnsafeDocumentError: see ``check_zip``.
        CorruptDocumentError: python-docx could not read the document.
    """
    check_zip(name, data, limits)
    import docx  # python-docx; imported here so that reading other kinds never pays for it
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
    except Exception as exc:  # python-docx raises KeyError, lxml errors, its own PackageNotFoundError...
        raise CorruptDocumentError(f"{name} is damaged: Word's file structure inside it could not be read.",
                                   hint="Open it in Word (or LibreOffice) and save a copy, then attach that.",
                                   details=repr(exc)) from exc
    sections: list[Section] = []
    seen: dict[str, int] = {}
    heading: str | None = None
    lines: list[str] = []
    first_paragraph = 1
    count = 0

    def close() -> None:
        body = "\n".join(lines)
        if body.strip():
            if heading is None:
                sections.append(Section(AnchorKind.PARAGRAPHS, body, first_line=first_paragraph))
            else:
                sections.append(Section(AnchorKind.HEADING, body, heading=unique_heading(heading, seen)))

    for block in blocks:
        if isinstance(block, Table):
            table = _table_lines(block)
            lines.extend(table)
            count += len(table)
            continue
        text = " ".join(block.text.split())
        if not text:
            continue
        count += 1
        try:
            style = block.style.name if block.style is not None else ""
        except (KeyError, AttributeError, ValueError):
            style = ""
        if _heading_level(style or "") is not None:
            close()
            heading, lines, first_paragraph = text, [], count
        lines.append(text)
    close()
    return sections
