"""The debriefs list: its sort orders and its page numbers."""

import html
import re
from datetime import date, timedelta

import pytest


def listed(page: str) -> list[str]:
    """Deal names in the list's order."""
    return re.findall(r'<td><a href="/debriefs/\d+">([^<]+)</a>', page)


@pytest.fixture
def four(make_debrief, users):
    """Four deals whose order differs by every sort: filed in this order."""
    today = date.today()
    for name, account, amount, days_ago in (
        ("Bravo", "zeta Labs", 5000, 40),
        ("Alpha", "Yankee Ltd", 90000, 10),
        ("Delta", "Xray Inc", None, 30),
        ("Charlie", "alpha Corp", 20000, 20),
    ):
        make_debrief(
            users.rep,
            deal={
                "name": name,
                "account": account,
                "amount": amount,
                "close_date": (today - timedelta(days=days_ago)).isoformat(),
            },
        )


@pytest.mark.parametrize(
    "sort, order",
    [
        ("newest", ["Charlie", "Delta", "Alpha", "Bravo"]),
        ("close_date", ["Alpha", "Charlie", "Delta", "Bravo"]),
        ("amount", ["Alpha", "Charlie", "Bravo", "Delta"]),  # no amount last
        ("account", ["Charlie", "Delta", "Alpha", "Bravo"]),  # A to Z, any case
    ],
)
def test_each_sort_orders_the_list(client, auth, users, four, sort, order):
    auth.login(users.rep)
    page = client.get(f"/debriefs/?sort={sort}").get_data(as_text=True)
    assert listed(page) == order
    assert f'<option value="{sort}" selected>' in page


def test_the_default_and_an_unknown_sort_are_the_close_date(client, auth, users, four):
    auth.login(users.rep)
    by_close = ["Alpha", "Charlie", "Delta", "Bravo"]
    assert listed(client.get("/debriefs/").get_data(as_text=True)) == by_close
    odd = client.get("/debriefs/?sort=drop%20table").get_data(as_text=True)
    assert listed(odd) == by_close and '<option value="close_date" selected>' in odd


def test_dates_are_kept_on_one_line(client, auth, users, four):
    auth.login(users.rep)
    page = client.get("/debriefs/").get_data(as_text=True)
    closed = (date.today() - timedelta(days=10)).isoformat()
    assert f'<td data-label="Closed" class="date">{closed}</td>' in page


def test_page_numbers_keep_the_sort_and_filters(client, auth, users, make_debrief):
    for n in range(27):
        make_debrief(users.rep, deal={"name": f"Deal {n:02}", "account": f"Account {n:02}"})
    auth.login(users.rep)
    page = client.get("/debriefs/?sort=account&outcome=lost").get_data(as_text=True)
    assert listed(page)[:2] == ["Deal 00", "Deal 01"]
    pages = dict(
        (label, html.unescape(href))
        for href, label in re.findall(r'<a [^>]*href="([^"]+)">(\d+)</a>', page)
    )
    assert set(pages) == {"1", "2"}
    assert 'aria-current="page" aria-label="Page 1, current page"' in page
    second = client.get(pages["2"]).get_data(as_text=True)
    assert "sort=account" in pages["2"] and "outcome=lost" in pages["2"]
    assert listed(second) == ["Deal 25", "Deal 26"]
    assert 'aria-label="Page 2, current page"' in second
