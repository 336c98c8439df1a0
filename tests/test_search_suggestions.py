""" "Did you mean": a word no debrief has is corrected to the most common
indexed word one edit away (ties alphabetically), else to a word two edits
away; a word the index knows gets no suggestion."""

import pytest

from kb import search
from kb.search import spelling


def suggestion(user, q):
    result = search.search(user, {"q": q})
    assert result.total == 0
    return result.suggestion


def said(user, make_debrief, text):
    make_debrief(user, quotes=[{"text": text, "speaker_role": "CFO"}])


def test_the_most_common_word_one_edit_away_wins(users, make_debrief):
    said(users.rep, make_debrief, "Their zebu team walked us through it.")
    said(users.rep, make_debrief, "A zebra of a pricing sheet.")
    said(users.rep, make_debrief, "The zebu chart sank the deal.")
    # "zebu" and "zebra" are both one edit from "zebr"; "zebu" is in two debriefs.
    assert suggestion(users.rep, "zebr") == "zebu"
    assert suggestion(users.rep, "zebr rollout") == "zebu rollout"


def test_equally_common_words_are_offered_alphabetically(users, make_debrief):
    said(users.rep, make_debrief, "Their zebu team walked us through it.")
    said(users.rep, make_debrief, "A zebra of a pricing sheet.")
    assert suggestion(users.rep, "zebr") == "zebra"


def test_a_word_is_counted_once_per_debrief_across_segments(users, make_debrief):
    said(users.rep, make_debrief, "A zebra, a zebra sheet, zebra pricing.")
    said(users.rep, make_debrief, "Their zebu team won it.")
    said(users.rep, make_debrief, "The zebu roadmap.")
    view = search._index().view()
    assert len(view.leaves) >= 2  # the debriefs were indexed one commit at a time
    # Two debriefs say "zebu"; one says "zebra", three times.
    assert suggestion(users.rep, "zebr") == "zebu"


def test_a_word_two_edits_away_when_none_is_one_edit_away(users, make_debrief):
    said(users.rep, make_debrief, "The zebras stampeded through procurement.")
    assert suggestion(users.rep, "zebrxx") == "zebras"


def test_no_suggestion_for_a_known_word_or_a_word_with_no_close_match(users, make_debrief):
    said(users.rep, make_debrief, "A zebra of a pricing sheet.")
    assert search.search(users.rep, {"q": "zebra"}).suggestion is None
    assert suggestion(users.rep, "qqxjvwk") is None


@pytest.mark.parametrize("tables", [True, False])
def test_segments_with_or_without_term_tables_agree(users, make_debrief, monkeypatch, tables):
    if not tables:  # as a large segment not yet given its table
        monkeypatch.setattr(spelling, "_table", lambda data, reader: None)
    said(users.rep, make_debrief, "Their zebu team walked us through it.")
    said(users.rep, make_debrief, "The zebra chart sank the deal.")
    said(users.rep, make_debrief, "A zebra of a pricing sheet.")
    assert suggestion(users.rep, "zebr") == "zebra"
    assert suggestion(users.rep, "zebux") == "zebu"
