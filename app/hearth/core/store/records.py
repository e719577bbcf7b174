"""What the store hands out: plain, frozen records built from database rows.

Records are snapshots. The GUI may keep them, but the database is the truth: after a change, ask the store again.
Times are seconds since the epoch (``time.time()``), as floats.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hearth.core.engine.events import AnswerStats


# The key in a conversation's settings snapshot that lists the documents pinned "always whole".
WHOLE_DOCUMENTS_KEY = "whole_documents"

class Role(str, Enum):
    """Who wrote a message."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


class MessageStatus(str, Enum):
    """Where a message is in its life.

    ``STREAMING``: the answer is being written right now (saved at most every second).
    ``COMPLETE``: finished normally. ``CANCELLED``: the user pressed Stop; the text so far is kept.
    ``INTERRUPTED``: the app or the engine died while it streamed; the text so far is kept and the GUI offers
    "Continue". ``ERROR``: the answer failed; ``Message.error`` says why in plain words.
    """

    STREAMING = "streaming"
    COMPLETE = "complete"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    ERROR = "error"


class TitleSource(str, Enum):
    """Where a conversation's title came from; a user's own title is never replaced automatically."""

    NONE = "none"
    AUTO = "auto"
    MODEL = "model"
    USER = "user"


@dataclass(frozen=True)
class RunInfo:
    """How an answer was made, shown in the message's details and kept for exports.

    Attributes:
        model_file: the GGUF file name (or path) that wrote the answer.
        model_sha256: its SHA-256, when known.
        quant: quantisation label (e.g. "Q4_K_M").
        plan_summary: one line describing the load plan (GPU layers, experts on CPU, context).
        prompt_tokens: tokens read for this answer.
        tokens: tokens written.
        tokens_per_s: generation speed after the first token.
        ttft_s: seconds to the first token.
        stop_reason: why the answer ended: a ``StopReason`` value ("eos", "stop", "length", "cancelled", "error"...),
            "" when not known.
        extra: anything else worth keeping (context used, cached tokens...), JSON-serialisable.
    """

    model_file: str = ""
    model_sha256: str = ""
    quant: str = ""
    plan_summary: str = ""
    prompt_tokens: int | None = None
    tokens: int | None = None
    tokens_per_s: float | None = None
    ttft_s: float | None = None
    stop_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunInfo:
        """Build from a stored or imported dictionary; unknown keys go to ``extra``."""
        known = {f.name for f in fields(cls)} - {"extra"}
        values = {k: v for k, v in data.items() if k in known}
        extra = dict(data.get("extra") or {})
        extra.update({k: v for k, v in data.items() if k not in known and k != "extra"})
        return cls(**values, extra=extra)

    @classmethod
    def from_answer_stats(
        cls,
        stats: AnswerStats,
        *,
        model_file: str = "",
        model_sha256: str = "",
        quant: str = "",
        plan_summary: str = "",
    ) -> RunInfo:
        """Build from the engine's final statistics for an answer."""
        return cls(
            model_file=model_file,
            model_sha256=model_sha256,
            quant=quant,
            plan_summary=plan_summary,
            prompt_tokens=stats.prompt_tokens,
            tokens=stats.tokens,
            tokens_per_s=stats.tokens_per_s,
            ttft_s=stats.ttft_s,
            stop_reason=stats.stop_reason.value,
            extra={
                "cached_tokens": stats.cached_tokens,
                "trimmed_turns": stats.trimmed_turns,
                "context_used": stats.context_used,
                "n_ctx": stats.n_ctx,
                "template": stats.template,
            },
        )


