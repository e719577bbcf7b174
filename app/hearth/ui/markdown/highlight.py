"""Syntax highlighting for code blocks: Pygments with inline styles, which Qt's rich-text engine understands.

Pygments is imported with the first code block, not with the window.
"""

from __future__ import annotations

import functools
import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pygments.formatters import HtmlFormatter
    from pygments.lexer import Lexer

# Models label fences loosely; map the usual suspects Pygments does not know by that name.
_ALIASES = {"sh": "bash", "shell": "bash", "zsh": "bash", "console": "bash", "py": "python", "js": "javascript",
            "ts": "typescript", "c++": "cpp", "yml": "yaml", "md": "markdown", "jsonc": "json", "ps": "powershell"}


@functools.lru_cache(maxsize=64)
def _lexer(language: str) -> Lexer | None:
    name = _ALIASES.get(language.lower(), language.lower())
    if not name:
        return None
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        # stripnl=False keeps leading blank lines; the block shows exactly what the model wrote.
        return get_lexer_by_name(name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


@functools.lru_cache(maxsize=8)
def _formatter(style: str) -> HtmlFormatter:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(noclasses=True, nowrap=True, style=style)


def language_label(language: str) -> str:
    """The name shown above a code block: the lexer's proper name when known, else what the model wrote."""
    lexer = _lexer(language)
    return lexer.name if lexer is not None else language


def highlight_code(code: str, language: str, style: str) -> str:
    """HTML (escaped, with inline-styled spans) for ``code``; plain escaped text when the language is unknown.

    Args:
        code: The code, without the fence lines.
        language: The fence's info word (``python``, ``js``...); empty for none.
        style: A Pygments style name (``default``, ``github-dark``...).
    """
    lexer = _lexer(language)
    if lexer is None:
        return html.escape(code, quote=False)
    from pygments import highlight

    try:
        out = highlight(code, lexer, _formatter(style))
    except Exception:  # a lexer bug must not lose the code: show it plain
        return html.escape(code, quote=False)
    # Pygments ends the output with the newline it was given; the caller decides about the final newline.
    return out[:-1] if out.endswith("\n") and not code.endswith("\n") else out
