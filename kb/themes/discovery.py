"""Discovery: the words and phrases a set of debriefs uses markedly more than
a background does, scored with Dunning's log-likelihood ratio (G²).

For a word or phrase, the subset's documents and the background's (less any
debriefs that are also in the subset) form a 2×2 table: with it / without it,
subset / rest. G² = 2 Σ O·ln(O/E) over the four cells, where E is the count
expected if the phrase were as common in both; with one degree of freedom,
G² ≥ 10.83 means p < 0.001. Only phrases more common in the subset are kept.

A phrase's document count is what the search engine finds for it in quotes
(a word's documents, or those with every adjacent pair of its words), so the
counts shown agree with a search, and a finding tracked as a theme matches
exactly the debriefs it was counted on.

Candidates are read from the subset's own text (a sample of it beyond
SAMPLE debriefs): single words, and two- and three-word sequences within one
section, without stop words at either end and without numbers. The list is
exact: every candidate that could be in it is counted exactly on the index.
Estimates (from the sample and the index's document frequencies) only choose
the order of counting; a candidate is left uncounted only when an upper
bound on its score, from its document frequency, is below the list's
cut-off (see _best).
"""

import math
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from markupsafe import Markup

from kb.analytics.cache import cached
from kb.analytics.periods import Period, parse_date, parse_quarter, rolling
from kb.search.analysis import analyse, spans, stem
from kb.search.documents import Section
from kb.search.highlight import snippets
from kb.themes.engine import Match, Snapshot
from kb.themes.terms import TermCache, names, sections

MIN_SUPPORT, MAX_SUPPORT, DEFAULT_SUPPORT = 1, 1000, 5
SAMPLE = 2000  # debriefs read per side to find candidates
SHORTLIST = 360  # candidates counted exactly first, best estimates first
EMERGING_SHORTLIST = 180
SIGNIFICANT = 10.83  # G² for p < 0.001 (one degree of freedom)
EMERGING_SIGNIFICANT = 3.84  # p < 0.05
RESULTS = 30
EXAMPLES = 2
BACKGROUNDS = {"all": "All submitted debriefs", "previous": "The same search, previous period"}

# Words too common to make a theme on their own or to start or end a phrase,
# beyond those the index already leaves out; compared as index terms.
_EXTRA_STOP_WORDS = """
    about above after again against all also am any because been before being
    below between both but could did do does doing down during each even ever
    every few further got had has having he her here hers him his how however
    i into its itself just me might more most much must my no nor now off once
    only other our ours out over own same she should so some still such than
    their theirs them then there these they those through too under until up
    upon very was were what which while who whom why would yes yours
    get gets make made one two three lot really well way back many thing things
"""
STOP_WORDS = frozenset(stem(w) for w in _EXTRA_STOP_WORDS.split())


def log_likelihood(a: int, n1: int, c: int, n2: int) -> float:
    """Dunning's G² for `a` of `n1` subset documents and `c` of `n2` other
    documents containing a phrase; negative when the subset uses it less."""
    n = n1 + n2
    k = a + c
    if n1 <= 0 or n2 <= 0 or k == 0 or k == n:
        return 0.0
    observed = (a, n1 - a, c, n2 - c)
    expected = (n1 * k / n, n1 * (n - k) / n, n2 * k / n, n2 * (n - k) / n)
    g2 = 2 * sum(o * math.log(o / e) for o, e in zip(observed, expected, strict=True) if o)
    g2 = max(0.0, g2)
    return g2 if a * n2 >= c * n1 else -g2


@dataclass
class Example:
    debrief_id: int
    html: Markup


@dataclass
class Finding:
    terms: tuple[str, ...]
    phrase: str  # as people write it
    score: float  # G²
    subset: int  # subset debriefs with it
    subset_size: int
    background: int  # background debriefs with it (the subset's own included)
    background_size: int
    rest: int  # background debriefs outside the subset with it: what G² compares
    rest_size: int
    examples: list[Example] = field(default_factory=list)

    @property
    def words(self) -> int:
        return len(self.terms)

    @property
    def subset_share(self) -> float:
        return self.subset / self.subset_size if self.subset_size else 0.0

    @property
    def background_share(self) -> float:
        return self.background / self.background_size if self.background_size else 0.0

    @property
    def rest_share(self) -> float:
        return self.rest / self.rest_size if self.rest_size else 0.0

    @property
    def ratio(self) -> float | None:
        """How many times more common in the subset than in the rest."""
        return self.subset_share / self.rest_share if self.rest_share else None

    @property
    def change(self) -> float:
        """Change of share, in percentage points (for emerging phrases)."""
        return 100 * (self.subset_share - self.rest_share)

    @property
    def query(self) -> str:
        return f'"{self.phrase}"' if self.words > 1 or " " in self.phrase else self.phrase


