"""Ids and page numbers past what the database holds, and JSON nested too
deep, get a clear answer: never a server error, and nothing stored changes."""

import re

import pytest

from kb.validation import MAX_ID, MAX_PAGE, id_from_text, page_from_text, whole_number
from tests.conftest import row_counts
from tests.test_api_themes import theme_payload
from tests.test_practices import make_practice  # noqa: F401

TOO_BIG = str(MAX_ID + 1)  # 2147483648
HUGE = "9" * 40


def test_one_rule_reads_ids_and_page_numbers():
    assert whole_number(" 42 ") == 42
    for text in ("", "0", "-1", "1.5", "+3", "٣", "1e3", None, "abc"):
        assert whole_number(text) is None, text
    assert id_from_text("17") == 17
    assert id_from_text(TOO_BIG) == id_from_text(HUGE) == id_from_text("0") == 0
    assert id_from_text("Rita") is None
    assert page_from_text("3") == 3
    assert page_from_text(HUGE) == page_from_text("9" * 5000) == MAX_PAGE
    assert page_from_text("-2", default=1) == page_from_text("x") == 1


PAGES_WITH_ID_FILTERS = [
    "/debriefs/?author={n}",
    "/debriefs/mine?author={n}",
    "/practices/?author={n}",
    "/admin/audit?user={n}",
    "/search?q=author:{n}",
]
PAGES_WITH_PAGE_NUMBERS = [
    "/debriefs/?page={n}",
    "/practices/?page={n}",
    "/practices/mine?page={n}",
    "/admin/audit?page={n}",
    "/admin/users?page={n}",
    "/analytics/perception?page={n}",
    "/search?q=pricing&page={n}",
]


@pytest.mark.parametrize("template", PAGES_WITH_ID_FILTERS)
@pytest.mark.parametrize("number", [TOO_BIG, HUGE])
def test_an_id_filter_past_the_largest_id_finds_nothing(
    client, auth, users, make_debrief, template, number
):
    make_debrief(users.rep)
    auth.login(users.admin)
    response = client.get(template.format(n=number))
    assert response.status_code == 200
    assert "Initech renewal" not in response.text


@pytest.mark.parametrize("template", PAGES_WITH_PAGE_NUMBERS)
@pytest.mark.parametrize("number", [TOO_BIG, str(2**63), HUGE])
def test_a_page_past_the_last_page_is_a_page(client, auth, users, make_debrief, template, number):
    make_debrief(users.rep)
    auth.login(users.admin)
    assert client.get(template.format(n=number)).status_code == 200


def test_a_theme_page_past_the_last_page_is_a_page(client, auth, users, api):
    theme_id = api.post(users.manager, "/api/v1/themes", json=theme_payload()).json["id"]
    auth.login(users.manager)
    assert client.get(f"/themes/{theme_id}?page={HUGE}").status_code == 200


@pytest.mark.parametrize("number", [TOO_BIG, HUGE])
def test_starting_from_an_id_past_the_largest_is_not_found(client, auth, users, number):
    auth.login(users.manager)
    assert client.get(f"/debriefs/new?deal={number}").status_code == 404
    assert client.get(f"/practices/new?from_debrief={number}").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/debriefs?author={n}",
        "/api/v1/deals?owner={n}",
        "/api/v1/practices?author={n}",
    ],
)
@pytest.mark.parametrize("number", [TOO_BIG, HUGE])
def test_api_id_filters_past_the_largest_id_list_nothing(api, users, make_debrief, url, number):
    make_debrief(users.rep)
    response = api.get(users.admin, url.format(n=number))
    assert response.status_code == 200
    assert response.json["items"] == [] and response.json["total"] == 0


@pytest.mark.parametrize("name", ["page", "per_page"])
@pytest.mark.parametrize("number", [str(MAX_PAGE + 1), HUGE])
def test_api_page_numbers_past_the_limit_are_refused(api, users, name, number):
    for url in ("/api/v1/debriefs", "/api/v1/deals", "/api/v1/practices"):
        response = api.get(users.admin, f"{url}?{name}={number}")
        assert response.status_code == 400, url
        assert response.json["message"] == f"'{name}' must be at most {MAX_PAGE}."


@pytest.mark.parametrize("number", [MAX_ID + 1, 10**30])
def test_ids_past_the_largest_in_bodies_and_forms_are_field_errors(
    api, client, auth, users, number
):
    from tests.conftest import debrief_payload
    from tests.test_practices import practice_payload

    api.get(users.rep, "/api/v1/debriefs")  # signs the token in before counting
    api.get(users.manager, "/api/v1/debriefs")
    before = row_counts()
    payload = debrief_payload()
    payload.pop("deal")
    payload["deal_id"] = number
    filed = api.post(users.rep, "/api/v1/debriefs", json=payload)
    assert filed.status_code == 400 and "deal_id" in filed.json["fields"]
    shared = api.post(users.manager, "/api/v1/practices", json=practice_payload(debrief_id=number))
    assert shared.status_code == 400 and "debrief_id" in shared.json["fields"]

    auth.login(users.manager)
    form = {k: v for k, v in practice_payload().items() if isinstance(v, str)}
    for field in ("deal_id", "debrief_id"):
        page = client.post("/practices/new", data={**form, field: str(number)})
        assert page.status_code == 422, field
        assert "Must be at most" in page.text
    assert row_counts() == before


BODILESS = {"api.feature_practice"}  # a POST that reads no body
DEEP = "[" * 1000 + "]" * 1000
OBJECTS = '{"a":' * 1000 + "1" + "}" * 1000


@pytest.mark.parametrize("body", [DEEP, OBJECTS, "[" * 40 + "]" * 40])
def test_deeply_nested_json_is_refused_on_every_write(
    app,
    api,
    client,
    users,
    make_debrief,
    make_practice,  # noqa: F811
    body,
):
    api.get(users.admin, "/api/v1/debriefs")  # signs the token in before counting
    ids = {
        "debrief_id": make_debrief(users.rep).id,
        "practice_id": make_practice(users.manager).id,
        "theme_id": api.post(users.manager, "/api/v1/themes", json=theme_payload()).json["id"],
    }
    before = row_counts()
    writes = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint not in BODILESS
        for method in rule.methods & {"POST", "PATCH", "PUT"}
    ]
    assert len(writes) >= 8
    for rule, method in writes:
        url = re.sub(r"<(?:[^:<>]+:)?(\w+)>", lambda m: str(ids[m.group(1)]), rule.rule)
        response = client.open(
            url,
            method=method,
            data=body,
            content_type="application/json",
            headers=api._headers(users.admin),
        )
        assert response.status_code == 400, f"{method} {url}: {response.status_code}"
        assert response.json["error"] == "invalid_json", f"{method} {url}"
        assert "levels deep" in response.json["message"]
    assert row_counts() == before
