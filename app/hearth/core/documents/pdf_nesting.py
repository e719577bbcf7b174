"""How deeply a PDF nests its dictionaries and arrays, read from the raw bytes before any parser recurses into them.

pypdf parses a nested dictionary or array by recursing once per level. A file built with tens of thousands of levels
runs it into Python's recursion limit again and again (it recovers and retries at every level, logging each time):
seconds of work for a file of a few hundred kilobytes, all of it refused in the end as damaged. Real documents nest a
handful of levels (a page's resources, a font's descriptor, an annotation's appearance); PDF readers such as pdfium
stop parsing at 64. This scan counts the levels in one pass over the bytes, outside strings, comments and stream
contents, and says when a file goes past ``MAX_NESTING``, so it is refused at once.

Objects packed into compressed object streams are not seen here (their bytes are compressed); pypdf's own recursion
guard still stops those, only more slowly.
"""

from __future__ import annotations

import re

MAX_NESTING = 64

# What changes the nesting or has to be skipped: dictionary and array brackets, literal strings (their brackets do
# not count), comments, stream data (binary: skipped to its end) and the end of an object (a fresh start).
_TOKEN = re.compile(rb"<<|>>|\[|\]|\(|%|endstream|stream|endobj")
_STRING_PART = re.compile(rb"\\.|[()]", re.DOTALL)
_LINE_END = re.compile(rb"[\r\n]")


def nesting_depth(data: bytes, limit: int = MAX_NESTING) -> int:
    """The deepest nesting of dictionaries and arrays in ``data``, counted up to ``limit + 1`` (it stops there).

    Args:
        data: the PDF file's bytes.
        limit: the most levels that are allowed; the scan stops as soon as it is passed.
    """
    depth = deepest = 0
    pos = 0
    size = len(data)
    search = _TOKEN.search
    while pos < size:
        match = search(data, pos)
        if match is None:
            break
        token = match.group()
        pos = match.end()
        if token == b"<<" or token == b"[":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif token == b">>" or token == b"]":
            depth = max(0, depth - 1)
        elif token == b"(":
            pos = _skip_string(data, pos)
        elif token == b"%":
            line_end = _LINE_END.search(data, pos)
            pos = line_end.end() if line_end is not None else size
        elif token == b"stream":
            end = data.find(b"endstream", pos)
            pos = end + len(b"endstream") if end >= 0 else size
            depth = 0
        elif token == b"endobj":
            depth = 0
    return deepest


def too_deeply_nested(data: bytes, limit: int = MAX_NESTING) -> bool:
    """Whether ``data`` nests dictionaries or arrays more than ``limit`` levels deep."""
    return nesting_depth(data, limit) > limit


def _skip_string(data: bytes, pos: int) -> int:
    """The position after the literal string that starts at ``pos`` (after its opening bracket); its brackets nest,
    and a backslash escapes the next byte."""
    level = 1
    search = _STRING_PART.search
    while level:
        match = search(data, pos)
        if match is None:
            return len(data)
        part = match.group()
        pos = match.end()
        if part == b"(":
            level += 1
        elif part == b")":
            level -= 1
    return pos
