"""What of the attachments goes into the prompt, and checking the citations in the answer.

Typical use (the GUI's worker, or ``hearth chat --attach``)::

    budget = attachment_budget(n_ctx, max_tokens=max_tokens, before=earlier_messages)  # hearth.core.chat.budget
    reading = reading_budget(n_ctx, prompt_tokens_per_s)  # about 10 s of reading, at most half the context
    result = select_context(question, documents, budget, count_tokens=tokenizer_count, pinned=pinned_shas,
                            reading=reading)
    user_message = build_prompt(result)
    ...
    citations = extract_citations(answer, result.labels)

Ranking is SQLite FTS5 BM25 (``PassageIndex``). Embeddings are not used yet; an embedding ranker would implement
``Ranker`` (``add`` + ``search``) and be passed as ``ranker=``.
"""

from hearth.core.retrieval.citations import Citation, extract_citations
from hearth.core.retrieval.index import Hit, PassageIndex, Ranker, query_terms
from hearth.core.retrieval.prompt import build_prompt, instructions, render_prompt
from hearth.core.retrieval.reading import ReadingBudget, estimated_prompt_speed, reading_budget
from hearth.core.retrieval.result import ContextBlock, DocumentChoice, Mode, RetrievalResult
from hearth.core.retrieval.select import named_pages, select_context, unique_names
from hearth.core.retrieval.tokens import CHARS_PER_TOKEN, TokenCounter, estimate_tokens

__all__ = [
    "CHARS_PER_TOKEN",
    "Citation",
    "ContextBlock",
    "DocumentChoice",
    "Hit",
    "Mode",
    "PassageIndex",
    "Ranker",
    "ReadingBudget",
    "RetrievalResult",
    "TokenCounter",
    "build_prompt",
    "estimate_tokens",
    "estimated_prompt_speed",
    "extract_citations",
    "instructions",
    "named_pages",
    "query_terms",
    "reading_budget",
    "render_prompt",
    "select_context",
    "unique_names",
]
