"""The search page as a user sees it."""

import pytest

from tests.conftest import debrief_payload

ABUSIVE = [
    '"unbalanced quote',
    "(open bracket",
    "closed bracket)",
    "AND",
    "-",
    "*pricing",
    "?ricing",
    "x" * 10_000,
    "price\x00\x07\x1b[31m",
    "nosuchfield:value",
    "close:[2025-13-45 TO]",
    "amount:[lots TO]",
    "competitor:",
    '"" () [] {} ^ ~ :',
]


@pytest.fixture
def corpus(make_debrief, users):
    make_debrief(users.rep, competitive_notes="Acme undercut our pricing badly.")
    make_debrief(
        users.peer,
        deal={
            "name": "Globex expansion",
            "outcome": "won",
            "competitors": ["Globex"],
            "winner": None,
        },
        competitive_notes="The security review went well.",
    )
    make_debrief(
        users.west_rep,
        deal={"name": "Draft deal"},
        status="draft",
        competitive_notes="Secret pricing notes still in draft.",
    )


def test_search_shows_highlighted_results_with_count_and_time(client, auth, users, corpus):
    auth.login(users.rep)
    page = client.get("/search?q=undercut").get_data(as_text=True)
    assert "Initech renewal" in page and "<mark>undercut</mark>" in page
    assert "1–1 of 1 debrief" in page and " ms" in page
    prices = client.get("/search?q=prices").get_data(as_text=True)
    assert "<mark>pricing</mark>" in prices and "1–2 of 2 debriefs" in prices
    assert "Draft deal" not in prices  # another rep's draft


def test_facets_filter_and_toggle_off(client, auth, users, corpus):
    auth.login(users.rep)
    page = client.get("/search").get_data(as_text=True)
    assert "Outcome" in page and "Competitor" in page
    filtered = client.get("/search?outcome=won").get_data(as_text=True)
    assert "Globex expansion" in filtered and "Initech renewal" not in filtered
    assert 'aria-current="true"' in filtered  # the selected facet value is marked
    assert 'href="/search"' in filtered or "Clear all filters" in filtered


def test_highlights_escape_the_debriefs_own_html(client, auth, users, make_debrief):
    make_debrief(users.rep, competitive_notes="They said <script>alert(1)</script> pricing.")
    auth.login(users.peer)
    page = client.get("/search?q=pricing").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("query", ABUSIVE)
def test_abusive_queries_get_a_page_never_an_error(client, auth, users, corpus, query):
    auth.login(users.rep)
    response = client.get("/search", query_string={"q": query}, follow_redirects=True)
    assert response.status_code == 200
    assert "Search syntax" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "args",
    [
        {"page": "-3"},
        {"page": "999999"},
        {"per_page": "100000"},
        {"page": "abc"},
        {"sort": "sideways"},
        {"date_from": "2026-02-30"},
        {"outcome": "maybe"},
    ],
)
def test_out_of_range_parameters_are_clamped_with_a_message(client, auth, users, corpus, args):
    auth.login(users.rep)
    response = client.get("/search", query_string={"q": "pricing", **args})
    assert response.status_code == 200
    assert 'class="flash flash-info"' in response.get_data(as_text=True)


def test_empty_result_helps_and_suggests(client, auth, users, corpus):
    auth.login(users.rep)
    page = client.get("/search?q=pricnig").get_data(as_text=True)
    assert "Nothing matches" in page
    assert "Did you mean" in page and "pricing" in page


def test_search_requires_sign_in(client):
    assert client.get("/search?q=x").status_code == 302


def test_save_as_theme_is_offered_to_theme_managers_only(client, auth, users, corpus):
    auth.login(users.marketing)
    assert "Save as theme" in client.get("/search?q=pricing").get_data(as_text=True)
    auth.logout()
    auth.login(users.rep)
    assert "Save as theme" not in client.get("/search?q=pricing").get_data(as_text=True)


def test_more_like_this_on_the_debrief_page(client, auth, users, make_debrief, api):
    text = "Procurement insisted on a three year price lock and a migration credit."
    first = make_debrief(users.rep, competitive_notes=text)
    make_debrief(users.peer, deal={"name": "Similar deal"}, competitive_notes=text)
    make_debrief(
        users.peer,
        deal={"name": "Unrelated deal"},
        reasons=[],
        quotes=[],
        status="draft",
        competitive_notes="Weather was nice.",
        decision_process="",
        what_worked="",
        lessons_learned="",
    )
    auth.login(users.rep)
    page = client.get(f"/debriefs/{first.id}").get_data(as_text=True)
    assert "More like this" in page and "Similar deal" in page
    assert "Unrelated deal" not in page


def test_a_submitted_debrief_is_found_at_once(client, auth, users, api):
    auth.login(users.peer)
    assert "Zanzibar" not in client.get("/search?q=zanzibar").get_data(as_text=True)
    payload = debrief_payload(competitive_notes="They are moving their Zanzibar office.")
    assert api.post(users.rep, "/api/v1/debriefs", json=payload).status_code == 201
    assert "Initech renewal" in client.get("/search?q=zanzibar").get_data(as_text=True)


