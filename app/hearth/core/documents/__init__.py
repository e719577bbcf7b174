"""Text out of documents, with anchors: PDF pages, headings, line and row ranges, cut into labelled passages.

The GUI calls ``extract_document`` in a worker thread (progress and cancel are callbacks), stores
``ExtractedDocument.to_dict()`` under its ``sha256``, and hands the documents to ``hearth.core.retrieval``.
"""

from hearth.core.documents.detect import Detection, detect, kind_from_name, readable_patterns
from hearth.core.documents.document import ExtractedDocument
from hearth.core.documents.extract import (
    CancelCheck,
    ExtractOptions,
    ProgressCallback,
    extract_bytes,
    extract_document,
    file_sha256,
    read_document_file,
)
from hearth.core.documents.limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_TEXT_CHARS
from hearth.core.documents.model import AnchorKind, ChunkOptions, DocumentKind, Passage, Section
from hearth.core.documents.pdf import PageImage, PageImages, pdf_page_images
from hearth.core.documents.word import ZipLimits

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_TEXT_CHARS",
    "AnchorKind",
    "CancelCheck",
    "ChunkOptions",
    "Detection",
    "DocumentKind",
    "ExtractOptions",
    "ExtractedDocument",
    "PageImage",
    "PageImages",
    "Passage",
    "ProgressCallback",
    "Section",
    "ZipLimits",
    "detect",
    "extract_bytes",
    "extract_document",
    "file_sha256",
    "kind_from_name",
    "pdf_page_images",
    "read_document_file",
    "readable_patterns",
]
