"""The highlighted passage of a search hit, cut the way the index reads words."""

from __future__ import annotations

from hearth.core.store.snippets import ELLIPSIS, HIGHLIGHT_END, HIGHLIGHT_START, make_snippet, parse_query

S, E = HIGHLIGHT_START, HIGHLIGHT_END


def test_whole_words_prefixes_case_and_accents() -> None:
    text = "Le Café était fermé, mais le cafetier était là."
    assert make_snippet(text, parse_query("cafe ")) == f"Le {S}Café{E} était fermé, mais le cafetier était là."
    assert make_snippet(text, parse_query("caf")) == (
        f"Le {S}Café{E} était fermé, mais le {S}cafetier{E} était là.")
    assert make_snippet(text, parse_query("ETAIT ")).count(S) == 2


def test_phrases_match_only_in_order() -> None:
    text = "red green blue, then blue green red"
    assert make_snippet(text, parse_query('"green blue" ')) == f"red {S}green{E} {S}blue{E}, then blue green red"


def test_long_text_is_cut_around_the_best_passage() -> None:
    words = [f"w{i}" for i in range(200)]
    words[120] = "needle"
    words[125] = "haystack"
    words[20] = "needle"
    snippet = make_snippet(" ".join(words), parse_query("needle haystack "), tokens=16)
    assert snippet.startswith(ELLIPSIS) and snippet.endswith(ELLIPSIS)
    assert f"{S}needle{E}" in snippet and f"{S}haystack{E}" in snippet  # the window with both terms wins
    assert len(snippet.split()) <= 16 + 2


def test_no_match_shows_the_beginning() -> None:
    text = " ".join(f"w{i}" for i in range(50))
    snippet = make_snippet(text, parse_query("absent"), tokens=5)
    assert snippet == "w0 w1 w2 w3 w4" + ELLIPSIS
    assert make_snippet("", parse_query("x")) == ""
    assert make_snippet("!!! ???", parse_query("x")) == "!!! ???"


def test_parse_query() -> None:
    terms = parse_query('find "exact words" and more')
    assert [(t.text, t.prefix) for t in terms] == [("find", False), ("exact words", False), ("and", False),
                                                   ("more", True)]
    assert parse_query("  \"  ") == [] and parse_query("*") == []
