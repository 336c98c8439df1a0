"""/api/v1/search: the search page's results as JSON, with the same parameters."""

from typing import Any

from flask import request, url_for

from kb import search as search_service
from kb.api import ApiError, api_user, bp
from kb.search import FacetCount, Hit


def hit_json(hit: Hit) -> dict[str, Any]:
    debrief = hit.debrief
    deal = debrief.deal
    return {
        "id": hit.id,
        "score": round(hit.score, 4) if hit.score is not None else None,
        "highlights": [
            {"field": s.field, "label": s.label, "html": str(s.html)} for s in hit.highlights
        ],
        "deal": {
            "id": deal.id,
            "name": deal.name,
            "account": deal.account,
            "outcome": deal.outcome.value,
            "amount": float(deal.amount) if deal.amount is not None else None,
            "currency": deal.currency,
            "close_date": deal.close_date.isoformat(),
            "segment": deal.segment,
            "region": deal.region,
            "competitors": [c.name for c in deal.competitors],
        },
        "source": debrief.source.value,
        "status": debrief.status.value,
        "author": {"id": debrief.author_id, "name": debrief.author.display_name},
        "url": url_for("api.get_debrief", debrief_id=hit.id, _external=True),
    }


def _facet_json(counts: list[FacetCount]) -> list[dict[str, Any]]:
    return [{"value": c.value, "label": c.label, "count": c.count} for c in counts]


@bp.get("/search")
def search():
    """Parameters: q, outcome, competitor, winner, segment, region, industry,
    product_line, source, category, quarter, status (each repeatable),
    date_from, date_to, sort (relevance|newest|amount), page, per_page (≤ 100),
    facets and highlight (0 to leave out)."""
    result = search_service.search(api_user(), request.args)
    if result.error:
        # A failed search is no answer: a client must not read it as "no hits".
        raise ApiError(503, "search_failed", result.error)
    return {
        "query": result.query,
        "total": result.total,
        "page": result.page,
        "per_page": result.per_page,
        "pages": result.pages,
        "sort": result.sort,
        "took_ms": result.took_ms,
        "hits": [hit_json(hit) for hit in result.hits],
        "facets": {name: _facet_json(counts) for name, counts in result.facets.items()},
        "suggestion": result.suggestion,
        "warnings": result.warnings,
    }
