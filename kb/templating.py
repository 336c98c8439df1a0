"""Helpers every template can use."""

from decimal import Decimal
from typing import Any

from flask import Flask, url_for
from flask_login import current_user

from kb.models import SCORE_CRITERIA, Role

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def money(amount: Decimal | float | None, currency: str = "USD") -> str:
    if amount is None:
        return "—"
    symbol = CURRENCY_SYMBOLS.get(currency)
    number = f"{amount:,.0f}"
    return f"{symbol}{number}" if symbol else f"{number} {currency}"


def nav_links() -> list[tuple[str, str]]:
    """The main menu for the signed-in user's role, as (url, label)."""
    links = [
        (url_for("main.home"), "Home"),
        (url_for("search.page"), "Search"),
        (url_for("debriefs.index"), "Debriefs"),
        (url_for("practices.index"), "Playbook"),
        (url_for("themes.index"), "Themes"),
        (url_for("analytics.reasons_page"), "Analytics"),
    ]
    if current_user.role in (Role.MANAGER, Role.ADMIN):
        links.append((url_for("deals.coverage_page"), "Coverage"))
    if current_user.role in (Role.MANAGER, Role.MARKETING, Role.ADMIN):
        links.append((url_for("review.pack_page"), "Review pack"))
    if current_user.role == Role.ADMIN:
        links.append((url_for("admin.index"), "Admin"))
    return links


def debrief_tabs() -> list[tuple[str, str]]:
    """The debrief lists a user can switch between, as (url, label)."""
    tabs = [(url_for("debriefs.index"), "All"), (url_for("debriefs.index", scope="mine"), "Mine")]
    if current_user.team_id is not None:
        tabs.append((url_for("debriefs.index", scope="team"), "My team"))
    return tabs


def change_value(value: Any) -> str:
    """An audit value as a short readable string."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return "; ".join(change_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {change_value(v)}" for k, v in value.items() if v not in (None, ""))
    return str(value)


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(
        money=money, nav_links=nav_links, debrief_tabs=debrief_tabs, score_criteria=SCORE_CRITERIA
    )
    app.jinja_env.filters["change_value"] = change_value
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
