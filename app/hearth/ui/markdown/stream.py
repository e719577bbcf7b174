"""Incremental Markdown for streaming answers: render each finished block once, re-render only the open tail.

A growing answer is split into top-level blocks (paragraphs, lists, tables, fenced code, math...). A block is finished
once the next top-level block has begun on a complete line: nothing written later can change it (the one exception is
a link reference definition that comes after its use, which models practically never write). Only the text after the
last finished block - the tail - is parsed and rendered again on each repaint, so the cost of a repaint depends on the
size of the open block, not on the length of the answer.

An open code fence is the one tail that can grow large; it is reported as ``OpenCode`` so the view can append the new
characters instead of re-rendering, and it is highlighted once, when the fence closes.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from hearth.ui.markdown.render import MarkdownRenderer, build_parser

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


@dataclass(frozen=True)
class OpenCode:
    """A fenced code block whose closing fence has not arrived yet."""

    language: str
    code: str
    index: int  # N of its copy:N link
    start: int  # where its fence begins in the answer text; identifies the block across updates


@dataclass(frozen=True)
class StreamUpdate:
    """What changed since the last update.

    Attributes:
        committed: HTML of the blocks that finished since the last update, in order; each is final.
        tail_html: HTML for everything after the finished blocks (replaces the previous tail); empty if none.
        open_code: Set when the tail is an open code fence (``tail_html`` is then that code block, unhighlighted).
    """

    committed: tuple[str, ...] = ()
    tail_html: str = ""
    open_code: OpenCode | None = None


def split_blocks(source: str, parser: object | None = None) -> tuple[list[str], str]:
    """Split Markdown into finished top-level blocks and the open rest.

    Only complete lines take part; a partial last line always belongs to the rest. Concatenating the returned
    blocks and the rest gives back ``source``.

    Args:
        source: Markdown text (a prefix of a growing answer).
        parser: A block-only parser from ``build_parser(block_only=True)``; one is made if omitted.
    """
    md = parser if parser is not None else build_parser(block_only=True)
    complete = source[:source.rfind("\n") + 1]
    if not complete:
        return [], source
    starts = [token.map[0] for token in md.parse(complete)  # type: ignore[attr-defined]
              if token.level == 0 and token.map is not None and token.nesting >= 0]
    if len(starts) < 2:
        return [], source
    line_offsets = [0]
    for match in re.finditer("\n", complete):
        line_offsets.append(match.end())
    cuts = [0] + [line_offsets[line] for line in starts[1:]]
    blocks = [source[a:b] for a, b in itertools.pairwise(cuts)]
    return blocks, source[cuts[-1]:]


@dataclass
class _Fence:
    """The open fence at the start of the tail: its marker and where its code begins in the tail."""

    marker: str
    language: str
    code_start: int
    scanned: int  # tail offset up to which lines were checked for the closing fence


@dataclass
class MarkdownStream:
    """Accumulates an answer and turns it into ``StreamUpdate``s.

    Args:
        renderer: Renders blocks and the tail.
    """

    renderer: MarkdownRenderer
    code_blocks: list[str] = field(default_factory=list)
    _parts: list[str] = field(default_factory=list)
    _tail: str = ""
    _tail_offset: int = 0
    _fence: _Fence | None = None
    _tail_codes: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The whole answer so far."""
        return "".join(self._parts) + self._tail

    @property
    def open_text(self) -> str:
        """The text after the last committed block: what each update parses and renders again."""
        return self._tail

    def update(self, delta: str, render_tail: bool = True) -> StreamUpdate:
        """Take in new text and say what to show.

        Args:
            delta: The text that arrived since the last call.
            render_tail: False skips rendering the open tail (when ``finish`` follows at once).
        """
        self._tail += delta.replace("\r", "")
        committed: list[str] = []
        self._tail_codes = []
        while True:
            if self._fence is None:
                self._fence = self._detect_fence()
            if self._fence is not None:
                end = self._fence_end()
                if end < 0:
                    if not render_tail:
                        return StreamUpdate(tuple(committed))
                    return StreamUpdate(tuple(committed), self._open_code_html(), self._open_code())
                # A closed fence is final at once: nothing after it can change it.
                committed.append(self._commit(self._tail[:end]))
                self._tail = self._tail[end:]
                self._fence = None
                continue
            blocks, rest = split_blocks(self._tail, self.renderer.block_parser)
            if not blocks:
                break
            committed.extend(self._commit(block) for block in blocks)
            self._tail = rest
        if not render_tail:
            return StreamUpdate(tuple(committed))
        tail = self.renderer.render(self._tail, len(self.code_blocks))
        self._tail_codes = tail.code_blocks
        return StreamUpdate(tuple(committed), tail.html)

    def finish(self) -> StreamUpdate:
        """Commit the tail: the answer is complete. Returns the last blocks' HTML."""
        self._fence = None
        committed = (self._commit(self._tail),) if self._tail.strip() else ()
        if not committed:
            self._parts.append(self._tail)
        self._tail_offset += len(self._tail)
        self._tail = ""
        return StreamUpdate(committed)

    def tail_code_blocks(self) -> list[str]:
        """Code blocks of finished blocks plus the one still open (what the tail's ``copy:N`` links refer to)."""
        open_code = self._open_code() if self._fence is not None else None
        if open_code is not None:
            return [*self.code_blocks, open_code.code]
        return self.code_blocks + self._tail_codes

    def _commit(self, block: str) -> str:
        rendered = self.renderer.render(block, len(self.code_blocks))
        self.code_blocks.extend(rendered.code_blocks)
        self._parts.append(block)
        self._tail_offset += len(block)
        return rendered.html

    def _detect_fence(self) -> _Fence | None:
        """A fence that starts the tail on a complete line, if any (open or already closed)."""
        newline = self._tail.find("\n")
        if newline < 0:
            return None
        match = _FENCE_OPEN.match(self._tail[:newline])
        if match is None or (match.group(1)[0] == "`" and "`" in match.group(2)):
            return None
        return _Fence(match.group(1), match.group(2).strip().split(" ")[0], newline + 1, newline + 1)

    def _fence_end(self) -> int:
        """Where the closing fence line ends in the tail, or -1; scans only lines not checked before."""
        fence = self._fence
        assert fence is not None
        tail = self._tail
        end = tail.rfind("\n") + 1
        pos = fence.scanned
        while pos < end:
            newline = tail.index("\n", pos)
            line = tail[pos:newline].strip()
            if len(line) >= len(fence.marker) and not line.strip(fence.marker[0]):
                return newline + 1
            pos = newline + 1
        fence.scanned = pos
        return -1

    def _open_code(self) -> OpenCode:
        assert self._fence is not None
        return OpenCode(self._fence.language, self._tail[self._fence.code_start:], len(self.code_blocks),
                        self._tail_offset)

    def _open_code_html(self) -> str:
        code = self._open_code()
        return self.renderer.open_code_html(code.language, code.code, code.index)


def render_blocks(renderer: MarkdownRenderer, text: str) -> tuple[list[str], list[str]]:
    """A complete message as rendered blocks, the same blocks streaming would have produced.

    Returns:
        The HTML of each block, and the text of each code block (for ``copy:N``).
    """
    stream = MarkdownStream(renderer)
    blocks = [*stream.update(text, render_tail=False).committed, *stream.finish().committed]
    return blocks, stream.code_blocks
