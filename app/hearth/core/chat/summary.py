"""Continuing a conversation that outgrew the model's context: a new chat that starts from the model's own summary.

The old conversation goes to the new chat as an attached Markdown transcript ("Earlier conversation.md"), pinned to
go whole when it fits, with a request for a summary; the model's answer is the summary, and the chat goes on from
there with it in the model's memory. The transcript is an ordinary attachment: the person sees what was sent, and
a transcript longer than the context is read like any long document (the passages that fit).
"""

from __future__ import annotations

from collections.abc import Sequence

from hearth.core.store import Message, Role

SUMMARY_FILE_NAME = "Earlier conversation.md"
SUMMARY_REQUEST = (
    "The attached file is our earlier conversation, which grew longer than your memory. Summarise it so that we can "
    "continue here: the questions asked, the answers and decisions reached, facts, names and numbers that matter, "
    "and anything still open. Write the summary only."
)
_ROLE_WORDS = {Role.USER: "You", Role.ASSISTANT: "Assistant", Role.SYSTEM: "Instructions"}


def forgotten_words(count: int) -> str:
    """The window's sentence for ``count`` messages that are no longer in the model's memory."""
    if count == 1:
        return "The oldest message is no longer in the model's memory."
    return f"The oldest {count} messages are no longer in the model's memory."


def conversation_transcript(title: str, messages: Sequence[Message]) -> str:
    """The conversation as Markdown, oldest first (empty and failed answers left out)."""
    lines = [f"# {title or 'Earlier conversation'}", ""]
    for message in messages:
        text = message.content.strip()
        if not text:
            continue
        lines += [f"## {_ROLE_WORDS.get(message.role, message.role.value)}", "", text, ""]
    return "\n".join(lines).rstrip() + "\n"
