"""Sorting and ranges on amounts (and dates) with practices in the index:
practices have no amount, and a search over debriefs must still answer
exactly, in the page, the API and exports. An internal failure is shown as
one, never as "showing everything"."""

import csv
import io
import logging

import pytest
from sqlalchemy import text

from kb import search
from kb.extensions import db
from kb.practices import service as practices
from tests.test_practices import practice_payload


@pytest.fixture
def deals(users, make_debrief):
    """Three debriefs of 20k, 48k and 90k, and one published practice."""
    made = {}
    for name, amount in (("Small deal", 20_000), ("Middle deal", 48_000), ("Large deal", 90_000)):
        made[amount] = make_debrief(users.rep, deal={"name": name, "amount": amount})
    practices.save_practice(users.rep, practices.parse(practice_payload()))
    return made


def test_sort_by_amount_with_a_practice_present(users, deals):
    result = search.search(users.manager, {"sort": "amount"})
    assert result.warnings == []
    assert [hit.debrief.deal.amount for hit in result.hits] == [90_000, 48_000, 20_000]


def test_an_amount_range_with_a_practice_present(users, deals):
    result = search.search(users.manager, {"q": "amount:[50k TO]"})
    assert result.warnings == []
    assert [hit.id for hit in result.hits] == [deals[90_000].id]
    below = search.search(users.manager, {"q": "amount:[TO 30k]", "sort": "amount"})
    assert [hit.id for hit in below.hits] == [deals[20_000].id]


def test_a_date_range_does_not_match_practices(users, deals):
    assert search.search_practices("close:[2000 TO]") == []


def test_the_api_sorts_by_amount(api, users, deals):
    response = api.get(users.manager, "/api/v1/search", query_string={"sort": "amount"})
    assert response.status_code == 200
    assert [hit["deal"]["amount"] for hit in response.json["hits"]] == [90000.0, 48000.0, 20000.0]


def test_the_export_with_an_amount_range_holds_only_matching_rows(client, auth, users, deals):
    auth.login(users.manager)
    response = client.get("/exports/debriefs.csv", query_string={"q": "amount:[50k TO]"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [row["Deal"] for row in rows] == ["Large deal"]


@pytest.fixture
def broken_database(app, deals):
    """The deals table is gone from under the search (a failed migration, a
    restore in progress): the index still answers, reading hits fails."""
    db.session.execute(text("ALTER TABLE deals RENAME TO deals_away"))
    db.session.commit()
    yield
    db.session.rollback()
    db.session.execute(text("ALTER TABLE deals_away RENAME TO deals"))
    db.session.commit()


def test_an_internal_failure_is_an_error_not_everything(users, broken_database, caplog):
    with caplog.at_level(logging.WARNING, logger="kb.search"):
        result = search.search(users.manager, {"q": "amount:[50k TO]"})
    assert result.error and result.error.startswith("The search failed")
    assert result.total == 0 and result.hits == []
    assert not any("showing everything" in w for w in result.warnings)
    assert any(r.levelno == logging.ERROR for r in caplog.records)


def test_the_api_answers_503_on_an_internal_failure(api, users, broken_database):
    response = api.get(users.manager, "/api/v1/search", query_string={"q": "pricing"})
    assert response.status_code == 503
    assert response.json["error"] == "search_failed"
    assert response.json["message"].startswith("The search failed")
    assert "hits" not in response.json


def test_the_page_says_the_search_failed(client, auth, users, broken_database):
    auth.login(users.manager)
    response = client.get("/search", query_string={"q": "pricing"})
    assert response.status_code == 503
    assert "The search failed" in response.text
    assert "No debriefs" not in response.text and "Nothing matches" not in response.text
