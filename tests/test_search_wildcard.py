"""A trailing * in a search matches every word that starts with what precedes it."""

from kb import search


def filed(make_debrief, author, name: str, notes: str):
    make_debrief(
        author,
        deal={"name": name, "account": f"{name} Inc"},
        competitive_notes=notes,
        reasons=[{"category": "product.integrations", "direction": "hurt", "explanation": ""}],
        quotes=[],
        decision_process="",
        what_worked="",
        lessons_learned="",
    )


def test_pric_star_finds_price_and_pricing_only(client, auth, users, make_debrief):
    filed(make_debrief, users.rep, "Alpha", "Their pricing model was simpler.")
    filed(make_debrief, users.rep, "Bravo", "The price was lower.")
    filed(make_debrief, users.rep, "Charlie", "Their connector was better.")
    search.catch_up()
    auth.login(users.peer)
    page = client.get("/search", query_string={"q": "pric*"}).get_data(as_text=True)
    assert "Alpha" in page and "Bravo" in page
    assert "Charlie" not in page
    assert "of 2 debriefs" in page
