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


def said(make_debrief, author, name: str, category: str, explanation: str):
    account = name.split()[0]
    deal = {"name": name, "account": account, "competitors": [], "winner": None}
    return make_debrief(author, deal=deal, reasons=[reason(category, explanation)], **QUIET)


def word_of_mouth(make_debrief, users):
    """A debrief that says "word of mouth", one saying it too (filed first)
    and one with the same words apart, each as long as the other."""
    source = said(
        make_debrief,
        users.rep,
        "Initech renewal",
        "product.integrations",
        "Most new leads came by word of mouth.",
    )
    phrase = said(
        make_debrief,
        users.peer,
        "Hooli platform",
        "sales-experience.responsiveness",
        "Word of mouth brought them to us quickly.",
    )
    apart = said(
        make_debrief,
        users.peer,
        "Vandelay import",
        "price.discounting",
        "Their word beat a loud mouth.",
    )
    return source, phrase, apart


def test_a_phrase_said_in_both_is_shown_once_as_written(client, auth, users, make_debrief):
    source, phrase, apart = word_of_mouth(make_debrief, users)
    similar = {hit.id: hit for hit in search.more_like_this(users.rep, source.id)}
    assert similar[phrase.id].shared == ["“word of mouth”"]
    # Said apart in the other debrief, the words are only words.
    assert similar[apart.id].shared == ["“word”", "“mouth”"]

    auth.login(users.rep)
    page = client.get(f"/debriefs/{source.id}").get_data(as_text=True)
    assert "shared: “word of mouth”" in page
    assert "shared: “word” · “mouth”" in page


def test_a_shared_phrase_ranks_above_its_words_said_apart(users, make_debrief):
    source, phrase, apart = word_of_mouth(make_debrief, users)
    similar = search.more_like_this(users.rep, source.id)
    assert [hit.id for hit in similar] == [phrase.id, apart.id]


def test_words_next_to_each_other_across_a_full_stop_are_no_phrase(users, make_debrief):
    source = said(
        make_debrief,
        users.rep,
        "Initech renewal",
        "product.integrations",
        "Sales kept their word. Mouth guards shipped late.",
    )
    other = said(
        make_debrief,
        users.peer,
        "Hooli platform",
        "price.discounting",
        "Word of mouth brought them to us.",
    )
    similar = search.more_like_this(users.rep, source.id)
    assert [hit.id for hit in similar] == [other.id]
    assert set(similar[0].shared) == {"“word”", "“mouth”"}


def test_a_phrase_with_an_apostrophe_or_hyphen_is_shown_as_written(users, make_debrief):
    source = said(
        make_debrief,
        users.rep,
        "Initech renewal",
        "product.integrations",
        "Their admin said the tool won't scale past one region; "
        "reminders by e-mail digest were ignored.",
    )
    other = said(
        make_debrief,
        users.peer,
        "Hooli platform",
        "price.discounting",
        "Won’t scale beyond a pilot, and the email digest was noise.",
    )
    similar = search.more_like_this(users.rep, source.id)
    assert [hit.id for hit in similar] == [other.id]
    assert set(similar[0].shared) == {"“won't scale”", "“e-mail digest”"}
