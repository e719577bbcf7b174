"""The conversation on screen: sending, streaming, stopping, regenerating, editing, continuing, switching branches.

The path of one answer:

1. ``send`` (from the composer): a ``BackgroundTask`` reads the attachments, if any (``core.chat.attachments``),
   writes the user's message to the store (nothing typed is lost), creates the answer there as a STREAMING message
   and builds the views of both; the GUI thread only appends those views to the ``ChatView`` (regenerate, edit,
   continue and "read more" start the same way: no store work on the GUI thread at answer start).
2. ``_run`` hands the ``EngineBridge`` an ``AnswerRequest`` whose ``prepare`` builds the engine's messages on the
   engine's thread (``core.chat.prompt.engine_messages``: system prompt, history, and the passages of the
   attachments that ``core.retrieval`` ranks best for the question).
3. The engine worker runs ``EngineApi.chat`` (``EngineClient``: the host process reads the prompt and writes one
   token event per token) and re-emits its events as queued signals carrying the answer's message id; events for
   any other id are dropped.
4. Tokens go to a ``StreamingSaver`` on the engine's thread (it saves at most once a second), then to the view
   (``append_stream``) as one small queued event each; at the
   end the final text, status (a ``StopReason`` mapped to a ``MessageStatus``) and run info are written, or, when
   the engine failed (``HostCrashedError``, a refusal), the text so far is kept and the error is written on the
   answer. ``ConversationsController`` then announces the conversation as updated, and the side list refreshes.

Stop calls ``EngineBridge.cancel`` directly (it does not queue behind the running answer); the answer then finishes
as CANCELLED with its partial text.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from hearth.core.chat.attachments import (
    IMAGE_REFERENCE,
    AttachmentSource,
    DocumentCache,
    PreparedAttachments,
    page_picture_limit,
    page_pictures_question,
    prepare_attachments,
    retrieval_from_run_extra,
)
from hearth.core.chat.prompt import engine_messages
from hearth.core.chat.summary import SUMMARY_FILE_NAME, SUMMARY_REQUEST, conversation_transcript
from hearth.core.documents import kind_from_name
from hearth.core.engine import AnswerStats, StopReason
from hearth.core.engine.remote import remote_of
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.tools import ToolFormat
from hearth.core.errors import EncryptedDocumentError, HearthError, NoTextLayerError, NoVisionError
from hearth.core.models.library.names import answer_author, model_display_name
from hearth.core.retrieval import Mode, ReadingBudget, RetrievalResult, extract_citations, reading_budget
from hearth.core.store import (
    Conversation,
    Message,
    MessageStatus,
    Role,
    RunInfo,
    Store,
    StreamingSaver,
    ToolCallRecord,
)
from hearth.core.store.tool_calls import CallStatus, duration_words
from hearth.core.thinking import split_thinking, strip_thinking
from hearth.ui.chat.composer import PendingAttachment, attachment_for_path
from hearth.ui.chat.conversations import ChangeKind, ConversationsChange, ConversationsController
from hearth.ui.chat.message_types import AttachmentChip, Citation, MessageView, ToolCallView
from hearth.ui.chat.tool_approval import ApprovalBroker, AskTool, ask_tool
from hearth.ui.chat.tool_runner import ChatTools, ToolAnswerRunner
from hearth.ui.chat.view import ChatView
from hearth.ui.engine_bridge import AnswerRequest, EngineBridge
from hearth.ui.markdown.render import warm_up as warm_up_markdown
from hearth.ui.model_session import ModelSession
from hearth.ui.shell.dialogs import Ask, AskPassword, ask_password, ask_user
from hearth.ui.shell.notices import info, notice_for
from hearth.ui.tasks import BackgroundTask

# A message whose attachments were being read when the app ended: it is not in the conversation yet, so it is kept
# here until it is, and put back into the composer at the next start.
UNSENT_KEY = "unsent_message"
# The conversation on screen, remembered whenever it changes (not only at a clean exit): after a crash or a kill the
# next start opens it, where an interrupted answer waits to be continued.
LAST_CONVERSATION_KEY = "last_conversation_id"

log = logging.getLogger(__name__)

# A prompt at least this long says how fast this machine reads (shorter ones are dominated by fixed costs).
_SPEED_SAMPLE_TOKENS = 256

_STATUS = {
    StopReason.CANCELLED: MessageStatus.CANCELLED,
}


@dataclass
class _Answer:
    message_id: int
    conversation_id: int
    saver: StreamingSaver
    retrieval: RetrievalResult | None = None
    started: float = field(default_factory=time.monotonic)
    tokens: int = 0
    reading: tuple[int, int] | None = None
    thought_until: float | None = None  # when a reasoning model's thinking ended
    calls: list[ToolCallRecord] = field(default_factory=list)


@dataclass(frozen=True)
class _Turn:
    """What a worker wrote to start an answer, with the views the GUI thread shows of it (plain data).

    Attributes:
        conversation_id: the conversation written to.
        branch: its messages on the answer's branch, oldest first.
        shown: views to append (a new message and its answer), or the whole branch (``reopen``).
        reopen: ``shown`` replaces the conversation on screen (regenerate, edit, continue).
        created: the conversation was created for this message.
        answer: the answer to stream into (None: no model is loaded; the message waits).
        saver: saves the answer as it streams.
        continue_last: the answer carries on from its text.
        more: how many times "read more" asked for more of the documents.
        prepared: what was read of the attachments.
        conversation: the conversation as the worker left it (its title, system prompt and preset).
    """

    conversation_id: int
    branch: list[Message]
    shown: list[MessageView]
    reopen: bool = False
    created: bool = False
    answer: Message | None = None
    saver: StreamingSaver | None = None
    continue_last: bool = False
    more: int = 0
    prepared: PreparedAttachments = field(default_factory=PreparedAttachments)
    conversation: Conversation | None = None


class ChatController(QObject):
    """Connects the chat view and composer to the store and the engine.

    With tools switched on (``tools``), an answer runs the tool loop off the GUI thread (``ToolAnswerRunner``): the
    model's rounds, the user's decisions (``ask_tool``: Allow once, Allow for this chat, Deny) and the calls; each call
    shows as a block on the answer as it starts and ends, and is stored with the answer when it ends.

    A scanned PDF (no text to read) attached while a model that can see is loaded: ``ask`` puts a yes/no question
    (tests pass their answer), and on yes its pages go with the message as pictures. A password-protected PDF:
    ``password`` asks for its password (again, when it was wrong) and it is read with it; the password is kept only
    until the message is sent.

    Changes to the list of conversations (a conversation created by its first message, moved up by a new answer)
    are announced through ``conversations`` (``ConversationsController.changed``), like those the user makes in the
    side list; a deletion of the conversation on screen stops its answer and shows a new, empty chat.

    Args:
        store: where messages are written.
        bridge: the engine, on its worker thread.
        session: the loaded model.
        view: the chat view it fills.
        sampling_for: the sampling settings for the next answer.
        system_prompt_for: the system prompt for a new conversation.
        conversations: the list of conversations (announces changes, handles deletes).
        ask: asks a yes/no question (tests pass their answer).
        password: asks for a document's password.

    Signals:
        conversation_changed(object): the id of the conversation on screen (None for a new, empty one).
        busy_changed(bool): an answer started or ended.
        status(str): a line for the status bar ("Reading 12,400 tokens… 40%", "12.3 tokens/s").
        context_usage(int, int): tokens used and context size after an answer.
        notice(object): a ``Notice`` to show as a toast.
        restore_composer(str, list): put text and attachments back into the composer (a send that failed).
    """

    conversation_changed = Signal(object)
    busy_changed = Signal(bool)
    status = Signal(str)
    context_usage = Signal(int, int)
    notice = Signal(object)
    restore_composer = Signal(str, list)

    def __init__(
        self,
        store: Store,
        bridge: EngineBridge,
        session: ModelSession,
        view: ChatView,
        sampling_for: Callable[[], SamplingParams],
        system_prompt_for: Callable[[], str],
        *,
        conversations: ConversationsController,
        ask: Ask = ask_user,
        password: AskPassword = ask_password,
        prompt_speed_for: Callable[[], float | None] | None = None,
        tools: ChatTools | None = None,
        ask_tool: AskTool = ask_tool,
        default_system_prompt_for: Callable[[], str] | None = None,
    ) -> None:
        super().__init__()
        self._store = store
        self._conversations = conversations
        self._bridge = bridge
        self._session = session
        self._view = view
        self._sampling_for = sampling_for
        self._system_prompt_for = system_prompt_for
        # The loaded model's recommended system prompt, for conversations with none of their own.
        self._default_system_prompt_for = default_system_prompt_for or (lambda: "")
        # The prompt speed to budget documents by: ``hearth bench``'s or the plan's (given), else measured here.
        self._prompt_speed_for = prompt_speed_for or (lambda: None)
        self._measured_prompt_speed: float | None = None
        self._next_system_prompt: tuple[str, str] | None = None
        self.conversation_id: int | None = None
        # The conversation on screen as last read (by ``open_conversation``, or by the worker that started an answer
        # in it): its title and system prompt are shown from here, without reading the store at answer start.
        self._conversation: Conversation | None = None
        self._remembered: object = store.get_state(LAST_CONVERSATION_KEY)
        self._answer: _Answer | None = None
        self._preparing: BackgroundTask[_Turn, tuple[str, float]] | None = None
        self._cancel_preparing = threading.Event()
        self._branch: list[Message] = []
        self._documents = DocumentCache()
        self._pending_send: tuple[str, list[PendingAttachment]] = ("", [])
        self._pending_pages: frozenset[str] = frozenset()
        self._ask = ask
        self._ask_password = password
        self._passwords: dict[str, str] = {}
        worker = bridge.worker
        worker.answer_prepared.connect(self._on_worker_answer_prepared)
        worker.token.connect(self._on_worker_token)
        worker.prompt_progress.connect(self._on_worker_prompt_progress)
        worker.answer_finished.connect(self._on_worker_answer_finished)
        worker.answer_failed.connect(self._on_worker_answer_failed)
        self._tools = tools
        self._runner: ToolAnswerRunner | None = None
        if tools is not None:
            if tools.broker is None:
                tools.broker = ApprovalBroker(view, ask_tool)
            runner = self._runner = ToolAnswerRunner(bridge, tools)
            runner.answer_prepared.connect(self._on_worker_answer_prepared)
            runner.token.connect(self._on_worker_token)
            runner.prompt_progress.connect(self._on_worker_prompt_progress)
            runner.answer_finished.connect(self._on_worker_answer_finished)
            runner.answer_failed.connect(self._on_worker_answer_failed)
            runner.call_changed.connect(self._on_runner_call_changed)
            runner.tool_failed.connect(self._on_runner_tool_failed)
            runner.limit_reached.connect(self._on_runner_limit_reached)
        view.regenerate_requested.connect(self.regenerate)
        view.continue_requested.connect(self.continue_answer)
        view.branch_requested.connect(self.switch_branch)
        view.whole_requested.connect(self.set_document_whole)
        view.summary_requested.connect(self.continue_with_summary)
        view.read_more_requested.connect(self.read_more)
        conversations.changed.connect(self._on_conversations_changed)

    # --- state ---------------------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._answer is not None or self._preparing is not None

    @property
    def streaming_message_id(self) -> int | None:
        return self._answer.message_id if self._answer else None

    @property
    def tools(self) -> ChatTools | None:
        """The tools this window's answers may call (None: tools are not wired in)."""
        return self._tools

    @property
    def conversations(self) -> ConversationsController:
        return self._conversations

    def branch(self) -> list[Message]:
        return list(self._branch)

    def message(self, message_id: int) -> Message:
        return self._store.messages.get(message_id)

    def last_conversation_id(self) -> int | None:
        """The conversation that was on screen when Hearth last ran (None: a new chat, or never)."""
        value = self._store.get_state(LAST_CONVERSATION_KEY)
        return value if isinstance(value, int) else None

    # --- conversations -------------------------------------------------------------------------------------------

    def new_conversation(self) -> None:
        """Show an empty conversation; it is created in the store with its first message."""
        self._finish_preparing()
        self._branch = []
        self._next_system_prompt = None
        self._conversation = None
        self._view.set_messages([])
        self._show(None)

    def open_conversation(self, conversation_id: int, focus_message_id: int | None = None) -> None:
        if self._answer is not None and self._answer.conversation_id != conversation_id:
            self._answer.saver.flush()
        if focus_message_id is not None:
            self._branch = self._store.messages.select(focus_message_id)
        else:
            self._branch = self._store.messages.active_branch(conversation_id)
        conv = self._store.conversations.get(conversation_id)
        self.conversation_id = conversation_id
        self._conversation = conv
        self._view.set_messages(self._views(self._branch))
        scroll = conv.ui_state.get("scroll")
        if focus_message_id is not None:
            self._view.restore_scroll_state(float(focus_message_id))
        elif isinstance(scroll, (int, float)):
            self._view.restore_scroll_state(scroll)
        self._show(conversation_id)
        if self._answer is not None and self._answer.conversation_id == conversation_id:
            self._view.begin_stream(self._answer.message_id, keep_text=True)

    def save_ui_state(self) -> None:
        if self.conversation_id is not None:
            self._store.conversations.set_ui_state(self.conversation_id, {"scroll": self._view.scroll_state()})

    def _show(self, conversation_id: int | None, *, remembered: bool = False) -> None:
        """Make ``conversation_id`` the one on screen: remember it (unless a worker ``remembered`` it already) and
        tell the window."""
        self.conversation_id = conversation_id
        if conversation_id != self._remembered:
            self._remembered = conversation_id
            if not remembered:
                self._store.set_state(LAST_CONVERSATION_KEY, conversation_id)
        self.conversation_changed.emit(conversation_id)

    @Slot(ConversationsChange)
    def _on_conversations_changed(self, change: ConversationsChange) -> None:
        if change.conversation_id != self.conversation_id:
            return
        if change.kind is ChangeKind.DELETED:
            if self._answer is not None or self._preparing is not None:
                self.stop()
            self.new_conversation()
        elif change.kind in (ChangeKind.RENAMED, ChangeKind.PINNED):  # the user's own change: read it again
            self._conversation = self._store.conversations.get(change.conversation_id)

    def title(self) -> str:
        """The title of the conversation on screen ("New chat" for a new one, or one not titled yet)."""
        conv = self._current()
        return (conv.title if conv is not None else "") or "New chat"

    def _current(self) -> Conversation | None:
        if self.conversation_id is None:
            return None
        if self._conversation is None or self._conversation.id != self.conversation_id:
            self._conversation = self._store.conversations.get(self.conversation_id)
        return self._conversation

    # --- sending -------------------------------------------------------------------------------------------------

    def send(self, text: str, attachments: Sequence[PendingAttachment] = ()) -> None:
        """Send a new user message (with attachments) and start its answer."""
        if self.busy:
            return
        self._passwords = {}
        self._prepare(text, list(attachments), frozenset())

    def _prepare(self, text: str, attachments: list[PendingAttachment], as_pages: frozenset[str]) -> None:
        """Read the attachments and write the message and its answer in the background, then answer;
        ``as_pages`` names scanned PDFs sent as pictures."""
        info = self._session.info
        page_limit = page_picture_limit(info.n_ctx if info else 4096)
        vision = bool(info and info.vision)
        sources = [AttachmentSource(a.name, a.path, a.data, as_pages=a.name in as_pages) for a in attachments]
        unsent = {
            "conversation_id": self.conversation_id, "text": text,
            "files": [str(a.path) for a in attachments if a.path is not None],
        } if attachments else None
        self._cancel_preparing.clear()
        cancel = self._cancel_preparing
        store = self._store
        passwords = dict(self._passwords)
        new_conversation = self._new_conversation_fields() if self.conversation_id is None else None
        conversation_id, answer = self.conversation_id, self._session.ready
        if attachments:
            self.status.emit(f"Reading {', '.join(a.name for a in attachments)}…")

        def work(report: Callable[[tuple[str, float]], None]) -> _Turn:
            # Everything that touches the files and the store runs here, on the task's thread: the window only shows
            # the messages this returns.
            if unsent is not None:
                store.set_state(UNSENT_KEY, unsent)
            try:
                prepared = prepare_attachments(
                    store, sources, cancel=cancel, page_limit=page_limit, passwords=passwords,
                    on_progress=lambda name, fraction: report((name, fraction))) if sources else PreparedAttachments()
                if prepared.images and not vision:
                    raise NoVisionError("This model can't see images.",
                                        hint="Load Llama 4 Scout with its vision file (mmproj), or remove the image.")
                return self._write_message(conversation_id, new_conversation, text, prepared, answer=answer,
                                           unsent_saved=unsent is not None)
            except BaseException:
                if unsent is not None:
                    store.set_state(UNSENT_KEY, None)
                raise

        self._pending_send = (text, attachments)
        self._pending_pages = as_pages
        self._begin(work)

    def _begin(self, work: Callable[[Callable[[tuple[str, float]], None]], _Turn]) -> None:
        """Run ``work`` (it writes the turn to the store) on a task's thread; the answer starts when it is done."""
        task = BackgroundTask(work, parent=self, name="start answer") \
            .with_progress(self._on_preparing_progress) \
            .success(self._on_preparing_finished) \
            .failure(self._on_preparing_failed)
        self._preparing = task
        self.busy_changed.emit(True)
        task.run_in_background()

    def _new_conversation_fields(self) -> tuple[str, str, str]:
        """The model file name, system prompt and preset a conversation created now starts with (read on the GUI
        thread)."""
        system_prompt, preset = self.system_prompt()
        return self._session.path.name if self._session.path else "", system_prompt, preset

    def _write_message(self, conversation_id: int | None, new_conversation: tuple[str, str, str] | None, text: str,
                       prepared: PreparedAttachments, *, answer: bool, unsent_saved: bool) -> _Turn:
        """Write a new user message (and its conversation, if new) and the empty answer; on a worker thread."""
        created = conversation_id is None
        if conversation_id is None:
            assert new_conversation is not None
            model, system_prompt, preset = new_conversation
            conversation_id = self._store.conversations.create(model=model, system_prompt=system_prompt,
                                                               preset=preset).id
            # Remembered here (the window shows it next): a crash from now on reopens it.
            self._store.set_state(LAST_CONVERSATION_KEY, conversation_id)
        user = self._store.messages.add_user_message(conversation_id, text, attachments=prepared.new)
        if unsent_saved:
            self._store.set_state(UNSENT_KEY, None)  # it is in the conversation now
        shown = [self._view_for(user)]
        if not answer:
            return _Turn(conversation_id, self._store.messages.active_branch(conversation_id), shown,
                         created=created, prepared=prepared,
                         conversation=self._store.conversations.get(conversation_id))
        return self._write_answer(user.id, shown, created=created, prepared=prepared)

    def _write_answer(self, parent_id: int, shown: list[MessageView] | None = None, *, created: bool = False,
                      prepared: PreparedAttachments | None = None, more: int = 0) -> _Turn:
        """Write the empty answer to ``parent_id``; ``shown`` None: show the whole branch again. On a worker thread."""
        warm_up_markdown()  # the first answer shown renders Markdown: its one-time costs are paid here instead
        answer_id = self._store.messages.start_assistant_message(parent_id)
        branch = self._store.messages.select(answer_id)
        answer = branch[-1] if branch and branch[-1].id == answer_id else self._store.messages.get(answer_id)
        reopen = shown is None
        shown = self._views(branch) if shown is None else [*shown, self._view_for(answer)]
        return _Turn(answer.conversation_id, branch, shown, answer=answer, reopen=reopen, created=created,
                     prepared=prepared or PreparedAttachments(), more=more,
                     conversation=self._store.conversations.get(answer.conversation_id),
                     saver=StreamingSaver(self._store.messages, answer_id))

    def _on_preparing_progress(self, update: tuple[str, float]) -> None:
        name, fraction = update
        self.status.emit(f"Reading {name}… {fraction:.0%}")

    def _on_preparing_finished(self, turn: _Turn) -> None:
        self._preparing = None
        self._passwords = {}
        prepared = turn.prepared
        for document in prepared.documents:
            self._documents.put(document.sha256, document)  # read just now: the prompt need not parse it again
        warnings = [warning for document in prepared.documents for warning in document.warnings]
        warnings += prepared.notes  # page pictures left out, pages without a picture
        if warnings:  # read, but not all of it as it was (unreadable pages, replaced bytes, pictures without text)
            more = f" (and {len(warnings) - 3} more)" if len(warnings) > 3 else ""
            self.notice.emit(info(" ".join(warnings[:3]) + more, "Read with warnings"))
        self._show_turn(turn)

    def _on_preparing_failed(self, error: HearthError) -> None:
        log.info("message not sent: %s", type(error).__name__)
        log.debug("message not sent: %s", error)
        text, attachments = self._pending_send
        self._preparing = None
        self._pending_send = ("", [])
        offered = None
        if isinstance(error, NoTextLayerError):
            offered = self._offer_page_pictures(error, text, attachments)
        elif isinstance(error, EncryptedDocumentError):
            offered = self._ask_for_password(error, text, attachments)
        if offered is True:
            return
        self._passwords = {}
        self.busy_changed.emit(False)
        self.status.emit("")
        if text or attachments:
            self.restore_composer.emit(text, attachments)
        if offered is None:  # not offered: say why the message was not sent
            self.notice.emit(notice_for(error))

    def _offer_page_pictures(self, error: NoTextLayerError, text: str, attachments: list[PendingAttachment]
                             ) -> bool | None:
        """Ask whether to send a scanned PDF's pages as pictures (only a model that can see is offered it).

        Returns:
            True: accepted, and the attachments are being prepared again; False: declined; None: not asked.
        """
        info = self._session.info
        if not (info and info.vision) or error.name not in {a.name for a in attachments} - self._pending_pages:
            return None
        self.status.emit("")
        question = page_pictures_question(error.name, error.page_count, page_picture_limit(info.n_ctx))
        if not self._ask(self._view, "Send the pages as pictures?", question):
            return False
        self._prepare(text, attachments, self._pending_pages | {error.name})
        return True

    def _ask_for_password(self, error: EncryptedDocumentError, text: str, attachments: list[PendingAttachment]
                          ) -> bool | None:
        """Ask for a protected document's password, then read the attachments again with it.

        Returns:
            True: a password was given, and the attachments are being prepared again; False: cancelled; None: not
            asked (the file is not one of the attachments).
        """
        if error.name not in {a.name for a in attachments}:
            return None
        self.status.emit("")
        question = f"{error.message} {error.hint}".strip()
        password = self._ask_password(self._view, "Password", question)
        if password is None:
            return False
        self._passwords[error.name] = password
        self._prepare(text, attachments, self._pending_pages)
        return True

    def _finish_preparing(self) -> None:
        if self._preparing is not None:
            self._cancel_preparing.set()
            self._preparing.wait()

    def _show_turn(self, turn: _Turn) -> None:
        """Show what the worker wrote, and start the answer (the GUI thread's part: widgets only)."""
        self._pending_send = ("", [])
        new_chat = turn.created and self.conversation_id is None
        on_screen = new_chat or turn.conversation_id == self.conversation_id
        if on_screen and turn.conversation is not None:
            self._conversation = turn.conversation
        if new_chat:
            self._next_system_prompt = None
            self._show(turn.conversation_id, remembered=True)
        if on_screen:
            self._branch = turn.branch
            if turn.reopen:
                self._view.set_messages(turn.shown)
            else:
                for view in turn.shown:
                    self._view.append_message(view)
        if turn.created:
            self._conversations.created(turn.conversation_id)
        if not turn.reopen:
            self._conversations.updated(turn.conversation_id)  # a new message: it moves to the top of the list
        if turn.answer is None or turn.saver is None:
            self.busy_changed.emit(False)
            self._no_model()
            return
        self._run(turn.answer, turn.saver, turn.branch, continue_last=turn.continue_last, more=turn.more)
        if self._cancel_preparing.is_set():  # Stop was pressed while the message was being written
            self.stop()

    def restore_unsent(self) -> bool:
        """Put back into the composer a message whose attachments were still being read when Hearth last ended
        (a crash, a kill, a power cut). Returns whether there was one."""
        data = self._store.get_state(UNSENT_KEY)
        if not isinstance(data, dict):
            return False
        self._store.set_state(UNSENT_KEY, None)
        conversation = data.get("conversation_id")
        if isinstance(conversation, int):
            try:
                self.open_conversation(conversation)
            except HearthError:
                pass  # deleted since: the message goes to a new chat
        paths = [Path(p) for p in data.get("files", []) if isinstance(p, str)]
        files = [attachment_for_path(p) for p in paths if p.is_file()]
        self.restore_composer.emit(str(data.get("text", "")), files)
        return True

    def regenerate(self, message_id: int) -> None:
        """A new answer beside ``message_id`` (the old one stays as another version)."""
        if self.busy or not self._session.ready:
            if not self.busy:
                self._no_model()
            return
        store = self._store

        def work(_report: Callable[[tuple[str, float]], None]) -> _Turn:
            message = store.messages.get(message_id)
            if message.role is not Role.ASSISTANT or message.parent_id is None:
                raise HearthError("Only an answer can be regenerated.")
            return self._write_answer(message.parent_id)

        self._cancel_preparing.clear()
        self._begin(work)

    def read_more(self, message_id: int) -> None:
        """A new answer beside ``message_id`` given more of the documents (twice the reading time each time)."""
        if self.busy or not self._session.ready:
            if not self.busy:
                self._no_model()
            return
        store = self._store

        def work(_report: Callable[[tuple[str, float]], None]) -> _Turn:
            message = store.messages.get(message_id)
            if message.role is not Role.ASSISTANT or message.parent_id is None:
                raise HearthError("Only an answer can be given more of its documents.")
            retrieval = retrieval_from_run_extra(message.run_info.extra) if message.run_info else None
            return self._write_answer(message.parent_id, more=(retrieval.more if retrieval else 0) + 1)

        self._cancel_preparing.clear()
        self._begin(work)

    def edit_and_resend(self, message_id: int, text: str) -> None:
        """Replace a user message with an edited one (the original stays as another version) and answer it."""
        if self.busy:
            return
        store, answer = self._store, self._session.ready

        def work(_report: Callable[[tuple[str, float]], None]) -> _Turn:
            edited = store.messages.edit_and_resend(message_id, text)
            if answer:
                return self._write_answer(edited.id)
            branch = store.messages.select(edited.id)
            return _Turn(edited.conversation_id, branch, self._views(branch), reopen=True,
                         conversation=store.conversations.get(edited.conversation_id))

        self._cancel_preparing.clear()
        self._begin(work)

    def continue_answer(self, message_id: int) -> None:
        """Carry on writing a cut-off, stopped or interrupted answer."""
        if self.busy or not self._session.ready:
            return
        store = self._store

        def work(_report: Callable[[tuple[str, float]], None]) -> _Turn:
            message = store.messages.resume_message(message_id)
            branch = store.messages.select(message.id)
            return _Turn(message.conversation_id, branch, self._views(branch), answer=message, reopen=True,
                         continue_last=True, conversation=store.conversations.get(message.conversation_id),
                         saver=StreamingSaver(store.messages, message.id, initial_text=message.content))

        self._cancel_preparing.clear()
        self._begin(work)

    def switch_branch(self, message_id: int, offset: int) -> None:
        if self._answer is not None:
            return
        self._branch = self._store.messages.select_sibling(message_id, offset)
        self._view.set_messages(self._views(self._branch))

    def system_prompt(self) -> tuple[str, str]:
        """The system prompt of the conversation on screen and the preset it came from; for a new chat, the one
        picked for it, else the model's default."""
        conv = self._current()
        if conv is not None:
            return conv.system_prompt, conv.preset
        if self._next_system_prompt is not None:
            return self._next_system_prompt
        return self._system_prompt_for(), ""

    @Slot(str, str)
    def set_system_prompt(self, system_prompt: str, preset: str) -> None:
        """Use ``system_prompt`` (from the preset named ``preset``, or "" for the user's own words) from the next
        answer on; a new chat keeps it for when it is created."""
        if self.conversation_id is None:
            self._next_system_prompt = (system_prompt, preset)
            return
        self._store.conversations.set_system_prompt(self.conversation_id, system_prompt, preset)
        self._conversation = self._store.conversations.get(self.conversation_id)
        self.conversation_changed.emit(self.conversation_id)

    @Slot(str, bool)
    def set_document_whole(self, sha256: str, whole: bool) -> None:
        """Pin a document of the conversation to go into the prompt whole ("Always send whole"), or unpin it.

        The choice is kept with the conversation and used from the next answer on; the chips show it at once.
        """
        if self.conversation_id is None:
            return
        self._store.conversations.set_whole_document(self.conversation_id, sha256, whole)
        pinned = frozenset(self._store.conversations.get(self.conversation_id).whole_documents)
        for message in self._branch:
            if message.role is Role.USER:
                self._view.update_message(self._view_for(message, pinned))

    @Slot()
    def continue_with_summary(self) -> None:
        """A new chat that starts from the model's own summary of this one, which is attached to it as a file."""
        if self.busy or not self._branch:
            return
        title = self._store.conversations.get(self._branch[0].conversation_id).title
        transcript = conversation_transcript(title, self._branch).encode("utf-8")
        self.new_conversation()
        self.send(SUMMARY_REQUEST, [PendingAttachment(SUMMARY_FILE_NAME, len(transcript), "document", data=transcript)])

    def stop(self) -> None:
        """Stop the answer now (the engine checks the flag every token and during prompt reading)."""
        if self._preparing is not None:
            self._cancel_preparing.set()
        if self._answer is not None:
            if self._runner is not None and self._runner.running:
                self._runner.cancel()
            self._bridge.cancel()

    # --- answering -----------------------------------------------------------------------------------------------

    def _no_model(self) -> None:
        self.notice.emit(notice_for(HearthError("No model is loaded.", hint="Load a model on the Models page.")))

    def _run(self, answer: Message, saver: StreamingSaver, branch: list[Message], *, continue_last: bool = False,
             more: int = 0) -> None:
        self._answer = _Answer(answer.id, answer.conversation_id, saver)
        if answer.conversation_id == self.conversation_id:
            self._view.begin_stream(answer.id, keep_text=continue_last)
        self.status.emit("Thinking…")  # busy since the turn's task began
        params = self._sampling_for()
        info = self._session.info
        # The prompt is built on the engine's thread: reading back big attachments and ranking their passages can
        # take a second, which the window must not wait for.
        n_ctx = info.n_ctx if info else 4096
        speed_for, measured = self._prompt_speed_for, self._measured_prompt_speed

        def reading() -> ReadingBudget:
            return reading_budget(n_ctx, speed_for() or measured, more=more)

        prepare = functools.partial(
            _engine_messages_on_worker, self._default_system_prompt_for, reading, self._store, answer,
            [m for m in branch if m.id != answer.id], continue_last,
            n_ctx=n_ctx, max_tokens=params.max_tokens, documents=self._documents,
        )
        if self._uses_tools(continue_last):
            assert self._runner is not None and info is not None
            self._runner.start(answer.id, answer.conversation_id, prepare, params, ToolFormat(info.tool_format),
                               info.n_ctx, on_token=saver.add)
            return
        self._bridge.answer(AnswerRequest(answer.id, [], params, continue_last, prepare=prepare, on_token=saver.add))

    def _uses_tools(self, continue_last: bool) -> bool:
        """Tools are offered when some are switched on, to a model on this computer, for a new answer."""
        plan = self._session.plan
        remote = plan is not None and remote_of(plan) is not None
        return (self._runner is not None and self._tools is not None and self._tools.toolbox.any_enabled
                and not continue_last and self._session.info is not None and not remote)

    @Slot(int, ToolCallRecord)
    def _on_runner_call_changed(self, request_id: int, record: ToolCallRecord) -> None:
        answer = self._answer
        if answer is None or request_id != answer.message_id:
            return
        for index, known in enumerate(answer.calls):
            if known.call_id == record.call_id:
                answer.calls[index] = record
                break
        else:
            answer.calls.append(record)
        if answer.conversation_id == self.conversation_id:
            self._view.set_tool_calls(request_id, _call_views(answer.calls))
        if record.status is CallStatus.RUNNING:
            self.status.emit(f"Running {record.tool} ({record.server})…")

    @Slot(HearthError)
    def _on_runner_tool_failed(self, error: HearthError) -> None:
        self.notice.emit(notice_for(error))

    @Slot(str)
    def _on_runner_limit_reached(self, words: str) -> None:
        self.notice.emit(info(words, "Tool rounds limit"))

    @Slot(int, object)
    def _on_worker_answer_prepared(self, request_id: int, retrieval: object) -> None:
        if self._answer is None or request_id != self._answer.message_id:
            return
        self._answer.retrieval = retrieval if isinstance(retrieval, RetrievalResult) else None
        for choice in self._answer.retrieval.choices if self._answer.retrieval else ():
            if choice.pinned and choice.mode is not Mode.WHOLE:
                sent = (f"{choice.passages_used:,} of its {choice.passages_total:,} passages were sent instead"
                        if choice.mode is Mode.PASSAGES else "there was no room for any of it")
                self.notice.emit(info(
                    f"{choice.name} is set to always go whole, but it is too long for this model's context: {sent}. "
                    "A larger context size in Settings, or a model with a longer context, can take it whole.",
                    "Too long to send whole"))

    @Slot(int, str)
    def _on_worker_token(self, request_id: int, text: str) -> None:
        answer = self._answer
        if answer is None or request_id != answer.message_id:
            return  # a stale answer's tokens
        answer.tokens += 1  # the saver has it already (on the engine's thread)
        if answer.thought_until is None and ("/" in text or "end_of_thought" in text):
            thoughts = split_thinking(answer.saver.text)
            if thoughts.thinking and not thoughts.open:
                answer.thought_until = time.monotonic()
        if answer.conversation_id == self.conversation_id:
            self._view.append_stream(request_id, text)
        if answer.tokens == 1 or answer.tokens % 16 == 0:
            elapsed = max(time.monotonic() - answer.started, 1e-6)
            self.status.emit(f"Writing… {answer.tokens / elapsed:.1f} tokens/s")

    @Slot(int, int, int)
    def _on_worker_prompt_progress(self, request_id: int, done: int, total: int) -> None:
        answer = self._answer
        if answer is None or request_id != answer.message_id or total < 256:
            return
        self.status.emit(f"Reading {total:,} tokens… {100 * done // total}%")

    @Slot(int, object)
    def _on_worker_answer_finished(self, request_id: int, stats: AnswerStats) -> None:
        answer = self._answer
        if answer is None or request_id != answer.message_id:
            return
        status = _STATUS.get(stats.stop_reason, MessageStatus.COMPLETE)
        self._save_calls(answer)
        if stats.prompt_decode_s and stats.prompt_decoded_tokens >= _SPEED_SAMPLE_TOKENS:
            self._measured_prompt_speed = stats.prompt_decoded_tokens / stats.prompt_decode_s
        run_info = self._run_info(stats, answer.retrieval)
        if answer.thought_until is not None:
            run_info.extra["thinking_s"] = round(answer.thought_until - answer.started, 1)
        final = answer.saver.finish(status, run_info=run_info)
        log.debug("answer %s: %s", request_id, final.content)
        self._end_answer(final)
        rate = f"{stats.tokens_per_s:.1f} tokens/s" if stats.tokens_per_s else ""
        note = {StopReason.CANCELLED: " · stopped", StopReason.CONTEXT_FULL: " · context full",
                StopReason.REPETITION: " · stopped: the model was repeating itself"}.get(stats.stop_reason, "")
        self.status.emit(f"{stats.tokens} tokens · {rate}{note}".strip(" ·"))
        self.context_usage.emit(stats.context_used, stats.n_ctx)
        if answer.conversation_id == self.conversation_id:
            # The oldest messages the engine left out are dimmed, under a banner that offers a fresh chat.
            self._view.set_forgotten(stats.trimmed_messages)

    @Slot(int, object)
    def _on_worker_answer_failed(self, request_id: int, error: HearthError) -> None:
        answer = self._answer
        if answer is None or request_id != answer.message_id:
            return
        notice = notice_for(error)
        log.warning("answer %s failed: %s (%s)", request_id, notice.title, type(error).__name__)
        self._save_calls(answer)
        final = answer.saver.fail(notice.text, run_info=self._run_info(None, answer.retrieval))
        self._end_answer(final)
        self.status.emit(notice.title)

    def _save_calls(self, answer: _Answer) -> None:
        if answer.calls:
            self._store.tool_calls.set_for_message(answer.message_id, answer.calls)

    def _end_answer(self, final: Message) -> None:
        answer = self._answer
        self._answer = None
        if answer is not None and answer.conversation_id == self.conversation_id:
            self._branch = [final if m.id == final.id else m for m in self._branch]
            self._view.end_stream(final.id, self._view_for(final))
        self.busy_changed.emit(False)
        if answer is not None:
            self._conversations.updated(answer.conversation_id)

    def _run_info(self, stats: AnswerStats | None, retrieval: RetrievalResult | None) -> RunInfo:
        session = self._session
        plan_summary = session.info.plan_summary if session.info else ""
        model_file = session.path.name if session.path else ""
        if stats is not None:
            info = RunInfo.from_answer_stats(stats, model_file=model_file, plan_summary=plan_summary)
        else:
            info = RunInfo(model_file=model_file, plan_summary=plan_summary, stop_reason=StopReason.ERROR.value)
        if retrieval is not None:
            info.extra["retrieval"] = retrieval.to_dict()
        return info

    def shutdown(self) -> None:
        """Keep everything shown: the partial answer is saved; the next start marks it interrupted."""
        self._finish_preparing()
        if self._answer is not None:
            if self._runner is not None and self._runner.running:
                self._runner.cancel()
                self._runner.wait()
            self._save_calls(self._answer)
            self._answer.saver.flush()
        self.save_ui_state()
        self._store.set_state(LAST_CONVERSATION_KEY, self.conversation_id)

    # --- views ---------------------------------------------------------------------------------------------------

    def _views(self, branch: Sequence[Message]) -> list[MessageView]:
        pinned = self._whole_documents(branch[0].conversation_id) if branch else frozenset()
        return [self._view_for(m, pinned) for m in branch]

    def _whole_documents(self, conversation_id: int) -> frozenset[str]:
        try:
            return frozenset(self._store.conversations.get(conversation_id).whole_documents)
        except HearthError:
            return frozenset()

    def _view_for(self, message: Message, pinned: frozenset[str] | None = None) -> MessageView:
        index, count = self._store.messages.siblings(message.id)
        if pinned is None:
            pinned = self._whole_documents(message.conversation_id)
        attachments = tuple(
            AttachmentChip(a.file_name, a.file.size,
                           "image" if a.file.reference == IMAGE_REFERENCE else _kind(a.file_name),
                           a.file.sha256, a.file.sha256 in pinned)
            for a in self._store.attachments.for_message(message.id, contents=False)
        )
        stats = ""
        author = ""
        cut_off = False
        citations: tuple[Citation, ...] = ()
        sources = ""
        thinking_seconds: float | None = None
        can_read_more = False
        run = message.run_info
        if message.role is Role.ASSISTANT and message.status is MessageStatus.STREAMING and self._session.path:
            author = model_display_name(self._session.path)
        if run is not None and message.role is Role.ASSISTANT:
            parts = []
            if run.tokens:
                parts.append(f"{run.tokens} tokens")
            if run.tokens_per_s:
                parts.append(f"{run.tokens_per_s:.1f} tokens/s")
            stop_reason = StopReason.parse(run.stop_reason)
            if stop_reason is StopReason.LENGTH:
                parts.append("cut off at the length limit")
            elif stop_reason is StopReason.CONTEXT_FULL:
                parts.append("stopped: context full")
            elif stop_reason is StopReason.REPETITION:
                parts.append("stopped: the model was repeating itself")
            stats = " · ".join(parts)
            author = answer_author(run.model_file)
            cut_off = stop_reason.cut_off
            thinking_s = run.extra.get("thinking_s")
            if isinstance(thinking_s, (int, float)):
                thinking_seconds = float(thinking_s)
            retrieval = retrieval_from_run_extra(run.extra)
            if retrieval is not None:
                can_read_more = retrieval.can_read_more
                citations = answer_citations(strip_thinking(message.content), retrieval)
                sources = " · ".join(f"{choice.name}: {choice.summary}" for choice in retrieval.choices)
        return MessageView(
            id=message.id,
            role=message.role,
            text=message.content,
            status=message.status,
            error=message.error,
            sibling_index=index,
            sibling_count=count,
            stats=stats,
            author=author,
            attachments=attachments,
            citations=citations,
            sources=sources,
            cut_off=cut_off,
            thinking_seconds=thinking_seconds,
            can_read_more=can_read_more,
            tool_calls=_call_views(self._store.tool_calls.for_message(message.id))
            if message.role is Role.ASSISTANT else (),
        )


