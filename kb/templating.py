"""Helpers every template can use."""

from decimal import Decimal
from typing import Any

from flask import Flask, url_for
from flask_login import current_user

from kb.models import SCORE_CRITERIA

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def money(amount: Decimal | float | None, currency: str = "USD") -> str:
    if amount is None:
        return "—"
    symbol = CURRENCY_SYMBOLS.get(currency)
    number = f"{amount:,.0f}"
    return f"{symbol}{number}" if symbol else f"{number} {currency}"


def nav_links() -> list[tuple[str, str]]:
    """The main menu for the signed-in user's role, as (url, label)."""
    links = [(url_for("main.home"), "Home"), (url_for("debriefs.index"), "All debriefs")]
    links.append((url_for("debriefs.index", scope="mine"), "Mine"))
    if current_user.team_id is not None:
        links.append((url_for("debriefs.index", scope="team"), "My team"))
    return links


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
    app.jinja_env.globals.update(money=money, nav_links=nav_links, score_criteria=SCORE_CRITERIA)
    app.jinja_env.filters["change_value"] = change_value
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
