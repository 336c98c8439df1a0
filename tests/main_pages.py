"""The product's main pages, each with something on it, for the browser tests
that visit them all (axe-core, the phone layout)."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from sqlalchemy import select

from kb import search
from kb.extensions import db
from kb.models import Choice, Deal, Outcome, ReasonCategory, Team
from kb.practices import service as practices
from kb.themes import service as themes
from tests.conftest import PASSWORD

SEARCH = "/search?" + urlencode({"q": "pricing", "outcome": "lost"})


@dataclass
class Seeded:
    debrief_id: int
    practice_id: int
    theme_id: int
    todo_deal: str


def seed(users, make_debrief) -> Seeded:
    """Debriefs by the rep (one in euros), a closed deal waiting in the rep's
    to-do list, a featured practice and a tracked theme."""
    debrief = make_debrief(users.rep)
    make_debrief(
        users.peer,
        deal={
            "name": "Globex expansion",
            "account": "Globex Retail",
            "outcome": "won",
            "currency": "EUR",
            "amount": 91000,
            "winner": None,
        },
    )
    make_debrief(
        users.rep,
        deal={"name": "Umbrella pilot", "account": "Umbrella Corporation", "amount": 12500},
    )
    todo = Deal(
        name="Hooli platform deal",
        account="Hooli",
        amount=Decimal("64000"),
        currency="USD",
        close_date=date.today() - timedelta(days=3),
        outcome=Outcome.LOST,
        segment="Enterprise",
        owner_id=users.rep.id,
    )
    db.session.add(todo)
    practice = practices.save_practice(
        users.rep,
        practices.parse(
            {
                "kind": "practice",
                "title": "Bring their CISO into the security review early",
                "situation": "Enterprise buyer with a strict security questionnaire.",
                "actions": "Booked our CISO for a call with theirs in week one.",
                "result": "The review passed first time.",
                "tags": ["security"],
                "anonymous": False,
                "status": "published",
            }
        ),
    )
    practices.set_featured(users.manager, practice, True)
    theme = themes.save_theme(
        users.marketing,
        themes.parse({"name": "Pricing pressure", "query": "pricing", "polarity": "weakness"}),
    )
    db.session.commit()
    search.catch_up()
    return Seeded(debrief.id, practice.id, theme.id, todo.name)


def pages(seeded: Seeded, role: str) -> list[str]:
    """The main pages `role` can open, as paths."""
    common = [
        "/",
        "/debriefs/",
        f"/debriefs/{seeded.debrief_id}",
        "/debriefs/new?source=" + ("buyer" if role == "marketing" else "rep"),
        SEARCH,
        "/practices/",
        f"/practices/{seeded.practice_id}",
        "/themes/",
        f"/themes/{seeded.theme_id}",
        "/analytics/reasons",
        "/analytics/perception",
        "/settings/tokens",
        "/settings/sign-ins",
    ]
    if role in ("manager", "marketing", "admin"):
        common += ["/themes/discover", "/review"]
    if role in ("manager", "admin"):
        common += ["/coverage", "/deals/import", "/deals/import-debriefs"]
    if role == "admin":
        common += admin_pages()
    return common


def admin_pages() -> list[str]:
    team = db.session.scalars(select(Team).order_by(Team.id)).first()
    category = db.session.scalars(select(ReasonCategory).order_by(ReasonCategory.id)).first()
    choice = db.session.scalars(select(Choice).order_by(Choice.id)).first()
    found = [
        "/admin/",
        "/admin/users",
        "/admin/users/new",
        "/admin/users/1",
        "/admin/teams",
        "/admin/competitors",
        "/admin/competitors/1",
        "/admin/taxonomy",
        "/admin/lists",
        "/admin/settings",
        "/admin/wordlists",
        "/admin/audit",
    ]
    if team:
        found.append(f"/admin/teams/{team.id}")
    if category:
        found.append(f"/admin/taxonomy/{category.id}")
    if choice:
        found.append(f"/admin/lists/{choice.id}")
    return found


def sign_in(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")
