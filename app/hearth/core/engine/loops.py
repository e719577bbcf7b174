"""Noticing an answer that repeats itself, so it can be ended instead of running on until the token limit.

Small models (and base models given a chat) fall into loops: the same line over and over, or the same two or three
sentences in turn, sometimes with a number that counts up. Sampling penalties make this rarer; this detector ends
what still slips through. It works on the text, in the engine host, as the answer is written.

What counts as a loop (after folding a list number at the start of a line to ``#`` and runs of white space to one
space, so "3. Paris is ..." and "4. Paris is ..." look alike; other numbers are kept, since a list whose items
differ only in their numbers is not a loop):

- the end of the answer is one passage of at least ``MIN_PERIOD`` characters repeated back to back: 4 times for a
  passage shorter than ``SHORT_PERIOD`` characters, 3 times for a longer one; a shorter phrase (``TINY_PERIOD``
  characters or more, with ``TINY_LETTERS`` letters) ``TINY_REPEATS`` times;
- or one line of at least ``MIN_LINE`` characters makes up ``LINE_REPEATS`` of the last ``LINE_WINDOW`` lines
  (loops that vary what comes between the repeats), or a short line of words half of them;
- or one line comes ``RUN_WORDS`` times in a row (``RUN_OTHER`` times when it has no letters: "-", "...");
- or the last ``CYCLE_LINES`` long lines hold few different ones (at most ``CYCLE_SHARE`` of them): a list that
  cycles through the same items in a slightly different order each time.

A small model can also run away without repeating itself exactly: a walk through emoji (🌍🌎🌏🌐…) after its
answer. ``SYMBOL_RUN`` symbols (emoji, pictographs) with no letter or digit among them end the answer the same way.

Either way the repeated passage must hold at least ``MIN_LETTERS`` letters and must not itself be a shorter unit
repeated (a period under ``MIN_PERIOD``): a model that loops repeats words, whereas counting ("1, 2, 3, ..."), a
table of numbers or a row of dashes repeat only digits and punctuation. Legitimate repetition of words (lists, code,
table rows) differs from item to item or stays under these lengths.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque

MIN_PERIOD = 12
TINY_PERIOD = 5  # a phrase this short ("la femme, ") counts once it comes TINY_REPEATS times in a row
TINY_REPEATS = 8
TINY_LETTERS = 4
SHORT_PERIOD = 40
MAX_PERIOD = 1200
MIN_LINE = 16
MIN_LETTERS = 10
LINE_REPEATS = 5
LINE_WINDOW = 12
SHORT_LINE = 6  # a line of at least this many characters and SHORT_LETTERS letters...
SHORT_LETTERS = 5
SHORT_REPEATS = 6  # ...is a loop when it is this many of the last LINE_WINDOW lines
RUN_WORDS = 8
RUN_OTHER = 16
CYCLE_LINES = 16
CYCLE_SHARE = 0.45
SYMBOL_RUN = 24
_PROBE = 12  # the last characters searched for earlier in the text to propose a period
_TAIL = MAX_PERIOD * 3 + _PROBE
_CHECK_EVERY = 8  # characters between two checks of the tail (and at every line end)
# A number opening a line, after any indent and list or quote marks ("12. ", "- 3) ", "> 4 ").
_LIST_NUMBER = re.compile(r"(\n[ \t]*[-*#>]*[ \t]*)\d+")
_SPACE = re.compile(r"\s+")


def _fold(text: str, at_line_start: bool = False) -> str:
    """``text`` with list numbers at line starts as ``#`` and white space runs as one space."""
    if at_line_start:
        return _SPACE.sub(" ", _LIST_NUMBER.sub(r"\1#", "\n" + text))[1:]
    return _SPACE.sub(" ", _LIST_NUMBER.sub(r"\1#", text))


def _wordy(passage: str, min_letters: int = MIN_LETTERS) -> bool:
    """Whether a repeated passage is made of words and is not a shorter unit repeated."""
    if sum(ch.isalpha() for ch in passage) < min_letters:
        return False
    size = len(passage)
    return not any(size % d == 0 and passage == passage[:d] * (size // d) for d in range(1, min(size, MIN_PERIOD)))


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
        self._line_start = True  # the unfolded text starts a line
        self._tail = ""  # folded end of the answer, at most _TAIL characters
        self._since_check = 0
        self._line = ""
        self._lines: deque[str] = deque(maxlen=LINE_WINDOW)
        self._short_lines: deque[str] = deque(maxlen=LINE_WINDOW)
        self._long_lines: deque[str] = deque(maxlen=CYCLE_LINES)
        self._run = ("", 0)
        self._symbols = 0  # symbols since the last letter or digit

    def feed(self, text: str) -> bool:
        """Add newly written text; True once the answer is looping."""
        if self.looped or not text:
            return self.looped
        self._feed_symbols(text)
        if self.looped:
            return True
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
        folded = _fold(self._raw[:cut], self._line_start)
        self._line_start = False  # the chunk ends in a character that is neither white space nor a digit
        if self._tail.endswith(" ") and folded.startswith(" "):
            folded = folded[1:]
        self._raw = self._raw[cut:]
        self._tail = (self._tail + folded)[-_TAIL:]
        self._since_check += len(folded)
        if self._since_check >= _CHECK_EVERY or "\n" in text:
            self._since_check = 0
            self._check_tail()
        return self.looped

    def _feed_symbols(self, text: str) -> None:
        for ch in text:
            if ch.isalnum():
                self._symbols = 0
            elif unicodedata.category(ch) == "So":
                self._symbols += 1
                if self._symbols >= SYMBOL_RUN:
                    self.looped, self.passage = True, "a run of symbols"
                    return

    def _feed_lines(self, text: str) -> None:
        parts = (self._line + text).split("\n")
        self._line = parts.pop()
        for line in parts:
            plain = _SPACE.sub(" ", line).strip()
            if not plain:
                continue
            if self._line_loops(plain, _fold(plain, at_line_start=True)):
                self.looped, self.passage = True, plain
                return

    def _line_loops(self, plain: str, folded: str) -> bool:
        """Add one finished line (as written, and folded); True when the lines so far loop.

        Runs and short lines compare lines as written (rows of a table of numbers differ only in their digits);
        long lines compare folded (a loop that counts up).
        """
        letters = sum(ch.isalpha() for ch in plain)
        previous, run = self._run
        run = run + 1 if plain == previous else 1
        self._run = (plain, run)
        if run >= (RUN_WORDS if letters else RUN_OTHER):
            return True
        self._lines.append(folded)
        if len(folded) >= MIN_LINE and self._lines.count(folded) >= LINE_REPEATS and _wordy(folded):
            return True
        self._short_lines.append(plain)
        if (len(plain) >= SHORT_LINE and letters >= SHORT_LETTERS
                and self._short_lines.count(plain) >= SHORT_REPEATS):
            return True
        if len(folded) >= MIN_LINE and letters >= MIN_LETTERS:
            self._long_lines.append(folded)
            full = len(self._long_lines) == CYCLE_LINES
            if full and len(set(self._long_lines)) <= CYCLE_SHARE * CYCLE_LINES:
                return True
        return False

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
            if period >= TINY_PERIOD and period not in tried:
                tried.add(period)
                repeats = TINY_REPEATS if period < MIN_PERIOD else (4 if period < SHORT_PERIOD else 3)
                span = period * repeats
                passage = tail[-period:]
                letters = TINY_LETTERS if period < MIN_PERIOD else MIN_LETTERS
                if span <= len(tail) and tail[-span:] == passage * repeats and _wordy(passage, letters):
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

