"""Noticing an answer that repeats itself, so it can be ended instead of running on until the token limit.

Small models (and base models given a chat) fall into loops: the same line over and over, or the same two or three
sentences in turn, sometimes with a number that counts up. Sampling penalties make this rarer; this detector ends
what still slips through. It works on the text, in the engine host, as the answer is written.

What counts as a loop (after folding digits to ``#`` and runs of white space to one space, so "Step 3: ..." and
"Step 4: ..." look alike):

- the end of the answer is one passage of at least ``MIN_PERIOD`` characters repeated back to back: 4 times for a
  passage shorter than ``SHORT_PERIOD`` characters, 3 times for a longer one;
- or one line of at least ``MIN_LINE`` characters makes up ``LINE_REPEATS`` of the last ``LINE_WINDOW`` lines
  (loops that vary what comes between the repeats).

Either way the repeated passage must hold at least ``MIN_LETTERS`` letters and must not itself be a shorter unit
repeated (a period under ``MIN_PERIOD``): a model that loops repeats words, whereas counting ("1, 2, 3, ..."), a
table of numbers or a row of dashes repeat only digits and punctuation. Legitimate repetition of words (lists, code,
table rows) differs from item to item or stays under these lengths.
"""

from __future__ import annotations

import re
from collections import deque

MIN_PERIOD = 12
SHORT_PERIOD = 40
MAX_PERIOD = 1200
MIN_LINE = 16
MIN_LETTERS = 10
LINE_REPEATS = 4
LINE_WINDOW = 12
_PROBE = 12  # the last characters searched for earlier in the text to propose a period
_TAIL = MAX_PERIOD * 3 + _PROBE
_CHECK_EVERY = 8  # characters between two checks of the tail (and at every line end)
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def _fold(text: str) -> str:
    return _SPACE.sub(" ", _DIGITS.sub("#", text))


def _wordy(passage: str) -> bool:
    """Whether a repeated passage is made of words and is not a shorter unit repeated."""
    if sum(ch.isalpha() for ch in passage) < MIN_LETTERS:
        return False
    size = len(passage)
    return not any(size % d == 0 and passage == passage[:d] * (size // d) for d in range(1, MIN_PERIOD))


class LoopDetector:
    """Fed the answer as it is written; says when it has started repeating itself.

    Attributes:
        looped: whether a loop was seen (stays True).
        passage: the repeated passage or line, as folded text (for the log and tests).
    """

    def __init__(self) -> None:
        self.looped = False
        self.passage = ""
        self._raw = ""  # text not yet folded (folding needs whole digit and space runs)
        self._tail = ""  # folded end of the answer, at most _TAIL characters
        self._since_check = 0
        self._line = ""
        self._lines: deque[str] = deque(maxlen=LINE_WINDOW)

    def feed(self, text: str) -> bool:
        """Add newly written text; True once the answer is looping."""
        if self.looped or not text:
            return self.looped
        self._feed_lines(text)
        if self.looped:
            return True
        self._raw += text
        # Fold up to the last character that cannot grow into a longer run of digits or spaces.
        cut = len(self._raw)
        while cut > 0 and (self._raw[cut - 1].isdigit() or self._raw[cut - 1].isspace()):
            cut -= 1
        if cut == 0:
            return False
        folded = _fold(self._raw[:cut])
        if self._tail.endswith(" ") and folded.startswith(" "):
            folded = folded[1:]
        if self._tail.endswith("#") and folded.startswith("#"):
            folded = folded[1:]
        self._raw = self._raw[cut:]
        self._tail = (self._tail + folded)[-_TAIL:]
        self._since_check += len(folded)
        if self._since_check >= _CHECK_EVERY or "\n" in text:
            self._since_check = 0
            self._check_tail()
        return self.looped

    def _feed_lines(self, text: str) -> None:
        parts = (self._line + text).split("\n")
        self._line = parts.pop()
        for line in parts:
            folded = _fold(line).strip()
            if not folded:
                continue
            self._lines.append(folded)
            if len(folded) >= MIN_LINE and self._lines.count(folded) >= LINE_REPEATS and _wordy(folded):
                self.looped, self.passage = True, folded
                return

    def _check_tail(self) -> None:
        tail = self._tail
        if len(tail) < MIN_PERIOD * 3:
            return
        probe = tail[-_PROBE:]
        tried: set[int] = set()
        start = len(tail) - _PROBE
        # Each earlier occurrence of the last characters proposes a period: their distance.
        while True:
            start = tail.rfind(probe, 0, start + _PROBE - 1)
            if start < 0:
                break
            period = len(tail) - _PROBE - start
            if period > MAX_PERIOD:
                break
            if period >= MIN_PERIOD and period not in tried:
                tried.add(period)
                repeats = 4 if period < SHORT_PERIOD else 3
                span = period * repeats
                passage = tail[-period:]
                if span <= len(tail) and tail[-span:] == passage * repeats and _wordy(passage):
                    self.looped, self.passage = True, passage
                    return


def repeats_in(text: str, *, chunk: int = 7) -> int | None:
    """Where in ``text`` a loop is first noticed (characters fed so far), feeding it in small pieces as a model
    would; None if it never is. For tests and the quality run."""
    detector = LoopDetector()
    for at in range(0, len(text), chunk):
        if detector.feed(text[at:at + chunk]):
            return at + chunk
    return None


__all__ = ["LoopDetector", "repeats_in"]

