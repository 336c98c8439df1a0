""" "More like this" compares what debriefs say and why (reason categories,
competitors, the words of reasons, quotes, notes and lessons), never the
account or deal name, and says what the two share."""

from kb import search


def reason(category: str, explanation: str, competitor: str | None = None) -> dict:
    return {
        "category": category,
        "direction": "hurt",
        "primary": True,
        "explanation": explanation,
        "competitor": competitor,
    }


QUIET = {
    "quotes": [],
    "decision_process": "",
    "competitive_notes": "",
    "what_worked": "",
    "lessons_learned": "",
}


def sterling_labs(make_debrief, author):
    return make_debrief(
        author,
        deal={
            "name": "Sterling Labs rollout",
            "account": "Sterling Labs",
            "competitors": ["Globex"],
            "winner": "Globex",
        },
        reasons=[
            reason("implementation-risk.time-to-value", "Go-live would take nine months.", "Globex")
        ],
        **QUIET,
    )


def test_an_account_name_word_alone_is_not_alike(users, make_debrief):
    source = sterling_labs(make_debrief, users.rep)
    make_debrief(
        users.peer,
        deal={
            "name": "Sterling Plastics renewal",
            "account": "Sterling Plastics",
            "competitors": ["Acme"],
        },
        reasons=[reason("price.total-cost", "Acme bundled support for free.", "Acme")],
        **QUIET,
    )
    assert search.more_like_this(users.rep, source.id) == []


def test_shared_categories_and_competitor_rank_first_and_are_shown(
    client, auth, users, make_debrief
):
    source = sterling_labs(make_debrief, users.rep)
    namesake = make_debrief(
        users.peer,
        deal={
            "name": "Sterling Plastics renewal",
            "account": "Sterling Plastics",
            "competitors": ["Acme"],
        },
        reasons=[reason("price.total-cost", "Acme bundled support for free.", "Acme")],
        **QUIET,
    )
    alike = make_debrief(
        users.peer,
        deal={
            "name": "Hooli platform",
            "account": "Hooli",
            "competitors": ["Globex"],
            "winner": "Globex",
        },
        reasons=[
            reason(
                "implementation-risk.time-to-value", "Their onboarding plan was shorter.", "Globex"
            )
        ],
        **QUIET,
    )
    similar = search.more_like_this(users.rep, source.id)
    assert [hit.id for hit in similar] == [alike.id]
    assert namesake.id not in {hit.id for hit in similar}
    assert similar[0].shared == ["Time to value", "vs Globex"]

    auth.login(users.rep)
    page = client.get(f"/debriefs/{source.id}").get_data(as_text=True)
    assert "More like this" in page and "Hooli platform" in page
    assert "shared: Time to value · vs Globex" in page
    assert "Sterling Plastics renewal" not in page


def test_shared_words_of_the_reasons_count_and_are_named(users, make_debrief):
    source = make_debrief(
        users.rep,
        deal={"name": "Initech renewal", "competitors": [], "winner": None},
        reasons=[reason("product.integrations", "The SAP connector kept failing in the pilot.")],
        **QUIET,
    )
    alike = make_debrief(
        users.peer,
        deal={"name": "Vandelay import", "account": "Vandelay", "competitors": [], "winner": None},
        reasons=[
            reason("sales-experience.responsiveness", "Our connector failed their pilot twice.")
        ],
        **QUIET,
    )
    make_debrief(
        users.peer,
        deal={"name": "Initech expansion", "account": "Initech", "competitors": [], "winner": None},
        reasons=[reason("price.discounting", "Budget moved to next year.")],
        **QUIET,
    )
    similar = search.more_like_this(users.rep, source.id)
    assert [hit.id for hit in similar] == [alike.id]
    assert set(similar[0].shared) == {"“connector”", "“failing”", "“pilot”"}
