"""Files a user attaches to a message: kept in the store, read once, and turned into prompt context.

Documents are copied into the store (by content), read with ``hearth.core.documents`` the first time their content
is seen, and the reading is kept with the stored file so a re-opened conversation never reads them again. Images are
prepared (orientation, size, metadata stripped) and kept as the pixels that are sent. A scanned PDF (no text to read)
can go to a vision model as its page pictures instead: each page is kept like an attached image ("report.pdf p.1").
"""

from __future__ import annotations

import collections
import functools
import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hearth.core.documents import (
    DocumentKind,
    ExtractedDocument,
    PageImage,
    detect,
    extract_bytes,
    pdf_page_images,
    read_document_file,
)
from hearth.core.engine.media import IMAGE_TOKENS_ESTIMATE
from hearth.core.errors import DocumentError
from hearth.core.images import PreparedImage, prepare_image_bytes
from hearth.core.retrieval import RetrievalResult
from hearth.core.store import Message, NewAttachment, Store, StoredFile

EXTRACTOR = "hearth.documents/1"
IMAGE_REFERENCE = "image"
# The most page pictures of a scanned PDF sent with one message, however large the context.
MAX_PAGE_PICTURES = 16


@dataclass(frozen=True)
class AttachmentSource:
    """What the user attached: a file on disk, or bytes from a paste.

    Attributes:
        name: the name shown.
        path, data: where its bytes are (one of them).
        as_pages: a scanned PDF, to send as the pictures of its pages (to a vision model).
    """

    name: str
    path: Path | None = None
    data: bytes | None = None
    as_pages: bool = False


