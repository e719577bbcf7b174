"""What retrieval decided: the labelled blocks of text for the prompt, and per document what was used."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Mode(str, Enum):
    """How much of a document went into the prompt."""

    WHOLE = "whole"
    PASSAGES = "passages"
    NONE = "none"


@dataclass(frozen=True)
class ContextBlock:
    """A labelled piece of a document as the model sees it: ``[report.pdf p.12]`` then the text.

    Attributes:
        name: the document's display name.
        sha256: the document's key.
        label: e.g. ``report.pdf p.12``; what the model is asked to cite and what a citation chip shows.
        text: the text given to the model.
        section: index of the document section it comes from.
        start, end: the span of the section's text it covers.
        passages: indexes of the document's passages it contains (merged when adjacent).
        rank: how well it matched the question among the blocks chosen by relevance (0 best); None for blocks
            sent for another reason (a whole document, a spread over a document nothing matched).
    """

    name: str
    sha256: str
    label: str
    text: str
    section: int
    start: int
    end: int
    passages: tuple[int, ...]
    rank: int | None = None

    def render(self) -> str:
        return f"[{self.label}]\n{self.text}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "label": self.label, "text": self.text,
                "section": self.section, "start": self.start, "end": self.end, "passages": list(self.passages),
                "rank": self.rank}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContextBlock:
        rank = data.get("rank")
        return cls(str(data["name"]), str(data["sha256"]), str(data["label"]), str(data["text"]),
                   int(data["section"]), int(data["start"]), int(data["end"]),
                   tuple(int(i) for i in data.get("passages", ())), int(rank) if rank is not None else None)


@dataclass(frozen=True)
class DocumentChoice:
    """What was used of one document, for the user to see.

    Attributes:
        name, sha256: the document.
        mode: whole, passages, or none (no room).
        passages_used: passages in the prompt (all of them when whole).
        passages_total: passages in the document.
        pinned: the user asked for the whole document.
        whole_tokens: what the whole document would take.
    """

    name: str
    sha256: str
    mode: Mode
    passages_used: int
    passages_total: int
    pinned: bool = False
    whole_tokens: int = 0

    @property
    def summary(self) -> str:
        """Plain words: "whole document", "12 of 340 passages", "pinned, but too long for this model: ..."."""
        if self.mode is Mode.WHOLE:
            return "whole document (pinned)" if self.pinned else "whole document"
        if self.mode is Mode.NONE:
            return "not included: no room left in the model's context"
        counted = f"{self.passages_used:,} of {self.passages_total:,} passage{'s' if self.passages_total != 1 else ''}"
        if self.pinned:
            return f"pinned, but too long for this model's context: {counted}"
        return counted

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "mode": self.mode.value,
                "passages_used": self.passages_used, "passages_total": self.passages_total,
                "pinned": self.pinned, "whole_tokens": self.whole_tokens}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentChoice:
        return cls(str(data["name"]), str(data["sha256"]), Mode(data["mode"]), int(data["passages_used"]),
                   int(data["passages_total"]), bool(data.get("pinned", False)), int(data.get("whole_tokens", 0)))


@dataclass(frozen=True)
class RetrievalResult:
    """The attachments' part of one prompt.

    Attributes:
        question: the question it was chosen for.
        blocks: the text given to the model, ordered by document, then page/position.
        choices: per document, what was used (same order as the documents given).
        tokens: what the blocks and the instructions take, by the counter used.
        budget_tokens: what they were allowed to take.
        limit: what held the passages back besides space ("about 10 s of reading at 300 tokens/s", "half the
            context"); empty when only the space left did.
        more: how many times "Read more of the document" was asked for this question.
    """

    question: str
    blocks: tuple[ContextBlock, ...]
    choices: tuple[DocumentChoice, ...]
    tokens: int
    budget_tokens: int
    limit: str = ""
    more: int = 0

    @property
    def can_read_more(self) -> bool:
        """Whether asking again with a larger budget would send more: a limit held back passages of a document."""
        return bool(self.limit) and any(
            c.mode is not Mode.WHOLE and c.passages_used < c.passages_total for c in self.choices)

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels given to the model, in prompt order, each once."""
        return tuple(dict.fromkeys(b.label for b in self.blocks))

    def best_labels(self, limit: int = 3) -> tuple[str, ...]:
        """The labels of the blocks that matched the question best, best first: the sources to show when the
        model cites none (small models rarely do)."""
        ranked = sorted((b for b in self.blocks if b.rank is not None), key=lambda b: b.rank or 0)
        return tuple(dict.fromkeys(b.label for b in ranked))[:limit]

    def blocks_for(self, label: str) -> list[ContextBlock]:
        """The blocks behind a label (a page split in two passages has two)."""
        return [b for b in self.blocks if b.label == label]

    def to_dict(self) -> dict[str, Any]:
        """Serializable, to store with the message so citation chips work after the conversation is reopened."""
        return {"question": self.question, "blocks": [b.to_dict() for b in self.blocks],
                "choices": [c.to_dict() for c in self.choices], "tokens": self.tokens,
                "budget_tokens": self.budget_tokens, "limit": self.limit, "more": self.more}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetrievalResult:
        return cls(str(data["question"]), tuple(ContextBlock.from_dict(b) for b in data["blocks"]),
                   tuple(DocumentChoice.from_dict(c) for c in data["choices"]), int(data["tokens"]),
                   int(data["budget_tokens"]), str(data.get("limit", "")), int(data.get("more", 0)))
