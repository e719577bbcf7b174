"""The Models page's and the first-run wizard's style sheet, from the theme's palette.

Widgets carry object names (``modelCard``, ``modelsTab``, ``badge``...) and properties (``role`` on labels, ``kind`` on
buttons and badges) set by ``model_widgets``; this sheet gives them their looks. ``window_style`` includes it.
"""

from __future__ import annotations

from hearth.ui.shell.theme import Theme

_VERDICTS = {
    # name: (light text, light tint, dark text, dark tint)
    "Good": ("#1a7f37", "rgba(26, 127, 55, 0.10)", "#56d364", "rgba(86, 211, 100, 0.12)"),
    "Slow": ("#9a6700", "rgba(212, 167, 44, 0.16)", "#e3b341", "rgba(227, 179, 65, 0.14)"),
    "No": ("#b42318", "rgba(180, 35, 24, 0.08)", "#ff7b72", "rgba(255, 123, 114, 0.12)"),
    "Unknown": ("#6b7280", "rgba(107, 114, 128, 0.10)", "#9aa0a6", "rgba(154, 160, 166, 0.12)"),
}


def models_stylesheet(theme: Theme, scope: str = "#modelsPage") -> str:
    """Rules for widgets under ``scope`` (the page, or the wizard's object name)."""
    p = theme.palette
    dark = p.name == "dark"
    r = theme.px(0.55)
    pad = theme.px(0.45)
    pt = theme.font_pt
    s = scope
    rules = [f"""
    {s} {{ background: {p.window}; }}
    {s} #modelsScroll, {s} #modelsColumn, {s} QStackedWidget {{ background: transparent; border: none; }}
    {s} QLabel {{ color: {p.text}; background: transparent; }}
    {s} QLabel[role="heading"] {{ font-size: {pt * 1.75:.1f}pt; font-weight: 700; }}
    {s} QLabel[role="section"] {{ font-size: {pt * 1.2:.1f}pt; font-weight: 650; padding-top: {pad}px; }}
    {s} QLabel[role="title"] {{ font-size: {pt * 1.1:.1f}pt; font-weight: 650; }}
    {s} QLabel[role="strong"] {{ font-weight: 600; }}
    {s} QLabel[role="muted"] {{ color: {p.muted}; }}
    {s} QLabel[role="small"] {{ color: {p.muted}; font-size: {pt * 0.9:.1f}pt; }}
    {s} QLabel[role="note"] {{ color: {p.muted}; font-style: italic; }}
    {s} QLabel[role="error"] {{ color: {p.error_text}; }}
    {s} QLabel[role="mono"] {{ font-family: "{theme.mono_family}"; font-weight: 600; }}
    {s} QLabel[role="callout"] {{ background: {p.invented_bg}; color: {p.text}; border-radius: {r}px;
        padding: {pad * 1.4}px {pad * 2}px; }}
    {s} #rowError[role="error"] {{ background: {p.error_bg}; border: 1px solid {p.error_border};
        border-radius: {r}px; padding: {pad}px {pad * 1.5}px; }}
    {s} #modelCard, {s} #downloadCard {{ background: {p.surface}; border: 1px solid {p.border};
        border-radius: {r * 1.6}px; }}
    {s} #foundCard {{ background: {p.sidebar}; border: 1px dashed {p.border}; border-radius: {r * 1.4}px; }}
    {s} #hardwareCard {{ background: {p.sidebar}; border: 1px solid {p.border}; border-radius: {r * 1.6}px; }}
    {s} #recommendCard {{ background: {p.surface}; border: 2px solid {p.accent}; border-radius: {r * 1.8}px; }}
    {s} QPushButton {{ border-radius: {r}px; padding: {pad * 0.9}px {pad * 2}px; font-weight: 600; }}
    {s} QPushButton[kind="primary"] {{ background: {p.accent}; color: {p.accent_text}; border: 1px solid {p.accent}; }}
    {s} QPushButton[kind="primary"]:hover {{ background: {_mix(p.accent, dark)}; }}
    {s} QPushButton[kind="secondary"] {{ background: {p.surface}; color: {p.text}; border: 1px solid {p.border}; }}
    {s} QPushButton[kind="secondary"]:hover {{ background: {p.hover}; }}
    {s} QPushButton[kind="flat"] {{ background: transparent; color: {p.muted}; border: 1px solid transparent; }}
    {s} QPushButton[kind="flat"]:hover {{ background: {p.hover}; color: {p.text}; }}
    {s} QPushButton[kind="danger"] {{ background: transparent; color: {p.error_text}; border: 1px solid transparent; }}
    {s} QPushButton[kind="danger"]:hover {{ background: {p.error_bg}; border-color: {p.error_border}; }}
    {s} QPushButton:disabled {{ background: {p.hover}; color: {p.faint}; border-color: {p.hover}; }}
    {s} #modelsTab {{ background: transparent; color: {p.muted}; border: none; border-bottom: 2px solid transparent;
        border-radius: 0; padding: {pad}px {pad * 1.6}px; font-size: {pt * 1.02:.1f}pt; }}
    {s} #modelsTab:hover {{ color: {p.text}; }}
    {s} #modelsTab:checked {{ color: {p.text}; border-bottom: 2px solid {p.accent}; }}
    {s} #badge {{ background: {p.chip_bg}; color: {p.chip_text}; border: 1px solid {p.chip_border};
        border-radius: {r * 1.4}px; padding: 1px {pad}px; font-size: {pt * 0.86:.1f}pt; font-weight: 600; }}
    {s} #badge[kind="mono"] {{ font-family: "{theme.mono_family}"; }}
    {s} #badge[kind="accent"] {{ background: {p.avatar_bg}; color: {p.avatar_text}; border-color: transparent; }}
    {s} #badge[kind="warn"] {{ background: {p.invented_bg}; color: {p.invented_text}; border-color: transparent; }}
    {s} #modelAvatar {{ background: {p.avatar_bg}; color: {p.avatar_text}; border-radius: {r * 1.6}px;
        font-size: {pt * 1.2:.1f}pt; font-weight: 700; }}
    {s} #hubSearch {{ background: {p.surface}; color: {p.text}; border: 1px solid {p.border}; border-radius: {r}px;
        padding: {pad * 1.1}px {pad * 1.6}px; }}
    {s} #hubSearch:focus {{ border-color: {p.accent}; }}
    {s} QLineEdit {{ background: {p.surface}; color: {p.text}; border: 1px solid {p.border}; border-radius: {r}px;
        padding: {pad * 0.9}px {pad * 1.4}px; }}
    {s} QProgressBar {{ background: {p.hover}; border: none; border-radius: 4px; }}
    {s} QProgressBar::chunk {{ background: {p.accent}; border-radius: 4px; }}
    """]
    for name, (light_text, light_tint, dark_text, dark_tint) in _VERDICTS.items():
        text, tint = (dark_text, dark_tint) if dark else (light_text, light_tint)
        rules.append(f"{s} #verdict{name} {{ color: {text}; background: {tint}; border-radius: {r * 1.4}px; "
                     f"padding: 2px {pad * 1.2}px; font-weight: 600; }}")
        kind = {"Good": "good", "No": "bad"}.get(name)
        if kind:
            rules.append(f"{s} #badge[kind=\"{kind}\"] {{ color: {text}; background: {tint}; "
                         "border-color: transparent; }")
    return "\n".join(rules)


def _mix(colour: str, dark: bool) -> str:
    """The accent a little lighter (dark theme) or darker (light theme), for hover."""
    value = int(colour.lstrip("#"), 16)
    channels = [(value >> shift) & 0xFF for shift in (16, 8, 0)]
    factor = 1.12 if dark else 0.9
    mixed = [max(0, min(255, int(c * factor))) for c in channels]
    return "#" + "".join(f"{c:02x}" for c in mixed)
