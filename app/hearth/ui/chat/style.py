"""The chat view's style sheet, built from a ``Theme`` (kept apart so the view's module stays about behaviour)."""

from __future__ import annotations

from hearth.ui.shell.theme import Theme


def chat_stylesheet(theme: Theme) -> str:
    """Rules for the chat view and its messages, scoped by object names."""
    p = theme.palette
    small = f"{theme.font_pt * 0.88:.1f}pt"
    radius = theme.px(1.1)
    return f"""
        #chatView, #chatViewport, #chatContent, #chatColumn {{ background: {p.window}; }}
        #chatView QLabel {{ color: {p.text}; }}
        #userBubble {{ background: {p.user_bubble}; border-radius: {radius}px; }}
        #userBubble QTextBrowser {{ color: {p.user_text}; }}
        #avatar {{ background: {p.avatar_bg}; color: {p.avatar_text}; border-radius: {theme.px(0.875)}px;
                   font-weight: 700; font-size: {small}; }}
        #authorLabel {{ color: {p.text}; font-weight: 600; }}
        #chatView #mutedLabel, #chatView #statsLabel, #chatView #branchLabel {{ color: {p.muted}; font-size: {small}; }}
        QToolButton#messageAction {{ color: {p.muted}; background: transparent; border: none;
                                     border-radius: 6px; padding: 3px 7px; font-size: {small}; }}
        QToolButton#messageAction:hover, QToolButton#messageAction:focus {{ background: {p.hover}; color: {p.text}; }}
        QToolButton#messageAction:disabled {{ color: {p.faint}; background: transparent; }}
        #errorBox {{ background: {p.error_bg}; border: 1px solid {p.error_border}; border-radius: 8px; }}
        #errorBox QLabel {{ color: {p.error_text}; }}
        #noticeBox {{ background: {p.notice_bg}; border: 1px solid {p.border}; border-radius: 8px; }}
        #noticeBox QLabel {{ color: {p.notice_text}; }}
        #attachmentChip {{ background: {p.chip_bg}; color: {p.chip_text}; border: 1px solid {p.chip_border};
                           border-radius: 8px; padding: 5px 10px; font-size: {small}; }}
        QPushButton#citationChip {{ background: {p.chip_bg}; color: {p.chip_text}; border: 1px solid {p.chip_border};
                                    border-radius: 10px; padding: 2px 10px; font-size: {small}; }}
        QPushButton#citationChip:hover, QPushButton#citationChip:focus {{ border-color: {p.link}; }}
        QPushButton#citationChip:checked {{ background: {p.hover}; border-color: {p.link}; color: {p.link}; }}
        QPushButton#inventedChip {{ background: {p.invented_bg}; color: {p.invented_text};
                                    border: 1px dashed {p.invented_text}; border-radius: 10px; padding: 2px 10px;
                                    font-size: {small}; }}
        #citationPassage {{ background: {p.code_bg}; color: {p.quote_text}; border-left: 3px solid {p.quote_bar};
                            padding: 8px 12px; }}
        #toolCallBlock {{ background: {p.chip_bg}; border: 1px solid {p.chip_border}; border-radius: 8px; }}
        QToolButton#toolCallHeader {{ color: {p.muted}; background: transparent; border: none; font-size: {small};
                                      text-align: left; }}
        QToolButton#toolCallHeader:hover, QToolButton#toolCallHeader:focus {{ color: {p.text}; }}
        #toolCallDetails {{ background: {p.code_bg}; color: {p.text}; border: none; font-size: {small}; }}
        #jumpButton {{ background: {p.surface}; color: {p.text}; border: 1px solid {p.border};
                       border-radius: {theme.px(1.1)}px; padding: 4px 12px; font-size: {small}; }}
        #jumpButton:hover {{ background: {p.hover}; }}
        #emptyChat, #emptyColumn {{ background: {p.window}; }}
        #emptyTitle {{ color: {p.text}; font-size: {theme.font_pt * 1.6:.1f}pt; font-weight: 650; }}
        #emptyText {{ color: {p.muted}; font-size: {theme.font_pt * 1.02:.1f}pt; }}
        #emptyHint {{ color: {p.muted}; font-size: {small}; }}
        #emptyNote {{ background: {p.notice_bg}; border: 1px solid {p.border}; border-radius: 8px; }}
        #emptyNoteText {{ color: {p.notice_text}; font-size: {small}; }}
        QPushButton#exampleButton {{ background: {p.surface}; color: {p.text}; border: 1px solid {p.border};
                                     border-radius: {radius}px; padding: 8px 14px; text-align: left;
                                     min-height: {theme.px(1.5)}px; }}
        QPushButton#exampleButton:hover, QPushButton#exampleButton:focus {{ background: {p.hover};
                                                                            border-color: {p.link}; }}
        QPushButton#emptyModelsButton {{ background: {p.accent}; color: {p.accent_text}; border: none;
                                         border-radius: {radius}px; padding: 7px 18px; font-weight: 600; }}
        QToolButton#thinkingToggle {{ color: {p.muted}; background: transparent; border: none; padding: 2px 4px;
                                      font-size: {small}; font-weight: 600; }}
        QToolButton#thinkingToggle:hover {{ color: {p.text}; }}
        #thinkingText {{ color: {p.muted}; border-left: 3px solid {p.quote_bar}; padding: 4px 12px;
                         font-size: {small}; }}
    """
