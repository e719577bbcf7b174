"""What an empty new chat shows: which model is loaded and what it is good for, a few example prompts to click,
that files and pictures can be dropped, and, for the tiny starter model, plainly that it is tiny and how to get Scout.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRect, Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget


@dataclass(frozen=True)
class ModelIntro:
    """What the empty chat says about the loaded model.

    Attributes:
        name: the model's friendly name ("" when none is loaded).
        good_for: one sentence on what it is good at.
        examples: prompts to offer (three or four).
        note: a plain word of warning (the starter's size), or "".
        loading: the model is still loading.
        vision: it can look at pictures.
    """

    name: str
    good_for: str
    examples: tuple[str, ...]
    note: str = ""
    loading: bool = False
    vision: bool = False


STARTER_NOTE = ("This is the starter model that comes with Hearth. It is tiny (135 million parameters), so it "
                "answers simple questions quickly but gets facts wrong and loses track of long documents. For real "
                "work, download Llama 4 Scout on the Models page: Hearth checks that it fits this computer first.")

_STARTER_EXAMPLES = ("What is the capital of France?", "Give me three tips for sleeping better.",
                     "Write a short poem about the sea.", "Translate 'good morning' into Spanish.")
_GENERAL_EXAMPLES = ("Explain how a mortgage works in plain words.", "Plan a three-day trip to Lisbon.",
                     "Write a polite email asking to move a meeting to Friday.",
                     "What are the pros and cons of electric cars?")


def intro_for(name: str, *, starter: bool, vision: bool, loading: bool = False, family: str = "") -> ModelIntro:
    """The empty chat's words for a model (by whether it is the starter, can see, and its family)."""
    if not name:
        return ModelIntro("", "Choose a model on the Models page to start chatting.", (), loading=False)
    if starter:
        return ModelIntro(name, "Good for short everyday questions, simple rewording and trying Hearth out.",
                          _STARTER_EXAMPLES, STARTER_NOTE, loading)
    if "llama4" in family or "scout" in name.lower():
        good = ("Strong at writing, reasoning, summarising long documents and explaining code, and it can look at "
                "pictures." if vision else "Strong at writing, reasoning, summarising long documents and explaining "
                "code.")
        return ModelIntro(name, good, ("Summarise the document I am about to drop here.", *_GENERAL_EXAMPLES[:3]),
                          loading=loading, vision=vision)
    good = "A general chat model: questions, writing, summaries and code." + (
        " It can also look at pictures." if vision else "")
    return ModelIntro(name, good, _GENERAL_EXAMPLES, loading=loading, vision=vision)


_WIDTH = 640


class EmptyChat(QWidget):
    """The welcome of an empty conversation.

    Signals:
        example_chosen(str): an example prompt was clicked.
        models_requested(): "Get Llama 4 Scout" / "Choose a model" was clicked.
    """

    example_chosen = Signal(str)
    models_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyChat")
        outer = QVBoxLayout(self)
        outer.addStretch(2)
        column = QFrame(self)
        column.setObjectName("emptyColumn")
        column.setFixedWidth(_WIDTH)
        layout = QVBoxLayout(column)
        layout.setSpacing(10)
        self.title = QLabel(column)
        self.title.setObjectName("emptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        self.good_for = QLabel(column)
        self.good_for.setObjectName("emptyText")
        self.good_for.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.good_for.setWordWrap(True)
        layout.addWidget(self.title)
        layout.addWidget(self.good_for)
        self._examples = QGridLayout()
        self._examples.setSpacing(8)
        layout.addSpacing(6)
        layout.addLayout(self._examples)
        self.example_buttons: list[QPushButton] = []  # those shown, from the pool below
        self._example_pool: list[QPushButton] = []
        self.drop_hint = QLabel("Drop PDFs, Word files, text files or pictures on the window to ask about them.",
                                column)
        self.drop_hint.setObjectName("emptyHint")
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_hint.setWordWrap(True)
        layout.addSpacing(4)
        layout.addWidget(self.drop_hint)
        # The note's padding is its frame's layout margin: a word-wrapped label with style-sheet padding is given
        # too little height and loses its last line.
        self.note_box = QFrame(column)
        self.note_box.setObjectName("emptyNote")
        box = QVBoxLayout(self.note_box)
        box.setContentsMargins(14, 10, 14, 10)
        self.note = QLabel(self.note_box)
        self.note.setObjectName("emptyNoteText")
        self.note.setWordWrap(True)
        box.addWidget(self.note)
        layout.addWidget(self.note_box)
        self.models_button = QPushButton("Get Llama 4 Scout", column)
        self.models_button.setObjectName("emptyModelsButton")
        self.models_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.models_button.clicked.connect(self.models_requested)
        layout.addWidget(self.models_button, 0, Qt.AlignmentFlag.AlignHCenter)
        row = QVBoxLayout()
        row.addWidget(column, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addLayout(row)
        outer.addStretch(3)
        self.intro = intro_for("", starter=False, vision=False)
        self.set_intro(self.intro)

    def set_intro(self, intro: ModelIntro) -> None:
        self.intro = intro
        if not intro.name:
            self.title.setText("No model loaded")
        elif intro.loading:
            self.title.setText(f"Loading {intro.name}…")
        else:
            self.title.setText(f"Chat with {intro.name}")
        self.good_for.setText(intro.good_for)
        # The buttons are kept and given new words: a model's load changes the intro twice (loading, then ready)
        # with the same examples, and styling new buttons each time held the window ~10 ms.
        pool = self._example_pool
        while len(pool) < len(intro.examples):
            i = len(pool)
            button = QPushButton(self)
            button.setObjectName("exampleButton")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.setToolTip("Send this")
            button.clicked.connect(self._on_example_clicked)
            self._examples.addWidget(button, i // 2, i % 2)
            pool.append(button)
        for i, button in enumerate(pool):
            shown = i < len(intro.examples)
            if shown and button.text() != intro.examples[i]:
                button.setText(intro.examples[i])
            button.setVisible(shown)
        self.example_buttons = pool[:len(intro.examples)]
        self.drop_hint.setVisible(bool(intro.name))
        self.note.setText(intro.note)
        self.note_box.setVisible(bool(intro.note))
        self._fit_height(self.note, _WIDTH - 28 - 24)
        self.models_button.setText("Get Llama 4 Scout" if intro.note else "Choose a model")
        self.models_button.setVisible(bool(intro.note) or not intro.name)

    @staticmethod
    def _fit_height(label: QLabel, width: int) -> None:
        """Give a word-wrapped label the height its text needs at ``width`` (layouts under-size such labels)."""
        rect = label.fontMetrics().boundingRect(QRect(0, 0, width, 10_000), Qt.TextFlag.TextWordWrap, label.text())
        label.setMinimumHeight(rect.height() + 4)

    @Slot()
    def _on_example_clicked(self) -> None:
        button = self.sender()
        if isinstance(button, QPushButton):
            self.example_chosen.emit(button.text())
