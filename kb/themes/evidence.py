"""The debriefs behind a theme: its best evidence quotes, with their deal's
context, and the debriefs that mention it, newest first."""

import heapq
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from kb.extensions import db
from kb.models import Deal, Debrief, DebriefSource, Quote
from kb.search.analysis import spans
from kb.search.documents import Section
from kb.search.highlight import snippets
from kb.themes.engine import Match, Snapshot

# Quotes are looked for among the newest debriefs that mention a theme.
RECENT_DEBRIEFS = 400


@dataclass
class Evidence:
    quote: Quote
    debrief: Debrief
    html: Markup  # the quote, escaped, with the theme's words marked
    matched: int  # distinct words of the theme's query in it


def newest(snap: Snapshot, bits: int, count: int) -> list[int]:
    """The debrief ids of the `count` newest (by close date) documents in `bits`."""
    if not bits or count <= 0:
        return []
    dates = snap.column("close_date")
    ids = snap.debrief_ids
    chosen = heapq.nlargest(count, snap.docnums(bits), key=lambda d: (dates[d], ids[d]))
    return [ids[d] for d in chosen]


def best_quotes(snap: Snapshot, found: Match, limit: int = 6) -> list[Evidence]:
    """Verbatim quotes from the debriefs that mention the theme, those with
    the most of the theme's words first, then the buyer's own words, then
    the newest; one quote per debrief."""
    debrief_ids = newest(snap, found.bits, RECENT_DEBRIEFS)
    if not debrief_ids:
        return []
    rank = {debrief_id: i for i, debrief_id in enumerate(debrief_ids)}
    terms = found.highlight
    scored = []
    for quote_id, debrief_id, text in db.session.execute(
        select(Quote.id, Quote.debrief_id, Quote.text).where(Quote.debrief_id.in_(debrief_ids))
    ):
        matched = len({term for _, _, term in spans(text) if term in terms}) if terms else 0
        if terms and not matched:
            continue
        scored.append((matched, rank[debrief_id], quote_id, debrief_id))
    scored.sort(key=lambda s: (-s[0], s[1]))
    quote_ids, seen = [], set()
    for matched, _, quote_id, debrief_id in scored:
        if debrief_id not in seen:
            seen.add(debrief_id)
            quote_ids.append((quote_id, matched))
    if not quote_ids:
        return []
    candidates = quote_ids[: limit * 3]
    quotes = {
        q.id: q
        for q in db.session.scalars(
            select(Quote)
            .where(Quote.id.in_([q for q, _ in candidates]))
            .options(
                joinedload(Quote.debrief).joinedload(Debrief.deal).selectinload(Deal.competitors)
            )
        )
    }
    out, texts = [], set()
    for quote_id, matched in candidates:
        quote = quotes[quote_id]
        said = " ".join(quote.text.lower().split())
        if said in texts:  # the same words from another debrief add nothing
            continue
        texts.add(said)
        label = f"Quote ({quote.speaker_role})" if quote.speaker_role else "Quote"
        html = snippets([Section("quotes", label, quote.text)], terms, 1)[0].html
        out.append(Evidence(quote, quote.debrief, html, matched))
    # The buyer's voice first among equally matching quotes.
    out.sort(key=lambda e: (-e.matched, e.debrief.source != DebriefSource.BUYER))
    return out[:limit]


def linked_debriefs(snap: Snapshot, bits: int, page: int, per_page: int = 20):
    """One page of the debriefs mentioning a theme, newest first, with the total."""
    total = bits.bit_count()
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    ids = newest(snap, bits, page * per_page)[(page - 1) * per_page :]
    found = {
        d.id: d
        for d in db.session.scalars(
            select(Debrief)
            .where(Debrief.id.in_(ids))
            .options(
                selectinload(Debrief.deal).selectinload(Deal.competitors),
                selectinload(Debrief.author),
            )
        )
    }
    return [found[i] for i in ids if i in found], page, pages, total
