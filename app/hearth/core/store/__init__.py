"""Conversations that are never lost: one SQLite database of conversations, message trees, attachments and search.

Build one ``Store`` at start (``Store.open``) and pass it to what needs it. See ``store.py`` for start-up,
``messages.py`` for the message tree, ``streaming.py`` for saving answers as they stream, ``search.py`` for search
and ``export.py``/``archive.py`` for export and import.
"""

from hearth.core.store.archive import ArchiveSummary, export_archive, import_archive
from hearth.core.store.attachments import Attachments
from hearth.core.store.conversations import Conversations
from hearth.core.store.db import Database, OpenReport, quarantine
from hearth.core.store.export import conversation_to_json, conversation_to_markdown, import_conversation
from hearth.core.store.messages import LEAF, MessageTree
from hearth.core.store.presets import Presets, StoredPreset
from hearth.core.store.records import (
    Attachment,
    Conversation,
    Message,
    MessageStatus,
    NewAttachment,
    Role,
    RunInfo,
    StoredFile,
    TitleSource,
)
from hearth.core.store.salvage import SalvageReport, salvage
from hearth.core.store.schema import LATEST_VERSION
from hearth.core.store.search import Search, SearchHit
from hearth.core.store.snippets import HIGHLIGHT_END, HIGHLIGHT_START
from hearth.core.store.store import Store, default_db_path
from hearth.core.store.streaming import StreamingSaver
from hearth.core.store.titles import auto_title, clean_model_title, title_messages
from hearth.core.store.tool_calls import CallStatus, ToolCallRecord, ToolCalls

__all__ = [
    "HIGHLIGHT_END",
    "HIGHLIGHT_START",
    "LATEST_VERSION",
    "LEAF",
    "ArchiveSummary",
    "Attachment",
    "Attachments",
    "CallStatus",
    "Conversation",
    "Conversations",
    "Database",
    "Message",
    "MessageStatus",
    "MessageTree",
    "NewAttachment",
    "OpenReport",
    "Presets",
    "Role",
    "RunInfo",
    "SalvageReport",
    "Search",
    "SearchHit",
    "Store",
    "StoredFile",
    "StoredPreset",
    "StreamingSaver",
    "TitleSource",
    "ToolCallRecord",
    "ToolCalls",
    "auto_title",
    "clean_model_title",
    "conversation_to_json",
    "conversation_to_markdown",
    "default_db_path",
    "export_archive",
    "import_archive",
    "import_conversation",
    "quarantine",
    "salvage",
    "title_messages",
]
