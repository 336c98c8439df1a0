"""On a phone (390×844) in a real Chromium: tables of things to act on are
cards with their action in view, search results come before the folded
filters, the menu folds behind a button that works from the keyboard, no
main page scrolls sideways, focus never hides under the sticky save bar, and
the focus ring stands out on light and dark backgrounds.

Screenshots go to /tmp/phone-*.png for a person to look at."""

import tempfile
from pathlib import Path

import pytest

from kb import search
from kb.extensions import db
from tests import main_pages
from tests.browser import TIMEOUT_MS, expect

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SHOTS = Path(tempfile.gettempdir())


def shot(page, name: str, full_page: bool = True) -> None:
    page.screenshot(path=SHOTS / f"phone-{name}.png", full_page=full_page)


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(viewport=PHONE, device_scale_factor=1, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def seeded(app, users, make_debrief):
    return main_pages.seed(users, make_debrief)


def inside_the_screen(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_the_to_do_list_and_tables_are_cards_with_their_action_in_view(
    users, seeded, live_server, phone
):
    main_pages.sign_in(phone, live_server, users.rep.email)
    todo = phone.locator("table.todos tbody tr").filter(has_text=seeded.todo_deal)
    expect(todo).to_be_visible()
    assert todo.evaluate("row => getComputedStyle(row).display") == "block"
    # The header row is there for screen readers only; each cell shows its label.
    assert phone.locator("table.todos thead").bounding_box()["height"] <= 1
    action = todo.get_by_role("link", name="File debrief")
    expect(action).to_be_visible()
    assert inside_the_screen(action)
    label = todo.locator("td.date").evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"Closed"'  # the column's label, shown beside its value
    shot(phone, "home")

    phone.get_by_role("button", name="Menu").click()
    phone.get_by_role("link", name="Debriefs", exact=True).click()
    first = phone.locator("table.cards tbody tr").first
    expect(first).to_be_visible()
    assert first.evaluate("row => getComputedStyle(row).display") == "block"
    assert inside_the_screen(first.get_by_role("link").first)
    shot(phone, "debriefs")


def test_search_results_come_before_the_folded_filters(users, seeded, live_server, phone):
    main_pages.sign_in(phone, live_server, users.rep.email)
    phone.goto(live_server + main_pages.SEARCH)
    results = phone.get_by_role("region", name="Results")
    panel = phone.locator("details.filters-panel")
    expect(results.locator("article.result").first).to_be_visible()
    assert results.bounding_box()["y"] < panel.bounding_box()["y"]
    expect(panel).not_to_have_attribute("open", "")
    summary = phone.locator("details.filters-panel > summary")
    expect(summary).to_have_text("Filters (1 active)")  # outcome:lost is on
    expect(phone.get_by_label("Sort")).not_to_be_visible()
    shot(phone, "search")

    summary.focus()
    phone.keyboard.press("Enter")
    expect(phone.get_by_label("Sort")).to_be_visible()
    expect(phone.locator(".facet").filter(has_text="Outcome")).to_be_visible()
    shot(phone, "search-filters")


def test_the_menu_folds_and_opens_from_the_keyboard(users, seeded, live_server, phone):
    main_pages.sign_in(phone, live_server, users.manager.email)
    menu = phone.get_by_role("button", name="Menu")
    nav = phone.get_by_role("navigation", name="Main")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav).not_to_be_visible()
    expect(phone.get_by_role("button", name="Sign out")).not_to_be_visible()

    for _ in range(5):  # skip link, brand, then the menu button
        phone.keyboard.press("Tab")
        if menu.evaluate("b => b === document.activeElement"):
            break
    assert menu.evaluate("b => b === document.activeElement"), "Tab never reached the menu"
    phone.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Coverage")).to_be_visible()
    phone.keyboard.press("Tab")
    expect(nav.get_by_role("link", name="Home")).to_be_focused()
    shot(phone, "menu", full_page=False)

    phone.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    expect(nav).not_to_be_visible()

    phone.keyboard.press("Space")
    nav.get_by_role("link", name="Coverage").click()
    expect(phone.get_by_role("heading", name="Debrief coverage", level=1)).to_be_visible()


def test_no_main_page_scrolls_sideways(users, seeded, live_server, phone):
    main_pages.sign_in(phone, live_server, users.admin.email)
    wide = {}
    for path in main_pages.pages(seeded, "admin"):
        response = phone.goto(live_server + path)
        assert response.status == 200, path
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[path] = width
    assert wide == {}
    for name, path in (
        ("debrief", f"/debriefs/{seeded.debrief_id}"),
        ("coverage", "/coverage"),
        ("review", "/review"),
    ):
        phone.goto(live_server + path)
        shot(phone, name)


def test_discovery_findings_are_cards_with_their_figures_labelled(
    users, live_server, phone, make_debrief
):
    # Seven columns do not fit a phone: each finding is a card with its phrase,
    # its figures one to a line under their column's label, its examples and
    # its actions in view, and the page does not scroll sideways.
    for n in range(6):
        make_debrief(
            users.rep,
            deal={"name": f"Lost deal {n}", "account": f"Lost account {n}"},
            lessons_learned="The onboarding fee was the sticking point for finance.",
        )
        make_debrief(
            users.peer,
            deal={
                "name": f"Won deal {n}",
                "account": f"Won account {n}",
                "outcome": "won",
                "winner": None,
            },
            lessons_learned="A mutual action plan kept the champion engaged.",
        )
    db.session.commit()
    search.catch_up()
    main_pages.sign_in(phone, live_server, users.marketing.email)
    phone.goto(live_server + "/themes/discover?outcome=lost&min_support=3")
    rows = phone.get_by_role("region", name="Over-represented in the subset").locator(
        "table.findings tbody tr"
    )
    card = rows.filter(has_text="onboarding fee").first
    expect(card).to_be_visible()
    assert card.evaluate("row => getComputedStyle(row).display") == "block"
    score = card.locator("td[data-label='G²']")
    assert score.evaluate("td => getComputedStyle(td, '::before').content") == '"G²"'
    # The label sits beside its figure, on one line, inside the card.
    assert inside_the_screen(score)
    assert score.bounding_box()["height"] < 40
    track = card.get_by_role("button", name="Track")
    expect(track).to_be_visible()
    assert inside_the_screen(track)
    assert inside_the_screen(card.locator("td.examples p.snippet").first)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "discovery")
    # A tablet held upright has too little room for the columns as well; a
    # desktop has enough, and keeps the table.
    for width, display in ((768, "block"), (1280, "table-row")):
        phone.set_viewport_size({"width": width, "height": 900})
        assert card.evaluate("row => getComputedStyle(row).display") == display
        assert phone.evaluate("document.documentElement.scrollWidth") <= width
        table = phone.locator("table.findings").first
        assert table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth")


