"""The style sheet of the window's chrome (side list, header, composer, status bar, toast, Models page), from the
theme's palette. The chat view styles itself (``chat_style``)."""

from __future__ import annotations

from hearth.ui.models.style import models_stylesheet
from hearth.ui.shell.theme import Theme


def window_stylesheet(theme: Theme) -> str:
    p = theme.palette
    r = theme.px(0.55)
    pad = theme.px(0.45)
    return f"""
    QMainWindow, #chatPage, #modelsPage {{ background: {p.window}; }}
    #sidebar {{ background: {p.sidebar}; border-right: 1px solid {p.border}; }}
    #sidebar QListView {{ background: transparent; border: none; outline: none; }}
    #sidebar QListView::item {{ padding: {pad}px {pad * 2}px; border-radius: {r}px; color: {p.text}; }}
    #sidebar QListView::item:hover {{ background: {p.hover}; }}
    #sidebar QListView::item:selected {{ background: {p.selection}; color: {p.text}; }}
    #newChatButton {{ background: {p.surface}; color: {p.text}; border: 1px solid {p.border};
        border-radius: {r}px; padding: {pad}px {pad * 2}px; font-weight: 600; text-align: left; }}
    #newChatButton:hover {{ background: {p.hover}; }}
    #chatSearch {{ background: {p.surface}; color: {p.text}; border: 1px solid {p.border}; border-radius: {r}px;
        padding: {pad}px {pad * 1.5}px; }}
    #chatSearch:focus {{ border-color: {p.accent}; }}
    #chatTitle {{ color: {p.text}; font-weight: 600; }}
    #modelButton, #settingsButton, #headerButton, #presetButton {{ background: transparent; color: {p.text};
        border: 1px solid {p.border}; border-radius: {r}px; padding: {pad * 0.8}px {pad * 1.6}px; }}
    #modelButton:hover, #settingsButton:hover, #headerButton:hover, #presetButton:hover {{ background: {p.hover}; }}
    #presetButton::menu-indicator {{ image: none; width: 0; }}
    #composer {{ background: {p.window}; }}
    #composerBox {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: {r * 2}px; }}
    #composerBox:focus-within {{ border-color: {p.accent}; }}
    #composerEditor {{ background: transparent; color: {p.text}; border: none; }}
    #composerReason {{ color: {p.muted}; padding-left: 4px; }}
    #composerAttach {{ background: transparent; color: {p.muted}; border: none; border-radius: {r}px;
        padding: {pad * 0.6}px {pad}px; font-size: {theme.font_pt * 1.3:.1f}pt; }}
    #composerAttach:hover {{ background: {p.hover}; color: {p.text}; }}
    #sendButton {{ background: {p.accent}; color: {p.accent_text}; border: none; border-radius: {r}px;
        padding: {pad}px {pad * 2.4}px; font-weight: 600; }}
    #sendButton:disabled {{ background: {p.hover}; color: {p.faint}; }}
    #sendButton[stop="true"] {{ background: {p.text}; color: {p.window}; }}
    #attachmentChip {{ background: {p.chip_bg}; color: {p.chip_text}; border: 1px solid {p.chip_border};
        border-radius: {r}px; }}
    QStatusBar {{ background: {p.sidebar}; color: {p.muted}; border-top: 1px solid {p.border}; }}
    QStatusBar QLabel {{ color: {p.muted}; padding: 0 6px; }}
    #toast {{ background: {p.text}; border-radius: {r * 1.5}px; }}
    #toast QLabel {{ color: {p.window}; }}
    #toastAction {{ background: transparent; color: {p.accent}; border: none; font-weight: 600; padding: 4px 8px; }}
    #toastClose {{ background: transparent; color: {p.faint}; border: none; padding: 4px; }}
    #modelsPage QLabel[role="heading"] {{ color: {p.text}; font-size: {theme.font_pt * 1.45:.1f}pt; font-weight: 600; }}
    #modelsPage QLabel[role="muted"] {{ color: {p.muted}; }}
    #modelCard {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: {r * 1.5}px; }}
    #verdictGood {{ color: #1a7f37; font-weight: 600; }}
    #verdictSlow {{ color: #9a6700; font-weight: 600; }}
    #verdictNo {{ color: {p.error_text}; font-weight: 600; }}
    QProgressBar {{ background: {p.hover}; border: none; border-radius: {r}px; height: {pad}px; text-align: center;
        color: {p.text}; }}
    QProgressBar::chunk {{ background: {p.accent}; border-radius: {r}px; }}
    """ + models_stylesheet(theme)
