"""The empty chat's welcome: its words and example prompts follow the model, and a model's load (loading, then
ready) changes them without building new widgets."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from hearth.ui.chat.empty_state import EmptyChat, intro_for


def test_the_examples_follow_the_model_on_the_same_buttons(qtbot: QtBot) -> None:
    empty = EmptyChat()
    qtbot.addWidget(empty)
    empty.show()
    assert empty.title.text() == "No model loaded" and empty.example_buttons == []

    empty.set_intro(intro_for("Gemma 3 270M", starter=False, vision=False, loading=True))
    assert empty.title.text() == "Loading Gemma 3 270M…"
    loading = list(empty.example_buttons)
    assert len(loading) >= 3 and all(b.isVisible() and b.text() for b in loading)

    empty.set_intro(intro_for("Gemma 3 270M", starter=False, vision=False))
    assert empty.title.text() == "Chat with Gemma 3 270M"
    assert empty.example_buttons == loading  # the same widgets: nothing rebuilt or restyled

    scout = intro_for("Llama 4 Scout", starter=False, vision=True, family="llama4")
    empty.set_intro(scout)
    assert [b.text() for b in empty.example_buttons] == list(scout.examples)

    empty.set_intro(intro_for("", starter=False, vision=False))
    assert empty.example_buttons == [] and not any(b.isVisible() for b in loading)
    with qtbot.waitSignal(empty.example_chosen) as chosen:
        empty.set_intro(scout)
        empty.example_buttons[1].click()
    assert chosen.args == [scout.examples[1]]
