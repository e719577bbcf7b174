"""CSV and TSV: one line per row (``data.csv rows 2-40``), with the header row repeated before every passage."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import PurePath

from hearth.core.documents.model import AnchorKind, Section
from hearth.core.documents.plain import line_sections

_DELIMITERS = ",;\t|"


def _dialect(name: str, text: str) -> type[csv.Dialect] | csv.Dialect:
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:
        return csv.excel_tab if PurePath(name).suffix.lower() == ".tsv" else csv.excel


def _row_text(cells: list[str]) -> str:
    # A row is one line: line breaks inside a quoted cell become spaces.
    return " | ".join(" ".join(cell.split()) for cell in cells)


def csv_sections(name: str, text: str) -> tuple[list[Section], list[str]]:
    """Rows as numbered lines; row 1 is the header, shown again before every passage.

    A file the csv module cannot parse is read as plain lines instead, with a note.
    """
    try:
        # Cells longer than the csv module's default limit (128 KiB) are legal in the wild.
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        rows = list(csv.reader(io.StringIO(text), _dialect(name, text)))
    except csv.Error as exc:
        note = f"{name} could not be read as a table ({exc}); it was read as plain lines."
        return line_sections(text), [note]
    filled = [i for i, row in enumerate(rows) if any(cell.strip() for cell in row)]
    if not filled:
        return [], []
    # Blank rows stay (as empty lines) so that row numbers match what a spreadsheet shows.
    first, last = filled[0], filled[-1]
    header, body = rows[first], rows[first + 1:last + 1]
    if not body:
        return [Section(AnchorKind.ROWS, _row_text(header), first_line=first + 1)], []
    lines = "\n".join(_row_text(row) for row in body)
    return [Section(AnchorKind.ROWS, lines, first_line=first + 2, preamble=_row_text(header))], []
