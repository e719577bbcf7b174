"""LaTeX math to legible rich text: Unicode symbols, <sup>/<sub>, fractions and roots written out.

Models write math in LaTeX. Qt's rich-text engine cannot typeset it, so we turn the common subset into text a person
reads at a glance: ``\\frac{a}{b}`` becomes ``a⁄b``, ``x^2`` a superscript, ``\\alpha`` an α, ``\\mathbb{R}`` ℝ. The
parser is small and total: unbalanced braces, unknown commands and stray characters all produce some output, never an
exception. Symbol names come from pylatexenc's table (hundreds of macros) plus a few of our own.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

# Our own table wins over pylatexenc's where the two disagree or pylatexenc has none.
_SYMBOLS: dict[str, str] = {
    "cdot": "·", "times": "×", "div": "÷", "pm": "±", "mp": "∓", "to": "→", "gets": "←", "infty": "∞",
    "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "approx": "≈", "sim": "∼", "simeq": "≃",
    "cong": "≅", "equiv": "≡", "propto": "∝", "ll": "≪", "gg": "≫", "in": "∈", "notin": "∉", "ni": "∋",
    "subset": "⊂", "subseteq": "⊆", "supset": "⊃", "supseteq": "⊇", "cup": "∪", "cap": "∩", "setminus": "∖",
    "emptyset": "∅", "varnothing": "∅", "forall": "∀", "exists": "∃", "nexists": "∄", "neg": "¬", "lnot": "¬",
    "land": "∧", "wedge": "∧", "lor": "∨", "vee": "∨", "implies": "⟹", "iff": "⟺", "Rightarrow": "⇒",
    "Leftarrow": "⇐", "Leftrightarrow": "⇔", "rightarrow": "→", "leftarrow": "←", "leftrightarrow": "↔",
    "longrightarrow": "⟶", "longleftarrow": "⟵", "mapsto": "↦", "uparrow": "↑", "downarrow": "↓",
    "partial": "∂", "nabla": "∇", "sum": "∑", "prod": "∏", "coprod": "∐", "int": "∫", "iint": "∬", "iiint": "∭",
    "oint": "∮", "ldots": "…", "dots": "…", "cdots": "⋯", "vdots": "⋮", "ddots": "⋱", "angle": "∠",
    "circ": "∘", "bullet": "•", "star": "⋆", "ast": "∗", "prime": "′", "degree": "°", "hbar": "ℏ", "ell": "ℓ",
    "Re": "ℜ", "Im": "ℑ", "aleph": "ℵ", "langle": "⟨", "rangle": "⟩", "lfloor": "⌊", "rfloor": "⌋",
    "lceil": "⌈", "rceil": "⌉", "lvert": "|", "rvert": "|", "vert": "|", "mid": "|", "lVert": "‖", "rVert": "‖",
    "Vert": "‖", "|": "‖", "perp": "⊥", "parallel": "∥", "therefore": "∴", "because": "∵", "oplus": "⊕",
    "otimes": "⊗", "odot": "⊙", "dagger": "†", "top": "⊤", "bot": "⊥", "triangle": "△", "square": "□",
    "checkmark": "✓", "colon": ":", "quad": "\u2003", "qquad": "\u2003\u2003", ",": "\u2009", ";": "\u2005",
    ":": "\u2005", ">": "\u2005", "!": "", " ": " ", "{": "{", "}": "}", "%": "%", "$": "$", "&": "&", "#": "#",
    "_": "_", "backslash": "\\", "lbrace": "{", "rbrace": "}", "lbrack": "[", "rbrack": "]", "displaystyle": "",
    "textstyle": "", "scriptstyle": "", "limits": "", "nolimits": "", "nonumber": "", "notag": "",
    "varepsilon": "ε", "epsilon": "ϵ", "varphi": "φ", "phi": "ϕ",
}
_FUNCTIONS = {
    "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "coth", "log",
    "ln", "lg", "exp", "lim", "liminf", "limsup", "sup", "inf", "max", "min", "arg", "det", "dim", "deg", "gcd",
    "hom", "ker", "Pr", "mod", "bmod", "pmod",
}
# Combining marks for accents: \hat{x} → x̂.
_ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "overline": "\u0305", "vec": "\u20d7",
            "dot": "\u0307", "ddot": "\u0308", "tilde": "\u0303", "widetilde": "\u0303", "acute": "\u0301",
            "grave": "\u0300", "breve": "\u0306", "check": "\u030c"}
_DOUBLE_STRUCK = {"C": "ℂ", "H": "ℍ", "N": "ℕ", "P": "ℙ", "Q": "ℚ", "R": "ℝ", "Z": "ℤ"}
_SCRIPT = {"B": "ℬ", "E": "ℰ", "F": "ℱ", "H": "ℋ", "I": "ℐ", "L": "ℒ", "M": "ℳ", "R": "ℛ"}
_FRACTIONS = {"frac", "dfrac", "tfrac", "cfrac"}
_TEXT_COMMANDS = {"text", "textrm", "mathrm", "operatorname", "textnormal", "mbox", "mathsf", "textsf", "mathtt",
                  "texttt", "textup"}
_SIZERS = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr",
           "Biggl", "Biggr", "middle"}
_MATRIX_BRACKETS = {"pmatrix": ("(", ")"), "bmatrix": ("[", "]"), "Bmatrix": ("{", "}"), "vmatrix": ("|", "|"),
                    "Vmatrix": ("‖", "‖"), "cases": ("{", "")}
_TOKEN = re.compile(r"\\[A-Za-z]+\*?|\\.|\\$|[{}^_&~]|\s+|[A-Za-z]+|[0-9.]+|.", re.S)


@functools.cache
def _pylatexenc_symbols() -> dict[str, str]:
    """Short string replacements from pylatexenc's macro table (Greek, relations, arrows, accented letters...)."""
    try:
        from pylatexenc import latex2text
    except ImportError:  # the table is an extra; our own covers the common cases
        return {}
    table: dict[str, str] = {}
    db = latex2text.get_default_latex_context_db()
    for category in db.category_list:
        for name, spec in db.d[category]["macros"].items():
            repl = spec.simplify_repl
            if isinstance(repl, str) and 0 < len(repl) <= 8 and "%" not in repl and "<" not in repl:
                table[name] = repl
    table.pop("today", None)
    return table


