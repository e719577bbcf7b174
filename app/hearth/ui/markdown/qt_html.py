"""markdown-it's parser and HTML renderer for Hearth's dialect, in the HTML subset Qt's rich-text engine renders well
(see ``render``, which imports this module on first use: markdown-it is not needed before a message is shown)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.dollarmath import dollarmath_plugin

from hearth.ui.markdown.highlight import highlight_code
from hearth.ui.markdown.latex import latex_to_html
from hearth.ui.markdown.math import bracket_math_plugin
from hearth.ui.markdown.render import RenderStyle, code_block_html, css_families

_SAFE_SCHEMES = ("http://", "https://", "mailto:")


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


class QtHtmlRenderer(RendererHTML):
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