def _engine_messages_on_worker(default_for: Callable[[], str], reading: Callable[[], ReadingBudget], *args: Any,
                               **kwargs: Any) -> tuple[list[dict[str, Any]], RetrievalResult | None]:
    """``engine_messages`` with what is read from files looked up on the answer's worker: the model's recommended
    system prompt (the model file's header) and the reading budget (this machine's prompt speed, from ``hearth
    bench``'s result file)."""
    return engine_messages(*args, default_system_prompt=default_for(), reading=reading(), **kwargs)


def _call_views(records: Sequence[ToolCallRecord]) -> tuple[ToolCallView, ...]:
    return tuple(ToolCallView(r.name, r.server, r.arguments_pretty(), r.result, r.status,
                              duration_words(r.duration_s) if r.status is not CallStatus.RUNNING else "")
                 for r in records)


def _kind(name: str) -> str:
    kind = kind_from_name(name)
    return kind.value if kind is not None else "file"


def answer_citations(text: str, retrieval: RetrievalResult) -> tuple[Citation, ...]:
    """The sources the answer cites; when it cites none, the passages that matched the question best."""
    found = []
    seen: set[str] = set()
    for citation in extract_citations(text, retrieval.labels):
        if citation.text in seen:
            continue
        seen.add(citation.text)
        passage = "\n\n".join(block.text for label in citation.labels for block in retrieval.blocks_for(label))
        found.append(Citation(label=citation.text, passage=passage, invented=not citation.known))
    if not found:
        found = [Citation(label=label, passage="\n\n".join(b.text for b in retrieval.blocks_for(label)), matched=True)
                 for label in retrieval.best_labels()]
    return tuple(found)
