"""Markdown → Qt rich-text HTML, LaTeX → legible text, and the incremental splitter used while streaming. No Qt."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hearth.core.store import MessageStatus, Role
from hearth.ui.chat.message_types import MessageView
from hearth.ui.markdown.latex import latex_to_html, latex_to_text
from hearth.ui.markdown.render import MarkdownRenderer, RenderStyle
from hearth.ui.markdown.stream import MarkdownStream, render_blocks, split_blocks
from tests.fixtures.chat_samples import RICH_ANSWER, answer_text

RENDERER = MarkdownRenderer(RenderStyle())


def html(text: str) -> str:
    return RENDERER.render(text).html


def visible(markup: str) -> str:
    """The text a reader sees in some HTML (tags dropped, entities decoded, whitespace collapsed)."""
    import html as html_lib

    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


# Markdown features -------------------------------------------------------------------------------------------------


def test_headings_emphasis_and_paragraphs() -> None:
    out = html("# Big\n\n## Smaller\n\nSome *soft* and **strong** and ~~gone~~ text.")
    assert re.search(r"<h1 [^>]*font-size:16\.5pt[^>]*>Big</h1>", out)
    assert "<h2 " in out and "<em>soft</em>" in out and "<strong>strong</strong>" in out and "<s>gone</s>" in out
    assert 'line-height:150%' in out


def test_nested_lists_keep_their_numbers() -> None:
    out = html("3. three\n4. four\n   - nested\n     - deeper\n")
    assert '<ol start="3"' in out
    assert out.count("<ul") == 2
    assert visible(out) == "three four nested deeper"


def test_tables_keep_alignment() -> None:
    out = html("| Name | Size |\n|:---|---:|\n| a | 1 GB |\n")
    assert "<table" in out and 'border-collapse:collapse' in out
    assert re.search(r'<th [^>]*bgcolor="#f6f8fa"', out) and '<td align="right"' in out
    assert visible(out) == "Name Size a 1 GB"


def test_block_quotes_rules_links_and_inline_code() -> None:
    out = html("> quoted\n\n---\n\nA [link](https://example.com \"t\") and `x = 1` and https://bare.example.org")
    assert "quoted" in out and 'bgcolor="#d0d7de"' in out  # the quote bar
    assert '<td height="1" bgcolor="#d8dee4">' in out  # the rule
    assert '<a href="https://example.com"' in out
    assert '<a href="https://bare.example.org"' in out  # bare links become links
    assert re.search(r"<code style=\"font-family:[^\"]+\">x = 1</code>", out)


def test_code_blocks_are_highlighted_with_a_copy_link_per_block() -> None:
    rendered = RENDERER.render("```python\ndef f():\n    return 1\n```\n\n```\nplain <text>\n```\n", first_code_index=5)
    out = rendered.html
    assert rendered.code_blocks == ["def f():\n    return 1\n", "plain <text>\n"]
    assert '<a href="copy:5"' in out and '<a href="copy:6"' in out
    assert ">Python<" in out and ">text<" in out
    assert re.search(r'<span style="color: #[0-9A-Fa-f]{6}; font-weight: bold">def</span>', out)
    assert "plain &lt;text&gt;" in out
    assert "white-space:pre-wrap" in out


def test_dark_code_uses_the_dark_pygments_style() -> None:
    dark = MarkdownRenderer(RenderStyle(pygments_style="github-dark", code_bg="#16171a"))
    out = dark.render("```python\nimport os\n```").html
    assert 'bgcolor="#16171a"' in out
    assert out != html("```python\nimport os\n```")


def test_single_newlines_are_line_breaks() -> None:
    assert "dark —<br />\nten" in html("Fans hum in the dark —\nten thousand cores")


# Untrusted model output ---------------------------------------------------------------------------------------------


def test_raw_html_is_escaped() -> None:
    out = html('<script>alert("x")</script>\n\n<b onclick="x">bold?</b>')
    assert "<script" not in out and "<b " not in out
    assert "&lt;script&gt;" in out


def test_images_are_never_loaded() -> None:
    out = html("![a cat](https://example.com/cat.png) ![local](file:///etc/passwd)")
    assert "<img" not in out
    assert '<a href="https://example.com/cat.png"' in out and "[image: a cat]" in out
    assert 'href="file:' not in out


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "copy:0", "data:text/html,x"])
def test_only_web_and_mail_links_become_links(url: str) -> None:
    assert "<a " not in html(f"[click]({url})")


# Math ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("latex", "expected"), [
    (r"x^2 + y_{ij}", "x^2 + y_ij"),
    (r"\alpha \leq \beta \in \mathbb{R}", "α ≤ β ∈ ℝ"),
    (r"\frac{a}{b}", "^a⁄_b"),
    (r"\frac{n(n+1)}{2}", "(n(n+1))/2"),
    (r"\sqrt{x^2+1}", "√(x^2+1)"),
    (r"\sum_{i=1}^{n} i", "∑_i=1^n i"),
    (r"\hat{x} + \vec{v}", "x̂ + v⃗"),
    (r"\left( \frac{1}{2} \right)", "( ^1⁄_2 )"),
    (r"\lim_{x \to 0} \frac{\sin x}{x}", "lim_x → 0 (sin x)/x"),
    (r"\text{if } x > 0", "if x > 0"),
    (r"\mathcal{O}(n \log n)", "𝒪(n log n)"),
    (r"\frac12", "^1⁄_2"),
])
def test_latex_reads_as_unicode(latex: str, expected: str) -> None:
    assert latex_to_text(latex) == expected


def test_display_environments_keep_their_rows() -> None:
    rows = latex_to_text(r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}", display=True).split("\n")
    assert len(rows) == 2
    assert rows[0].startswith("(") and rows[0].endswith(")") and "a" in rows[0] and "b" in rows[0]
    assert "c" in rows[1] and "d" in rows[1]
    assert "otherwise" in latex_to_text(r"\begin{cases} 1 & x>0 \\ 0 & \text{otherwise} \end{cases}")


def test_math_in_markdown_all_four_delimiters() -> None:
    out = html("Inline $E=mc^2$ and \\(a^2\\).\n\n$$\n\\frac{1}{2}\n$$\n\n\\[ \\sqrt{2} \\]\n")
    assert "<i>E</i>=<i>mc</i><sup>2</sup>" in out
    assert "<i>a</i><sup>2</sup>" in out
    assert out.count('<p align="center"') == 2
    assert "√2" in out
    assert "$" not in visible(out) and "\\[" not in out


def test_dollar_amounts_are_not_math() -> None:
    assert "<sup>" not in html("It costs $5 and $10 later.") and "$5" in html("It costs $5 and $10 later.")


@given(st.text(alphabet="\\{}^_&$ abcxyz0123frac sqrt begin end left right \n", max_size=60))
@settings(max_examples=300, deadline=None)
def test_bad_latex_never_crashes(latex: str) -> None:
    assert isinstance(latex_to_html(latex), str)
    assert isinstance(latex_to_html(latex, display=True), str)
    assert isinstance(html(f"$${latex}$$ and ${latex}$"), str)


# Incremental rendering ----------------------------------------------------------------------------------------------

DOCUMENTS = [
    RICH_ANSWER,
    answer_text(400),
    "para\n\n- a\n\n- b\n\n  continued\n\n3. three\n4. four\n\nEnd `x`\n```js\nlet a = 1;\n```\nafter\n"
    "# Head\n~~~\nopen",
    "Setext\n===\n\nline one\nline two\n\n    indented code\n\n> quote\nlazy\n\n| a |\n|---|\n| 1 |\ntext",
    "Text\n\\[\nx^2\n\\]\n$$y$$\n\n````md\n```\nnested fence\n```\n````\n\n***\n",
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_blocks_split_and_join_back(document: str) -> None:
    blocks, rest = split_blocks(document)
    assert "".join(blocks) + rest == document
    assert len(blocks) >= 2


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("seed", range(4))
def test_streaming_block_by_block_equals_rendering_at_once(document: str, seed: int) -> None:
    rng = random.Random(seed)
    stream = MarkdownStream(RENDERER)
    committed: list[str] = []
    pos = 0
    while pos < len(document):
        step = rng.randint(1, 25)
        update = stream.update(document[pos:pos + step])
        committed.extend(update.committed)
        # What is on screen at any moment is the finished blocks plus the tail, rendered as a whole would be.
        done = "".join(committed)
        assert update.tail_html or done
        pos += step
    committed.extend(stream.finish().committed)
    whole = RENDERER.render(document)
    assert "".join(committed) == whole.html
    assert stream.code_blocks == whole.code_blocks
    assert stream.text == document


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=200))
@settings(max_examples=60, deadline=None)
def test_any_chunking_gives_the_same_result(steps: list[int]) -> None:
    document = RICH_ANSWER
    stream = MarkdownStream(RENDERER)
    committed: list[str] = []
    pos = 0
    for step in steps:
        committed.extend(stream.update(document[pos:pos + step]).committed)
        pos += step
    committed.extend(stream.update(document[pos:]).committed)
    committed.extend(stream.finish().committed)
    assert "".join(committed) == RENDERER.render(document).html


def test_render_blocks_matches_the_stream() -> None:
    blocks, codes = render_blocks(RENDERER, RICH_ANSWER)
    assert "".join(blocks) == RENDERER.render(RICH_ANSWER).html
    assert codes == RENDERER.render(RICH_ANSWER).code_blocks


def test_an_open_fence_streams_as_code_and_is_highlighted_once_closed() -> None:
    stream = MarkdownStream(RENDERER)
    first = stream.update("Intro.\n\n```python\nimport os\nprint(")
    assert first.committed and "Intro." in first.committed[0]
    assert first.open_code is not None
    assert first.open_code.code == "import os\nprint(" and first.open_code.language == "python"
    assert "import os" in first.tail_html and '<span style="color: #' not in first.tail_html  # plain while open
    second = stream.update("os.sep)\n")
    assert second.open_code is not None and second.open_code.start == first.open_code.start
    assert stream.tail_code_blocks() == ["import os\nprint(os.sep)\n"]
    closed = stream.update("```\nAfter")
    assert closed.open_code is None
    assert len(closed.committed) == 1 and '<span style="color: #' in closed.committed[0]  # final, highlighted
    assert "After" in closed.tail_html


def test_work_per_update_does_not_grow_with_the_answer() -> None:
    """Each update parses and renders only the open tail: its size is bounded by the largest block."""
    document = answer_text(3000)
    stream = MarkdownStream(RENDERER)
    sizes: list[int] = []
    for pos in range(0, len(document), 24):
        before = len(stream.text)
        stream.update(document[pos:pos + 24])
        sizes.append(len(stream.text) - before + len(stream.open_text))
    largest_block = max(len(block) for block in split_blocks(document)[0])
    assert max(sizes) <= 2 * largest_block
    assert max(sizes[-100:]) <= max(sizes[:100]) * 1.2


def test_message_defaults() -> None:
    assert MessageView(1, Role.ASSISTANT, "x", status=MessageStatus.INTERRUPTED).can_continue
    assert not MessageView(1, Role.USER, "x", status=MessageStatus.CANCELLED).can_continue
