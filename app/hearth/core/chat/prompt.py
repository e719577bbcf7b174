"""The conversation as the engine sees it: system prompt, history, and the latest question with the passages of
the attached documents that fit (documents pinned "always whole" whole, when they fit) and its pictures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hearth.core.chat.attachments import IMAGE_REFERENCE, DocumentCache, branch_documents
from hearth.core.chat.budget import question_with_documents
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
    max_tokens: int | None,
    documents: DocumentCache | None = None,
    reading: ReadingBudget | None = None,
    default_system_prompt: str = "",
) -> tuple[list[dict[str, Any]], RetrievalResult | None]:
    """The conversation as the engine sees it: system prompt, history, and the latest question with any document
    passages that fit (the documents pinned "always whole" whole, when they fit). Runs on the engine's thread (the
    store may be used from any thread).

    The passages are chosen by ``question_with_documents``, the same as ``hearth chat --attach`` does, within the
    context ``n_ctx`` less the answer's room (``max_tokens``) and the rest of the prompt.

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
    partial = [{"role": "assistant", "content": answer.content}] if continue_last else []
    for i, message in enumerate(history):
        # An answer's thinking is never sent back: the model reasons afresh each turn, and old thoughts would
        # crowd the context.
        content = strip_thinking(message.content) if message.role is Role.ASSISTANT else message.content
        images = _image_refs(store, message) if message.role is Role.USER else []
        if i == last_user and attached:
            # Everything else the prompt holds: the messages so far, the ones after this one, a continued answer.
            later = [{"role": m.role.value, "content": strip_thinking(m.content) if m.role is Role.ASSISTANT
                      else m.content} for m in history[i + 1:]]
            others = out + later + partial
            content, retrieval = question_with_documents(
                message.content, attached, n_ctx=n_ctx, max_tokens=max_tokens, before=others,
                pictures=len(images), pinned=conv.whole_documents, reading=reading,
            )
        entry: dict[str, Any] = {"role": message.role.value, "content": content}
        if images:
            entry["images"] = images
        out.append(entry)
    out.extend(partial)
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
