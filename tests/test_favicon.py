"""The site icon: named by every page, and found where browsers look for it."""

import re


def test_pages_name_an_icon_that_is_served(client):
    page = client.get("/login", follow_redirects=True).get_data(as_text=True)
    found = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert found, "the first page names no icon"
    icon = client.get(found.group(1))
    assert icon.status_code == 200
    assert icon.mimetype == "image/svg+xml"
    assert b"<svg" in icon.data


def test_favicon_ico_leads_to_the_icon_without_sign_in(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/static/favicon.svg")
