"""GET /api/v1/search: the shape clients rely on; submitted debriefs are
searchable at once."""

from tests.conftest import debrief_payload


def test_search_response_shape(api, users, make_debrief):
    debrief = make_debrief(users.rep)
    response = api.get(
        users.rep,
        "/api/v1/search",
        query_string={"q": "pricing", "outcome": "lost", "sort": "relevance", "per_page": 10},
    )
    assert response.status_code == 200
    body = response.json
    assert set(body) >= {
        "total",
        "page",
        "per_page",
        "pages",
        "took_ms",
        "hits",
        "facets",
        "suggestion",
        "warnings",
        "query",
        "sort",
    }
    assert (body["total"], body["page"], body["per_page"], body["pages"]) == (1, 1, 10, 1)
    assert body["warnings"] == [] and body["suggestion"] is None
    hit = body["hits"][0]
    assert hit["id"] == debrief.id and hit["score"] > 0
    assert hit["deal"] == {
        "id": debrief.deal_id,
        "name": "Initech renewal",
        "account": "Initech",
        "outcome": "lost",
        "amount": 48000.0,
        "currency": "USD",
        "close_date": debrief.deal.close_date.isoformat(),
        "segment": "Enterprise",
        "region": "EMEA",
        "competitors": ["Acme"],
    }
    assert (hit["source"], hit["status"]) == ("rep", "submitted")
    assert hit["author"] == {"id": users.rep.id, "name": "Rita Rep"}
    assert hit["url"].endswith(f"/api/v1/debriefs/{debrief.id}")
    assert hit["highlights"][0] == {
        "field": "quotes",
        "label": "Quote (CFO)",
        "html": "Your <mark>pricing</mark> was simply too high.",
    }
    assert body["facets"]["outcome"] == [{"value": "lost", "label": "Lost", "count": 1}]
    assert body["facets"]["competitor"] == [{"value": "acme", "label": "Acme", "count": 1}]
    assert body["facets"]["category"] == [
        {"value": "price", "label": "Price", "count": 1},
        {"value": "product", "label": "Product", "count": 1},
    ]
    lean = api.get(users.rep, "/api/v1/search?q=pricing&facets=0&highlight=0").json
    assert lean["facets"] == {} and lean["hits"][0]["highlights"] == []


def test_a_submitted_debrief_is_searchable_by_the_next_request(api, users):
    # How soon, in seconds, is the bench's (kb bench: writes, nodes): a
    # wall-clock limit here would fail on a busy machine, not on slow code.
    created = api.post(
        users.rep,
        "/api/v1/debriefs",
        json=debrief_payload(quotes=[{"text": "The axolotl integration sealed it."}]),
    )
    assert created.status_code == 201
    found = api.get(users.peer, "/api/v1/search?q=axolotl").json
    assert [h["id"] for h in found["hits"]] == [created.json["id"]]


def test_paging_through_equal_scores_shows_every_debrief_once(api, users):
    """Short, alike texts score the same: page 2 must continue page 1, for a
    one-word query and for one of several words alike."""
    from kb import search
    from kb.debriefs import service

    filed = []
    for n in range(45):
        payload = debrief_payload()
        payload["deal"]["name"] = f"Tie {n}"
        payload["reasons"][0]["explanation"] = "Flight cancelled, rebooking took hours."
        filed.append(service.save_debrief(users.rep, service.parse(payload)).id)
    search.reindex()  # one segment holding them all, as after an import
    for q in ("cancelled", "cancelled OR rebooking"):
        seen = []
        for page in (1, 2, 3):
            body = api.get(
                users.rep,
                "/api/v1/search",
                query_string={"q": q, "sort": "relevance", "per_page": 20, "page": page},
            ).json
            seen += [hit["id"] for hit in body["hits"]]
        assert sorted(seen) == sorted(filed), q
