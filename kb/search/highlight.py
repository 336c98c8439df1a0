"""Snippets of a document's own text with the searched words marked.

The text comes from the database (the index stores none), is escaped piece by
piece with markupsafe, and only the <mark> tags around matched words are
markup: a debrief containing "<script>" shows those characters as text.
Words are matched by their index term, so "pricing" marks "prices".
"""

from dataclasses import dataclass

from markupsafe import Markup, escape

from kb.search.analysis import spans
from kb.search.documents import Section

WIDTH = 180
LEAD = 50
MAX_SNIPPETS = 3


@dataclass
class Snippet:
    field: str
    label: str
    html: Markup


def _window(text: str, matches: list[tuple[int, int, str]]) -> tuple[int, int]:
    best, best_score = 0, (-1, 0)
    for i, (start, _, _) in enumerate(matches):
        begin = max(0, start - LEAD)
        inside = [m for m in matches[i:] if m[1] <= begin + WIDTH]
        score = (len({m[2] for m in inside}), len(inside))
        if score > best_score:
            best, best_score = begin, score
    begin = best
    if begin > 0:
        space = text.rfind(" ", 0, begin + 1)
        begin = space + 1 if space >= 0 and begin - space < 20 else begin
    end = min(len(text), begin + WIDTH)
    if end < len(text):
        space = text.rfind(" ", begin, end)
        end = space if space > begin + WIDTH // 2 else end
    return begin, end


def _render(text: str, begin: int, end: int, matches: list[tuple[int, int, str]]) -> Markup:
    out = [Markup("…")] if begin > 0 else []
    index = begin
    for start, stop, _ in matches:
        if start < begin or stop > end:
            continue
        out.append(escape(text[index:start]))
        out.append(Markup("<mark>%s</mark>") % text[start:stop])
        index = stop
    out.append(escape(text[index:end]))
    if end < len(text):
        out.append(Markup("…"))
    return Markup("").join(out)


def snippets(sections: list[Section], terms: set[str], limit: int = MAX_SNIPPETS) -> list[Snippet]:
    """Up to `limit` snippets from the sections with the most matched words;
    without words to mark, the opening of the first section."""
    scored = []
    if terms:
        for order, section in enumerate(sections):
            matches = [m for m in spans(section.text) if m[2] in terms]
            if matches:
                distinct = len({m[2] for m in matches})
                scored.append((distinct, len(matches), -order, section, matches))
    if not scored:
        if not sections:
            return []
        first = sections[0]
        begin, end = _window(first.text, [(0, 0, "")])
        return [Snippet(first.field, first.label, _render(first.text, begin, end, []))]
    scored.sort(key=lambda item: item[:3], reverse=True)
    out = []
    for _, _, _, section, matches in scored[:limit]:
        begin, end = _window(section.text, matches)
        html = _render(section.text, begin, end, matches)
        out.append(Snippet(section.field, section.label, html))
    return out