@dataclass
class Discovery:
    subset_size: int
    background: str
    background_size: int
    findings: list[Finding]
    emerging: list[Finding]
    emerging_period: Period | None
    emerging_before: Period | None
    warnings: list[str]
    min_support: int
    sampled: int
    took_ms: float = 0.0
    as_of: datetime | None = None  # set when shown from a store that lags the latest change


class DiscoveryError(ValueError):
    """Input that discovery cannot work with, by field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def subset_period(filters: Mapping[str, Any], today: date) -> Period | None:
    """The close dates a subset's filters choose, when they choose any."""
    if "quarter" in filters:
        return parse_quarter(filters["quarter"])
    start, end = filters.get("date_from"), filters.get("date_to")
    if not start and not end:
        return None
    first = parse_date(start) if start else None
    last = parse_date(end) if end else today
    if first is None:
        return None
    return Period(first, last, f"{first.isoformat()} to {last.isoformat()}")


def shifted(filters: Mapping[str, Any], period: Period) -> dict[str, Any]:
    """The same filters over another period."""
    moved = {k: v for k, v in filters.items() if k not in ("quarter", "date_from", "date_to")}
    moved["date_from"], moved["date_to"] = period.start.isoformat(), period.end.isoformat()
    return moved


# --- candidates ---------------------------------------------------------------


def _keep(gram: tuple[str, ...], named: frozenset[str] = frozenset()) -> bool:
    if gram[0] in STOP_WORDS or gram[-1] in STOP_WORDS:
        return False
    if len(gram) == 1 and gram[0].isdigit():
        return False  # a bare number; "6 weeks" and "30%" are findings
    # A one-character term may be a digit or an emoji ("😡" is a finding).
    return not any((len(term) < 2 and term.isalpha()) or term in named for term in gram)


def filtered_names(snap: Snapshot, filters: Mapping[str, Any]) -> frozenset[str]:
    """Index terms of the competitors the subset is chosen by: a subset of
    deals against Acme naturally says "Acme"; that is no finding."""
    terms: set[str] = set()
    for key in ("competitor", "winner"):
        values = filters.get(key) or []
        for value in [values] if isinstance(values, str) else values:
            name = snap.vocabulary.competitor(str(value))
            for spelling in snap.vocabulary.spellings.get(name, []) if name else []:
                terms.update(analyse(spelling))
    return frozenset(terms)


def _sample(ids: list[int], size: int) -> list[int]:
    if len(ids) <= size:
        return ids
    step = len(ids) / size
    return [ids[int(i * step)] for i in range(size)]


def count_grams(analysed: Mapping[int, tuple]) -> Counter:
    """Documents containing each word, word pair and word triple (within a section)."""
    counts: Counter = Counter()
    for doc in analysed.values():
        seen: set[tuple[str, ...]] = set()
        for terms in doc:
            seen.update((t,) for t in terms)
            seen.update(zip(terms, terms[1:], strict=False))
            seen.update(zip(terms, terms[1:], terms[2:], strict=False))
        counts.update(seen)
    return counts


@dataclass
class _Side:
    """One set of debriefs: its documents, and word counts from a sample of them."""

    bits: int
    size: int
    counts: Counter
    scale: float  # documents per sampled document
    analysed: dict
    ids: list[int] = field(default_factory=list)
    _named: Counter | None = None

    def estimate(self, gram: tuple[str, ...]) -> float:
        return self.counts.get(gram, 0) * self.scale

    def in_names(self, gram: tuple[str, ...]) -> int:
        """The side's debriefs whose names (deal, account, competitors,
        role) have the phrase: counted on every debrief, not a sample."""
        if self._named is None:
            analysed: dict[str, tuple] = {}
            named: Counter = Counter()
            for found in names(self.ids).values():
                for name in found:
                    if name not in analysed:
                        analysed[name] = (tuple(analyse(name)),)
                named.update(count_grams({0: tuple(t for n in found for t in analysed[n])}))
            self._named = named
        return self._named.get(gram, 0)


def _side(snap: Snapshot, terms: TermCache, bits: int, size: int = SAMPLE) -> _Side:
    ids = sorted(snap.debriefs_of(bits))
    sample = _sample(ids, size)
    analysed = terms.terms(sample)
    counts = count_grams(analysed)
    return _Side(bits, len(ids), counts, len(ids) / max(1, len(sample)), analysed, ids)


