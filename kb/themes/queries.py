"""A theme as a search: its query string and filters in the search page's
terms, and checks on a query before it is saved."""

import re
from typing import Any

from flask import url_for
from werkzeug.routing import BuildError

from kb.models import Theme
from kb.themes.engine import query_problems

WORD = re.compile(r"\w")


def query_problem(query: str) -> str | None:
    """Why `query` cannot be saved as a search, in words a user can act on:
    what the search engine says about it (an unknown field, a value it does
    not know, nothing to search for); None when it is fine."""
    if query.count('"') % 2:
        return 'Close the quotation marks: a phrase goes between two " signs.'
    if not WORD.search(query):
        return "The query has no words to search for."
    depth = 0
    for char in query:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth:
        return "The brackets in the query do not pair up."
    problems = query_problems(query)
    return " ".join(problems) if problems else None


def search_params(query: str, filters: dict[str, Any]) -> dict[str, Any]:
    """The search page's query-string parameters for a query and filters."""
    params: dict[str, Any] = {}
    if query:
        params["q"] = query
    params.update({key: value for key, value in filters.items() if value not in (None, "", [])})
    return params


def theme_params(theme: Theme) -> dict[str, Any]:
    return search_params(theme.query or "", dict(theme.filters or {}))


def search_url(params: dict[str, Any]) -> str | None:
    """The search page for these parameters, when the app has one."""
    try:
        return url_for("search.page", **params)
    except BuildError:
        return None
