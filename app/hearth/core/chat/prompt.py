"""The conversation as the engine sees it: system prompt, history, and the latest question with the passages of
the attached documents that fit (documents pinned "always whole" whole, when they fit) and its pictures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hearth.core.chat.attachments import IMAGE_REFERENCE, DocumentCache, branch_documents, question_with_documents
from hearth.core.engine.media import image_file_ref
from hearth.core.retrieval import ReadingBudget, RetrievalResult
from hearth.core.store import Message, Role, Store
from hearth.core.thinking import strip_thinking


def engine_messages(
    store: Store,
    answer: Message,
    history: Sequence[Message],
    continue_last: bool,
    *,
    n_ctx: int,
    answer_tokens: int,
    documents: DocumentCache | None = None,
    reading: ReadingBudget | None = None,
    default_system_prompt: str = "",
) -> tuple[list[dict[str, Any]], RetrievalResult | None]:
    """The conversation as the engine sees it: system prompt, history, and the latest question with any document
    passages that fit (the documents pinned "always whole" whole, when they fit). Runs on the engine's thread (the
    store may be used from any thread).

    Args:
        default_system_prompt: the model's recommended system prompt, sent when the conversation has none of its
            own ("No preset"). Without it some chat templates put in their own (SmolLM2's "You are a helpful AI
            assistant named SmolLM, ..."), with which the starter model answers worse.
    """
    conv = store.conversations.get(answer.conversation_id)
    out: list[dict[str, Any]] = []
    system = conv.system_prompt if conv.system_prompt.strip() else default_system_prompt
    if system.strip():
        out.append({"role": "system", "content": system})
    retrieval = None
    last_user = max((i for i, m in enumerate(history) if m.role is Role.USER), default=-1)
    attached = branch_documents(store, history, documents)
    for i, message in enumerate(history):
        # An answer's thinking is never sent back: the model reasons afresh each turn, and old thoughts would
        # crowd the context.
        content = strip_thinking(message.content) if message.role is Role.ASSISTANT else message.content
        if i == last_user and attached:
            earlier = "\n".join(m.content for m in history[:i])
            content, retrieval = question_with_documents(
                message.content, attached, n_ctx=n_ctx, answer_tokens=answer_tokens, history_text=earlier,
                pinned=conv.whole_documents, reading=reading,
            )
        entry: dict[str, Any] = {"role": message.role.value, "content": content}
        if message.role is Role.USER:
            images = _image_refs(store, message)
            if images:
                entry["images"] = images
        out.append(entry)
    if continue_last:
        out.append({"role": "assistant", "content": answer.content})
    return out, retrieval


def _image_refs(store: Store, message: Message) -> list[dict[str, Any]]:
    """The pictures attached to a user message, as the engine reads them (the stored, prepared copies)."""
    refs = []
    for attachment in store.attachments.for_message(message.id, contents=False):
        if attachment.file.reference != IMAGE_REFERENCE:
            continue
        path = store.attachments.path_of(attachment.file)
        if path is not None:
            refs.append(dict(image_file_ref(path, sha256=attachment.file.sha256, name=attachment.file_name)))
    return refs
