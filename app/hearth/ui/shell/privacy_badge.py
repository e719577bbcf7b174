"""The status bar's badge for a remote model on another computer: "runs on HOST: your messages leave this computer"."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.remote import RemoteServer, privacy_words, remote_of


def badge_words(plan: LoadPlan | None) -> str:
    """The badge's text for the model in use ("" when nothing leaves this computer)."""
    remote = remote_of(plan) if plan is not None else None
    if remote is None:
        return ""
    server = RemoteServer(remote[0])
    if server.is_local:
        return ""
    words = f"Runs on {server.label}: your messages leave this computer"
    return words + (" (unencrypted)" if not server.encrypted else "")


class PrivacyBadge(QLabel):
    """Shown while a model of a server on another computer is in use; its tooltip says the whole of it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("privacyBadge")
        self.setProperty("kind", "warning")
        self.hide()

    def show_for(self, plan: LoadPlan | None) -> None:
        words = badge_words(plan)
        self.setText(words)
        remote = remote_of(plan) if plan is not None else None
        self.setToolTip(privacy_words(RemoteServer(remote[0])) if remote else "")
        self.setAccessibleName(words)
        self.setVisible(bool(words))