@dataclass(frozen=True)
class Conversation:
    """One conversation.

    Attributes:
        id: the database id (stable for the life of the conversation).
        uuid: a global id kept across export and import.
        title: shown in the list; "" until the first message.
        title_source: where the title came from (see ``TitleSource``).
        created, updated: times; ``updated`` moves when messages are added or finished.
        pinned: kept at the top of the list.
        model: the model last used (file name or id), "" if none yet.
        system_prompt: the conversation's system prompt.
        settings: the sampling/context settings the conversation was using (a snapshot, JSON-serialisable).
        selected_leaf_id: the last message of the branch on screen (None when empty).
        ui_state: what the GUI wants back on restart (scroll position, ...), JSON-serialisable.
        deleted_at: set while the conversation waits in the undo window; None otherwise.
        preset: the name of the preset the system prompt came from ("" for none, or the user's own words).
    """

    id: int
    uuid: str
    title: str
    title_source: TitleSource
    created: float
    updated: float
    pinned: bool
    model: str
    system_prompt: str
    settings: dict[str, Any]
    selected_leaf_id: int | None
    ui_state: dict[str, Any]
    deleted_at: float | None
    preset: str = ""

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Conversation:
        return cls(
            id=row["id"],
            uuid=row["uuid"],
            title=row["title"],
            title_source=TitleSource(row["title_source"]),
            created=row["created"],
            updated=row["updated"],
            pinned=bool(row["pinned"]),
            model=row["model"],
            system_prompt=row["system_prompt"],
            settings=loads_object(row["settings"]),
            selected_leaf_id=row["selected_leaf_id"],
            ui_state=loads_object(row["ui_state"]),
            deleted_at=row["deleted_at"],
            preset=row["preset"] if "preset" in row.keys() else "",  # noqa: SIM118 - sqlite3.Row has no __contains__
        )

    @property
    def whole_documents(self) -> tuple[str, ...]:
        """sha256 of the documents the user pinned to go into the prompt whole (kept in ``settings``)."""
        value = self.settings.get(WHOLE_DOCUMENTS_KEY)
        return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


@dataclass(frozen=True)
class Message:
    """One message in a conversation's tree.

    Attributes:
        id: the database id.
        conversation_id: the conversation it belongs to.
        parent_id: the message it answers or follows; None for a first message. Edits and regenerations are
            siblings: messages with the same parent.
        role: who wrote it.
        content: the text (for a streaming message: as much as was saved).
        status: see ``MessageStatus``.
        error: for ``ERROR``: what went wrong, in plain words; else "".
        created, updated: times.
        run_info: how an assistant message was made, when known.
    """

    id: int
    conversation_id: int
    parent_id: int | None
    role: Role
    content: str
    status: MessageStatus
    error: str
    created: float
    updated: float
    run_info: RunInfo | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Message:
        run_info = row["run_info"]
        return cls(
            id=row["id"],
            conversation_id=row["conversation_id"],
            parent_id=row["parent_id"],
            role=Role(row["role"]),
            content=row["content"],
            status=MessageStatus(row["status"]),
            error=row["error"],
            created=row["created"],
            updated=row["updated"],
            run_info=RunInfo.from_dict(json.loads(run_info)) if run_info else None,
        )


@dataclass(frozen=True)
class StoredFile:
    """One file's bytes, kept once however many messages attach it (keyed by SHA-256).

    Attributes:
        sha256: hex digest of the bytes.
        size: bytes.
        mime: media type ("application/pdf", "image/png", ...).
        stored_path: where the copy lives, relative to the attachments folder; "" when the copy is missing
            (e.g. a conversation imported from JSON without its files).
        extracted_text: the text read out of it, or None until the documents code has read it.
        reference: for files kept by reference instead of text (e.g. images): what to use, or "".
        page_count: pages, when the format has pages.
        extractor: which extractor (and version) made the text, so a better one can redo it.
        created: when it was first stored.
    """

    sha256: str
    size: int
    mime: str
    stored_path: str
    extracted_text: str | None
    reference: str
    page_count: int | None
    extractor: str
    created: float

    @property
    def extracted(self) -> bool:
        return self.extracted_text is not None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredFile:
        return cls(
            sha256=row["sha256"],
            size=row["size"],
            mime=row["mime"],
            stored_path=row["stored_path"],
            extracted_text=row["extracted_text"],
            reference=row["reference"],
            page_count=row["page_count"],
            extractor=row["extractor"],
            created=row["created"],
        )


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message, under the name the user saw."""

    id: int
    message_id: int
    file_name: str
    file: StoredFile


@dataclass(frozen=True)
class NewAttachment:
    """A file to attach to a new message: a stored file's SHA-256 and the name to show."""

    sha256: str
    file_name: str


def loads_object(text: str | None) -> dict[str, Any]:
    """A JSON object column as a dict ({} for empty or non-object values)."""
    if not text:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def dumps(value: Any) -> str:
    """JSON for a column: compact, stable key order, non-ASCII kept readable."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
