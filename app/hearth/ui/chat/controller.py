"""The conversation on screen: sending, streaming, stopping, regenerating, editing, continuing, switching branches.

Order of events for one answer: the user's message is written to the store first (nothing typed is lost), the
answer is created as a streaming message, the engine streams tokens that the chat view shows and a
``StreamingSaver`` saves at most once a second, and the final text, status and run info are written at the end.
Token events carry the answer's message id; events for any other id are dropped.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

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
from hearth.core.engine import AnswerStats
from hearth.core.engine.sampling import SamplingParams
from hearth.core.errors import EncryptedDocumentError, HearthError, NoTextLayerError, NoVisionError
from hearth.core.models.library.names import answer_author, model_display_name
from hearth.core.retrieval import Mode, RetrievalResult, extract_citations, reading_budget
from hearth.core.store import Message, MessageStatus, Role, RunInfo, Store, StreamingSaver
from hearth.core.thinking import split_thinking, strip_thinking
from hearth.ui.chat.composer import PendingAttachment, attachment_for_path
from hearth.ui.chat.message_types import AttachmentChip, Citation, MessageView
from hearth.ui.chat.view import ChatView
from hearth.ui.engine_bridge import AnswerRequest, EngineBridge
from hearth.ui.model_session import ModelSession
from hearth.ui.shell.dialogs import Ask, AskPassword, ask_password, ask_user
from hearth.ui.shell.notices import info, notice_for
from hearth.ui.tasks import BackgroundTask

# A message whose attachments were being read when the app ended: it is not in the conversation yet, so it is kept
# here until it is, and put back into the composer at the next start.
UNSENT_KEY = "unsent_message"

log = logging.getLogger(__name__)

# A prompt at least this long says how fast this machine reads (shorter ones are dominated by fixed costs).
_SPEED_SAMPLE_TOKENS = 256

_STATUS = {
    "cancelled": MessageStatus.CANCELLED,
    "context_full": MessageStatus.COMPLETE,
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


class ChatController(QObject):
    """Connects the chat view and composer to the store and the engine.

    A scanned PDF (no text to read) attached while a model that can see is loaded: ``ask`` puts a yes/no question
    (tests pass their answer), and on yes its pages go with the message as pictures. A password-protected PDF:
    ``password`` asks for its password (again, when it was wrong) and it is read with it; the password is kept only
    until the message is sent.

    Signals:
        conversation_changed(object): the id of the conversation on screen (None for a new, empty one).
        busy_changed(bool): an answer started or ended.
        status(str): a line for the status bar ("Reading 12,400 tokens… 40%", "12.3 tokens/s").
        context_usage(int, int): tokens used and context size after an answer.
        notice(object): a ``Notice`` to show as a toast.
        conversations_changed(): titles or order changed (the side list should refresh).
        restore_composer(str, list): put text and attachments back into the composer (a send that failed).
    """

    conversation_changed = Signal(object)
    busy_changed = Signal(bool)
    status = Signal(str)
    context_usage = Signal(int, int)
    notice = Signal(object)
    conversations_changed = Signal()
    restore_composer = Signal(str, list)

    def __init__(
        self,
        store: Store,
        bridge: EngineBridge,
        session: ModelSession,
        view: ChatView,
        sampling_for: Callable[[], SamplingParams],
        system_prompt_for: Callable[[], str],
        ask: Ask = ask_user,
        password: AskPassword = ask_password,
        prompt_speed_for: Callable[[], float | None] | None = None,
        default_system_prompt_for: Callable[[], str] | None = None,
    ) -> None:
        super().__init__()
        self._store = store
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
        self._answer: _Answer | None = None
        self._preparing: BackgroundTask[PreparedAttachments, tuple[str, float]] | None = None
        self._cancel_preparing = threading.Event()
        self._branch: list[Message] = []
        self._documents = DocumentCache()
        self._pending_send: tuple[str, list[PendingAttachment]] = ("", [])
        self._pending_pages: frozenset[str] = frozenset()
        self._ask = ask
        self._ask_password = password
        self._passwords: dict[str, str] = {}
        self._save_timer = QTimer(self)
        self._save_timer.setInterval(1000)
        self._save_timer.timeout.connect(self._on_save_timer_timeout)
        worker = bridge.worker
        worker.answer_prepared.connect(self._on_worker_answer_prepared)
        worker.token.connect(self._on_worker_token)
        worker.prompt_progress.connect(self._on_worker_prompt_progress)
        worker.answer_finished.connect(self._on_worker_answer_finished)
        worker.answer_failed.connect(self._on_worker_answer_failed)
        view.regenerate_requested.connect(self.regenerate)
        view.continue_requested.connect(self.continue_answer)
        view.branch_requested.connect(self.switch_branch)
        view.whole_requested.connect(self.set_document_whole)
        view.read_more_requested.connect(self.read_more)

    # --- state ---------------------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._answer is not None or self._preparing is not None

    @property
    def streaming_message_id(self) -> int | None:
        return self._answer.message_id if self._answer else None

    def branch(self) -> list[Message]:
        return list(self._branch)

    # --- conversations -------------------------------------------------------------------------------------------

    def new_conversation(self) -> None:
        """Show an empty conversation; it is created in the store with its first message."""
        self._finish_preparing()
        self.conversation_id = None
        self._branch = []
        self._next_system_prompt = None
        self._view.set_messages([])
        self.conversation_changed.emit(None)

    def open_conversation(self, conversation_id: int, focus_message_id: int | None = None) -> None:
        if self._answer is not None and self._answer.conversation_id != conversation_id:
            self._answer.saver.flush()
        self.conversation_id = conversation_id
        if focus_message_id is not None:
            self._branch = self._store.messages.select(focus_message_id)
        else:
            self._branch = self._store.messages.active_branch(conversation_id)
        self._view.set_messages(self._views(self._branch))
        conv = self._store.conversations.get(conversation_id)
        scroll = conv.ui_state.get("scroll")
        if focus_message_id is not None:
            self._view.restore_scroll_state(float(focus_message_id))
        elif isinstance(scroll, (int, float)):
            self._view.restore_scroll_state(scroll)
        self.conversation_changed.emit(conversation_id)
        if self._answer is not None and self._answer.conversation_id == conversation_id:
            self._view.begin_stream(self._answer.message_id, keep_text=True)

    def save_ui_state(self) -> None:
        if self.conversation_id is not None:
            self._store.conversations.set_ui_state(self.conversation_id, {"scroll": self._view.scroll_state()})

    # --- sending -------------------------------------------------------------------------------------------------

    def send(self, text: str, attachments: Sequence[PendingAttachment] = ()) -> None:
        """Send a new user message (with attachments) and start its answer."""
        if self.busy:
            return
        if not attachments:
            self._send_prepared(text, PreparedAttachments())
            return
        self._passwords = {}
        self._prepare(text, list(attachments), frozenset())

    def _prepare(self, text: str, attachments: list[PendingAttachment], as_pages: frozenset[str]) -> None:
        """Read the attachments in the background, then send; ``as_pages`` names scanned PDFs sent as pictures."""
        info = self._session.info
        page_limit = page_picture_limit(info.n_ctx if info else 4096)
        sources = [AttachmentSource(a.name, a.path, a.data, as_pages=a.name in as_pages) for a in attachments]
        self._store.set_state(UNSENT_KEY, {
            "conversation_id": self.conversation_id, "text": text,
            "files": [str(a.path) for a in attachments if a.path is not None],
        })
        self._cancel_preparing.clear()
        cancel = self._cancel_preparing
        store = self._store
        names = ", ".join(a.name for a in attachments)
        self.status.emit(f"Reading {names}…")
        passwords = dict(self._passwords)

        def work(report: Callable[[tuple[str, float]], None]) -> PreparedAttachments:
            return prepare_attachments(store, sources, cancel=cancel, page_limit=page_limit, passwords=passwords,
                                       on_progress=lambda name, fraction: report((name, fraction)))

        self._preparing = BackgroundTask(work, parent=self, name="read attachments") \
            .with_progress(self._on_preparing_progress) \
            .success(self._on_preparing_finished) \
            .failure(self._on_preparing_failed)
        self._pending_send = (text, attachments)
        self._pending_pages = as_pages
        self.busy_changed.emit(True)
        self._preparing.run_in_background()

    def _on_preparing_progress(self, update: tuple[str, float]) -> None:
        name, fraction = update
        self.status.emit(f"Reading {name}… {fraction:.0%}")

    def _on_preparing_finished(self, prepared: PreparedAttachments) -> None:
        text, _attachments = self._pending_send
        self._preparing = None
        self._passwords = {}
        for document in prepared.documents:
            self._documents.put(document.sha256, document)  # read just now: the prompt need not parse it again
        warnings = [warning for document in prepared.documents for warning in document.warnings]
        warnings += prepared.notes  # page pictures left out, pages without a picture
        if warnings:  # read, but not all of it as it was (unreadable pages, replaced bytes, pictures without text)
            more = f" (and {len(warnings) - 3} more)" if len(warnings) > 3 else ""
            self.notice.emit(info(" ".join(warnings[:3]) + more, "Read with warnings"))
        self._send_prepared(text, prepared, unsent_saved=True)

    def _on_preparing_failed(self, error: HearthError) -> None:
        log.info("attachments not read: %s", type(error).__name__)
        log.debug("attachments not read: %s", error)
        text, attachments = self._pending_send
        self._preparing = None
        offered = None
        if isinstance(error, NoTextLayerError):
            offered = self._offer_page_pictures(error, text, attachments)
        elif isinstance(error, EncryptedDocumentError):
            offered = self._ask_for_password(error, text, attachments)
        if offered is True:
            return
        self._passwords = {}
        self._store.set_state(UNSENT_KEY, None)
        self.busy_changed.emit(False)
        self.status.emit("")
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

    def _send_prepared(self, text: str, prepared: PreparedAttachments, *, unsent_saved: bool = False) -> None:
        if prepared.images and not (self._session.info and self._session.info.vision):
            if unsent_saved:
                self._store.set_state(UNSENT_KEY, None)
            self.restore_composer.emit(text, list(self._pending_send[1]))
            self.busy_changed.emit(False)
            self.notice.emit(notice_for(NoVisionError(
                "This model can't see images.",
                hint="Load Llama 4 Scout with its vision file (mmproj), or remove the image.",
            )))
            return
        if self.conversation_id is None:
            system_prompt, preset = self.system_prompt()
            conv = self._store.conversations.create(
                model=self._session.path.name if self._session.path else "",
                system_prompt=system_prompt, preset=preset,
            )
            self.conversation_id = conv.id
            self.conversation_changed.emit(conv.id)
        user = self._store.messages.add_user_message(self.conversation_id, text, attachments=prepared.new)
        if unsent_saved:
            self._store.set_state(UNSENT_KEY, None)  # it is in the conversation now
        self._branch = self._store.messages.active_branch(self.conversation_id)
        self._view.append_message(self._view_for(user))
        self.conversations_changed.emit()
        self._start_answer(user.id)

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
        if self.busy:
            return
        message = self._store.messages.get(message_id)
        if message.role is not Role.ASSISTANT or message.parent_id is None:
            return
        self._start_answer(message.parent_id, reopen=True)

    def read_more(self, message_id: int) -> None:
        """A new answer beside ``message_id`` given more of the documents (twice the reading time each time)."""
        if self.busy:
            return
        message = self._store.messages.get(message_id)
        if message.role is not Role.ASSISTANT or message.parent_id is None:
            return
        retrieval = retrieval_from_run_extra(message.run_info.extra) if message.run_info else None
        self._start_answer(message.parent_id, reopen=True, more=(retrieval.more if retrieval else 0) + 1)

    def edit_and_resend(self, message_id: int, text: str) -> None:
        """Replace a user message with an edited one (the original stays as another version) and answer it."""
        if self.busy:
            return
        edited = self._store.messages.edit_and_resend(message_id, text)
        self._start_answer(edited.id, reopen=True)

    def continue_answer(self, message_id: int) -> None:
        """Carry on writing a cut-off, stopped or interrupted answer."""
        if self.busy or not self._session.ready:
            return
        message = self._store.messages.resume_message(message_id)
        self._branch = self._store.messages.select(message.id)
        self._view.set_messages(self._views(self._branch))
        saver = StreamingSaver(self._store.messages, message.id, initial_text=message.content)
        self._run(message, saver, continue_last=True)

    def switch_branch(self, message_id: int, offset: int) -> None:
        if self._answer is not None:
            return
        self._branch = self._store.messages.select_sibling(message_id, offset)
        self._view.set_messages(self._views(self._branch))

    def system_prompt(self) -> tuple[str, str]:
        """The system prompt of the conversation on screen and the preset it came from; for a new chat, the one
        picked for it, else the model's default."""
        if self.conversation_id is not None:
            conv = self._store.conversations.get(self.conversation_id)
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

    def stop(self) -> None:
        """Stop the answer now (the engine checks the flag every token and during prompt reading)."""
        if self._preparing is not None:
            self._cancel_preparing.set()
        if self._answer is not None:
            self._bridge.cancel()

    # --- answering -----------------------------------------------------------------------------------------------

    def _start_answer(self, parent_id: int, *, reopen: bool = False, more: int = 0) -> None:
        if not self._session.ready:
            self.busy_changed.emit(False)
            self.notice.emit(notice_for(HearthError("No model is loaded.", hint="Load a model on the Models page.")))
            return
        answer_id = self._store.messages.start_assistant_message(parent_id)
        self._branch = self._store.messages.select(answer_id)
        answer = self._store.messages.get(answer_id)
        if reopen:
            self._view.set_messages(self._views(self._branch))
        else:
            self._view.append_message(self._view_for(answer))
        self._run(answer, StreamingSaver(self._store.messages, answer_id), more=more)

    def _run(self, answer: Message, saver: StreamingSaver, *, continue_last: bool = False, more: int = 0) -> None:
        assert self.conversation_id is not None
        self._answer = _Answer(answer.id, self.conversation_id, saver)
        self._view.begin_stream(answer.id, keep_text=continue_last)
        self._save_timer.start()
        self.busy_changed.emit(True)
        self.status.emit("Thinking…")
        params = self._sampling_for()
        info = self._session.info
        # The prompt is built on the engine's thread: reading back big attachments and ranking their passages can
        # take a second, which the window must not wait for.
        n_ctx = info.n_ctx if info else 4096
        speed = self._prompt_speed_for() or self._measured_prompt_speed
        prepare = functools.partial(
            engine_messages, self._store, answer, [m for m in self._branch if m.id != answer.id], continue_last,
            n_ctx=n_ctx, answer_tokens=params.max_tokens or 1024, documents=self._documents,
            reading=reading_budget(n_ctx, speed, more=more), default_system_prompt=self._default_system_prompt_for(),
        )
        self._bridge.answer(AnswerRequest(answer.id, [], params, continue_last, prepare=prepare))

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
        answer.tokens += 1
        answer.saver.add(text)
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
        if stats.prompt_decode_s and stats.prompt_decoded_tokens >= _SPEED_SAMPLE_TOKENS:
            self._measured_prompt_speed = stats.prompt_decoded_tokens / stats.prompt_decode_s
        run_info = self._run_info(stats, answer.retrieval)
        if answer.thought_until is not None:
            run_info.extra["thinking_s"] = round(answer.thought_until - answer.started, 1)
        final = answer.saver.finish(status, run_info=run_info)
        log.debug("answer %s: %s", request_id, final.content)
        self._end_answer(final)
        rate = f"{stats.tokens_per_s:.1f} tokens/s" if stats.tokens_per_s else ""
        note = {"cancelled": " · stopped", "context_full": " · context full",
                "repetition": " · stopped: the model was repeating itself"}.get(stats.stop_reason, "")
        self.status.emit(f"{stats.tokens} tokens · {rate}{note}".strip(" ·"))
        self.context_usage.emit(stats.context_used, stats.n_ctx)
        if stats.trimmed_turns:
            self.notice.emit(notice_for(HearthError(
                f"The conversation is longer than the model's context, so the {stats.trimmed_turns} oldest "
                f"turn{'s were' if stats.trimmed_turns > 1 else ' was'} left out of this answer.",
                hint="Start a new chat for a fresh context, or raise the context size in Settings.")))

    @Slot(int, object)
    def _on_worker_answer_failed(self, request_id: int, error: HearthError) -> None:
        answer = self._answer
        if answer is None or request_id != answer.message_id:
            return
        notice = notice_for(error)
        log.warning("answer %s failed: %s (%s)", request_id, notice.title, type(error).__name__)
        final = answer.saver.fail(notice.text, run_info=self._run_info(None, answer.retrieval))
        self._end_answer(final)
        self.status.emit(notice.title)

    def _end_answer(self, final: Message) -> None:
        answer = self._answer
        self._answer = None
        self._save_timer.stop()
        if answer is not None and answer.conversation_id == self.conversation_id:
            self._branch = [final if m.id == final.id else m for m in self._branch]
            self._view.end_stream(final.id, self._view_for(final))
        self.busy_changed.emit(False)
        self.conversations_changed.emit()

    def _run_info(self, stats: AnswerStats | None, retrieval: RetrievalResult | None) -> RunInfo:
        session = self._session
        plan_summary = session.info.plan_summary if session.info else ""
        model_file = session.path.name if session.path else ""
        if stats is not None:
            info = RunInfo.from_answer_stats(stats, model_file=model_file, plan_summary=plan_summary)
        else:
            info = RunInfo(model_file=model_file, plan_summary=plan_summary, stop_reason="error")
        if retrieval is not None:
            info.extra["retrieval"] = retrieval.to_dict()
        return info

    @Slot()
    def _on_save_timer_timeout(self) -> None:
        if self._answer is not None:
            self._answer.saver.tick()

    def shutdown(self) -> None:
        """Keep everything shown: the partial answer is saved; the next start marks it interrupted."""
        self._finish_preparing()
        if self._answer is not None:
            self._answer.saver.flush()
        self.save_ui_state()

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
            if run.stop_reason == "length":
                parts.append("cut off at the length limit")
            elif run.stop_reason == "context_full":
                parts.append("stopped: context full")
            elif run.stop_reason == "repetition":
                parts.append("stopped: the model was repeating itself")
            stats = " · ".join(parts)
            author = answer_author(run.model_file)
            cut_off = run.stop_reason in ("length", "context_full", "repetition")
            thinking_s = run.extra.get("thinking_s")
            if isinstance(thinking_s, (int, float)):
                thinking_seconds = float(thinking_s)
            retrieval = retrieval_from_run_extra(run.extra)
            if retrieval is not None:
                can_read_more = retrieval.can_read_more
                citations = _citations(strip_thinking(message.content), retrieval)
                sources = " · ".join(f"{choice.name}: {choice.summary}" for choice in retrieval.choices)
        return MessageView(
            id=message.id,
            role=message.role.value,
            text=message.content,
            status=message.status.value,
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
        )


def _kind(name: str) -> str:
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return {"pdf": "pdf", "docx": "docx", "csv": "csv", "md": "text", "txt": "text", "json": "code",
            "html": "text", "htm": "text"}.get(suffix, "code" if suffix in ("py", "js", "ts", "c", "cpp", "h", "rs",
                                                                               "go", "java", "rb") else "file")


def _citations(text: str, retrieval: RetrievalResult) -> tuple[Citation, ...]:
    found = []
    seen: set[str] = set()
    for citation in extract_citations(text, retrieval.labels):
        if citation.text in seen:
            continue
        seen.add(citation.text)
        passage = "\n\n".join(block.text for label in citation.labels for block in retrieval.blocks_for(label))
        found.append(Citation(label=citation.text, passage=passage, invented=not citation.known))
    return tuple(found)