def _candidates(side: _Side, named: frozenset[str]) -> list[tuple[str, ...]]:
    """Every word, pair and triple of the side's (sampled) text worth a look."""
    return [gram for gram in side.counts if _keep(gram, named)]


def upper_bound(most: int, subset_size: int, rest_size: int, least_rest: int = 0) -> float:
    """The highest G² a phrase in at most `most` subset documents and at
    least `least_rest` others can have: G² of an over-represented phrase
    grows with its subset count and falls with its count outside."""
    return log_likelihood(
        min(most, subset_size), subset_size, min(least_rest, rest_size), rest_size
    )


class _Bounds:
    """What is known for sure about candidates' counts without decoding
    their postings, tightened as phrases are counted exactly.

    - A phrase's subset count is at most its document frequency in the index
      (drafts, deleted and other documents included), and at most the count
      of each word or shorter phrase in it.
    - When the subset was read whole, a word's subset count is at most the
      debriefs whose text or names have it.
    - Its background count outside the subset is at least its document
      frequency less its subset count and the documents that are in neither."""

    def __init__(self, snap: Snapshot, subset: _Side, rest_size: int):
        self.snap, self.subset, self.rest_size = snap, subset, rest_size
        self.outside = snap.view.size - subset.size - rest_size
        self.known: dict[tuple[str, ...], int] = {}
        self.frequency: dict[tuple[str, ...], int] = {}
        self._most: dict[tuple[str, ...], int] = {}
        self.whole = len(subset.analysed) >= subset.size

    def df(self, gram: tuple[str, ...]) -> int:
        found = self.frequency.get(gram)
        if found is None:
            found = self.frequency[gram] = self.snap.doc_frequency(gram)
        return found

    def learn(self, gram: tuple[str, ...], count: int) -> None:
        self.known[gram] = count
        self._most.clear()  # bounds of phrases containing it may tighten

    def most(self, gram: tuple[str, ...]) -> int:
        if gram in self.known:
            return self.known[gram]
        found = self._most.get(gram)
        if found is None:
            found = self._most[gram] = self._most_of(gram)
        return found

    def _most_of(self, gram: tuple[str, ...]) -> int:
        most = min(self.subset.size, self.df(gram))
        for part in _parts(gram):
            most = min(most, self.known.get(part, most))
        if self.whole:
            for term in gram:
                word = (term,)
                most = min(most, self.subset.counts.get(word, 0) + self.subset.in_names(word))
        return most

    def score(self, gram: tuple[str, ...]) -> float:
        most = self.most(gram)
        least = max(0, self.df(gram) - most - self.outside)
        return upper_bound(most, self.subset.size, self.rest_size, least)


def _best(
    snap: Snapshot,
    subset: _Side,
    background_bits: int,
    candidates: list[tuple[str, ...]],
    guess,
    min_support: int,
    threshold: float,
    limit: int,
    value=lambda f: f.score,
    value_bound=None,
    first: int = SHORTLIST,
) -> list[Finding]:
    """The best `limit` findings among the candidates by `value`, exactly
    as if every candidate were counted on the index, then pruned.

    Counting a phrase exactly means decoding its postings, so candidates are
    counted in order of an estimate (`guess`, highest first), and one is left
    uncounted only when it provably cannot change the result: when upper
    bounds on its G² (and its `value`, by `value_bound`) from what is known
    for sure of its counts (_Bounds) are below what it takes to be a finding
    or to enter the list, and the bound on its subset count is below what it
    takes to make a listed phrase it contains drop out as part of it.
    Estimates only choose the order in which phrases are counted."""
    rest_size = (background_bits & ~subset.bits).bit_count()
    bounds = _Bounds(snap, subset, rest_size)
    value_bound = value_bound or (lambda bounds, gram: bounds.score(gram))
    pending = sorted(
        (
            gram
            for gram in candidates
            if bounds.most(gram) >= min_support and bounds.score(gram) >= threshold
        ),
        key=guess,
        reverse=True,
    )
    rank = lambda f: (-value(f), -f.score)  # noqa: E731
    found: dict[tuple[str, ...], Finding | None] = {}
    batch = pending[:first]
    while batch:
        counted = _exact(snap, batch, subset, background_bits, min_support, threshold)
        for gram, (finding, count) in zip(batch, counted, strict=True):
            found[gram] = finding
            bounds.learn(gram, count)
        pending = [
            gram
            for gram in pending
            if gram not in found
            and bounds.most(gram) >= min_support
            and bounds.score(gram) >= threshold
        ]
        top = _top(found, rank, limit)
        if len(top) < limit:
            batch = pending  # anything that may be a finding may still enter
            continue
        cutoff = value(top[-1])
        listed = {f.terms: f.subset for f in top}
        batch = [
            gram
            for gram in pending
            if value_bound(bounds, gram) >= cutoff
            or any(bounds.most(gram) >= 0.7 * listed.get(part, math.inf) for part in _parts(gram))
        ]
    return _top(found, rank, limit)


