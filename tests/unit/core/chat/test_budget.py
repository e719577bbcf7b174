"""The one attachment budget: its arithmetic, and the window and ``hearth chat --attach`` choosing the same passages
for one document and one question."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.cli.attachments import AttachmentPrompter, read_attachments
from hearth.core.chat.attachments import AttachmentSource, prepare_attachments
from hearth.core.chat.budget import (
    ESTIMATE_MARGIN,
    MESSAGE_OVERHEAD_TOKENS,
    TEMPLATE_OVERHEAD_TOKENS,
    attachment_budget,
)
from hearth.core.chat.prompt import engine_messages
from hearth.core.engine.media import IMAGE_TOKENS_ESTIMATE
from hearth.core.engine.sampling import answer_reserve
from hearth.core.retrieval import estimate_tokens
from hearth.core.store import Role, Store
from tests.fixtures.documents import make_docx, make_pdf, report_pages

SYSTEM = "Answer from the attached documents and cite them."
EARLIER = ("What is the report about?", "It describes a year of reactor operations across several sites.")
QUESTION = "How many megawatts did the Zanzibar reactor produce?"


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "hearth.db") as opened:
        yield opened


def test_the_budget_counts_everything_else_the_prompt_holds() -> None:
    before = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Look.", "images": [{}, {}]}]
    others = (TEMPLATE_OVERHEAD_TOKENS + 2 * MESSAGE_OVERHEAD_TOKENS + estimate_tokens(SYSTEM)
              + estimate_tokens("Look.") + 3 * IMAGE_TOKENS_ESTIMATE)
    margin = int(8192 * ESTIMATE_MARGIN + 0.999)
    assert attachment_budget(8192, max_tokens=1024, before=before, pictures=1) == 8192 - 1024 - others - margin
    # The answer's room is the engine's: at most a quarter of the context, 512 when no longest answer is asked for.
    assert answer_reserve(2048, 1024) == 512 and answer_reserve(8192, None) == 512 and answer_reserve(8192, 64) == 64
    assert attachment_budget(2048, max_tokens=None) == 2048 - 512 - TEMPLATE_OVERHEAD_TOKENS - 205
    assert attachment_budget(1024, max_tokens=256, pictures=1) == 0, "a picture bigger than the room leaves none"


def test_the_window_and_the_cli_choose_the_same_passages(store: Store, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    make_pdf(report_pages(40), pdf)
    memo = make_docx(tmp_path / "memo.docx")

    # The window: a stored conversation with a system prompt, an earlier turn, then the question with the files.
    prepared = prepare_attachments(store, [AttachmentSource("report.pdf", pdf), AttachmentSource("memo.docx", memo)])
    conv = store.conversations.create(system_prompt=SYSTEM)
    store.messages.add_user_message(conv.id, EARLIER[0])
    store.messages.add_message(conv.id, Role.ASSISTANT, EARLIER[1])
    user = store.messages.add_user_message(conv.id, QUESTION, attachments=prepared.new)
    answer = store.messages.get(store.messages.start_assistant_message(user.id))
    branch = [m for m in store.messages.select(answer.id) if m.id != answer.id]
    window, chosen = engine_messages(store, answer, branch, False, n_ctx=2048, max_tokens=64)
    assert chosen is not None

    # The terminal: ``hearth chat --attach report.pdf --attach memo.docx --system ... --ctx 2048 --max-tokens 64``,
    # after the same earlier turn.
    documents, pictures = read_attachments([pdf, memo], err=io.StringIO())
    prompter = AttachmentPrompter(documents, n_ctx=2048, max_tokens=64, err=io.StringIO())
    history = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": EARLIER[0]},
               {"role": "assistant", "content": EARLIER[1]}]
    text, cli = prompter.choose(QUESTION, history, pictures=len(pictures))
    assert cli is not None

    assert cli.budget_tokens == chosen.budget_tokens
    assert cli.labels == chosen.labels and text == window[-1]["content"]
    assert "report.pdf p.12" in cli.labels, "the passage that answers is among them"
    assert len(cli.labels) < 40 + 2, "the budget mattered: not everything fits in 2,048 tokens"
