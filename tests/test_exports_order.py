"""A debrief export holds everything the search finds, however many (no
page cap), in the order the search page was sorted by."""

from datetime import date, timedelta

from kb import search
from kb.search import SearchParams
from kb.search import service as search_service
from tests.test_exports import read_csv
from tests.test_practices import sign_in


def closed(days_ago: int) -> str:
    return (date.today() - timedelta(days=days_ago)).isoformat()


def make_series(users, make_debrief, count=6):
    """`count` debriefs, each closed a day earlier than the last and worth
    an amount that does not follow the dates."""
    amounts = [5000, 90000, 1200, 47000, 300, 64000, 8800, 15500][:count]
    return [
        make_debrief(
            users.rep if i % 2 else users.peer,
            deal={"name": f"Deal {i}", "close_date": closed(10 + i), "amount": amount},
        )
        for i, amount in enumerate(amounts)
    ]


def exported_ids(client, query: str = "") -> list[int]:
    response = client.get("/exports/debriefs.csv" + query)
    assert response.status_code == 200
    return [int(row["Debrief id"]) for row in read_csv(response.data)]


def test_an_export_goes_past_the_deepest_page_a_search_reaches(
    client, auth, users, make_debrief, monkeypatch
):
    made = make_series(users, make_debrief)
    monkeypatch.setattr(search_service, "MAX_RESULTS", 2)
    paged = search.search(users.marketing, SearchParams(per_page=1, page=99))
    assert paged.page == 2 and paged.warnings  # the page cap holds for the search...

    sign_in(auth, users.marketing)
    assert sorted(exported_ids(client)) == sorted(d.id for d in made)  # ...not for exports
    rows = read_csv(client.get("/exports/debriefs.csv?kind=reasons").data)
    assert len(rows) == 2 * len(made)


def test_an_export_follows_the_sort_of_the_search(client, auth, users, make_debrief):
    made = make_series(users, make_debrief)
    sign_in(auth, users.manager)
    newest = [d.id for d in sorted(made, key=lambda d: d.deal.close_date, reverse=True)]
    largest = [d.id for d in sorted(made, key=lambda d: d.deal.amount, reverse=True)]
    assert exported_ids(client, "?sort=newest") == newest
    assert exported_ids(client) == newest  # no query words: newest first
    assert exported_ids(client, "?sort=amount") == largest
    page = search.search(users.manager, SearchParams(sort="amount", per_page=100))
    assert [h.id for h in page.hits] == largest


def test_all_matches_agree_with_the_search_page(users, make_debrief):
    make_series(users, make_debrief, count=8)
    for params in (
        SearchParams(q="pricing", sort="relevance"),
        SearchParams(q="-acme", sort="newest"),
        SearchParams(filters={"outcome": ["lost"]}, sort="amount"),
        SearchParams(date_from=closed(14), sort="newest"),
    ):
        page = search.search(users.rep, SearchParams(**{**vars(params), "per_page": 100}))
        found = search.all_matches(users.rep, params)
        assert found.total == page.total
        assert list(found.ids) == [h.id for h in page.hits]


def test_a_match_without_a_scoring_word_is_still_found_and_exported(
    client, auth, users, make_debrief
):
    """`bundled OR segment:SMB`: the SMB debrief matches through the filter
    side alone, so no word scores it; it still counts, shows and exports,
    after the scored match."""
    worded = make_debrief(
        users.rep, quotes=[{"text": "They bundled it all.", "speaker_role": "CFO"}]
    )
    smb = make_debrief(
        users.peer,
        quotes=[{"text": "Nothing to add.", "speaker_role": "CFO"}],
        reasons=[{"category": "price.total-cost", "direction": "hurt", "primary": True}],
        competitive_notes="",
        deal={"name": "Small shop", "segment": "SMB", "competitors": [], "winner": None},
    )
    query = "bundled OR segment:SMB"
    page = search.search(users.manager, SearchParams(q=query, per_page=100))
    assert page.total == 2
    assert [h.id for h in page.hits] == [worded.id, smb.id]

    sign_in(auth, users.manager)
    assert exported_ids(client, "?q=bundled+OR+segment%3ASMB") == [worded.id, smb.id]


def test_a_download_streams_a_batch_at_a_time(client, auth, users, make_debrief, monkeypatch):
    """The first rows reach the browser before later debriefs are read."""
    from kb.exports import debrief_rows, formats

    made = make_series(users, make_debrief, count=3)
    monkeypatch.setattr(debrief_rows, "BATCH", 1)
    monkeypatch.setattr(formats, "ROWS_PER_CHUNK", 1)
    reads = []
    read = debrief_rows._debriefs
    monkeypatch.setattr(debrief_rows, "_debriefs", lambda ids: reads.append(ids) or read(ids))

    sign_in(auth, users.admin)
    response = client.get("/exports/debriefs.csv?sort=newest", buffered=False)
    assert response.is_streamed
    body = iter(response.response)
    first = next(body)
    assert len(reads) == 1 and b"Deal 0" in first
    rest = b"".join(body).decode()
    assert len(reads) == len(made) and "Deal 2" in rest
    response.close()


def test_control_characters_pasted_into_a_debrief_do_not_break_the_workbook(
    client, auth, users, make_debrief
):
    """A spreadsheet file cannot hold control characters: they are dropped
    from the cell, the rest of the text and every other row stay."""
    from tests.test_exports import read_xlsx

    pasted = make_debrief(
        users.rep, quotes=[{"text": "Budget\x0b frozen\x1f until Q3", "speaker_role": "CFO"}]
    )
    plain = make_debrief(users.peer, deal={"name": "Plain deal"})
    sign_in(auth, users.manager)
    response = client.get("/exports/debriefs.xlsx")
    assert response.status_code == 200
    wb = read_xlsx(response.data)
    assert {r[0] for r in wb["Debriefs"].iter_rows(min_row=2, values_only=True)} == {
        pasted.id,
        plain.id,
    }
    quotes = [r[-1] for r in wb["Quotes"].iter_rows(min_row=2, values_only=True)]
    assert "Budget frozen until Q3" in quotes
    csv_quotes = read_csv(client.get("/exports/debriefs.csv?kind=quotes").data)
    assert "Budget\x0b frozen\x1f until Q3" in [q["Quote"] for q in csv_quotes]  # CSV keeps all
