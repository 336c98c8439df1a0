"""Search finds what people mean: word forms, phrases, exclusions, fields,
competitor aliases, filters and facet counts that agree with the database."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kb import search
from kb.extensions import db
from kb.models import Competitor, Deal, Debrief, DebriefStatus, deal_competitors
from kb.permissions import visible_debriefs
from kb.search.outbox import enqueue


def ids(result) -> set[int]:
    return {hit.id for hit in result.hits}


def find(user, q, **params):
    return search.search(user, {"q": q, "per_page": 100, **params})


def quote(text: str) -> list[dict]:
    return [{"text": text, "speaker_role": "CFO"}]


@pytest.fixture
def corpus(users, make_debrief):
    """Debriefs that differ in the ways the queries below tell apart."""
    today = date.today()
    made = {
        "pricing": make_debrief(users.rep, quotes=quote("Their pricing model confused us.")),
        "week": make_debrief(
            users.peer,
            quotes=quote("We signed in the final week of the quarter."),
            competitive_notes="Globex was weak on support.",
            deal={"competitors": ["Globex"], "winner": "Globex", "segment": "SMB"},
        ),
        "reversed": make_debrief(
            users.rep,
            quotes=quote("The week was final for budget decisions."),
            competitive_notes="Nothing notable.",
            deal={"outcome": "won", "winner": None, "competitors": [], "region": "APAC"},
        ),
        "sfdc": make_debrief(
            users.west_rep,
            quotes=quote("SFDC had the better mobile app."),
            competitive_notes="They already ran SFDC for support tickets.",
            deal={
                "competitors": ["Salesforce"],
                "winner": "Salesforce",
                "segment": "Mid-market",
                "close_date": (today - timedelta(days=400)).isoformat(),
                "amount": 9000,
            },
        ),
        "salesforce": make_debrief(
            users.peer,
            quotes=quote("Salesforce bundled analytics for free."),
            deal={"competitors": [], "winner": "no_decision", "outcome": "no_decision"},
        ),
    }
    return {name: debrief.id for name, debrief in made.items()}


def test_stemming_finds_other_forms_of_a_word(users, corpus):
    for q in ("price", "prices", "priced", "PRICING"):
        assert corpus["pricing"] in ids(find(users.rep, q)), q


def test_phrase_needs_the_words_together_and_in_order(users, corpus):
    found = ids(find(users.rep, '"final week"'))
    assert corpus["week"] in found
    assert corpus["reversed"] not in found
    assert corpus["reversed"] in ids(find(users.rep, "final week"))


def test_exclusion(users, corpus):
    found = ids(find(users.rep, "week -quarter"))
    assert corpus["reversed"] in found and corpus["week"] not in found
    assert ids(find(users.rep, "week NOT quarter")) == found
    everything_but = ids(find(users.rep, "-quarter"))
    assert corpus["week"] not in everything_but and corpus["pricing"] in everything_but


def test_field_queries(users, corpus):
    assert ids(find(users.rep, "competitor:globex outcome:lost")) == {corpus["week"]}
    assert ids(find(users.rep, "segment:mid-market")) == {corpus["sfdc"]}
    assert ids(find(users.rep, 'region:"apac"')) == {corpus["reversed"]}
    assert ids(find(users.rep, "winner:us")) == {corpus["reversed"]}
    assert ids(find(users.rep, "outcome:no_decision")) == {corpus["salesforce"]}
    assert ids(find(users.rep, "amount:[1 TO 10000]")) == {corpus["sfdc"]}
    old = date.today() - timedelta(days=400)
    assert ids(find(users.rep, f"close:[{old.year - 1}-01-01 TO {old.isoformat()}]")) == {
        corpus["sfdc"]
    }
    assert corpus["sfdc"] in ids(find(users.rep, f"close:{old.isoformat()[:7]}"))
    assert corpus["sfdc"] in ids(find(users.rep, "category:price"))
    assert corpus["sfdc"] in ids(find(users.rep, "category:price.total-cost"))


def test_competitor_aliases_are_synonyms(users, corpus):
    # "SFDC" is an alias of Salesforce: each finds the other, in text and in the deal.
    by_alias = ids(find(users.rep, "sfdc"))
    by_name = ids(find(users.rep, "salesforce"))
    assert {corpus["sfdc"], corpus["salesforce"]} <= by_alias
    assert by_alias == by_name
    assert ids(find(users.rep, "competitor:SFDC")) == {corpus["sfdc"]}
    # Synonyms mark the words actually written.
    hit = next(h for h in find(users.rep, "salesforce").hits if h.id == corpus["sfdc"])
    assert any("<mark>SFDC</mark>" in snippet.html for snippet in hit.highlights)


def test_filters_and_facet_counts_agree_with_the_database(users, corpus, make_debrief):
    make_debrief(users.rep, status="draft", deal={"segment": "SMB"})
    for user in (users.rep, users.peer, users.manager, users.admin):
        result = search.search(user, {"q": "", "facets": "1"})
        visible = select(Debrief).join(Debrief.deal).where(visible_debriefs(user)).subquery()
        assert result.total == db.session.scalar(select(func.count()).select_from(visible))
        outcomes = dict(
            db.session.execute(
                select(Deal.outcome, func.count())
                .select_from(Debrief)
                .join(Debrief.deal)
                .where(visible_debriefs(user))
                .group_by(Deal.outcome)
            ).all()
        )
        assert {f.value: f.count for f in result.facets["outcome"]} == {
            o.value: n for o, n in outcomes.items()
        }
        competitors = dict(
            db.session.execute(
                select(Competitor.name, func.count())
                .select_from(Debrief)
                .join(Debrief.deal)
                .join(deal_competitors, deal_competitors.c.deal_id == Deal.id)
                .join(Competitor, Competitor.id == deal_competitors.c.competitor_id)
                .where(visible_debriefs(user))
                .group_by(Competitor.name)
            ).all()
        )
        assert {f.label: f.count for f in result.facets["competitor"]} == competitors
        smb = search.search(user, {"segment": "smb", "outcome": ["lost", "won"]})
        expected = db.session.scalar(
            select(func.count())
            .select_from(Debrief)
            .join(Debrief.deal)
            .where(visible_debriefs(user), Deal.segment == "SMB", Deal.outcome.in_(["lost", "won"]))
        )
        assert smb.total == expected
        assert {f.value for f in smb.facets["segment"]} <= {"smb"}


def test_sorting_and_pages(users, corpus):
    newest = search.search(users.admin, {"sort": "newest", "per_page": 2})
    assert newest.total == 5 and newest.pages == 3 and len(newest.hits) == 2
    dates = [h.debrief.deal.close_date for h in newest.hits]
    assert dates == sorted(dates, reverse=True)
    last = search.search(users.admin, {"sort": "newest", "per_page": 2, "page": 3})
    assert len(last.hits) == 1 and last.first == 5
    assert last.hits[0].id == corpus["sfdc"]  # closed 400 days ago
    by_amount = search.search(users.admin, {"sort": "amount", "per_page": 100})
    assert by_amount.hits[-1].id == corpus["sfdc"]  # the smallest amount
    everything = {
        h.id
        for p in (1, 2, 3)
        for h in search.search(users.admin, {"sort": "newest", "per_page": 2, "page": p}).hits
    }
    assert everything == set(corpus.values())


def test_relevance_ranks_the_better_match_first(users, make_debrief):
    make_debrief(users.rep, quotes=quote("Onboarding was fine."))
    strong = make_debrief(
        users.rep, quotes=quote("Onboarding, onboarding, onboarding: slow onboarding.")
    )
    assert find(users.rep, "onboarding").hits[0].id == strong.id


def test_did_you_mean(users, corpus):
    result = find(users.rep, "pricng")
    assert result.total == 0
    assert result.suggestion == "pricing"
    assert find(users.rep, "pricing").suggestion is None


def test_more_like_this(users, corpus, make_debrief):
    twin = make_debrief(users.peer, quotes=quote("SFDC had the better mobile app, said the CFO."))
    similar = search.more_like_this(users.rep, corpus["sfdc"])
    assert similar and similar[0].id == twin.id
    assert corpus["sfdc"] not in {h.id for h in similar}


def test_edits_deletes_and_renames_reach_the_index(users, corpus, make_debrief):
    from kb.debriefs import service
    from tests.conftest import debrief_payload

    debrief = db.session.get(Debrief, corpus["pricing"])
    service.save_debrief(
        users.rep,
        service.parse(debrief_payload(quotes=quote("Their rollout plan was vague."))),
        debrief,
    )
    assert corpus["pricing"] not in ids(find(users.rep, '"pricing model"'))
    assert corpus["pricing"] in ids(find(users.rep, "rollout"))

    service.delete_debrief(users.rep, db.session.get(Debrief, corpus["reversed"]))
    assert corpus["reversed"] not in ids(find(users.admin, ""))

    # A competitor's new name reaches the index with the debriefs it was enqueued for.
    globex = db.session.scalar(select(Competitor).where(Competitor.name == "Globex"))
    globex.name = "Globex Corporation"
    enqueue("debrief", corpus["week"])
    db.session.commit()
    assert ids(find(users.rep, 'competitor:"Globex Corporation"')) == {corpus["week"]}
    facet = search.search(users.rep, {"competitor": "globex corporation"}).facets["competitor"]
    assert [f.label for f in facet] == ["Globex Corporation"]


def test_drafts_are_indexed_and_move_to_submitted(users, make_debrief):
    draft = make_debrief(users.rep, status="draft", quotes=quote("Zanzibar rollout."))
    assert ids(find(users.peer, "zanzibar")) == set()
    assert ids(find(users.rep, "zanzibar")) == {draft.id}
    draft.status = DebriefStatus.SUBMITTED
    enqueue("debrief", draft.id)
    db.session.commit()
    assert ids(find(users.peer, "zanzibar")) == {draft.id}


def test_equal_texts_score_the_same_whichever_segment_holds_them(users):
    """BM25 measures a text's length against the whole index's average, not
    its segment's, so the index's layout (many segments after single writes,
    one after a rebuild) does not reorder results."""
    from kb import search
    from kb.debriefs import service
    from tests.conftest import debrief_payload

    filler = "The committee compared several vendors over many weeks of meetings. "
    ids = []
    for n in range(12):
        payload = debrief_payload()
        payload["deal"]["name"] = f"Layout {n}"
        payload["reasons"][0]["explanation"] = "Onboarding was slow. " + filler * (n % 5)
        ids.append(service.save_debrief(users.rep, service.parse(payload)).id)

    def scores() -> dict[int, float]:
        found = search.search(users.admin, {"q": "onboarding", "per_page": 100})
        return {hit.id: hit.score for hit in found.hits}

    def by_length(found: dict[int, float]) -> list[set[float]]:
        """The scores of the debriefs of each text length: one score each."""
        return [{round(found[i], 9) for i in ids[n::5]} for n in range(5)]

    written_one_by_one = scores()
    search.reindex()
    rebuilt = scores()
    assert len(written_one_by_one) == len(rebuilt) == 12
    for found in (written_one_by_one, rebuilt):
        assert [len(scores_) for scores_ in by_length(found)] == [1] * 5
    # Shorter texts first, in both layouts.
    assert sorted(rebuilt, key=lambda i: (-rebuilt[i], i)) == sorted(
        written_one_by_one, key=lambda i: (-written_one_by_one[i], i)
    )
