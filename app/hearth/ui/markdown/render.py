"""Markdown to the HTML subset that Qt's rich-text engine (QTextDocument) renders well. Pure Python, no Qt.

What a model writes is untrusted: raw HTML is shown as text, images become links (nothing remote is ever loaded),
and only http, https and mailto links stay links. Code blocks are highlighted with Pygments (inline styles) and carry a
``copy:N`` link that the chat view turns into a clipboard copy of block N. Math (``$..$``, ``\\(..\\)``, ``$$..$$``,
``\\[..\\]``) is written out as legible Unicode by ``latex_text``.

Everything that looks like a style (colours, fonts, sizes) comes from a ``RenderStyle``, so the same renderer draws
the light and the dark theme.

markdown-it (and Pygments, for code) are imported when the first message is rendered, not when the window starts:
the parser and its Qt renderer live in ``qt_html``.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hearth.ui.markdown.highlight import language_label

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

SANS_FAMILIES = ("Inter", "Segoe UI", "SF Pro Text", "-apple-system", "Helvetica Neue", "Cantarell", "Noto Sans",
                 "Ubuntu", "DejaVu Sans", "Arial")
MONO_FAMILIES = ("JetBrains Mono", "Cascadia Code", "SF Mono", "Menlo", "Consolas", "Noto Sans Mono",
                 "DejaVu Sans Mono", "Liberation Mono", "Courier New")
MATH_FAMILIES = ("STIX Two Math", "Cambria Math", "Latin Modern Math", "Noto Serif", "DejaVu Serif",
                 "Times New Roman")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")


def css_families(families: Sequence[str]) -> str:
    """A CSS ``font-family`` value from a list of family names."""
    return ", ".join(f"'{name}'" for name in families)


@dataclass(frozen=True)
class RenderStyle:
    """Colours and sizes the HTML is written with (CSS colour strings, point sizes)."""

    text: str = "#1f2328"
    muted: str = "#6e7781"
    link: str = "#0b63ce"
    code_bg: str = "#f6f8fa"
    code_header_bg: str = "#eaeef2"
    code_text: str = "#1f2328"
    inline_code_bg: str = "#eff1f3"
    inline_code_text: str = "#1f2328"
    quote_bar: str = "#d0d7de"
    quote_text: str = "#57606a"
    table_border: str = "#d0d7de"
    table_header_bg: str = "#f6f8fa"
    rule: str = "#d8dee4"
    pygments_style: str = "default"
    base_pt: float = 11.0
    line_height: int = 150
    mono_families: tuple[str, ...] = MONO_FAMILIES
    math_families: tuple[str, ...] = MATH_FAMILIES

    def pt(self, factor: float) -> str:
        """A CSS point size, ``factor`` times the base size."""
        return f"{self.base_pt * factor:.1f}pt"

    def px(self, factor: float) -> int:
        """A pixel length proportional to the base font size (spacing scales with zoom)."""
        return max(1, round(self.base_pt * 96 / 72 * factor))


@dataclass
class RenderedHtml:
    """The HTML for some Markdown, and the text of each code block in it (for the ``copy:N`` links)."""

    html: str
    code_blocks: list[str] = field(default_factory=list)


def build_parser(block_only: bool = False) -> MarkdownIt:
    """The Markdown dialect Hearth reads (``qt_html.build_parser``; markdown-it is imported on first use)."""
    from hearth.ui.markdown.qt_html import build_parser as build

    return build(block_only)


class MarkdownRenderer:
    """Renders Markdown to Qt-friendly HTML in one ``RenderStyle``.

    Args:
        style: Colours, fonts and sizes.
    """

    def __init__(self, style: RenderStyle | None = None) -> None:
        self.style = style or RenderStyle()

    @functools.cached_property
    def _md(self) -> MarkdownIt:
        from hearth.ui.markdown.qt_html import QtHtmlRenderer

        md = build_parser()
        md.renderer = QtHtmlRenderer(md, self.style)
        return md

    @functools.cached_property
    def block_parser(self) -> MarkdownIt:
        """The block-only parser shared by every stream this renderer serves."""
        return build_parser(block_only=True)

    def render(self, text: str, first_code_index: int = 0) -> RenderedHtml:
        """HTML for ``text``.

        Args:
            text: Markdown source.
            first_code_index: The number the first code block's ``copy:N`` link gets (blocks rendered one at a time
                while streaming keep the numbering of the whole message).
        """
        env: dict[str, Any] = {"codes": [], "first_code": first_code_index}
        out = self._md.render(text.replace("\r", ""), env)
        return RenderedHtml(out, env["codes"])

    def open_code_html(self, language: str, code: str, index: int) -> str:
        """A code block still being written (its fence not closed yet): plain text, highlighted once it closes."""
        return code_block_html(self.style, language, html.escape(code, quote=False), index)


def code_block_html(style: RenderStyle, language: str, body: str, index: int) -> str:
    """The framed code block: a header row with the language and a Copy link, then the code.

    Args:
        style: Colours and fonts.
        language: The fence's info word; may be empty.
        body: The code as HTML (escaped, maybe highlighted).
        index: N in the block's ``copy:N`` link.
    """
    label = html.escape(language_label(language) if language else "text")
    mono = css_families(style.mono_families)
    pad = style.px(0.9)
    return (
        f'<table width="100%" cellspacing="0" cellpadding="0" bgcolor="{style.code_bg}" '
        f'style="margin-top:{style.px(0.4)}px; margin-bottom:{style.px(0.8)}px; border-collapse:collapse;">'
        f'<tr><td bgcolor="{style.code_header_bg}" style="padding-left:{pad}px; padding-top:{style.px(0.35)}px; '
        f'padding-bottom:{style.px(0.35)}px;"><span style="color:{style.muted}; font-size:{style.pt(0.85)};">'
        f"{label}</span></td>"
        f'<td bgcolor="{style.code_header_bg}" align="right" style="padding-right:{pad}px; '
        f'padding-top:{style.px(0.35)}px; padding-bottom:{style.px(0.35)}px;">'
        f'<a href="copy:{index}" style="color:{style.muted}; text-decoration:none; font-size:{style.pt(0.85)};">'
        f"Copy</a></td></tr>"
        f'<tr><td colspan="2" bgcolor="{style.code_bg}" style="padding-left:{pad}px; padding-right:{pad}px; '
        f'padding-top:{style.px(0.7)}px; padding-bottom:{style.px(0.7)}px;">'
        f'<pre style="margin:0; font-family:{mono}; font-size:{style.pt(0.92)}; color:{style.code_text}; '
        f'white-space:pre-wrap;">{body}</pre></td></tr></table>\n'
    )


_WARM_UP = "A **word**, `code`, a link https://example.org and $x^2$.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"


@functools.cache
def warm_up() -> None:
    """Import markdown-it and compile the patterns it compiles on first use (bare links, math), once; called from a
    worker thread as the first answer starts, so that showing it does not pay for them on the GUI thread."""
    MarkdownRenderer().render(_WARM_UP)