def symbol_for(name: str) -> str | None:
    """The Unicode text for a LaTeX command without arguments (``alpha`` → ``α``), or None if unknown."""
    if name in _SYMBOLS:
        return _SYMBOLS[name]
    return _pylatexenc_symbols().get(name)


@dataclass
class _Node:
    """A parsed piece: a token (text or command) or a group of pieces."""

    text: str = ""
    children: list[_Node] | None = None
    args: list[_Node] = field(default_factory=list)

    @property
    def is_group(self) -> bool:
        return self.children is not None


class _Parser:
    """Recursive descent over LaTeX tokens. Total: every input parses to something."""

    def __init__(self, source: str) -> None:
        self.tokens = _TOKEN.findall(source)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def group(self, closer: str | None = None) -> _Node:
        children: list[_Node] = []
        while (token := self.peek()) is not None:
            if token == "}" and closer == "}":
                self.take()
                return _Node(children=children)
            if token == "}":  # a stray closing brace: keep it visible rather than fail
                children.append(_Node(text=self.take()))
                continue
            if token.startswith("\\end") and closer == "env":
                return _Node(children=children)
            children.append(self.atom())
        return _Node(children=children)

    def skip_space(self) -> None:
        while (token := self.peek()) is not None and token.isspace():
            self.take()

    def argument(self) -> _Node:
        """One argument: a braced group, or else the next single token."""
        self.skip_space()
        token = self.peek()
        if token is None:
            return _Node(children=[])
        if token == "{":
            self.take()
            return self.group("}")
        if token.startswith("\\"):
            return self.atom()
        self.take()
        if len(token) > 1 and (token.isalpha() or token[0].isdigit()):
            # \frac12 means \frac{1}{2}: a bare argument is one character, the rest goes back.
            self.tokens[self.pos:self.pos] = [token[1:]]
            token = token[0]
        return _Node(text=token)

    def optional(self) -> _Node | None:
        self.skip_space()
        if self.peek() != "[":
            return None
        self.take()
        children: list[_Node] = []
        while (token := self.peek()) is not None and token != "]":
            children.append(self.atom())
        if self.peek() == "]":
            self.take()
        return _Node(children=children)

    def atom(self) -> _Node:
        token = self.take()
        if token == "{":
            return self.group("}")
        if token in ("^", "_"):
            return _Node(text=token, args=[self.argument()])
        name = token[1:]
        if not token.startswith("\\") or not name:
            return _Node(text=token)
        if name in _FRACTIONS or name == "binom":
            return _Node(text=token, args=[self.argument(), self.argument()])
        if name == "sqrt":
            index = self.optional()
            return _Node(text=token, args=[self.argument(), *([index] if index else [])])
        if name in _ACCENTS or name in _TEXT_COMMANDS or name in ("mathbb", "mathbf", "textbf", "boldsymbol",
                                                                  "mathcal", "mathscr", "textit", "mathit",
                                                                  "emph", "underline", "boxed", "mathfrak"):
            return _Node(text=token, args=[self.argument()])
        if name in _SIZERS:
            self.skip_space()
            return _Node(text=token, args=[_Node(text=self.take())] if self.peek() is not None else [])
        if name == "begin":
            env = self.argument()
            env_name = _plain(env)
            if env_name == "array":  # column spec
                self.argument()
            body = self.group("env")
            if self.peek() is not None:  # \end{...}
                self.take()
                self.argument()
            return _Node(text="\\begin", args=[_Node(text=env_name), body])
        return _Node(text=token)


