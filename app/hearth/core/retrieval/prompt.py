"""The user turn that carries attachments: instructions to cite, the labelled passages, then the question."""

from __future__ import annotations

from collections.abc import Sequence

from hearth.core.retrieval.result import ContextBlock, DocumentChoice, Mode, RetrievalResult

EXAMPLE_LABEL = "report.pdf p.12"


def instructions(example_label: str = EXAMPLE_LABEL) -> str:
    """What the model is asked to do with the passages. The example is a label it was really given."""
    return (
        "The user attached documents. Passages from them follow, each starting with its label in square "
        "brackets. Answer the question from these passages. After each statement that uses a passage, cite the "
        f"passage's label exactly as written, in square brackets, for example [{example_label}]. Cite only labels "
        "that appear below. If the passages do not contain the answer, say so."
    )


def _coverage_notes(choices: Sequence[DocumentChoice]) -> list[str]:
    notes = []
    for choice in choices:
        if choice.mode is Mode.PASSAGES:
            notes.append(f"Only {choice.passages_used:,} of the {choice.passages_total:,} passages of "
                         f"{choice.name} are included: those most related to the question.")
        elif choice.mode is Mode.NONE:
            notes.append(f"{choice.name} is attached but did not fit; none of it is included.")
    return notes


def render_prompt(question: str, blocks: Sequence[ContextBlock], choices: Sequence[DocumentChoice] = ()) -> str:
    """The user message: instructions, notes on partial documents, labelled blocks, and the question last.

    The question comes last so that a small model reads it right before answering.
    """
    if not blocks and not choices:
        return question
    example = blocks[0].label if blocks else EXAMPLE_LABEL
    parts = [instructions(example), *_coverage_notes(choices)]
    parts.extend(block.render() for block in blocks)
    parts.append(f"Question: {question}")
    return "\n\n".join(parts)


def build_prompt(result: RetrievalResult) -> str:
    """The user message for a retrieval result (the question itself when nothing was attached)."""
    return render_prompt(result.question, result.blocks, result.choices)
