"""Markdown to the HTML subset that Qt's rich-text engine (QTextDocument) renders well. Pure Python, no Qt.

What a model writes is untrusted: raw HTML is shown as text, images become links (nothing remote is ever loaded),
and only http, https and mailto links stay links. Code blocks are highlighted with Pygments (inline styles) and carry a
``copy:N`` link that the chat view turns into a clipboard copy of block N. Math (``$..$``, ``\\(..\\)``, ``$$..$$``,
``\\[..\\]``) is written out as legible Unicode by ``latex_text``.

Everything that looks like a style (colours, fonts, sizes) comes from a ``RenderStyle``, so the same renderer draws
the light and the dark theme.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.dollarmath import dollarmath_plugin

from hearth.ui.markdown.highlight import highlight_code, language_label
from hearth.ui.markdown.latex import latex_to_html
from hearth.ui.markdown.math import bracket_math_plugin

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
    """The Markdown dialect Hearth reads: CommonMark + tables, strikethrough, bare links and math.

    Args:
        block_only: Skip inline parsing (the stream splitter only needs block boundaries).
    """
    # breaks: a single newline is a line break, as models mean it (poems, addresses, short lines).
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False, "breaks": True})
    md.enable(["table", "strikethrough", "linkify"])
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)
    md.use(bracket_math_plugin)
    md.validateLink = _validate_link  # type: ignore[method-assign]
    if block_only:
        md.disable(["inline", "linkify", "text_join"])
    return md


def _validate_link(url: str) -> bool:
    return url.strip().lower().startswith(_SAFE_SCHEMES)


class MarkdownRenderer:
    """Renders Markdown to Qt-friendly HTML in one ``RenderStyle``.

    Args:
        style: Colours, fonts and sizes.
    """

    def __init__(self, style: RenderStyle | None = None) -> None:
        self.style = style or RenderStyle()
        self._md = build_parser()
        self._md.renderer = _QtHtmlRenderer(self._md, self.style)
        self.block_parser = build_parser(block_only=True)  # shared by every stream this renderer serves

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


class _QtHtmlRenderer(RendererHTML):
    """markdown-it's HTML renderer with the block rules rewritten for Qt's rich-text subset and inline styles."""

    def __init__(self, parser: MarkdownIt, style: RenderStyle) -> None:
        super().__init__(parser)
        self.s = style
        rules: dict[str, Any] = {
            "paragraph_open": self._paragraph_open,
            "heading_open": self._heading_open,
            "bullet_list_open": self._list_open,
            "ordered_list_open": self._list_open,
            "list_item_open": self._list_item_open,
            "blockquote_open": self._blockquote_open,
            "blockquote_close": self._blockquote_close,
            "hr": self._hr,
            "fence": self._fence,
            "code_block": self._fence,
            "code_inline": self._code_inline,
            "table_open": self._table_open,
            "th_open": self._cell_open,
            "td_open": self._cell_open,
            "link_open": self._link_open,
            "image": self._image,
            "math_inline": self._math_inline,
            "math_inline_double": self._math_inline,
            "math_block": self._math_block,
            "math_block_label": self._math_block,
        }
        self.rules.update(rules)

    # Blocks --------------------------------------------------------------------------------------------------------

    def _paragraph_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        if tokens[idx].hidden:
            return ""
        return f'<p style="margin-top:0px; margin-bottom:{self.s.px(0.75)}px; line-height:{self.s.line_height}%;">'

    def _heading_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        level = int(tokens[idx].tag[1])
        factor = {1: 1.5, 2: 1.3, 3: 1.15}.get(level, 1.0)
        return (f'<{tokens[idx].tag} style="font-size:{self.s.pt(factor)}; font-weight:600; '
                f'margin-top:{self.s.px(1.1 if level <= 2 else 0.8)}px; margin-bottom:{self.s.px(0.5)}px;">')

    def _list_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[idx]
        start = token.attrGet("start")
        start_attr = f' start="{int(start)}"' if start is not None else ""
        return (f'<{token.tag}{start_attr} style="margin-top:0px; margin-bottom:{self.s.px(0.75)}px;">\n')

    def _list_item_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return f'<li style="margin-bottom:{self.s.px(0.25)}px; line-height:{self.s.line_height}%;">'

    def _blockquote_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        # Qt draws no border on a blockquote; a two-cell table gives the familiar bar on the left.
        return (f'<table cellspacing="0" cellpadding="0" style="margin-top:{self.s.px(0.25)}px; '
                f'margin-bottom:{self.s.px(0.75)}px;"><tr><td width="3" bgcolor="{self.s.quote_bar}"></td>'
                f'<td style="padding-left:{self.s.px(0.9)}px; color:{self.s.quote_text};">\n')

    def _blockquote_close(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return "</td></tr></table>\n"

    def _hr(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return (f'<table width="100%" cellspacing="0" cellpadding="0" style="margin-top:{self.s.px(0.5)}px; '
                f'margin-bottom:{self.s.px(1.0)}px;"><tr><td height="1" bgcolor="{self.s.rule}"></td></tr></table>\n')

    def _fence(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[idx]
        language = token.info.strip().split(maxsplit=1)[0] if token.info.strip() else ""
        code = token.content
        codes: list[str] = env.setdefault("codes", [])
        index = env.get("first_code", 0) + len(codes)
        codes.append(code)
        body = highlight_code(code.removesuffix("\n"), language, self.s.pygments_style)
        return code_block_html(self.s, language, body, index)

    def _table_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return (f'<table cellspacing="0" cellpadding="{self.s.px(0.45)}" border="1" '
                f'style="border-collapse:collapse; border-color:{self.s.table_border}; border-style:solid; '
                f'margin-top:{self.s.px(0.25)}px; margin-bottom:{self.s.px(0.9)}px;">\n')

    def _cell_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[idx]
        style = token.attrGet("style") or ""
        align = re.search(r"text-align:(left|right|center)", str(style))
        attrs = f' align="{align.group(1)}"' if align else ""
        if token.tag == "th":
            attrs += f' bgcolor="{self.s.table_header_bg}"'
        return f'<{token.tag}{attrs} style="border-color:{self.s.table_border};">'

    # Inline --------------------------------------------------------------------------------------------------------

    def _code_inline(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        mono = css_families(self.s.mono_families)
        return (f'<code style="font-family:{mono}; font-size:{self.s.pt(0.92)}; '
                f'background-color:{self.s.inline_code_bg}; color:{self.s.inline_code_text};">'
                f"{html.escape(tokens[idx].content, quote=False)}</code>")

    def _link_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        href = str(tokens[idx].attrGet("href") or "")
        return f'<a href="{html.escape(href)}" style="color:{self.s.link};">'

    def _image(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        # Never load what a model points at; offer the address as a link the user can choose to open.
        token = tokens[idx]
        src = str(token.attrGet("src") or "")
        alt = html.escape(self.renderInlineAsText(token.children or [], options, env) or "image", quote=False)
        if not _validate_link(src):
            return f"[{alt}]"
        return f'<a href="{html.escape(src)}" style="color:{self.s.link};">[image: {alt}]</a>'

    def _math_inline(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        family = css_families(self.s.math_families)
        return f'<span style="font-family:{family};">{latex_to_html(tokens[idx].content)}</span>'

    def _math_block(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        family = css_families(self.s.math_families)
        return (f'<p align="center" style="margin-top:{self.s.px(0.4)}px; margin-bottom:{self.s.px(0.9)}px; '
                f'font-family:{family}; font-size:{self.s.pt(1.12)}; line-height:{self.s.line_height}%;">'
                f"{latex_to_html(tokens[idx].content, display=True)}</p>\n")
