"""Export a conversation to Markdown or JSON, and import Hearth's JSON back.

The JSON format (``"format": "hearth.conversation"``, ``"version": 1``) is ours and stable: a newer Hearth reads
every older version. It carries the conversation's fields, its messages with their tree (``id``/``parent`` are
local to the file) and run info, and each attachment's name and content hash. The files themselves travel in the
archive (``archive.py``); a conversation imported from JSON alone lists its attachments without their copies.
"""

from __future__ import annotations

import time
import uuid as uuid_module
from typing import Any, Literal

from hearth.core.errors import StoreError
from hearth.core.store.messages import select_leaf
from hearth.core.store.records import (
    Attachment,
    Conversation,
    Message,
    MessageStatus,
    Role,
    RunInfo,
    StoredFile,
    TitleSource,
    dumps,
)
from hearth.core.store.store import Store
from hearth.core.store.tool_calls import CallStatus, ToolCallRecord, duration_words, insert_tool_calls
from hearth.core.thinking import split_thinking, strip_thinking

FORMAT = "hearth.conversation"
FORMAT_VERSION = 1
IfExists = Literal["skip", "copy"]

_ROLE_HEADINGS = {Role.USER: "You", Role.ASSISTANT: "Assistant", Role.SYSTEM: "System"}
_STATUS_NOTES = {
    MessageStatus.STREAMING: "*(answer still being written)*",
    MessageStatus.CANCELLED: "*(stopped)*",
    MessageStatus.INTERRUPTED: "*(answer interrupted)*",
}


def conversation_to_markdown(store: Store, conv_id: int, *, thinking: bool = False) -> str:
    """The conversation's active branch as a Markdown document.

    Args:
        thinking: include a reasoning model's thoughts (as a folded ``<details>`` block before each answer).
    """
    conv = store.conversations.get(conv_id, include_deleted=True)
    branch = store.messages.active_branch(conv_id)
    attachments = store.attachments.for_messages(m.id for m in branch)
    calls = store.tool_calls.for_messages(m.id for m in branch if m.role is Role.ASSISTANT)
    lines = [f"# {conv.title or 'Conversation'}", ""]
    meta = [f"Started {_when(conv.created)}"]
    if conv.model:
        meta.insert(0, f"Model: {conv.model}")
    lines += ["*" + " · ".join(meta) + "*", ""]
    if conv.system_prompt.strip():
        lines += [f"> **System prompt** ({conv.preset})" if conv.preset else "> **System prompt**", ">"]
        lines += ["> " + line if line else ">" for line in conv.system_prompt.splitlines()]
        lines.append("")
    for msg in branch:
        lines += [f"## {_ROLE_HEADINGS[msg.role]}", ""]
        content = msg.content
        if msg.role is Role.ASSISTANT:
            thoughts = split_thinking(content)
            content = thoughts.answer
            if thinking and thoughts.thinking:
                lines += ["<details><summary>Thinking</summary>", "", thoughts.thinking, "", "</details>", ""]
        for call in calls.get(msg.id, []):
            lines += _call_markdown(call)
        if content:
            lines += [content.rstrip("\n"), ""]
        files = attachments.get(msg.id, [])
        if files:
            lines += ["Attached: " + ", ".join(_describe(a) for a in files), ""]
        if msg.status is MessageStatus.ERROR:
            lines += [f"*(error: {msg.error or 'the answer failed'})*", ""]
        elif msg.status in _STATUS_NOTES:
            lines += [_STATUS_NOTES[msg.status], ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def conversation_to_json(store: Store, conv_id: int, *, all_branches: bool = False,
                         thinking: bool = True) -> dict[str, Any]:
    """The conversation as a JSON-serialisable dict in our format.

    Args:
        store: the store.
        conv_id: the conversation.
        all_branches: every edit and regeneration (True) or just the branch on screen (False).
        thinking: keep a reasoning model's thoughts in the answers (True: the file imports back as it was).
    """
    conv = store.conversations.get(conv_id, include_deleted=True)
    messages = store.messages.all_messages(conv_id) if all_branches else store.messages.active_branch(conv_id)
    attachments = store.attachments.for_messages(m.id for m in messages)
    calls = store.tool_calls.for_messages(m.id for m in messages if m.role is Role.ASSISTANT)
    branch = store.messages.active_branch(conv_id)
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "exported_at": time.time(),
        "branches": "all" if all_branches else "active",
        "conversation": _conversation_dict(conv),
        "selected_leaf": branch[-1].id if branch else None,
        "messages": [_message_dict(m, attachments.get(m.id, []), calls.get(m.id, []), thinking) for m in messages],
    }


