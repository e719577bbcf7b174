"""``hearth chat --attach FILE``: read the files, choose what fits the model's context, and say what was used.

What fits is decided by ``hearth.core.chat.budget``, the same budget the window uses, so one question about one
document gets the same passages in the terminal and in the window.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from hearth.core.chat.attachments import page_pictures
from hearth.core.chat.budget import question_with_documents
from hearth.core.documents import DocumentKind, ExtractedDocument, detect, extract_bytes, read_document_file
from hearth.core.engine.media import ImageRef, image_ref
from hearth.core.errors import EncryptedDocumentError, NoTextLayerError
from hearth.core.images import prepare_image_bytes
from hearth.core.retrieval import ReadingBudget, RetrievalResult

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
    A picture (its content decides, as in the window: ``hearth.core.documents.detect``) goes as a picture.

    Args:
        paths: the files.
        err: where warnings and notes go.
        page_limit: the most page pictures of a scanned PDF to send (``page_picture_limit``); 0 when the model
            cannot see (a scanned PDF is then refused).

    Returns:
        The documents, and the pictures (attached pictures, and page pictures ``report.pdf p.1``...) to send with
        the first message.

    Raises:
        DocumentError: a file could not be read (its subclasses say why).
    """
    documents: list[ExtractedDocument] = []
    pictures: list[ImageRef] = []
    for path in paths:
        data = read_document_file(path)
        if detect(path.name, data).kind is DocumentKind.IMAGE:
            pictures.append(image_ref(prepare_image_bytes(data, path.name), path.name))
            continue
        try:
            document = _extract(path, data, err)
        except NoTextLayerError as exc:
            if not page_limit:
                raise NoTextLayerError(exc.message, page_count=exc.page_count, name=exc.name,
                                       hint="Give the model its vision file (--mmproj) to send the pages as "
                                            "pictures, or run the PDF through OCR first.") from exc
            pages, notes = page_pictures(path.name, data, page_limit)
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


def _extract(path: Path, data: bytes, err: TextIO) -> ExtractedDocument:
    password: str | None = None
    tries = 0
    while True:
        try:
            return extract_bytes(data, path.name, password=password, on_progress=_progress(path.name, err))
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
    best = result.best_labels()
    if best:
        lines.append(f"Best matches: {', '.join(best)}")
    if result.blocks:
        lines.append("Passages used:")
    for block in result.blocks:
        preview = " ".join(block.text.split())
        preview = preview if len(preview) <= 72 else preview[:71] + "…"
        lines.append(f"  [{block.label}] {preview}")
    return "\n".join(lines)


class AttachmentPrompter:
    """Turns each question into a user message with the attachments, within the loaded model's context.

    Args:
        documents: the extracted attachments.
        n_ctx: the model's context size as loaded.
        max_tokens: the longest answer asked for (the engine keeps room for it: ``answer_reserve``).
        err: where the report of used passages goes.
        pinned: sha256 of the documents to send whole when they fit (``--attach-whole``).
        reading: the limits by reading time and relevance (``reading_budget``); None: only the space left.
    """

    def __init__(self, documents: Sequence[ExtractedDocument], *, n_ctx: int, max_tokens: int | None, err: TextIO,
                 pinned: Collection[str] = (), reading: ReadingBudget | None = None) -> None:
        self.documents = list(documents)
        self.pinned = frozenset(pinned)
        self.reading = reading
        self.n_ctx = n_ctx
        self.max_tokens = max_tokens
        self.err = err

    def choose(self, question: str, history: Sequence[Mapping[str, Any]], pictures: int = 0
               ) -> tuple[str, RetrievalResult | None]:
        """The user message for ``question`` and what it carries (the window's rule: ``question_with_documents``).

        Args:
            question: what the user typed.
            history: the messages before it, as sent to the engine (the system prompt included).
            pictures: the pictures sent with this message.
        """
        return question_with_documents(question, self.documents, n_ctx=self.n_ctx, max_tokens=self.max_tokens,
                                       before=history, pictures=pictures, pinned=self.pinned, reading=self.reading)

    def compose(self, question: str, history: Sequence[Mapping[str, Any]], pictures: int = 0) -> str:
        """The user message for ``question``; prints which passages it used."""
        text, result = self.choose(question, history, pictures)
        if result is not None:
            self.err.write(format_report(result) + "\n")
            self.err.flush()
        return text
