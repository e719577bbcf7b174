"""Speculative decoding: guess the next few tokens cheaply, let the model check them all in one batch.

Reading k+1 tokens in one batch costs little more than reading one (the weights are read once), so every drafted
token the model agrees with is a token written for almost nothing. Two drafters:

- ``LookupDrafter`` (prompt lookup, llama.cpp's ``--lookup``/n-gram drafting): when the last few tokens appeared
  before in the conversation (an attached document, code being edited), the tokens that followed them then are the
  draft. It costs nothing when nothing repeats.
- ``ModelDrafter``: a small model with the same tokenizer writes the draft greedily (llama.cpp's draft model).

Verification (``host``) samples the model's own token at every drafted position and keeps drafts only while they
equal what it sampled; the first difference is replaced by the sampled token. Each written token is therefore drawn
from exactly the distribution it would have been drawn from without drafting, one sampler call per written token;
with temperature > 0 this is the standard acceptance rule for a deterministic draft (accepted with the model's
probability of the drafted token, otherwise a draw from the rest), so drafting stays on when sampling. Greedy
answers add one guard (``SAFE_MARGIN``): a batch's logits, and the cache rows it writes, are rounded differently from
one row's, so a near-tie is decided only after the rows the answer's batches wrote are read again one at a time, as
they would have been without drafting (``host``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from hearth.core.engine.runtime import ModelRuntime

# A newest message at least this long, or holding a code block, is material an answer is likely to quote.
QUOTABLE_CHARS = 1500

# Greedy answers: a drafted position is decided from the batch's logits only when the best token leads the second by
# at least this much. llama.cpp's CPU backend computes a batch of rows with other kernels than a single row (llamafile
# tinyBLAS from 2 rows, tiled K-quant kernels from 8), and their rounding moved Gemma 3 270M's logits by up to 1.1
# (flash attention off) and 2.05 (on), on a scale of ~19, for the same positions. Below twice that plus headroom the
# position is read again on its own, so the choice is made as it would be without drafting.
SAFE_MARGIN = 4.5


def quotes_input(messages: Sequence[dict[str, Any]]) -> bool:
    """Whether the newest user message holds material an answer may quote: an attached document or code."""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            text = content if isinstance(content, str) else str(content or "")
            return len(text) >= QUOTABLE_CHARS or "```" in text
    return False


class Drafter(Protocol):
    name: str

    def draft(self, history: Sequence[int], limit: int) -> list[int]:
        """Up to ``limit`` tokens likely to follow ``history`` (the prompt and the answer so far)."""
        ...

    def close(self) -> None: ...


class LookupDrafter:
    """Prompt lookup: continue the most recent earlier occurrence of the last few tokens.

    Args:
        n_max, n_min: the longest and shortest n-gram matched (longer matches are tried first).
    """

    name = "lookup"

    def __init__(self, n_max: int = 4, n_min: int = 2) -> None:
        self.n_max = n_max
        self.n_min = n_min
        # n-gram -> the position just after its most recent occurrence; ``_indexed``: n-grams ending before it.
        self._index: dict[tuple[int, ...], int] = {}
        self._indexed = 0

    def _catch_up(self, history: Sequence[int]) -> None:
        # Index the n-grams that end before the last token, so that the tail never finds itself.
        end = len(history) - 1
        index = self._index
        for stop in range(max(self._indexed, 1), end + 1):
            for n in range(self.n_min, self.n_max + 1):
                if stop >= n:
                    index[tuple(history[stop - n:stop])] = stop
        self._indexed = max(self._indexed, end + 1)

    def draft(self, history: Sequence[int], limit: int) -> list[int]:
        if limit <= 0 or len(history) <= self.n_min:
            return []
        self._catch_up(history)
        for n in range(min(self.n_max, len(history)), self.n_min - 1, -1):
            after = self._index.get(tuple(history[len(history) - n:]))
            if after is not None:
                return list(history[after:after + limit])
        return []

    def close(self) -> None:
        self._index.clear()


class ModelDrafter:
    """A small model with the same tokenizer drafts greedily; its cache follows the conversation."""

    name = "draft"

    def __init__(self, runtime: ModelRuntime) -> None:
        self.runtime = runtime
        self._cached: list[int] = []

    def draft(self, history: Sequence[int], limit: int) -> list[int]:
        rt = self.runtime
        limit = min(limit, rt.n_ctx - len(history) - 1)
        if limit <= 0:
            return []
        common = 0
        for a, b in zip(self._cached, history, strict=False):
            if a != b:
                break
            common += 1
        common = min(common, len(history) - 1)  # the last token is read again, for its logits
        if not (common > 0 and rt.can_reuse(common) and rt.keep_prefix(common)):
            rt.clear()
            common = 0
        self._cached = list(history[:common])
        rt.decode(history[common:], common)
        self._cached = list(history)
        sampler = rt.make_sampler(temperature=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0,
                                  repeat_last_n=0, seed=0)
        drafts: list[int] = []
        try:
            while True:
                token = sampler.sample()
                if rt.is_end_of_turn(token):
                    break
                drafts.append(token)
                if len(drafts) >= limit:
                    break
                rt.decode_one(token, len(self._cached))
                self._cached.append(token)
        finally:
            sampler.close()
        return drafts

    def close(self) -> None:
        self.runtime.close()


class DraftLength:
    """How many tokens to draft next: more while drafts are accepted, fewer while they are not.

    A rejected draft costs a batch that is bigger than one token; halving after a miss keeps the cost of text
    that does not repeat small, doubling after a full hit gets long quotes through quickly.
    """

    def __init__(self, most: int) -> None:
        self.most = max(1, most)
        self.now = max(1, min(4, self.most))

    def update(self, drafted: int, accepted: int) -> None:
        if drafted and accepted == drafted:
            self.now = min(self.most, self.now * 2)
        elif accepted * 2 < drafted:
            self.now = max(1, self.now // 2)


class DraftPace:
    """Whether drafting pays here and now: the time per written token with drafts against without, as measured.

    A batch of k tokens costs little more than one where reading the weights dominates (a big model, a GPU), but on a
    CPU with a small model it does not: on the development machine (2 cores) SmolLM2 135M read 1 token in 15 ms, 2 in
    30 ms and 8 in 60 ms, and a greedy answer's near-ties cost a second reading (``host``). There drafting made a
    quoting answer 2.5 times slower. So each step's cost is measured: steps that drafted against steps that did
    not (a text that nothing matches gives plenty of those; a draft model's steps all draft, so a few plain steps are
    taken now and then to know). When drafting writes slower than plain steps, it pauses, for 16 tokens at first
    and twice as long after each further pause that it earned, and is tried again after each pause: an answer
    may begin to quote later. The host keeps one per loaded model, so the next answer starts with what was learnt.

    Args:
        window: drafting steps weighed before judging.
        probe: plain steps taken to learn their cost when none was seen.
        adaptive: False: never pause (every step with a draft drafts; for answers that must be reproducible).
    """

    def __init__(self, window: int = 6, probe: int = 4, *, adaptive: bool = True) -> None:
        self.adaptive = adaptive
        self.window = window
        self.probe = probe
        self._plain: list[float] = []  # seconds per token of recent plain steps
        self._drafted_s = 0.0
        self._drafted_tokens = 0
        self._drafted_steps = 0
        self._paused_until = 0
        self._backoff = 16
        self.pauses = 0

    def begin(self) -> None:
        """A new answer, with what was learnt so far: after a pause that drafting earned, the answer's first
        tokens are written plainly too (as many as the pause was long), then drafting is tried again."""
        self._paused_until = self._backoff // 2 if self.pauses and self._backoff > 16 else 0
        self._drafted_s, self._drafted_tokens, self._drafted_steps = 0.0, 0, 0

    def allowed(self, written: int) -> bool:
        """Whether the step after ``written`` tokens may draft."""
        return written >= self._paused_until

    def record(self, *, drafted: bool, seconds: float, tokens: int, written: int) -> None:
        """One step's cost: ``tokens`` written in ``seconds``; ``written``: the answer's tokens so far."""
        if tokens <= 0 or not self.adaptive:
            return
        if not drafted:
            self._plain = [*self._plain[-(self.window - 1):], seconds / tokens]
            return
        self._drafted_s += seconds
        self._drafted_tokens += tokens
        self._drafted_steps += 1
        if self._drafted_steps < self.window:
            return
        if not self._plain:
            self._paused_until = written + self.probe  # learn what a plain step costs, then judge
            return
        plain = sorted(self._plain)[len(self._plain) // 2]
        drafted_per_token = self._drafted_s / self._drafted_tokens
        self._drafted_s, self._drafted_tokens, self._drafted_steps = 0.0, 0, 0
        if drafted_per_token > plain:
            self._paused_until = written + self._backoff
            self._backoff = min(self._backoff * 2, 1024)
            self.pauses += 1
        else:
            self._backoff = 16