def _plain(node: _Node) -> str:
    """The raw characters of a node, for environment names and \\text arguments."""
    if node.is_group:
        return "".join(_plain(child) for child in node.children or [])
    return node.text


class _Writer:
    """Turns parsed nodes into Qt-rich-text HTML."""

    def __init__(self, display: bool) -> None:
        self.display = display

    def nodes(self, nodes: list[_Node]) -> str:
        return "".join(self.node(node) for node in nodes)

    def node(self, node: _Node) -> str:
        if node.is_group:
            return self.nodes(node.children or [])
        token = node.text
        if token in ("^", "_"):
            tag = "sup" if token == "^" else "sub"
            return f"<{tag}>{self.node(node.args[0])}</{tag}>"
        if token.startswith("\\") and len(token) > 1:
            return self.command(token[1:].rstrip("*"), node)
        if token == "&":
            return "\u2003"
        if token == "~":
            return "\u00a0"
        if token.isspace():
            return " "
        if token.isalpha():
            return f"<i>{html.escape(token)}</i>"
        if token == "-":
            return "−"
        if token == "'":
            return "′"
        return html.escape(token)

    def command(self, name: str, node: _Node) -> str:
        handler = _COMMANDS.get(name)
        if handler is not None:
            return handler(self, node)
        if name in _ACCENTS:
            inner = _plain(node.args[0]) if node.args else ""
            mark = _ACCENTS[name]
            marked = "".join(ch + mark for ch in inner) if name in ("overline", "widehat") else inner + mark
            return f"<i>{html.escape(marked)}</i>" if inner.isalpha() else html.escape(marked)
        if name in _FUNCTIONS:
            return html.escape(name)
        if name in _SIZERS:
            delim = node.args[0].text if node.args else ""
            if delim.startswith("\\"):
                return self.command(delim[1:], _Node(text=delim))
            return "" if delim == "." else html.escape(delim)
        if name in _TEXT_COMMANDS:
            return html.escape(_plain(node.args[0]))
        symbol = symbol_for(name)
        if symbol is not None:
            return html.escape(symbol).replace("\n", "<br/>")
        return html.escape("\\" + name)  # unknown: show the source rather than guess

    def fraction(self, node: _Node) -> str:
        top, bottom = (self.node(arg) for arg in node.args[:2])
        if _is_simple(top) and _is_simple(bottom):
            return f"<sup>{top}</sup>\u2044<sub>{bottom}</sub>"
        return f"{_paren(top)}/{_paren(bottom)}"

    def binom(self, node: _Node) -> str:
        top, bottom = (self.node(arg) for arg in node.args[:2])
        return f"C({top}, {bottom})"

    def sqrt(self, node: _Node) -> str:
        body = self.node(node.args[0])
        root = "√" if len(node.args) < 2 else f"<sup>{self.node(node.args[1])}</sup>√"
        return f"{root}{body}" if _is_simple(body) else f"{root}({body})"

    def environment(self, node: _Node) -> str:
        env, body = node.args[0].text, node.args[1]
        rows: list[list[_Node]] = [[]]
        for child in body.children or []:
            if child.text == "\\\\":
                rows.append([])
            else:
                rows[-1].append(child)
        while rows and not any(not c.text.isspace() for c in rows[-1]):
            rows.pop()
        left, right = _MATRIX_BRACKETS.get(env.rstrip("*"), ("", ""))
        rendered = [self.nodes(row).strip() for row in rows]
        if env.rstrip("*") in ("matrix", "pmatrix", "bmatrix", "Bmatrix", "vmatrix", "Vmatrix"):
            if not self.display:
                return f"{left}{'; '.join(rendered)}{right}"
            return "<br/>".join(f"{left}\u2009{row}\u2009{right}" for row in rendered)
        separator = "<br/>" if self.display else "; "
        if env.rstrip("*") == "cases":
            return (f"{left} " if left else "") + separator.join(rendered)
        return separator.join(rendered)

    def bold(self, node: _Node) -> str:
        return f"<b>{self.node(node.args[0])}</b>"

    def italic(self, node: _Node) -> str:
        return f"<i>{html.escape(_plain(node.args[0]))}</i>"

    def underline(self, node: _Node) -> str:
        return f"<u>{self.node(node.args[0])}</u>"

    def double_struck(self, node: _Node) -> str:
        text = _plain(node.args[0])
        return html.escape("".join(_DOUBLE_STRUCK.get(ch, _math_alpha(ch, 0x1D538)) for ch in text))

    def script(self, node: _Node) -> str:
        text = _plain(node.args[0])
        return html.escape("".join(_SCRIPT.get(ch, _math_alpha(ch, 0x1D49C)) for ch in text))

    def line_break(self, node: _Node) -> str:
        return "<br/>" if self.display else "; "