def test_changing_deal_facts_reindexes_the_deals_other_debriefs(client, auth, users, api):
    created = api.post(users.rep, "/api/v1/debriefs", json=debrief_payload()).json
    # The deal's facts as well, as the form sends them (marketing cannot change them).
    interview = debrief_payload(source="buyer", interviewee_role="CFO")
    interview["deal_id"] = created["deal"]["id"]
    buyer = api.post(users.marketing, "/api/v1/debriefs", json=interview)
    assert buyer.status_code == 201, buyer.json
    patched = api.patch(
        users.rep, f"/api/v1/debriefs/{created['id']}", json={"deal": {"segment": "SMB"}}
    )
    assert patched.status_code == 200, patched.json
    auth.login(users.manager)
    page = client.get("/search?segment=smb").get_data(as_text=True)
    assert "1–2 of 2 debriefs" in page


# ------------------------------------------------- an opened result, and back


def result_link(page: str, name: str) -> str:
    """The href of the result titled `name`, unescaped."""
    import html
    import re

    found = re.search(rf'<h2><a href="([^"]+)">{re.escape(name)}</a></h2>', page)
    assert found, f"no result titled {name}"
    return html.unescape(found.group(1))


def test_an_opened_result_marks_the_words_and_links_back_to_the_same_results(
    client, auth, users, corpus
):
    from urllib.parse import parse_qs, urlsplit

    auth.login(users.rep)
    results = "/search?q=prices&outcome=lost&sort=newest&page=1"
    page = client.get(results).get_data(as_text=True)
    link = result_link(page, "Initech renewal")
    back = parse_qs(urlsplit(link).query)["back"][0]
    assert back == results  # query, filter, sort and page, exactly

    opened = client.get(link).get_data(as_text=True)
    assert "Acme undercut our <mark>pricing</mark> badly." in opened  # "prices" marks "pricing"
    assert "Your <mark>pricing</mark> was simply too high." in opened  # the quote too
    back_link = f'<a href="{results.replace("&", "&amp;")}"><span aria-hidden="true">← </span>'
    assert back_link + "Back to results</a>" in opened


def test_a_debrief_opened_without_a_search_has_no_marks_and_no_back_link(
    client, auth, users, corpus
):
    auth.login(users.rep)
    page = client.get("/search?q=undercut").get_data(as_text=True)
    plain = result_link(page, "Initech renewal").split("?")[0]
    opened = client.get(plain).get_data(as_text=True)
    assert "<mark>" not in opened and "Back to results" not in opened


@pytest.mark.parametrize(
    "back",
    [
        "https://evil.example/search?q=x",
        "//evil.example/search",
        "/\\evil.example",
        "javascript:alert(1)",
        "search?q=x",
        "/search?q=x\r\nSet-Cookie: a=b",
    ],
)
def test_only_a_path_on_this_site_is_accepted_as_the_way_back(client, auth, users, corpus, back):
    auth.login(users.rep)
    page = client.get("/search?q=undercut").get_data(as_text=True)
    plain = result_link(page, "Initech renewal").split("?")[0]
    response = client.get(plain, query_string={"back": back})
    assert response.status_code == 200
    opened = response.get_data(as_text=True)
    assert "Back to results" not in opened and "evil" not in opened and "<mark>" not in opened


def test_marks_in_an_opened_result_escape_the_debriefs_own_html(client, auth, users, make_debrief):
    make_debrief(users.rep, competitive_notes="<script>alert('pricing')</script> pricing")
    auth.login(users.rep)
    page = client.get("/search?q=pricing").get_data(as_text=True)
    opened = client.get(result_link(page, "Initech renewal")).get_data(as_text=True)
    assert "<script>alert" not in opened
    assert (
        "&lt;script&gt;alert(&#39;<mark>pricing</mark>&#39;)&lt;/script&gt; <mark>pricing</mark>"
        in opened
    )


@pytest.mark.browser
def test_in_a_browser_back_to_results_returns_to_the_same_page_and_filters(
    users, corpus, live_server, browser_page
):
    from tests.browser import expect
    from tests.conftest import PASSWORD

    page = browser_page
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(users.rep.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Search", exact=True).click()
    page.get_by_label("Search the debriefs").fill("prices")
    page.get_by_role("button", name="Search", exact=True).click()
    page.locator(".facet").filter(has_text="Outcome").get_by_role("link", name="Lost").click()
    page.get_by_label("Sort").select_option("newest")
    page.get_by_role("button", name="Apply").click()
    results = page.url
    assert "outcome=lost" in results and "sort=newest" in results

    page.get_by_role("link", name="Initech renewal").click()
    expect(page.get_by_role("heading", name="Initech renewal", level=1)).to_be_visible()
    expect(page.locator("mark").first).to_have_text("pricing")
    page.get_by_role("link", name="Back to results").click()
    assert page.url == results
    expect(page.get_by_label("Sort")).to_have_value("newest")
    expect(page.get_by_label("Search the debriefs")).to_have_value("prices")
