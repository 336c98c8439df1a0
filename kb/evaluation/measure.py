"""The figures for one label, each read through the product's JSON API.

- Discovery coverage: the share of the label's defining terms (see the data
  set's README) found among the top 20 findings for the label's texts
  against all the others, for the product's discovery (G²) and for the
  chi² baseline on the same texts. A term is found when a finding contains
  it (its words in order, compared after the search index's analysis, so
  "delayed" and "delay" are one term, as are "bags" and "bag").
- Search: precision@20 (labelled texts among the first 20 results, by
  relevance; among all results when fewer) and recall (labelled texts among
  all results, over the label's texts). All results are read as an export
  reads them; paging through the API is checked against them, since tied
  scores can order differently from one page to the next.
- Theme: a theme created with the label's query; its count of debriefs over
  all time against the label's true count, and the precision and recall of
  the debriefs its page links to (its search link), which should be as many
  as it counts.
"""

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from urllib.parse import parse_qsl, urlsplit

from werkzeug.datastructures import MultiDict

from kb import search
from kb.evaluation import baseline
from kb.evaluation.dataset import LabelQuery
from kb.evaluation.load import Api
from kb.search.analysis import analyse

TOP = 20
PAGE = 100


@dataclass
class LabelFigures:
    label: str
    query: str
    texts: int
    terms: int  # distinct defining terms
    discovery_found: list[str]
    discovery_coverage: float
    baseline_found: list[str]
    baseline_coverage: float
    discovery_top: list[str]
    baseline_top: list[str]
    search_results: int
    precision_at_20: float
    recall: float
    paging_repeated: int  # results the API's pages showed twice
    paging_missed: int  # results no page showed
    theme_count: int  # what the theme's page says
    theme_listed: int  # the debriefs its search link lists
    theme_precision: float
    theme_recall: float

    def as_json(self) -> dict:
        return asdict(self)


def _analysed(term: str) -> tuple[str, ...]:
    return tuple(analyse(term))


def _contains(finding: tuple[str, ...], term: tuple[str, ...]) -> bool:
    n = len(term)
    return any(finding[i : i + n] == term for i in range(len(finding) - n + 1))


def found_terms(terms: Sequence[str], findings: Sequence[tuple[str, ...]]) -> list[str]:
    """The defining terms (one per analysed form) that some finding contains."""
    distinct = {_analysed(t): t for t in reversed(terms) if _analysed(t)}
    return [
        term
        for form, term in distinct.items()
        if any(_contains(finding, form) for finding in findings)
    ]


def distinct_terms(terms: Sequence[str]) -> int:
    return len({_analysed(t) for t in terms if _analysed(t)})


def discovery_top(api: Api, segment: str) -> list[dict]:
    """The product's top findings, words and phrases together, by G²."""
    found = api.get("/api/v1/themes/discover", segment=segment, background="all")
    findings = [
        f for key in ("terms", "phrases") for f in found.get(key, []) if isinstance(f, dict)
    ]
    return sorted(findings, key=lambda f: -f["g2"])[:TOP]


def first_page(api: Api, query: str) -> list[int]:
    """The first TOP results by relevance, as the search page shows them."""
    found = api.get("/api/v1/search", q=query, per_page=TOP, facets=0, highlight=0)
    return [hit["id"] for hit in found["hits"]]


def matched_ids(api: Api, params: Mapping[str, str | list[str]]) -> set[int]:
    """Every debrief the search finds: what "export these results" reads."""
    return set(search.all_matches(api.user, params).ids)


def paged_ids(api: Api, params: Mapping[str, str | list[str]]) -> list[int]:
    """The results as a client paging through the API by relevance sees them."""
    ids: list[int] = []
    page = 1
    while True:
        found = api.get(
            "/api/v1/search",
            **{**params, "sort": "relevance", "per_page": PAGE, "page": page},
            facets=0,
            highlight=0,
        )
        ids += [hit["id"] for hit in found["hits"]]
        if page >= found["pages"]:
            return ids
        page += 1


def theme_matches(api: Api, label: str, query: str) -> tuple[int, set[int]]:
    """A new theme's count of debriefs over all time, and the debriefs its
    "see them in search" link lists."""
    created = api.post(
        "/api/v1/themes",
        {"name": label[:120], "query": query, "filters": {}, "status": "tracked"},
    )
    theme = api.get(f"/api/v1/themes/{created['id']}", period="all")
    params = MultiDict(parse_qsl(urlsplit(theme["search_url"]).query))
    return theme["figures"]["mentions"], matched_ids(api, params)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def measure(
    api: Api,
    wanted: LabelQuery,
    segment: str,
    labels: Mapping[int, str],
    texts: Sequence[str],
) -> LabelFigures:
    """`labels` maps each debrief id to its label; `texts` are the debriefs'
    texts in the same order, for the baseline."""
    relevant = {i for i, label in labels.items() if label == wanted.label}
    top = discovery_top(api, segment)
    in_group = [label == wanted.label for label in labels.values()]
    plain_top = baseline.top_terms(texts, in_group, TOP)
    product_found = found_terms(wanted.terms, [tuple(f["terms"]) for f in top])
    plain_found = found_terms(wanted.terms, [_analysed(t) for t in plain_top])
    terms = distinct_terms(wanted.terms)

    ids = matched_ids(api, {"q": wanted.query})
    first = first_page(api, wanted.query)
    paged = paged_ids(api, {"q": wanted.query})
    counted, theme_ids = theme_matches(api, wanted.label, wanted.query)
    theme_hits = len(relevant.intersection(theme_ids))
    return LabelFigures(
        label=wanted.label,
        query=wanted.query,
        texts=len(relevant),
        terms=terms,
        discovery_found=product_found,
        discovery_coverage=_share(len(product_found), terms),
        baseline_found=plain_found,
        baseline_coverage=_share(len(plain_found), terms),
        discovery_top=[f["phrase"] for f in top],
        baseline_top=plain_top,
        search_results=len(ids),
        precision_at_20=_share(len(relevant.intersection(first)), len(first)),
        recall=_share(len(relevant.intersection(ids)), len(relevant)),
        paging_repeated=len(paged) - len(set(paged)),
        paging_missed=len(ids - set(paged)),
        theme_count=counted,
        theme_listed=len(theme_ids),
        theme_precision=_share(theme_hits, len(theme_ids)),
        theme_recall=_share(theme_hits, len(relevant)),
    )