_COMMANDS: dict[str, Callable[[_Writer, _Node], str]] = {
    "frac": _Writer.fraction, "dfrac": _Writer.fraction, "tfrac": _Writer.fraction, "cfrac": _Writer.fraction,
    "binom": _Writer.binom, "sqrt": _Writer.sqrt, "begin": _Writer.environment, "mathbf": _Writer.bold,
    "textbf": _Writer.bold, "boldsymbol": _Writer.bold, "mathit": _Writer.italic, "textit": _Writer.italic,
    "emph": _Writer.italic, "underline": _Writer.underline, "boxed": _Writer.bold, "mathbb": _Writer.double_struck,
    "mathcal": _Writer.script, "mathscr": _Writer.script, "mathfrak": _Writer.bold, "\\": _Writer.line_break,
}


def _math_alpha(ch: str, base: int) -> str:
    """Unicode mathematical alphanumerics for capital letters (𝔸, 𝒜); other characters as they are."""
    return chr(base + ord(ch) - ord("A")) if "A" <= ch <= "Z" else ch


def _is_simple(rendered: str) -> bool:
    """A part short enough to set without parentheses (``2``, ``π``, ``ab``), judged by what the reader sees."""
    if "<sup>" in rendered or "<sub>" in rendered:
        return False  # a script inside a small fraction part is unreadable
    text = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    return 0 < len(text) <= 3 and not any(ch.isspace() or ch in "+−-/=,;()" for ch in text)


def _paren(rendered: str) -> str:
    return rendered if _is_simple(rendered) else f"({rendered})"


def latex_to_html(source: str, display: bool = False) -> str:
    """Qt-rich-text HTML for a LaTeX math expression; the escaped source if anything goes wrong.

    Args:
        source: The math without its delimiters (``x^2``, not ``$x^2$``).
        display: True for display math (line breaks kept), False for inline math.
    """
    try:
        parser = _Parser(source.strip())
        return _Writer(display).node(parser.group()).strip()
    except Exception:  # never let a model's bad LaTeX take the message down
        return html.escape(source)


def latex_to_text(source: str, display: bool = False) -> str:
    """Plain Unicode for a LaTeX math expression (for tests and copy): tags dropped, entities decoded."""
    marked = latex_to_html(source, display)
    marked = marked.replace("<br/>", "\n").replace("<sup>", "^").replace("<sub>", "_")
    return re.sub(r" {2,}", " ", html.unescape(re.sub(r"<[^>]+>", "", marked)))
