"""Light and dark themes: colours, fonts, sizes and zoom, applied to the QApplication and used by the chat view.

``resolve_theme`` turns the user's choice ("system", "light", "dark") and zoom into a ``Theme``; "system" follows the
OS colour scheme through ``QStyleHints.colorScheme()``. ``apply_theme`` sets the application palette, font and a small
global style sheet. ``ThemeController`` keeps the two in step when the OS switches between light and dark.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont, QFontDatabase, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from hearth.ui.markdown.render import MATH_FAMILIES, MONO_FAMILIES, SANS_FAMILIES, RenderStyle

ThemeMode = Literal["system", "light", "dark"]
ZOOM_STEPS = (0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0)


def theme_mode(name: str) -> ThemeMode:
    """The mode for a theme name from the settings ("light", "dark"; anything else follows the system)."""
    return name if name in ("light", "dark") else "system"  # type: ignore[return-value]


@dataclass(frozen=True)
class Palette:
    """Every colour the views use, as CSS colour strings."""

    name: Literal["light", "dark"]
    window: str
    sidebar: str
    surface: str
    text: str
    muted: str
    faint: str
    border: str
    accent: str
    accent_text: str
    hover: str
    selection: str
    user_bubble: str
    user_text: str
    avatar_bg: str
    avatar_text: str
    link: str
    code_bg: str
    code_header_bg: str
    code_text: str
    inline_code_bg: str
    quote_bar: str
    quote_text: str
    table_border: str
    table_header_bg: str
    rule: str
    error_bg: str
    error_border: str
    error_text: str
    notice_bg: str
    notice_text: str
    chip_bg: str
    chip_text: str
    chip_border: str
    invented_bg: str
    invented_text: str
    pygments_style: str


LIGHT = Palette(
    name="light", window="#ffffff", sidebar="#f7f7f8", surface="#ffffff", text="#1f2328",
    muted="#6b7280", faint="#c4c8cf",
    border="#e5e7eb", accent="#d9480f", accent_text="#ffffff", hover="#f1f3f5", selection="#cfe3ff",
    user_bubble="#f1f3f5", user_text="#1f2328", avatar_bg="#fde8dc", avatar_text="#b93d0c", link="#0b63ce",
    code_bg="#f6f8fa", code_header_bg="#eceff2", code_text="#1f2328", inline_code_bg="#eef0f2",
    quote_bar="#d0d7de", quote_text="#57606a", table_border="#d8dee4", table_header_bg="#f6f8fa", rule="#e5e7eb",
    error_bg="#fff1f0", error_border="#f5c2c0", error_text="#a61b1b", notice_bg="#f6f8fa", notice_text="#57606a",
    chip_bg="#f6f8fa", chip_text="#374151", chip_border="#e5e7eb", invented_bg="#fff8e6", invented_text="#8a5a00",
    pygments_style="default",
)
DARK = Palette(
    name="dark", window="#1e1f22", sidebar="#18191b", surface="#26282c", text="#e6e6e6",
    muted="#9aa0a6", faint="#5a5e66",
    border="#34363b", accent="#ff7a45", accent_text="#1e1f22", hover="#2c2e33", selection="#264f78",
    user_bubble="#2c2e33", user_text="#ececec", avatar_bg="#4a2a1c", avatar_text="#ffb38a", link="#6cb6ff",
    code_bg="#16171a", code_header_bg="#232529", code_text="#e6e6e6", inline_code_bg="#2c2e33",
    quote_bar="#4b4f57", quote_text="#b0b6bd", table_border="#3a3d43", table_header_bg="#26282c", rule="#34363b",
    error_bg="#3a1f1f", error_border="#6b2d2d", error_text="#ffb4ab", notice_bg="#26282c", notice_text="#b0b6bd",
    chip_bg="#26282c", chip_text="#d0d4d9", chip_border="#3a3d43", invented_bg="#3b3220", invented_text="#f0c674",
    pygments_style="github-dark",
)


@dataclass(frozen=True)
class Theme:
    """A resolved theme: the palette in force, fonts and sizes.

    Attributes:
        mode: What the user chose ("system", "light" or "dark").
        palette: The colours in force (for "system", the OS's current scheme).
        base_pt: Body text size at zoom 1.0, in points.
        zoom: Zoom factor (``ZOOM_STEPS`` are the offered values).
        sans_family / mono_family / math_family: Installed font families chosen from the preferred stacks.
    """

    mode: ThemeMode = "system"
    palette: Palette = LIGHT
    base_pt: float = 11.0
    zoom: float = 1.0
    sans_family: str = "DejaVu Sans"
    mono_family: str = "DejaVu Sans Mono"
    math_family: str = "DejaVu Serif"

    @property
    def font_pt(self) -> float:
        """Body text size with the zoom applied."""
        return self.base_pt * self.zoom

    def px(self, factor: float) -> int:
        """A length in pixels that scales with the text size (spacing, radii)."""
        return max(1, round(self.font_pt * 96 / 72 * factor))

    def font(self, factor: float = 1.0, weight: QFont.Weight = QFont.Weight.Normal) -> QFont:
        """The UI font at ``factor`` times the body size."""
        font = QFont(self.sans_family)
        font.setPointSizeF(self.font_pt * factor)
        font.setWeight(weight)
        return font

    def mono_font(self) -> QFont:
        font = QFont(self.mono_family)
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSizeF(self.font_pt * 0.92)
        return font

    def render_style(self) -> RenderStyle:
        """The Markdown renderer's style for this theme."""
        p = self.palette
        return RenderStyle(
            text=p.text, muted=p.muted, link=p.link, code_bg=p.code_bg, code_header_bg=p.code_header_bg,
            code_text=p.code_text, inline_code_bg=p.inline_code_bg, inline_code_text=p.text, quote_bar=p.quote_bar,
            quote_text=p.quote_text, table_border=p.table_border, table_header_bg=p.table_header_bg, rule=p.rule,
            pygments_style=p.pygments_style, base_pt=self.font_pt, mono_families=(self.mono_family,),
            math_families=(self.math_family,),
        )

    def with_zoom(self, zoom: float) -> Theme:
        return replace(self, zoom=max(0.5, min(3.0, zoom)))


def system_scheme(app: QGuiApplication | None = None) -> Literal["light", "dark"]:
    """The OS colour scheme; light when the platform does not say."""
    app = app or QGuiApplication.instance()  # type: ignore[assignment]
    if app is None:
        return "light"
    return "dark" if app.styleHints().colorScheme() == Qt.ColorScheme.Dark else "light"


def _first_installed(preferred: tuple[str, ...], fallback: QFontDatabase.SystemFont) -> str:
    installed = set(QFontDatabase.families())
    for family in preferred:
        if family in installed:
            return family
    return QFontDatabase.systemFont(fallback).family()


def resolve_theme(mode: ThemeMode = "system", zoom: float = 1.0, base_pt: float = 11.0,
                  os_scheme: Literal["light", "dark"] | None = None) -> Theme:
    """The theme for the user's choice; needs a QGuiApplication (for the OS scheme and the installed fonts).

    Args:
        mode: "system", "light" or "dark".
        zoom: Zoom factor.
        base_pt: Body text size at zoom 1.0.
        os_scheme: The OS scheme if already known (from ``colorSchemeChanged``); asked from Qt otherwise.
    """
    scheme = (os_scheme or system_scheme()) if mode == "system" else mode
    return Theme(
        mode=mode, palette=DARK if scheme == "dark" else LIGHT, base_pt=base_pt, zoom=zoom,
        sans_family=_first_installed(SANS_FAMILIES, QFontDatabase.SystemFont.GeneralFont),
        mono_family=_first_installed(MONO_FAMILIES, QFontDatabase.SystemFont.FixedFont),
        math_family=_first_installed(MATH_FAMILIES, QFontDatabase.SystemFont.GeneralFont),
    )


def qpalette(palette: Palette) -> QPalette:
    """A QPalette with the theme's colours, so stock widgets (menus, dialogs, inputs) match."""
    q = QPalette()
    roles = {
        QPalette.ColorRole.Window: palette.window, QPalette.ColorRole.WindowText: palette.text,
        QPalette.ColorRole.Base: palette.surface, QPalette.ColorRole.AlternateBase: palette.sidebar,
        QPalette.ColorRole.Text: palette.text, QPalette.ColorRole.Button: palette.surface,
        QPalette.ColorRole.ButtonText: palette.text, QPalette.ColorRole.Highlight: palette.selection,
        QPalette.ColorRole.HighlightedText: palette.text, QPalette.ColorRole.Link: palette.link,
        QPalette.ColorRole.ToolTipBase: palette.surface, QPalette.ColorRole.ToolTipText: palette.text,
        QPalette.ColorRole.PlaceholderText: palette.muted, QPalette.ColorRole.Mid: palette.border,
        QPalette.ColorRole.Accent: palette.accent,
    }
    for role, colour in roles.items():
        q.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        q.setColor(QPalette.ColorGroup.Disabled, role, QColor(palette.muted))
    return q


def app_stylesheet(theme: Theme) -> str:
    """The application-wide style sheet: slim scroll bars and tool tips. View-specific rules live with the views."""
    p = theme.palette
    return (
        f"QToolTip {{ background: {p.surface}; color: {p.text}; border: 1px solid {p.border}; padding: 4px 6px; }}"
        f"QScrollBar:vertical {{ background: transparent; width: 10px; margin: 2px; }}"
        f"QScrollBar::handle:vertical {{ background: {p.border}; border-radius: 3px; min-height: 32px; }}"
        f"QScrollBar::handle:vertical:hover {{ background: {p.muted}; }}"
        "QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical { height: 0px; }"
        "QScrollBar::add-page:vertical, QScrollBar::sub-page:vertical { background: transparent; }"
    )


def apply_theme(app: QApplication, theme: Theme) -> None:
    """Set the application's palette, font and global style sheet for ``theme``."""
    app.setPalette(qpalette(theme.palette))
    app.setFont(theme.font())
    app.setStyleSheet(app_stylesheet(theme))


class ThemeController(QObject):
    """Holds the user's theme choice and zoom, applies them, and follows the OS while the choice is "system".

    Signals:
        theme_changed(Theme): The new theme after a change of mode, zoom or OS scheme.
    """

    theme_changed = Signal(Theme)

    def __init__(self, app: QApplication, mode: ThemeMode = "system", zoom: float = 1.0,
                 base_pt: float = 11.0) -> None:
        super().__init__(app)
        self._app = app
        self._mode: ThemeMode = mode
        self._zoom = zoom
        self._base_pt = base_pt
        self._os_scheme = system_scheme(app)
        self.theme = resolve_theme(mode, zoom, base_pt, self._os_scheme)
        app.styleHints().colorSchemeChanged.connect(self._on_style_hints_color_scheme_changed)

    def apply(self) -> Theme:
        """Apply the current theme to the application and return it."""
        apply_theme(self._app, self.theme)
        return self.theme

    def set_mode(self, mode: ThemeMode) -> None:
        self._mode = mode
        self._refresh()

    def set_zoom(self, zoom: float) -> None:
        self._zoom = max(0.5, min(3.0, zoom))
        self._refresh()

    def zoom_in(self) -> None:
        self.set_zoom(next((z for z in ZOOM_STEPS if z > self._zoom + 1e-6), ZOOM_STEPS[-1]))

    def zoom_out(self) -> None:
        self.set_zoom(next((z for z in reversed(ZOOM_STEPS) if z < self._zoom - 1e-6), ZOOM_STEPS[0]))

    def _refresh(self) -> None:
        theme = resolve_theme(self._mode, self._zoom, self._base_pt, self._os_scheme)
        if theme == self.theme:  # restyling every widget takes tens of milliseconds; any settings change comes here
            return
        self.theme = theme
        self.apply()
        self.theme_changed.emit(self.theme)

    @Slot(Qt.ColorScheme)
    def _on_style_hints_color_scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        self._os_scheme = "dark" if scheme == Qt.ColorScheme.Dark else "light"
        if self._mode == "system":
            self._refresh()