def import_conversation(
    store: Store,
    data: dict[str, Any],
    *,
    if_exists: IfExists = "skip",
    files: dict[str, StoredFile] | None = None,
) -> int | None:
    """Add a conversation exported by ``conversation_to_json``; returns its new id.

    Args:
        store: the store.
        data: the parsed JSON.
        if_exists: a conversation with the same uuid is already here: "skip" it (returns None) or import a "copy"
            under a new uuid.
        files: stored files by hash (the archive passes those it restored); other attachments are recorded
            without a copy.

    Raises:
        StoreError: the data is not a Hearth conversation this version can read.
    """
    conv_data, messages = _validated(data)
    clock = time.time
    conv_uuid = str(conv_data.get("uuid") or uuid_module.uuid4())
    if store.conversations.find_by_uuid(conv_uuid) is not None:
        if if_exists == "skip":
            return None
        conv_uuid = str(uuid_module.uuid4())
    files = files or {}
    with store.db.write() as conn:
        cur = conn.execute(
            "INSERT INTO conversations (uuid, title, title_source, created, updated, pinned, model, system_prompt,"
            " settings, ui_state, preset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conv_uuid,
                str(conv_data.get("title", "")),
                _title_source(conv_data.get("title_source")),
                float(conv_data.get("created") or clock()),
                float(conv_data.get("updated") or clock()),
                int(bool(conv_data.get("pinned"))),
                str(conv_data.get("model", "")),
                str(conv_data.get("system_prompt", "")),
                dumps(conv_data.get("settings") or {}),
                dumps(conv_data.get("ui_state") or {}),
                str(conv_data.get("preset", "")),
            ),
        )
        conv_id = int(cur.lastrowid or 0)
        new_ids: dict[Any, int] = {}
        for item in messages:
            status = MessageStatus(item.get("status", "complete"))
            if status is MessageStatus.STREAMING:
                status = MessageStatus.INTERRUPTED
            run_info = item.get("run_info")
            created = float(item.get("created") or clock())
            cur = conn.execute(
                "INSERT INTO messages (conversation_id, parent_id, role, content, status, error, created,"
                " updated, run_info) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conv_id,
                    new_ids[item["parent"]] if item.get("parent") is not None else None,
                    Role(item["role"]).value,
                    str(item.get("content", "")),
                    status.value,
                    str(item.get("error", "")),
                    created,
                    float(item.get("updated") or created),
                    dumps(RunInfo.from_dict(run_info).to_dict()) if isinstance(run_info, dict) else None,
                ),
            )
            new_ids[item["id"]] = int(cur.lastrowid or 0)
            for position, att in enumerate(item.get("attachments") or []):
                sha = str(att["sha256"])
                store.attachments.ensure_record(conn, files.get(sha) or _file_from_json(att, clock()))
                conn.execute(
                    "INSERT INTO attachments (message_id, sha256, file_name, position) VALUES (?, ?, ?, ?)",
                    (new_ids[item["id"]], sha, str(att.get("file_name", "")), position),
                )
            records = [ToolCallRecord.from_dict(c) for c in item.get("tool_calls") or [] if isinstance(c, dict)]
            if records:
                insert_tool_calls(conn, new_ids[item["id"]], records)
        leaf = data.get("selected_leaf")
        select_leaf(conn, conv_id, new_ids.get(leaf) if leaf is not None else None)
    return conv_id


