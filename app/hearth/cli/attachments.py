"""``hearth chat --attach FILE``: read the files, choose what fits the model's context, and say what was used.

The engine tokenizes in its child process, so the terminal counts tokens with ``estimate_tokens`` (ASCII at 3.5
characters a token) and keeps a 10% margin for its errors; the engine still trims or refuses a prompt that does
not fit, so an estimate that is off costs a clear error, never a wrong answer.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, TextIO

from hearth.core.chat.attachments import page_pictures
from hearth.core.documents import ExtractedDocument, extract_document, read_document_file
from hearth.core.engine.media import IMAGE_TOKENS_ESTIMATE, ImageRef, image_ref
from hearth.core.errors import EncryptedDocumentError, NoTextLayerError
from hearth.core.retrieval import (
    ReadingBudget,
    RetrievalResult,
    TokenCounter,
    attachment_budget,
    build_prompt,
    estimate_tokens,
    select_context,
)

# Tokens a chat template adds around the messages (turn markers, BOS); generous for every template we know.
TEMPLATE_OVERHEAD_TOKENS = 64
ESTIMATE_MARGIN = 0.10
_PASSWORD_TRIES = 3


def _progress(name: str, err: TextIO) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        if err.isatty() and total > 1:
            err.write(f"\r\033[KReading {name}… page {done:,} of {total:,}")
            if done == total:
                err.write("\r\033[K")
            err.flush()

    return report


def read_attachments(paths: Sequence[Path], *, err: TextIO, page_limit: int = 0
                     ) -> tuple[list[ExtractedDocument], list[ImageRef]]:
    """Extract every attached file, and take the page pictures of scanned PDFs when the model can see. Warnings
    are printed, the first failure is raised; an encrypted PDF asks for its password when the terminal is interactive.

    Args:
        paths: the files.
        err: where warnings and notes go.
        page_limit: the most page pictures of a scanned PDF to send (``page_picture_limit``); 0 when the model
            cannot see (a scanned PDF is then refused).

    Returns:
        The documents, and the page pictures (``report.pdf p.1``...) to send with the first message.

    Raises:
        DocumentError: a file could not be read (its subclasses say why).
    """
    documents: list[ExtractedDocument] = []
    pictures: list[ImageRef] = []
    for path in paths:
        try:
            document = _extract(path, err)
        except NoTextLayerError as exc:
            if not page_limit:
                raise NoTextLayerError(exc.message, page_count=exc.page_count, name=exc.name,
                                       hint="Give the model its vision file (--mmproj) to send the pages as "
                                            "pictures, or run the PDF through OCR first.") from exc
            pages, notes = page_pictures(path.name, read_document_file(path), page_limit)
            err.write(f"{path.name} has no text: sending {len(pages):,} of its {exc.page_count:,} "
                      f"page{'s' if exc.page_count != 1 else ''} to the model as pictures.\n")
            for note in notes:
                err.write(f"hearth: {note}\n")
            pictures.extend(image_ref(page.image, f"{path.name} p.{page.page}") for page in pages)
            continue
        for warning in document.warnings:
            err.write(f"hearth: {warning}\n")
        documents.append(document)
    return documents, pictures


def _extract(path: Path, err: TextIO) -> ExtractedDocument:
    password: str | None = None
    tries = 0
    while True:
        try:
            return extract_document(path, password=password, on_progress=_progress(path.name, err))
        except EncryptedDocumentError as exc:
            tries += 1
            if not sys.stdin.isatty() or tries > _PASSWORD_TRIES:
                raise
            err.write(f"hearth: {exc.message}\n")
            password = getpass.getpass(f"Password for {path.name}: ")


def format_report(result: RetrievalResult) -> str:
    """What was used, for stderr: per document how much, then each block by its prompt label with a preview."""
    lines = [f"Attachments: {result.tokens:,} of {result.budget_tokens:,} tokens (estimated)"]
    lines.extend(f"  {choice.name}: {choice.summary}" for choice in result.choices)
    if result.can_read_more:
        lines.append(f"  (limited to {result.limit}; --read-more sends more of the document)")
    if result.blocks:
        lines.append("Passages used:")
    for block in result.blocks:
        preview = " ".join(block.text.split())
        preview = preview if len(preview) <= 72 else preview[:71] + "…"
        lines.append(f"  [{block.label}] {preview}")
    return "\n".join(lines)


def build_attachment_context(
    documents: Sequence[ExtractedDocument],
    question: str,
    budget_tokens: int,
    count_tokens: TokenCounter = estimate_tokens,
    pinned: Collection[str] = (),
    reading: ReadingBudget | None = None,
) -> tuple[str, str]:
    """The user message carrying the attachments, and the report of what it used.

    Args:
        documents: extracted attachments.
        question: the user's question.
        budget_tokens: tokens the user message may take.
        count_tokens: a token counter (the estimate by default).
        pinned: sha256 of the documents to send whole when they fit (``--attach-whole``).
        reading: the limits by reading time and relevance (``reading_budget``).

    Returns:
        (user message text with the labelled passages and the question, report for stderr).
    """
    result = select_context(question, documents, budget_tokens, count_tokens=count_tokens, pinned=pinned,
                            reading=reading)
    return build_prompt(result), format_report(result)


class AttachmentPrompter:
    """Turns each question into a user message with the attachments, within the loaded model's context.

    Args:
        documents: the extracted attachments.
        n_ctx: the model's context size as loaded.
        max_tokens: the longest answer asked for (the engine keeps ``min(max_tokens, n_ctx / 4)`` for it).
        err: where the report of used passages goes.
        pinned: sha256 of the documents to send whole when they fit (``--attach-whole``).
        reading: the limits by reading time and relevance (``reading_budget``); None: only the space left.
    """

    def __init__(self, documents: Sequence[ExtractedDocument], *, n_ctx: int, max_tokens: int, err: TextIO,
                 pinned: Collection[str] = (), reading: ReadingBudget | None = None) -> None:
        self.documents = list(documents)
        self.pinned = frozenset(pinned)
        self.reading = reading
        self.n_ctx = n_ctx
        self.answer_tokens = min(max_tokens, n_ctx // 4)
        self.err = err

    def budget(self, history: Sequence[dict[str, Any]], extra_tokens: int = 0) -> int:
        """Tokens the next user message may take, after the earlier messages and the answer's room.

        Args:
            history: the earlier messages (their pictures count as ``IMAGE_TOKENS_ESTIMATE`` each).
            extra_tokens: what else the next message holds (its pictures).
        """
        other = TEMPLATE_OVERHEAD_TOKENS + extra_tokens + sum(
            estimate_tokens(str(m.get("content", ""))) + 8 + IMAGE_TOKENS_ESTIMATE * len(m.get("images") or ())
            for m in history
        )
        return attachment_budget(self.n_ctx, answer_tokens=self.answer_tokens, other_tokens=other,
                                 margin=ESTIMATE_MARGIN)

    def compose(self, question: str, history: Sequence[dict[str, Any]], extra_tokens: int = 0) -> str:
        """The user message for ``question``; prints which passages it used."""
        text, report = build_attachment_context(self.documents, question, self.budget(history, extra_tokens),
                                                pinned=self.pinned, reading=self.reading)
        self.err.write(report + "\n")
        self.err.flush()
        return text
