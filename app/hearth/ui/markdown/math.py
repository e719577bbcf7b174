r"""markdown-it rules for LaTeX's bracket delimiters: inline ``\(...\)`` and display ``\[...\]``.

mdit-py-plugins' ``dollarmath`` covers ``$...$`` and ``$$...$$``; models write the bracket forms just as often.
(``texmath`` has them too, but its block tokens carry no line map, which the stream splitter needs.)
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline


def bracket_math_plugin(md: MarkdownIt) -> None:
    """Register the ``\\(..\\)`` inline rule (before backslash escapes) and the ``\\[..\\]`` block rule."""
    md.inline.ruler.before("escape", "math_inline_brackets", _inline_rule)
    md.block.ruler.before("fence", "math_block_brackets", _block_rule,
                          {"alt": ["paragraph", "reference", "blockquote", "list"]})


def _inline_rule(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    if not src.startswith("\\(", pos):
        return False
    end = src.find("\\)", pos + 2)
    if end < 0 or end >= state.posMax or not src[pos + 2:end].strip():
        return False
    if not silent:
        token = state.push("math_inline", "math", 0)
        token.content = src[pos + 2:end]
        token.markup = "\\("
    state.pos = end + 2
    return True


def _block_rule(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    if state.sCount[start_line] - state.blkIndent >= 4:  # an indented code block, not math
        return False
    begin = state.bMarks[start_line] + state.tShift[start_line]
    first = state.src[begin:state.eMarks[start_line]]
    if not first.startswith("\\["):
        return False
    parts = [first[2:]]
    line = start_line
    while True:
        closing = parts[-1].find("\\]")
        if closing >= 0:
            parts[-1] = parts[-1][:closing]
            break
        line += 1
        if line >= end_line:
            return False  # never closed: plain text (while streaming it becomes math once "\]" arrives)
        text = state.src[state.bMarks[line] + state.tShift[line]:state.eMarks[line]]
        if not text.strip():
            return False  # LaTeX display math has no blank lines; this is something else
        parts.append(text)
    if silent:
        return True
    state.line = line + 1
    token = state.push("math_block", "math", 0)
    token.block = True
    token.content = "\n".join(parts).strip()
    token.markup = "\\["
    token.map = [start_line, state.line]
    return True