def _validated(data: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The conversation and its messages (parents first), or a plain-words error."""

    def bad(why: str) -> StoreError:
        return StoreError("This file is not a Hearth conversation that can be imported.", details=why)

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise bad("missing or wrong 'format'")
    version = data.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise StoreError(
            "This conversation was exported by a newer Hearth.",
            hint="Update Hearth, then import it again.",
            details=f"format version {version!r}",
        )
    conv = data.get("conversation")
    messages = data.get("messages")
    if not isinstance(conv, dict) or not isinstance(messages, list):
        raise bad("missing 'conversation' or 'messages'")
    roles = {r.value for r in Role}
    statuses = {s.value for s in MessageStatus}
    by_id: dict[Any, dict[str, Any]] = {}
    for item in messages:
        if not isinstance(item, dict) or "id" not in item or item.get("role") not in roles:
            raise bad(f"bad message entry: {str(item)[:80]}")
        if item.get("status", "complete") not in statuses or item["id"] in by_id:
            raise bad(f"bad status or repeated id in message {item.get('id')!r}")
        for att in item.get("attachments") or []:
            if not isinstance(att, dict) or not isinstance(att.get("sha256"), str):
                raise bad(f"bad attachment in message {item['id']!r}")
        by_id[item["id"]] = item
    ordered: list[dict[str, Any]] = []
    placed: set[Any] = set()
    pending = list(messages)
    while pending:
        ready = [m for m in pending if m.get("parent") is None or m["parent"] in placed]
        if not ready:
            raise bad("messages refer to parents that are missing, or form a loop")
        ordered += ready
        placed.update(m["id"] for m in ready)
        pending = [m for m in pending if m["id"] not in placed]
    return conv, ordered


def _conversation_dict(conv: Conversation) -> dict[str, Any]:
    return {
        "uuid": conv.uuid,
        "title": conv.title,
        "title_source": conv.title_source.value,
        "created": conv.created,
        "updated": conv.updated,
        "pinned": conv.pinned,
        "model": conv.model,
        "system_prompt": conv.system_prompt,
        "preset": conv.preset,
        "settings": conv.settings,
        "ui_state": conv.ui_state,
    }


def _message_dict(msg: Message, attachments: list[Attachment], calls: list[ToolCallRecord],
                  thinking: bool = True) -> dict[str, Any]:
    content = msg.content if thinking or msg.role is not Role.ASSISTANT else strip_thinking(msg.content)
    data: dict[str, Any] = {
        "id": msg.id,
        "parent": msg.parent_id,
        "role": msg.role.value,
        "content": content,
        "status": msg.status.value,
        "error": msg.error,
        "created": msg.created,
        "updated": msg.updated,
        "run_info": msg.run_info.to_dict() if msg.run_info else None,
        "attachments": [
            {
                "file_name": a.file_name,
                "sha256": a.file.sha256,
                "size": a.file.size,
                "mime": a.file.mime,
                "page_count": a.file.page_count,
            }
            for a in attachments
        ],
    }
    if calls:
        data["tool_calls"] = [c.to_dict() for c in calls]
    return data


_CALL_WORDS = {CallStatus.OK: "ok", CallStatus.ERROR: "failed", CallStatus.DENIED: "not allowed",
               CallStatus.SKIPPED: "not run", CallStatus.RUNNING: "interrupted"}


def _fence(text: str, info: str = "") -> list[str]:
    """``text`` in a code fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in text.split("\n") for run in _backtick_runs(run)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, text.rstrip("\n"), fence]


def _backtick_runs(line: str) -> list[str]:
    runs, current = [], ""
    for char in line:
        if char == "`":
            current += char
        elif current:
            runs.append(current)
            current = ""
    return [*runs, current] if current else runs


def _call_markdown(call: ToolCallRecord) -> list[str]:
    """A tool call as a collapsible block (HTML ``details``, which Markdown viewers fold)."""
    summary = (f"Tool: {call.tool} ({call.server}) · {_CALL_WORDS[call.status]} · "
               f"{duration_words(call.duration_s)}").replace("<", "&lt;")
    return ["<details>", f"<summary>{summary}</summary>", "", "Arguments:", "",
            *_fence(call.arguments_pretty(), "json"), "", "Result:", "", *_fence(call.result or "(nothing)", "text"),
            "", "</details>", ""]


def _file_from_json(att: dict[str, Any], now: float) -> StoredFile:
    """A file record for an attachment whose copy did not come with the import."""
    return StoredFile(
        sha256=str(att["sha256"]),
        size=int(att.get("size") or 0),
        mime=str(att.get("mime", "")),
        stored_path="",
        extracted_text=None,
        reference="",
        page_count=att.get("page_count") if isinstance(att.get("page_count"), int) else None,
        extractor="",
        created=now,
    )


def _title_source(value: Any) -> str:
    try:
        return TitleSource(value).value
    except ValueError:
        return TitleSource.USER.value


def _describe(attachment: Attachment) -> str:
    pages = attachment.file.page_count
    return f"{attachment.file_name} ({pages} pages)" if pages else attachment.file_name


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))