def test_focus_never_hides_under_the_sticky_save_bar(users, seeded, live_server, phone):
    main_pages.sign_in(phone, live_server, users.rep.email)
    phone.goto(f"{live_server}/debriefs/new?source=rep")
    bar = phone.locator(".form-actions")
    expect(bar).to_be_visible()
    hidden, seen = [], 0
    for _ in range(120):
        phone.keyboard.press("Tab")
        where = phone.evaluate(
            """() => {
              const el = document.activeElement;
              const bar = document.querySelector(".form-actions");
              const form = bar.closest("form");
              if (!el || !form.contains(el) || bar.contains(el)) return null;
              const r = el.getBoundingClientRect();
              return {name: el.name || el.id || el.textContent.trim().slice(0, 30),
                      top: r.top, bottom: r.bottom, bar: bar.getBoundingClientRect().top};
            }"""
        )
        if where is None:
            continue
        seen += 1
        if where["bottom"] > where["bar"] + 1 or where["top"] < 0:
            hidden.append(where)
    assert seen > 20  # the whole form was walked
    assert hidden == [], "\n".join(map(str, hidden))
    shot(phone, "form", full_page=False)


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


RING = """el => {
  const style = getComputedStyle(el);
  const rgb = s => s.match(/\\d+/g).slice(0, 3).map(Number);
  let bg = el.parentElement;
  while (bg && getComputedStyle(bg).backgroundColor.endsWith(", 0)")) bg = bg.parentElement;
  return {width: parseFloat(style.outlineWidth), style: style.outlineStyle,
          ring: rgb(style.outlineColor),
          behind: rgb(bg ? getComputedStyle(bg).backgroundColor : "rgb(255, 255, 255)")};
}"""


def test_the_focus_ring_stands_out_on_light_and_dark_backgrounds(users, seeded, live_server, phone):
    main_pages.sign_in(phone, live_server, users.rep.email)
    menu = phone.get_by_role("button", name="Menu")  # on the dark top bar
    cards = phone.locator("main a").first  # on the light page
    for target in (menu, cards):
        target.focus()
        phone.keyboard.press("Shift+Tab")
        phone.keyboard.press("Tab")  # focus from the keyboard shows :focus-visible
        expect(target).to_be_focused()
        ring = target.evaluate(RING)
        assert ring["style"] == "solid" and ring["width"] >= 2, ring
        assert contrast(tuple(ring["ring"]), tuple(ring["behind"])) >= 3, ring
    shot(phone, "focus", full_page=False)