@dataclass
class PreparedAttachments:
    """The result of preparing a message's attachments.

    Attributes:
        new: what to link to the user message.
        documents: the documents' text, for retrieval.
        images: prepared images to send to a vision model.
        notes: what the user should know, in plain words (page pictures left out, pages without a picture).
    """

    new: list[NewAttachment] = field(default_factory=list)
    documents: list[ExtractedDocument] = field(default_factory=list)
    images: list[PreparedImage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


Progress = Callable[[str, float], None]


def prepare_attachments(
    store: Store,
    sources: Sequence[AttachmentSource],
    *,
    on_progress: Progress | None = None,
    cancel: threading.Event | None = None,
    passwords: dict[str, str] | None = None,
    page_limit: int = MAX_PAGE_PICTURES,
) -> PreparedAttachments:
    """Store, read and prepare attachments (call from a worker thread).

    Args:
        store: where the files and their readings are kept.
        sources: what the user attached.
        on_progress: called with (name, fraction done).
        cancel: set to stop reading.
        passwords: per name, the password of an encrypted document.
        page_limit: the most page pictures of a scanned PDF (``as_pages``) to send (see ``page_picture_limit``).

    Raises:
        DocumentError: a file could not be read (its subclass says why: encrypted, scanned, too large...).
        StoreError: the copy could not be stored.
    """
    prepared = PreparedAttachments()
    report = on_progress or (lambda _n, _f: None)
    for source in sources:
        report(source.name, 0.0)
        # Read once: what is detected, read and stored is the same content, even if the file changes meanwhile
        # (and a zip-based document is detected from all of it, not from its first bytes).
        data = source.data if source.data is not None else read_document_file(_path(source))
        if source.as_pages:
            pages, notes = page_pictures(source.name, data, page_limit, cancel=cancel,
                                         password=(passwords or {}).get(source.name),
                                         on_progress=functools.partial(_report_pages, report, source.name))
            for page in pages:
                stored = _store_image(store, page.image)
                prepared.images.append(page.image)
                prepared.new.append(NewAttachment(stored.sha256, f"{source.name} p.{page.page}"))
            prepared.notes.extend(notes)
            report(source.name, 1.0)
            continue
        if detect(source.name, data).kind is DocumentKind.IMAGE:
            image = prepare_image_bytes(data, source.name)
            stored = _store_image(store, image)
            prepared.images.append(image)
        else:
            document, stored = _document(store, source.name, data, report, cancel,
                                         (passwords or {}).get(source.name))
            prepared.documents.append(document)
        prepared.new.append(NewAttachment(stored.sha256, source.name))
        report(source.name, 1.0)
    return prepared


def _report_pages(report: Progress, name: str, done: int, total: int) -> None:
    report(name, done / max(total, 1))


def _store_image(store: Store, image: PreparedImage) -> StoredFile:
    suffix = ".jpg" if image.mime == "image/jpeg" else ".png"
    stored = store.attachments.store_bytes(image.data, suffix=suffix, mime=image.mime)
    return store.attachments.set_extraction(stored.sha256, text=None, reference=IMAGE_REFERENCE,
                                            extractor="hearth.images/1")


def page_picture_limit(n_ctx: int) -> int:
    """How many page pictures of a scanned PDF to send with one message: what half the model's context holds
    (a picture takes up to ``IMAGE_TOKENS_ESTIMATE`` positions), at least one, at most ``MAX_PAGE_PICTURES``."""
    return max(1, min(MAX_PAGE_PICTURES, n_ctx // 2 // IMAGE_TOKENS_ESTIMATE))


def page_pictures_question(name: str, page_count: int, limit: int) -> str:
    """What to ask before sending a scanned PDF's pages as pictures."""
    pages = f"its {page_count:,} pages are scanned pictures" if page_count != 1 else "its page is a scanned picture"
    question = f"{name} has no text: {pages}. Send the pages as pictures to the model?"
    if page_count > limit:
        question += (f" The model's context holds the first {limit:,}; the other {page_count - limit:,} will be "
                     "left out.")
    return question


def page_pictures(
    name: str,
    data: bytes,
    limit: int,
    *,
    password: str | None = None,
    cancel: threading.Event | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[list[PageImage], list[str]]:
    """The pictures of a scanned PDF's first ``limit`` pages, and notes in plain words (pages left out, pages
    without a usable picture).

    Raises:
        DocumentError: no page has a picture that can be sent, or the PDF cannot be opened (its subclass says why).
    """
    should_cancel = cancel.is_set if cancel is not None else None
    pictures = pdf_page_images(name, data, range(1, limit + 1), password=password, on_progress=on_progress,
                               should_cancel=should_cancel)
    if not pictures.images:
        raise DocumentError(f"None of the pages of {name} has a picture that can be sent.",
                            hint="Run the PDF through OCR first, then attach the result.")
    notes = list(pictures.warnings)
    if pictures.page_count > limit:
        notes.append(f"{limit:,} of the {pictures.page_count:,} pages of {name} went as pictures (the first ones): "
                     "the model's context holds no more (a larger context size takes more).")
    return list(pictures.images), notes


def _document(
    store: Store,
    name: str,
    data: bytes,
    report: Progress,
    cancel: threading.Event | None,
    password: str | None,
) -> tuple[ExtractedDocument, StoredFile]:
    """Read a document once per content: a content seen before is not read again."""
    def progress(done: int, total: int) -> None:
        report(name, done / max(total, 1))

    should_cancel = cancel.is_set if cancel is not None else None
    known = store.attachments.get_file(hashlib.sha256(data).hexdigest())
    cached = cached_document(known, name) if known is not None else None
    # Read before copying: bad files are refused before anything is stored.
    document = cached or extract_bytes(data, name, password=password, on_progress=progress,
                                       should_cancel=should_cancel)
    stored = store.attachments.store_bytes(data, suffix=Path(name).suffix)
    if stored.extractor != EXTRACTOR or not stored.reference:
        stored = store.attachments.set_extraction(
            stored.sha256, text=document.text, page_count=document.page_count or None, extractor=EXTRACTOR,
            reference=json_in_slices(document.to_dict()),
        )
    return document, stored


_SLICE_CHARS = 1 << 16


def json_in_slices(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False)``, with long strings encoded a slice at a time.

    Encoding a document's 8 million characters in one call holds the interpreter for tens of milliseconds, and the
    window's thread waits that long for its next repaint; between slices it gets its turn. (JSON escapes each
    character on its own, so the slices' escapes joined are the whole string's.)
    """
    if isinstance(value, str):
        if len(value) <= _SLICE_CHARS:
            return json.dumps(value, ensure_ascii=False)
        pieces = [json.dumps(value[i:i + _SLICE_CHARS], ensure_ascii=False)[1:-1]
                  for i in range(0, len(value), _SLICE_CHARS)]
        return '"' + "".join(pieces) + '"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)}: {json_in_slices(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(json_in_slices(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _path(source: AttachmentSource) -> Path:
    assert source.path is not None
    return source.path


def cached_document(stored: StoredFile, name: str) -> ExtractedDocument | None:
    """The reading kept with a stored file, under the name it was attached as (None if not read yet)."""
    if stored.extractor != EXTRACTOR or not stored.reference:
        return None
    try:
        document = ExtractedDocument.from_dict(json.loads(stored.reference))
    except (ValueError, TypeError, KeyError):
        return None
    return document.renamed(name) if document.name != name else document


class DocumentCache:
    """The readings of recently used attachments, kept parsed: every message of a conversation with a big document
    would otherwise read its stored reading back and parse it again (tens of milliseconds per MB, in one call that
    holds the interpreter's lock). Safe from any thread.

    Args:
        size: how many documents to keep.
    """

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._documents: collections.OrderedDict[str, ExtractedDocument] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha256: str) -> ExtractedDocument | None:
        with self._lock:
            document = self._documents.get(sha256)
            if document is not None:
                self._documents.move_to_end(sha256)
            return document

    def put(self, sha256: str, document: ExtractedDocument) -> None:
        with self._lock:
            self._documents[sha256] = document
            self._documents.move_to_end(sha256)
            while len(self._documents) > self._size:
                self._documents.popitem(last=False)


def branch_documents(store: Store, branch: Sequence[Message], cache: DocumentCache | None = None
                     ) -> list[ExtractedDocument]:
    """Every document attached anywhere in the shown branch, oldest first (each content once)."""
    seen: set[str] = set()
    documents: list[ExtractedDocument] = []
    attached = store.attachments.for_messages([m.id for m in branch], contents=False)
    for message in branch:
        for attachment in attached.get(message.id, []):
            sha256 = attachment.file.sha256
            if sha256 in seen or attachment.file.reference == IMAGE_REFERENCE:
                continue
            document = cache.get(sha256) if cache is not None else None
            if document is None:
                stored = store.attachments.get_file(sha256)
                document = cached_document(stored, attachment.file_name) if stored is not None else None
                if document is not None and cache is not None:
                    cache.put(sha256, document)
            if document is not None:
                seen.add(sha256)
                documents.append(document.renamed(attachment.file_name) if document.name != attachment.file_name
                                 else document)
    return documents


def branch_images(store: Store, message: Message) -> list[bytes]:
    """The prepared pixels of the images attached to one message."""
    images = []
    for attachment in store.attachments.for_message(message.id):
        if attachment.file.reference == IMAGE_REFERENCE:
            path = store.attachments.path_of(attachment.file)
            if path is not None:
                images.append(path.read_bytes())
    return images


def retrieval_from_run_extra(extra: dict[str, object]) -> RetrievalResult | None:
    data = extra.get("retrieval")
    if not isinstance(data, dict):
        return None
    try:
        return RetrievalResult.from_dict(data)
    except (ValueError, TypeError, KeyError):
        return None
