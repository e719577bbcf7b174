"""Text files: decoding, and plain text, code and JSON as numbered lines."""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass

from hearth.core.documents.model import AnchorKind, Section

# JSON written on one line is re-indented so that line labels point somewhere useful.
_MINIFIED_LINE = 2000


@dataclass(frozen=True)
class DecodedText:
    """Text decoded from bytes, with a note when some bytes could not be decoded."""

    text: str
    encoding: str
    warnings: tuple[str, ...] = ()


def decode_text(name: str, data: bytes, declared: str | None = None) -> DecodedText:
    """Decode a text file: UTF-8 (with or without BOM) or UTF-16/32 by BOM; invalid bytes become U+FFFD, counted.

    ``declared`` is an encoding the file names for itself (an HTML ``<meta charset>``); a BOM still wins, and an
    encoding Python does not know is ignored.

    Line endings become ``\\n``; NUL and other control characters that would confuse a model are dropped.
    """
    encoding = "utf-8"
    if declared:
        try:
            encoding = codecs.lookup(declared).name
        except LookupError:
            pass
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            encoding = codec
            break
    warnings: list[str] = []
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        text = data.decode(encoding, errors="replace")
        bad = text.count("\ufffd") - data.decode(encoding, errors="ignore").count("\ufffd")
        warnings.append(
            f"{name} is not valid {_display(encoding)} text: {bad:,} unreadable "
            f"byte sequence{'s' if bad != 1 else ''} were replaced with \ufffd."
        )
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return DecodedText(strip_controls(text), encoding, tuple(warnings))


def strip_controls(text: str) -> str:
    """Drop control characters (a form feed becomes a newline).

    Slice by slice: one C call over megabytes of text would hold the interpreter's lock for a long time (``translate``
    takes ~50 ms per MB of non-ASCII text), and the window's thread waits for that lock.
    """
    if len(text) <= _SLICE:
        return _CONTROL_RE.sub("", text.replace("\f", "\n")) if _CONTROL_RE.search(text) or "\f" in text else text
    return "".join(strip_controls(text[i:i + _SLICE]) for i in range(0, len(text), _SLICE))


def _display(encoding: str) -> str:
    return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "utf-32": "UTF-32"}.get(encoding, encoding)


# Control characters other than tab, newline and form feed are removed (a form feed becomes a newline).
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0d-\x1f\x7f]")
_SLICE = 1 << 18


def line_sections(text: str) -> list[Section]:
    """A text or code file as one section of numbered lines (``main.py lines 40-80``)."""
    return [Section(AnchorKind.LINES, text)] if text.strip() else []


def json_sections(name: str, text: str) -> tuple[list[Section], list[str]]:
    """JSON as numbered lines; minified JSON is re-indented first (and the labels then refer to that layout)."""
    longest = max((len(line) for line in text.split("\n")), default=0)
    if longest > _MINIFIED_LINE:
        try:
            value = json.loads(text)
        except ValueError:
            return line_sections(text), []
        pretty = json.dumps(value, indent=2, ensure_ascii=False)
        note = f"{name} was written on few long lines; it was re-indented, and line numbers refer to that layout."
        return line_sections(pretty), [note]
    return line_sections(text), []