def _parts(gram: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The shorter phrases inside a phrase."""
    n = len(gram)
    return [gram[i:j] for i in range(n) for j in range(i + 1, n + 1) if j - i < n]


def _top(found: Mapping, rank, limit: int) -> list[Finding]:
    ranked = sorted((f for f in found.values() if f is not None), key=rank)
    return prune(ranked)[:limit]


def _exact(
    snap: Snapshot,
    grams: list[tuple[str, ...]],
    subset: _Side,
    background_bits: int,
    min_support: int,
    threshold: float,
) -> list[tuple[Finding | None, int]]:
    """Each phrase counted on the index: its finding (None when it is not
    one: too rare, not significant, or an artefact of names) and its count
    in the subset."""
    rest_bits = background_bits & ~subset.bits
    subset_size, background_size = subset.size, background_bits.bit_count()
    rest_size = rest_bits.bit_count()
    found: list[tuple[Finding | None, int]] = []
    for gram in grams:
        bits = snap.phrase_bits(gram)
        a = (bits & subset.bits).bit_count()
        c = (bits & rest_bits).bit_count()
        score = log_likelihood(a, subset_size, c, rest_size)
        if a < min_support or score < threshold or _in_names(subset, gram, a):
            found.append((None, a))
            continue
        found.append(
            (
                Finding(
                    gram,
                    " ".join(gram),
                    score,
                    a,
                    subset_size,
                    (bits & background_bits).bit_count(),
                    background_size,
                    c,
                    rest_size,
                ),
                a,
            )
        )
    return found


def _in_names(side: _Side, gram: tuple[str, ...], count: int) -> bool:
    """Whether a phrase is counted mostly in deal or account names rather
    than what the debriefs say: an artefact of how deals are named."""
    named = side.in_names(gram)
    return named > 0.5 * count and named >= 3


def prune(findings: list[Finding]) -> list[Finding]:
    """Drop a word or phrase that is mostly part of a longer one also found
    (shown once, as the longer phrase)."""
    widest: dict[tuple[str, ...], int] = {}  # part -> most subset debriefs of a phrase with it
    for g in findings:
        for part in _parts(g.terms):
            widest[part] = max(widest.get(part, 0), g.subset)
    return [f for f in findings if not widest.get(f.terms, 0) >= 0.7 * f.subset]


def _surface(gram: tuple[str, ...], texts: list[Section]) -> tuple[str, Section] | None:
    """The phrase as written in one of these sections, and that section."""
    for section in texts:
        found = list(spans(section.text))
        for i in range(len(found) - len(gram) + 1):
            if tuple(t for _, _, t in found[i : i + len(gram)]) == gram:
                start, end = found[i][0], found[i + len(gram) - 1][1]
                return section.text[start:end].lower(), section
    return None


def _add_examples(findings: list[Finding], side: _Side) -> None:
    """Name each finding as it is written and attach example snippets."""
    wanted = {f.terms: f for f in findings}
    where: dict[tuple[str, ...], list[int]] = {gram: [] for gram in wanted}
    for debrief_id, doc in side.analysed.items():
        grams: set[tuple[str, ...]] = set()
        for terms in doc:
            grams.update((t,) for t in terms)
            grams.update(zip(terms, terms[1:], strict=False))
            grams.update(zip(terms, terms[1:], terms[2:], strict=False))
        for gram in grams & wanted.keys():
            if len(where[gram]) < EXAMPLES:
                where[gram].append(debrief_id)
    texts = sections({i for ids in where.values() for i in ids})
    for gram, ids in where.items():
        finding = wanted[gram]
        for debrief_id in ids:
            found = _surface(gram, texts.get(debrief_id, []))
            if found is None:
                continue
            phrase, section = found
            if finding.phrase == " ".join(gram):
                finding.phrase = phrase
            html = snippets([section], set(gram), 1)[0].html
            finding.examples.append(Example(debrief_id, html))


# --- discovery ------------------------------------------------------------------


def discover(
    snap: Snapshot,
    terms: TermCache,
    query: str,
    filters: Mapping[str, Any],
    background: str = "all",
    min_support: int = DEFAULT_SUPPORT,
    today: date | None = None,
    limit: int = RESULTS,
    sample: int = SAMPLE,
) -> Discovery:
    """Over-represented words and phrases of the debriefs a search finds,
    against a background; and separately those that grew most against the
    previous period. Candidates are read from a sample of `sample` debriefs
    per side. Raises DiscoveryError for input it cannot use."""
    started = time.perf_counter()
    today = today or date.today()
    errors: dict[str, str] = {}
    if not isinstance(min_support, int) or not MIN_SUPPORT <= min_support <= MAX_SUPPORT:
        errors["min_support"] = (
            f"Minimum support is a whole number of debriefs from {MIN_SUPPORT} to {MAX_SUPPORT}."
        )
    if background not in BACKGROUNDS:
        errors["background"] = "Choose all debriefs or the previous period as the background."
    period = subset_period(filters, today)
    if background == "previous" and period is None:
        errors["background"] = (
            "To compare with the previous period, give the subset a period (a quarter, or dates)."
        )
    if errors:
        raise DiscoveryError(errors)
    key = (
        "discover",
        snap.state,
        query,
        repr(sorted(filters.items())),
        background,
        min_support,
        today,
        limit,
        sample,
    )

    def compute() -> Discovery:
        found = _discover(
            snap, terms, query, filters, background, min_support, today, period, limit, sample
        )
        found.took_ms = round((time.perf_counter() - started) * 1000, 1)
        return found

    return cached(key, compute)


def _discover(snap, terms, query, filters, background, min_support, today, period, limit, sample):
    subset_match: Match = snap.match(query, filters)
    warnings = list(subset_match.warnings)
    subset = _side(snap, terms, subset_match.bits, sample)
    named = filtered_names(snap, filters)

    if background == "previous":
        before = snap.match(query, shifted(filters, period.previous()))
        background_bits = before.bits
        back = _side(snap, terms, background_bits, sample)
        rest_estimate = back.estimate
    else:
        background_bits = snap.population
        total = max(1, snap.view.doc_count)
        share = background_bits.bit_count() / total

        def rest_estimate(gram):
            return max(0.0, snap.doc_frequency(gram) * share - subset.estimate(gram))

    rest_size = (background_bits & ~subset.bits).bit_count()
    findings: list[Finding] = []
    if subset.size and rest_size:

        def guess(gram) -> float:
            c = min(rest_estimate(gram), rest_size)
            return log_likelihood(round(subset.estimate(gram)), subset.size, round(c), rest_size)

        candidates = _candidates(subset, named)
        findings = _best(
            snap, subset, background_bits, candidates, guess, min_support, SIGNIFICANT, limit
        )
        _add_examples(findings, subset)
    elif not subset.size:
        warnings.append("No submitted debrief matches this subset.")
    else:
        warnings.append("The background has no debriefs outside the subset to compare with.")

    emerging, now_period, before_period = _emerging(
        snap, terms, query, filters, subset, period, today, min_support, limit, named, sample
    )
    return Discovery(
        subset.size,
        background,
        background_bits.bit_count(),
        findings,
        emerging,
        now_period,
        before_period,
        warnings,
        min_support,
        min(subset.size, sample),
    )


def _emerging(
    snap, terms, query, filters, subset, period, today, min_support, limit, named, sample
):
    """Phrases whose share of the subset's debriefs grew most against the
    same search over the previous period of equal length (the subset's own
    period, or the last 90 days when it has none)."""
    if period is None:
        period = rolling("90d", today)
        now = _side(snap, terms, snap.match(query, shifted(filters, period)).bits, sample)
    else:
        now = subset
    if period.start > today:
        return [], period, None
    before_period = period.previous()
    before_bits = snap.match(query, shifted(filters, before_period)).bits
    before = _side(snap, terms, before_bits, sample)
    if not now.size or not before.size:
        return [], period, before_period

    def change(gram) -> float:
        return now.estimate(gram) / now.size - before.estimate(gram) / before.size

    # The "background" here is the previous period alone (it never overlaps);
    # a share can grow by no more than the share it has now.
    found = _best(
        snap,
        now,
        before_bits,
        _candidates(now, named),
        change,
        min_support,
        EMERGING_SIGNIFICANT,
        max(10, limit // 2),
        value=lambda f: f.change,
        value_bound=lambda bounds, gram: 100 * bounds.most(gram) / now.size,
        first=EMERGING_SHORTLIST,
    )
    _add_examples(found, now)
    return found, period, before_period
