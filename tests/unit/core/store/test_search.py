"""Full-text search: ranking, snippets, prefixes, hostile input, what is and is not indexed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.core.store import HIGHLIGHT_END, HIGHLIGHT_START, MessageStatus, Role, Store
from hearth.core.store.search import fts_query
from tests.unit.core.store.store_support import FakeClock, open_store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    with open_store(tmp_path, clock) as s:
        yield s


def say(store: Store, clock: FakeClock, title: str, *texts: str) -> tuple[int, list[int]]:
    conv = store.conversations.create(title=title)
    ids = []
    for i, text in enumerate(texts):
        clock.advance(1)
        role = Role.USER if i % 2 == 0 else Role.ASSISTANT
        ids.append(store.messages.add_message(conv.id, role, text).id)
    return conv.id, ids


def fts_consistent(store: Store) -> None:
    with store.db.read() as conn:
        conn.execute("INSERT INTO message_fts(message_fts) VALUES ('integrity-check')")


def test_hits_carry_where_to_jump_and_a_highlighted_snippet(store: Store, clock: FakeClock) -> None:
    conv_id, ids = say(store, clock, "Gardening", "How deep should I plant tulip bulbs?",
                       "Plant tulip bulbs about 20 cm deep, in autumn, pointy end up.")
    say(store, clock, "Other", "Nothing about flowers here.")
    hits = store.search.messages("tulip")
    assert [h.message_id for h in hits] and {h.message_id for h in hits} == set(ids)
    hit = hits[0]
    assert hit.conversation_id == conv_id and hit.conversation_title == "Gardening"
    assert f"{HIGHLIGHT_START}tulip{HIGHLIGHT_END}" in hit.snippet
    assert ("tulip", True) in hit.snippet_parts()
    assert "".join(text for text, _ in hit.snippet_parts()) == hit.snippet.replace(
        HIGHLIGHT_START, "").replace(HIGHLIGHT_END, "")


def test_ranking_prefers_the_more_relevant_message(store: Store, clock: FakeClock) -> None:
    _, (weak,) = say(store, clock, "a", "A long message that mentions a kettle once among many many other words "
                     "about the weather, the garden, the neighbours, the news and the price of bread.")
    _, (strong,) = say(store, clock, "b", "Kettle kettle kettle: descaling a kettle.")
    hits = store.search.messages("kettle")
    assert [h.message_id for h in hits] == [strong, weak]
    assert hits[0].score <= hits[1].score


def test_equal_scores_list_the_newest_first(store: Store, clock: FakeClock) -> None:
    ids = [say(store, clock, f"c{i}", "identical words here")[1][0] for i in range(3)]
    assert [h.message_id for h in store.search.messages("identical")] == list(reversed(ids))


def test_all_words_must_match_and_the_last_is_a_prefix(store: Store, clock: FakeClock) -> None:
    _, (both,) = say(store, clock, "x", "Python generators are lazy")
    say(store, clock, "y", "Python lists are eager")
    assert [h.message_id for h in store.search.messages("python lazy")] == [both]
    assert [h.message_id for h in store.search.messages("generat")] == [both]  # still typing
    assert store.search.messages("generat ") == []  # a finished word is matched whole
    assert store.search.count("python") == 2


def test_quoted_phrases_diacritics_and_case(store: Store, clock: FakeClock) -> None:
    _, (m1,) = say(store, clock, "x", "Le café est très bon")
    _, (m2,) = say(store, clock, "y", "bon est le café")
    assert {h.message_id for h in store.search.messages("CAFE")} == {m1, m2}
    assert [h.message_id for h in store.search.messages('"est très bon"')] == [m1]


@pytest.mark.parametrize(
    "text", ['"', 'unbalanced "quote', "c++", "AND", "OR NOT", "*", "a:b", "col:value", "(x", "NEAR(a b)",
             "^start", "'; DROP TABLE messages; --", "\x00", "-minus"],
)
def test_user_input_is_never_fts_syntax(store: Store, clock: FakeClock, text: str) -> None:
    say(store, clock, "t", "c plus plus AND or NOT near start value minus drop table messages")
    store.search.messages(text)  # must not raise
    store.search.count(text)
    with store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 1


def test_fts_query_building() -> None:
    assert fts_query("") is None and fts_query("  *** ") is None
    assert fts_query("hello world") == '"hello" "world"*'
    assert fts_query("hello world ") == '"hello" "world"'
    assert fts_query('say "exact phrase" now') == '"say" "exact phrase" "now"*'
    assert fts_query('a"b') == '"a b"'  # a one-letter last word is not a prefix
    assert fts_query('café "au lait" ré') == '"café" "au lait" "ré"*'
    assert fts_query("snake_case AND c++") == '"snake case" "AND" "c"'


def test_streaming_text_is_indexed_once_finished(store: Store) -> None:
    conv = store.conversations.create()
    u = store.messages.add_user_message(conv.id, "question")
    a = store.messages.start_assistant_message(u.id)
    store.messages.update_partial(a, "an answer about zeppelins")
    assert store.search.messages("zeppelins") == []
    store.messages.finish_message(a, "an answer about zeppelins and airships")
    assert [h.message_id for h in store.search.messages("airships")] == [a]
    # Continuing it takes it out of the index until it ends again, with no stale entries left behind.
    store.messages.finish_message(a, "an answer about zeppelins and airships", MessageStatus.INTERRUPTED)
    store.messages.resume_message(a)
    assert store.search.messages("airships") == []
    store.messages.finish_message(a, "rewritten: blimps only")
    assert store.search.messages("zeppelins") == []
    assert [h.message_id for h in store.search.messages("blimps")] == [a]
    fts_consistent(store)


def test_interrupted_answers_are_searchable_after_recovery(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        conv = store.conversations.create()
        u = store.messages.add_user_message(conv.id, "q")
        a = store.messages.start_assistant_message(u.id)
        store.messages.update_partial(a, "partial words about lighthouses")
    with open_store(tmp_path) as store:
        assert [h.message_id for h in store.search.messages("lighthouses")] == [a]
        fts_consistent(store)


def test_deleted_branches_leave_the_index(store: Store, clock: FakeClock) -> None:
    _, ids = say(store, clock, "x", "alpha question", "beta answer")
    store.messages.delete_branch(ids[1])
    assert store.search.messages("beta") == []
    assert [h.message_id for h in store.search.messages("alpha")] == [ids[0]]
    fts_consistent(store)


def test_search_within_one_conversation_and_paging(store: Store, clock: FakeClock) -> None:
    one, ids = say(store, clock, "one", "rocket one", "rocket two", "rocket three")
    say(store, clock, "two", "rocket four")
    assert {h.message_id for h in store.search.messages("rocket", conversation_id=one)} == set(ids)
    everything = [h.message_id for h in store.search.messages("rocket")]
    assert len(everything) == 4
    page = [h.message_id for h in store.search.messages("rocket", limit=2, offset=2)]
    assert page == everything[2:]


def test_hidden_conversations_never_crowd_out_visible_hits(store: Store, clock: FakeClock) -> None:
    _, (visible,) = say(store, clock, "visible", "one mention of a kettle in a long message about other things")
    deleted = store.conversations.create(title="deleted")
    with store.db.write():
        for _ in range(120):  # better matches than the visible one, all in the undo window
            store.messages.add_message(deleted.id, Role.USER, "kettle kettle kettle")
    store.conversations.delete(deleted.id)
    assert [h.message_id for h in store.search.messages("kettle", limit=1)] == [visible]
    assert store.search.count("kettle") == 1


def test_common_words_are_ranked_among_the_newest_matches(store: Store, clock: FakeClock) -> None:
    from hearth.core.store import Search

    _, (old_best,) = say(store, clock, "old", "lamp lamp lamp lamp")
    newer = [say(store, clock, f"n{i}", f"a lamp and {i} other words here")[1][0] for i in range(4)]
    capped = Search(store.db, candidate_cap=3)
    assert old_best not in [h.message_id for h in capped.messages("lamp")]
    assert {h.message_id for h in capped.messages("lamp")} == set(newer[-3:])
    assert store.search.messages("lamp")[0].message_id == old_best  # the default cap covers all of them


def test_a_single_letter_is_a_word_not_a_prefix(store: Store, clock: FakeClock) -> None:
    _, (a_word,) = say(store, clock, "x", "plan a trip")
    say(store, clock, "y", "apples and avocados")
    assert [h.message_id for h in store.search.messages("a")] == [a_word]
    assert len(store.search.messages("ap")) == 1


def test_pages_past_the_end_and_empty_pages(store: Store, clock: FakeClock) -> None:
    say(store, clock, "x", "only one hit for quasar")
    assert store.search.messages("quasar", offset=5) == []
    assert store.search.messages("quasar", limit=0) == []
    assert store.search.messages("quasar", conversation_id=424242) == []
