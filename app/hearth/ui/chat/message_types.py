"""The plain data the chat view shows: one ``MessageView`` per message. No Qt; the app builds these from the store."""

from __future__ import annotations

from dataclasses import dataclass

from hearth.core.store import CallStatus, MessageStatus, Role


@dataclass(frozen=True)
class AttachmentChip:
    """A file attached to a user message.

    Attributes:
        name: File name as shown.
        size: Size in bytes.
        kind: A short kind word: "pdf", "docx", "text", "image", "code", "csv"...
        sha256: The stored file's key ("" when not stored).
        whole: The document is pinned to go into the prompt whole ("Always send whole").
    """

    name: str
    size: int
    kind: str = "file"
    sha256: str = ""
    whole: bool = False

    @property
    def can_pin(self) -> bool:
        """A document (not a picture) can be pinned to go whole."""
        return bool(self.sha256) and self.kind != "image"


@dataclass(frozen=True)
class Citation:
    """A source an answer cites.

    Attributes:
        label: What the chip says ("1", "report.pdf p. 3").
        passage: The cited text from the user's documents (shown when the chip is clicked).
        invented: True when the model cited something that is not in the given sources.
        matched: True when the model cited nothing and this is one of the passages that matched the question best
            (small models rarely cite: the user still sees where the answer should come from).
    """

    label: str
    passage: str = ""
    invented: bool = False
    matched: bool = False


_STATUS_WORDS = {CallStatus.RUNNING: "running…", CallStatus.OK: "done", CallStatus.ERROR: "failed",
                 CallStatus.DENIED: "not allowed", CallStatus.SKIPPED: "not run"}


@dataclass(frozen=True)
class ToolCallView:
    """A tool call an answer made, as its collapsible block shows it.

    Attributes:
        name: the tool's name as the model called it.
        server: its server ("Hearth" for built-in tools).
        arguments: the arguments in full (indented JSON).
        result: what came back (plain text, never rendered), or why it did not run.
        status: how it went (running while it runs).
        duration: how long it took, in words ("0.4 s"); "" while running.
    """

    name: str
    server: str
    arguments: str
    result: str = ""
    status: CallStatus = CallStatus.RUNNING
    duration: str = ""

    @property
    def summary(self) -> str:
        """The block's one-line header: "lookup_word · notes · ok · 0.4 s"."""
        words = _STATUS_WORDS[self.status]
        return " · ".join(p for p in (self.name, self.server, words, self.duration) if p)


@dataclass(frozen=True)
class MessageView:
    """Everything the chat view needs to draw one message.

    Attributes:
        id: The message's id in the store (unique within a conversation).
        role: Who wrote it.
        text: Markdown for assistant messages; plain text for user and system messages.
        status: Where it is in its life: COMPLETE, STREAMING, CANCELLED (stopped by the user), INTERRUPTED (the app or
            engine went away mid-answer) or ERROR.
        error: For status ERROR: what went wrong in plain words, with the next step.
        sibling_index: 0-based position among the versions of this message (edits, regenerations).
        sibling_count: How many versions exist; a "‹ 2/3 ›" switcher shows when more than one.
        stats: A short line under an answer, e.g. "42 tokens · 12.3 tok/s".
        author: Name shown over an assistant message (the model); "Assistant" when empty.
        attachments: Files attached to a user message.
        citations: Sources an answer cites.
        sources: What of the user's documents the answer was given, e.g. "report.pdf: 12 of 340 passages".
        cut_off: The answer ended at the length limit, a full context or a loop (so it can be continued).
        thinking_seconds: How long a reasoning model thought before answering (None: unknown or no thinking).
        can_read_more: The answer was given part of a document, held back by reading time or half the context;
            "Read more of the document" asks again with more.
        tool_calls: The tools the answer called, in order.
    """

    id: int
    role: Role
    text: str
    status: MessageStatus = MessageStatus.COMPLETE
    error: str = ""
    sibling_index: int = 0
    sibling_count: int = 1
    stats: str = ""
    author: str = ""
    attachments: tuple[AttachmentChip, ...] = ()
    citations: tuple[Citation, ...] = ()
    sources: str = ""
    cut_off: bool = False
    thinking_seconds: float | None = None
    can_read_more: bool = False
    tool_calls: tuple[ToolCallView, ...] = ()

    @property
    def can_continue(self) -> bool:
        """An answer that stopped before its end can be continued."""
        stopped = self.status in (MessageStatus.CANCELLED, MessageStatus.INTERRUPTED, MessageStatus.ERROR)
        return self.role is Role.ASSISTANT and (stopped or self.cut_off)

