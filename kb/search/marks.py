"""A search's words marked in the whole of a text, and the way back to the
results, for a debrief opened from a results page.

Words are matched as the search matches them (by index term, with competitor
aliases expanded), so "pricing" marks "prices". Text is escaped piece by
piece: only the <mark> tags are markup.
"""

from urllib.parse import parse_qs, urlsplit

from flask import current_app
from markupsafe import Markup, escape

from kb.search import EXTENSION
from kb.search import query as user_query
from kb.search.analysis import spans

RESULTS_PATH = "/search"


def back_to_results(target: str | None) -> str | None:
    """`target` when it is a path on this site (no scheme, no host, no
    protocol-relative "//" or backslash trick); None for anything else, so a
    link can never lead off the site."""
    if not target or len(target) > 2000 or "\\" in target or any(c < " " for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    if target.startswith("//"):
        return None
    return target


def query_terms(back: str | None) -> set[str]:
    """The index terms a results URL searched for in the text; none when it
    is not a search or the index is not there."""
    if back is None or urlsplit(back).path != RESULTS_PATH:
        return set()
    q = parse_qs(urlsplit(back).query).get("q", [""])[0]
    if not q.strip():
        return set()
    index = current_app.extensions.get(EXTENSION)
    if index is None:
        return set()
    return user_query.parse(q, index.vocabulary()).highlight


def mark(text: str | None, terms: set[str]) -> Markup:
    """`text`, escaped, with each word whose term is in `terms` in <mark>."""
    text = text or ""
    out, index = [], 0
    for start, stop, term in spans(text):
        if term in terms:
            out.append(escape(text[index:start]))
            out.append(Markup("<mark>%s</mark>") % text[start:stop])
            index = stop
    out.append(escape(text[index:]))
    return Markup("").join(out)
