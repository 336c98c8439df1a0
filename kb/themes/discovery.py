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
SAMPLE debriefs, completed by what the sample missed and could still be
listed, from every debrief of the subset whatever its size: through the
index's sequence tables, kb.themes.sequences, or without them from every
debrief's text up to EVERY; see _unsampled): single words, and sequences
of two to four words within one clause (kb.search.analysis.clauses), without
stop words at either end and without what kb.themes.exclusions leaves out
(numbers on their own, URLs, @handles, competitors' names and aliases, the
words that name the subset's outcome, admins' own list). Words and phrases
are ranked in separate lists, so that
a phrase is not crowded out by the more frequent words it is made of, and
the forms of one idea are merged into one row (kb.themes.ideas).

The lists are exact: every candidate that could be in them is counted
exactly on the index. Estimates (from the sample and the index's document
frequencies) only choose the order of counting; a candidate is left
uncounted only when an upper bound on its score, from its document
frequency and the exact counts of the words and pairs in it, is below the
lists' cut-off and its support is too low to be merged into a listed idea
(see _best). How many findings pass a Benjamini–Hochberg correction over
every candidate tested is reported with them (kb.themes.significance); the
others are marked exploratory.
"""

import ctypes
import functools
import math
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from itertools import chain, compress, filterfalse, islice, product, repeat
from typing import Any

import numpy as np
from markupsafe import Markup

from kb.analytics.cache import cached
from kb.analytics.periods import Period, parse_date, parse_quarter, rolling
from kb.search.analysis import PAIR_SEPARATOR, analyse, breaks, spans
from kb.search.documents import Section
from kb.search.highlight import snippets
from kb.themes import exclusions, ideas, postings
from kb.themes.engine import Match, Snapshot
from kb.themes.exclusions import Exclusions
from kb.themes.sequences import Said
from kb.themes.significance import Correction, correct, p_value
from kb.themes.tallies import PAIRS, TEXT, Tally, by_pairs, count_phrases
from kb.themes.terms import TermCache, names, sections

MIN_SUPPORT, MAX_SUPPORT, DEFAULT_SUPPORT = 1, 1000, 5
SAMPLE = 2000  # debriefs read per side to find candidates
# Without the index's sequence tables (no index folder), a subset of at
# most this many debriefs is read whole for its phrases beyond the sample
# and bounds on its words' and word pairs' counts.
EVERY = 20_000
SHORTLIST = 360  # candidates counted exactly first, best estimates first
EMERGING_SHORTLIST = 180
SIGNIFICANT = 10.83  # G² for p < 0.001 (one degree of freedom)
EMERGING_SIGNIFICANT = 3.84  # p < 0.05
RESULTS = 20  # per list: words, and phrases
MAX_WORDS = 4  # the longest phrase read as a candidate (see grams)
EXAMPLES = 2
BACKGROUNDS = {"all": "All submitted debriefs", "previous": "The same search, previous period"}

# Words too common to make a theme on their own or to start or end a phrase,
# beyond those the index already leaves out; compared as index terms.
STOP_WORDS = exclusions.STOP_WORDS


# Kept by their counts: tens of thousands of phrases share a few thousand
# pairs of counts over the same two sets.
@functools.lru_cache(maxsize=1 << 16)
def log_likelihood(a: int, n1: int, c: int, n2: int) -> float:
    """Dunning's G² for `a` of `n1` subset documents and `c` of `n2` other
    documents containing a phrase; negative when the subset uses it less.

    Computed as 2(Σ O ln O − Σ rows ln rows − Σ columns ln columns + N ln N),
    which equals 2 Σ O ln(O/E) and is several times quicker to evaluate for
    the tens of thousands of bounds discovery works out."""
    n = n1 + n2
    k = a + c
    if n1 <= 0 or n2 <= 0 or k == 0 or k == n:
        return 0.0
    log = math.log
    cells = 0.0
    for o in (a, n1 - a, c, n2 - c):
        if o:
            cells += o * log(o)
    g2 = 2 * (cells - n1 * log(n1) - n2 * log(n2) - k * log(k) - (n - k) * log(n - k) + n * log(n))
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
    # The subset debriefs with it, for telling forms of one idea apart.
    bits: int = field(default=0, repr=False, compare=False)
    # Other forms of the same idea, merged into this row (kb.themes.ideas).
    variants: list["Finding"] = field(default_factory=list)
    # Whether it fails the Benjamini–Hochberg correction (kb.themes.significance).
    exploratory: bool = False

    @property
    def p_value(self) -> float:
        return p_value(self.score)

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
    words: list[Finding]
    phrases: list[Finding]
    emerging: list[Finding]
    emerging_period: Period | None
    emerging_before: Period | None
    warnings: list[str]
    min_support: int
    sampled: int
    correction: Correction | None = None
    emerging_correction: Correction | None = None
    took_ms: float = 0.0
    # Where the time went, in ms, by stage (see _stage).
    stages: dict[str, float] | None = None
    as_of: datetime | None = None  # set when shown from a store that lags the latest change

    @property
    def findings(self) -> list[Finding]:
        """Words and phrases, strongest first."""
        return sorted(self.words + self.phrases, key=lambda f: -f.score)


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


class _Stages(threading.local):
    def __init__(self):
        self.times: dict[str, float] | None = None
        self.inner: list[float] = []


_STAGES = _Stages()


@contextmanager
def _stage(name: str) -> Iterator[None]:
    """Adds the time spent inside, less that of stages nested in it, to
    `name` of the discovery being computed in this thread."""
    times = _STAGES.times
    if times is None:
        yield
        return
    started = time.perf_counter()
    _STAGES.inner.append(0.0)
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        times[name] = times.get(name, 0.0) + elapsed - _STAGES.inner.pop()
        if _STAGES.inner:
            _STAGES.inner[-1] += elapsed


# --- candidates ---------------------------------------------------------------


def _keep(gram: tuple[str, ...], left_out: Exclusions | None = None) -> bool:
    return (left_out or _DEFAULT).keeps(gram)


_DEFAULT = exclusions.for_discovery({}, {}, ())


def left_out(snap: Snapshot, filters: Mapping[str, Any]) -> Exclusions:
    """What this subset's findings leave out: stop words, every competitor's
    names and aliases, the words of the outcome the subset is chosen by,
    and admins' own list."""
    return exclusions.for_discovery(snap.vocabulary.spellings, filters, exclusions.extra_phrases())


# An odd 64-bit multiplier (2^64 / the golden ratio): multiplying by it
# modulo 2^64 orders the debriefs' ids as if at random, and ties none.
_SCRAMBLE = np.uint64(0x9E3779B97F4A7C15)


def _sample(ids: list[int], size: int) -> list[int]:
    """`size` of these debriefs (ascending ids), spread over them as a
    random sample is: those whose scrambled ids are lowest. A debrief added
    to the set or taken out of it changes at most one of them, so after a
    change the sample read is the one read before, analysed already (an
    evenly spaced one shifts whole, and is read again)."""
    if len(ids) <= size:
        return ids
    scrambled = np.asarray(ids, np.uint64) * _SCRAMBLE
    chosen = np.sort(np.argpartition(scrambled, size - 1)[:size])
    return [ids[i] for i in chosen.tolist()]


def grams(doc: tuple) -> set[tuple[str, ...]]:
    """Every word and sequence of up to MAX_WORDS words within one clause."""
    seen: set[tuple[str, ...]] = set()
    for terms in doc:
        seen.update(zip(terms))  # noqa: B905  (one-word tuples)
        if len(terms) > 1:
            second, third, fourth = terms[1:], terms[2:], terms[3:]
            seen.update(zip(terms, second))  # noqa: B905  (shorter by design)
            seen.update(zip(terms, second, third))  # noqa: B905
            seen.update(zip(terms, second, third, fourth))  # noqa: B905
    return seen


def count_grams(analysed: Mapping[int, tuple]) -> Counter:
    """Documents containing each word and sequence of up to MAX_WORDS words
    (within a clause): the counts of what grams() finds in each document,
    worked out on arrays of numbered terms (a sample has hundreds of
    thousands of words, each the start of up to four grams); the same
    counts, words first, then pairs, triples and sequences of four."""
    try:
        return _count_numbered(analysed)
    except OverflowError:  # too many distinct terms to number them so
        counts: Counter = Counter()
        for doc in analysed.values():
            counts.update(grams(doc))
        return counts


def _firsts(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted array starts."""
    keep = np.empty(len(ordered), dtype=bool)
    if len(ordered):
        keep[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return keep


def _count_numbered(analysed: Mapping[int, tuple]) -> Counter:
    """count_grams on arrays: every term numbered, every gram a number (a
    pair's from its two terms', a triple's from its first pair's and its
    last term's, a sequence of four from its two pairs'), each gram's
    documents counted once by sorting (gram, document) numbers."""
    counts: Counter = Counter()
    docs = list(analysed.values())
    parts = [terms for doc in docs for terms in doc]
    flat = list(chain.from_iterable(parts))
    total = len(flat)
    if not total:
        return counts
    vocabulary = list(dict.fromkeys(flat))
    number = {term: i for i, term in enumerate(vocabulary, 1)}
    ids = np.fromiter(map(number.__getitem__, flat), dtype=np.int64, count=total)
    words = np.empty(len(vocabulary) + 1, dtype=object)
    words[1:] = vocabulary
    k = len(vocabulary) + 1
    n_docs = len(docs)
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    per_doc = np.fromiter(map(len, docs), dtype=np.int64, count=n_docs)
    doc_at = np.repeat(np.repeat(np.arange(n_docs, dtype=np.int64), per_doc), lengths)
    # How many terms from each position to the end of its section.
    room = np.repeat(np.cumsum(lengths), lengths) - np.arange(total, dtype=np.int64)

    def documents(code: np.ndarray, at) -> tuple[np.ndarray, np.ndarray]:
        """Each distinct gram number and its documents."""
        if len(code) and (int(code.max()) + 1) * n_docs >= 1 << 62:
            raise OverflowError
        seen = np.sort(code * n_docs + doc_at[at])
        seen = seen[_firsts(seen)] // n_docs  # (gram, document) once each
        starts = np.flatnonzero(_firsts(seen))
        return seen[starts], np.diff(starts, append=len(seen))

    found = []
    codes, docs_with = documents(ids, slice(None))
    found.append(((words[codes],), docs_with))
    at = np.flatnonzero(room >= 2)
    pair = ids[at] * k + ids[at + 1]
    codes, docs_with = documents(pair, at)
    found.append(((words[codes // k], words[codes % k]), docs_with))
    # Pairs numbered 0… in order, for the longer sequences.
    order = np.argsort(pair, kind="stable")
    ranked = pair[order]
    new = _firsts(ranked)
    pair_codes = ranked[new]
    pair_at = np.zeros(total, dtype=np.int64)
    pair_at[at[order]] = np.cumsum(new) - 1
    p = len(pair_codes)
    first_of, second_of = words[pair_codes // k], words[pair_codes % k]
    at = np.flatnonzero(room >= 3)
    codes, docs_with = documents(pair_at[at] * k + ids[at + 2], at)
    pairs = codes // k
    found.append(((first_of[pairs], second_of[pairs], words[codes % k]), docs_with))
    at = np.flatnonzero(room >= 4)
    codes, docs_with = documents(pair_at[at] * p + pair_at[at + 2], at)
    one, two = codes // p, codes % p
    found.append(((first_of[one], second_of[one], first_of[two], second_of[two]), docs_with))
    for columns, docs_with in found:
        # Grams of different lengths never meet: no sum needed.
        columns = [column.tolist() for column in columns]
        dict.update(counts, zip(zip(*columns), docs_with.tolist()))  # noqa: B905
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
    # Every debrief's terms, when all were read for bounds (see _side).
    every: dict | None = None
    _words: Counter | None = None
    _named: Counter | None = None
    _named_all: bool = False  # whether _named holds every phrase of the names
    _name_terms: dict[int, tuple] | None = None
    _pairs: Counter | None = None
    _kept: tuple[Exclusions, list] | None = None  # the last `kept` asked
    # The last read of frequent sequences (_unsampled): its least count and what it found.
    scanned: tuple[int, set] | None = None
    # Exact counts of the index's words and word pairs over every debrief
    # of the side (kb.themes.tallies); None when the index keeps no tables.
    tally: Tally | None = None
    # Where names are kept analysed between discoveries.
    terms: TermCache | None = None
    # What every debrief of the side says, section by section, from the
    # index's sequence tables (kb.themes.sequences), when it has them and
    # the side is larger than its sample.
    said: Said | None = None

    def estimate(self, gram: tuple[str, ...]) -> float:
        return self.counts.get(gram, 0) * self.scale

    def kept(self, left: Exclusions) -> list[tuple[str, ...]]:
        """The grams of the sample that `left` keeps, in the order of
        counts; worked out once per side and exclusions (a subset with a
        period is also its own emerging phrases' side)."""
        if self._kept is None or self._kept[0] is not left:
            self._kept = (left, left.kept(self.counts))
        return list(self._kept[1])

    @property
    def whole(self) -> bool:
        """Whether every debrief of the side was read (for bounds)."""
        return self.every is not None or len(self.analysed) >= self.size

    def in_text(self, gram: tuple[str, ...]) -> int:
        """The side's debriefs whose text has the word, when all were read."""
        if self.every is None:
            return self.counts.get(gram, 0)
        return self.word_counts().get(gram, 0)

    def word_counts(self) -> Counter:
        """Debriefs whose text has each word, over every debrief read."""
        if self._words is None:
            found: Counter = Counter()
            for doc in (self.every if self.every is not None else self.analysed).values():
                found.update({(t,) for terms in doc for t in terms})
            self._words = found
        return self._words

    def name_terms(self) -> dict[int, tuple]:
        """Each debrief's names (deal, account, competitors, role) as index
        terms, one tuple per name."""
        if self._name_terms is None:
            if self.terms is not None:
                self._name_terms = self.terms.names(self.ids)
                return self._name_terms
            analysed: dict[str, tuple] = {}
            out: dict[int, tuple] = {}
            for debrief_id, found in names(self.ids).items():
                for name in found:
                    if name not in analysed:
                        analysed[name] = tuple(analyse(name))
                out[debrief_id] = tuple(analysed[n] for n in found)
            self._name_terms = out
        return self._name_terms

    def in_names(self, gram: tuple[str, ...]) -> int:
        """The side's debriefs whose names (deal, account, competitors,
        role) have the phrase: counted on every debrief, not a sample."""
        self._count_names()
        if self._named_all:
            return self._named.get(gram, 0)
        found = self._named.get(gram)
        if found is None:
            self.names_of([gram])
            found = self._named[gram]
        return found

    def _count_names(self) -> None:
        """Every phrase of the side's names counted at once from their
        analysed text, unless the index's tables of names count them as asked."""
        if self._named is None:
            self._named = Counter()
            if self.said is None or self.said.in_names([]) is None:
                self._named.update(count_grams(self.name_terms()))
                self._named_all = True

    def names_of(self, grams) -> None:
        """Count these phrases in names at once (see in_names), from the
        index's tables of names when the side has them."""
        self._count_names()
        if self._named_all:
            return
        missing = [g for g in dict.fromkeys(grams) if g not in self._named]
        for gram, count in zip(missing, self.said.in_names(missing), strict=True):
            self._named[gram] = count

    def pairs(self, gram: tuple[str, ...]) -> int:
        """At least the side's debriefs whose indexed text has this word
        pair, when every debrief of the side was read: the index reads a
        debrief's names and sections as one sequence of terms, so besides
        the pairs inside each, any last term of one may meet any first term
        of another."""
        return self.pair_counts().get(gram, 0)

    def pair_counts(self) -> Counter:
        """At least the debriefs whose indexed text has each word pair, over
        every debrief read (see pairs)."""
        if self._pairs is None:
            found: Counter = Counter()
            named = self.name_terms()
            read = self.analysed if self.every is None else self.every
            for debrief_id, doc in read.items():
                parts = [p for p in (*doc, *named.get(debrief_id, ())) if p]
                seen = {pair for p in parts for pair in zip(p, p[1:])}  # noqa: B905
                if len(parts) > 1:
                    seen.update(product({p[-1] for p in parts}, {p[0] for p in parts}))
                found.update(seen)
            self._pairs = found
        return self._pairs


def _side(snap: Snapshot, terms: TermCache, bits: int, size: int = SAMPLE, every: int = 0) -> _Side:
    """A side, its candidates read from a sample of `size` debriefs; and
    what the sample missed from every debrief of it: from the index's
    sequence tables whatever its size (Said), or else, when it has at most
    `every`, from every debrief's words and word pairs, for bounds on their
    counts."""
    with _stage("reading"):
        ids = sorted(snap.debriefs_of(bits))
        sample = _sample(ids, size)
    with _stage("tallies"):
        tally = _tally(snap, bits)
    said = None
    if tally is not None and len(sample) < len(ids):
        with _stage("sequences"):
            said = Said(snap, bits)
        if not said.available():
            said = None
    with _stage("reading"):
        whole = terms.terms(ids) if said is None and size < len(ids) <= every else None
        if whole is not None:
            analysed = {i: whole[i] for i in sample}
        elif said is not None:
            # Spelt from the index's sequence tables (no database read, no
            # analysis), but for a debrief with a term they lack.
            analysed = said.analysed(sample, snap.debrief_ids)
            if len(analysed) < len(sample):
                analysed |= terms.terms([i for i in sample if i not in analysed])
                analysed = {i: analysed[i] for i in sample}
        else:
            analysed = terms.terms(sample)
    with _stage("counting"):
        counts = count_grams(analysed)
    scale = len(ids) / max(1, len(sample))
    return _Side(
        bits, len(ids), counts, scale, analysed, ids, whole, terms=terms, tally=tally, said=said
    )


_tallies: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_tallies_lock = threading.Lock()


def _give_back_memory() -> None:
    """Return the heap's free pages to the system (glibc keeps what the
    counting's large temporary arrays left free, and a worker's resident
    memory would stay at its peak); and let go of the index's term and
    sequence tables' pages read meanwhile (shared page cache, mapped again
    by the next read)."""
    global _malloc_trim
    from kb.search import sequences as sequence_tables
    from kb.search import termtable

    termtable.release_pages()
    sequence_tables.release_pages()
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


def _tally(snap: Snapshot, bits: int) -> Tally | None:
    """Exact word and pair counts over these documents, when the index keeps
    its term tables (an index on disk); kept while the discovery being
    computed lasts (a subset's previous period is also its emerging phrases'
    background)."""
    with _tallies_lock:
        kept = _tallies.setdefault(snap, {})
        found = kept.get(bits)
    if found is None:
        found = Tally(snap.view, bits)
        if not found.available():
            return None
        found.count_ahead()
        with _tallies_lock:
            kept[bits] = found
            while len(kept) > 2:
                del kept[next(iter(kept))]
    return found


def _candidates(side: _Side, left: Exclusions) -> list[tuple[str, ...]]:
    """Every word and phrase of the side's (sampled) text worth a look."""
    return side.kept(left)


def _unsampled(
    side: _Side, left: Exclusions, known, least: int, may, in_sections=None
) -> list[tuple[str, ...]]:
    """Words and phrases of the side's debriefs that its sample missed and
    that `may` change the lists: candidates are read from a sample, so
    without this a phrase found only in debriefs outside it could never be
    listed, however strong.

    A word or phrase in fewer than `least` debriefs cannot matter. Words are
    taken from the index's exact counts over every debrief of the side
    (kb.themes.tallies), whatever its size, and kept when they are in what
    a debrief says, not only in its names (`in_sections` reads the text of
    the debriefs with the word when its names do not tell). Phrases, from
    the index's sequence tables (any size), or when every debrief of the
    side was read: a phrase is in no more debriefs than any word pair in
    it, so only sequences of such frequent pairs are read, and `may` then
    decides on each one's own bounds."""
    if len(side.analysed) >= side.size:
        return []
    found: list[tuple[str, ...]] = []
    tally = side.tally
    prefetch = getattr(may, "prefetch", None)
    if tally is not None and in_sections is not None:
        frequent = tally.frequent(TEXT, least)
        side.names_of((t,) for t in frequent)
        if prefetch is not None:
            prefetch([(t,) for t in frequent])
        for term, count in frequent.items():
            word = (term,)
            if word in known or not left.keeps(word) or not may(word):
                continue
            if count > side.in_names(word) or in_sections(word):
                found.append(word)
    elif side.every is not None:
        for word, count in side.word_counts().items():
            if tally is not None:
                count = tally.count(TEXT, word[0])
            else:
                count += side.in_names(word)
            if word not in known and count >= least and left.keeps(word) and may(word):
                found.append(word)
    if side.said is not None:
        # Already without what `left` leaves out, and read again only for
        # a lower cut-off (Said.phrases).
        kept = list(filterfalse(known.__contains__, side.said.phrases(tally, least, left)))
        if prefetch is not None:
            prefetch(kept)
    elif side.every is not None:
        kept = _every_sequences(side, left, known, least, prefetch)
    else:
        return found
    prepare = getattr(may, "prepare", None)
    verdicts = prepare(kept) if prepare is not None else None
    if verdicts is not None:
        # `may` of each of them, in order (worked out at once).
        return found + list(compress(kept, verdicts))
    found += [gram for gram in kept if may(gram)]
    return found


def _read_ahead(side: _Side, min_support: int, rest_size: int, left: Exclusions):
    """Start reading in a thread of its own what _unsampled will read of
    the side's phrases and names (the least cut-off it can be asked for),
    while the candidates known are counted: a Future, or None when there
    is nothing to read."""
    if side.said is None or side.tally is None or len(side.analysed) >= side.size:
        return None
    least = max(min_support, _least_count(SIGNIFICANT, side.size, rest_size))
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(side.said.read_ahead, side.tally, least, left)
    finally:
        pool.shutdown(wait=False)


def _every_sequences(side: _Side, left: Exclusions, known, least: int, prefetch):
    """The sequences of frequent pairs of every debrief of the side read
    (see _unsampled) that are not `known` and that `left` keeps."""
    if side.tally is not None:
        # The exact count of each pair in the index: a phrase is in no more
        # debriefs than any pair of it.
        counts = Counter(
            {
                tuple(pair.split(PAIR_SEPARATOR)): count
                for pair, count in side.tally.frequent(PAIRS, least).items()
            }
        )
    else:
        counts = side.pair_counts()
    scanned = side.scanned
    if scanned is not None and scanned[0] <= least:
        # Asked again with a higher cut-off: the phrases read last time
        # hold every one that can pass it.
        seen = {
            gram
            for gram in scanned[1]
            if all(counts.get(pair, 0) >= least for pair in zip(gram, gram[1:]))  # noqa: B905
        }
    else:
        seen = _frequent_sequences(side, {p for p, count in counts.items() if count >= least})
        side.scanned = (least, seen)
    if prefetch is not None:
        prefetch([gram for gram in seen if gram not in known])
    return left.kept(g for g in seen if g not in known)


def _guess(subset: _Side, rest: Tally, gram: tuple[str, ...]) -> float:
    """G² from the exact counts of a word or pair; for a longer phrase, its
    sample's count with the rest's taken in the same proportion to the
    least of its pairs' exact counts. Only the order of counting follows it."""
    if len(gram) <= 2:
        kind, term = (TEXT, gram[0]) if len(gram) == 1 else (PAIRS, PAIR_SEPARATOR.join(gram))
        a, c = subset.tally.count(kind, term), rest.count(kind, term)
        return log_likelihood(a, subset.size, c, rest.size)
    pairs = [a + PAIR_SEPARATOR + b for a, b in zip(gram, gram[1:])]  # noqa: B905
    inside = min(subset.tally.counts(PAIRS, pairs))
    outside = min(rest.counts(PAIRS, pairs))
    estimate = min(subset.estimate(gram), inside)
    share = estimate / inside if inside else 0.0
    return log_likelihood(round(estimate), subset.size, round(outside * share), rest.size)


def _guesses(
    subset: _Side, rest: Tally, grams: list[tuple[str, ...]], at=None, bounds=None
) -> np.ndarray:
    """_guess of each gram, on arrays: their words' and pairs' counts read
    at once (a longer phrase's pairs coded once: by their numbers among
    `bounds`' phrases when given with the grams' numbers `at`, else
    by_pairs), and G² worked out once for each distinct pair of counts."""
    tally, size, rest_size = subset.tally, subset.size, rest.size
    numbers = at
    inside = np.zeros(len(grams), np.int64)
    outside = np.zeros(len(grams), np.int64)
    lengths = np.fromiter(map(len, grams), np.int64, len(grams))
    for kind, n in ((TEXT, 1), (PAIRS, 2)):
        at = np.flatnonzero(lengths == n)
        terms = [PAIR_SEPARATOR.join(grams[i]) for i in at.tolist()]
        inside[at] = tally.counts(kind, terms)
        outside[at] = rest.counts(kind, terms)
    at = np.flatnonzero(lengths > 2)
    if at.size:
        long = [grams[i] for i in at.tolist()]
        pairs, coded = by_pairs(long) if bounds is None else _pairs_in(bounds, numbers[at])
        # The least of its pairs' counts in each set (the last pair repeats).
        most = np.array(tally.counts(PAIRS, pairs), np.int64)[coded].min(axis=1)
        least = np.array(rest.counts(PAIRS, pairs), np.int64)[coded].min(axis=1)
        sampled = np.fromiter(map(subset.counts.get, long, repeat(0)), np.int64, len(long))
        estimate = np.minimum(sampled * subset.scale, most)
        share = np.divide(estimate, most, out=np.zeros(len(long)), where=most > 0)
        # Rounded half to even, as round() does.
        inside[at] = np.rint(estimate)
        outside[at] = np.rint(least * share)
    return _scores(inside, size, outside, rest_size)


def _scores(inside, size: int, outside, rest_size: int) -> np.ndarray:
    """log_likelihood of each pair of counts (`inside` of `size`, `outside`
    of `rest_size`), worked out once for each distinct pair."""
    inside, outside = np.asarray(inside, np.int64), np.asarray(outside, np.int64)
    distinct, which = np.unique(inside * (rest_size + 1) + outside, return_inverse=True)
    scores = np.array(
        [
            log_likelihood(a, size, c, rest_size)
            for a, c in zip(
                (distinct // (rest_size + 1)).tolist(),
                (distinct % (rest_size + 1)).tolist(),
                strict=True,
            )
        ],
        float,
    )
    return scores[which.reshape(-1)]


def _by_guess(grams, guess) -> list[tuple[str, ...]]:
    """The grams by `guess`, highest first, equal ones in the order of their
    words; worked out at once when the guess can (its `many`).

    The order decides which phrases are counted before the cut-offs rise, so
    which others are left uncounted and how many candidates are tested: it
    depends on the grams alone, never on the order they come in (out of
    sets, whose order changes from one process to the next). The order of
    their words is that of their words joined by NUL, below any character
    of an index term (quicker to sort than tuples, and the same order; the
    tuples are sorted when a term holds NUL)."""
    grams = list(grams)
    joined = list(map("\x00".join, grams))
    if sum(map(str.count, joined, repeat("\x00"))) == sum(map(len, grams)) - len(grams):
        grams = [grams[i] for i in sorted(range(len(grams)), key=joined.__getitem__)]
    else:
        grams.sort()
    many = getattr(guess, "many", None)
    if many is None:
        return sorted(grams, key=guess, reverse=True)
    values = np.asarray(many(grams), float)
    # Highest first, equal ones kept in order (a stable sort).
    return [grams[i] for i in np.argsort(-values, kind="stable").tolist()]


def _by_guess_at(grams, at: np.ndarray, guess, bounds: "_Bounds", keep=None):
    """_by_guess of these grams of numbers `at` (those `keep` marks, when
    given), and their numbers in that order: worked out on arrays, the
    order of their words from ranks of their words' numbers among
    `bounds`' phrases (the order of tuples: a shorter phrase before the
    longer ones it begins)."""
    if keep is not None:
        where = np.flatnonzero(keep)
        grams, at = [grams[i] for i in where.tolist()], at[where]
    many = getattr(guess, "many", None)
    if many is None or not grams:
        grams = _by_guess(grams, guess)
        return grams, bounds.numbers(grams)
    numbered = getattr(guess, "numbered", None)
    values = np.asarray(numbered(grams, at, bounds) if numbered else many(grams), float)
    # Highest first, equal ones in the order of their words.
    order = np.lexsort((*_word_ranks(bounds, at)[::-1], -values))
    return list(map(grams.__getitem__, order.tolist())), at[order]


def _word_ranks(bounds: "_Bounds", at: np.ndarray) -> list[np.ndarray]:
    """For the phrases of these numbers, the rank of each one's first,
    second… word among all their words in the order of strings, -1 past
    its last word."""
    words = bounds._words[at]
    numbered = np.fromiter(bounds._word_ids.values(), np.int64, len(bounds._word_ids))
    names = list(bounds._word_ids)
    rank = np.full(bounds._size, -1, np.int64)
    rank[numbered[sorted(range(len(names)), key=names.__getitem__)]] = np.arange(len(names))
    ranks = rank[words]
    ranks[np.arange(words.shape[1]) >= bounds._length[at][:, None]] = -1
    return list(ranks.T)


def _pairs_in(bounds: "_Bounds", at: np.ndarray, numbers: bool = False):
    """by_pairs of the phrases of these numbers among `bounds`' (of three
    words or more): their pairs are their parts of two words, found through
    their two longest parts (with `numbers`, the pairs' numbers rather than
    the pairs)."""
    lengths = bounds._length[at]
    width = 1 << (int(lengths.max()) - 2)
    rows = np.empty((len(at), width), np.int64)
    for n in np.unique(lengths).tolist():
        where = np.flatnonzero(lengths == n)
        nodes = at[where][:, None]
        for _ in range(n - 2):
            nodes = np.hstack([bounds._left[nodes], bounds._right[nodes]])
        rows[where] = np.hstack([nodes, np.repeat(nodes[:, -1:], width - nodes.shape[1], 1)])
    # The distinct pairs in order of their numbers, and each one's place among them.
    seen = np.zeros(bounds._size, bool)
    seen[rows] = True
    distinct = np.flatnonzero(seen)
    place = np.cumsum(seen) - 1
    if numbers:
        return distinct, place[rows]
    pairs = [PAIR_SEPARATOR.join(bounds.grams[i]) for i in distinct.tolist()]
    return pairs, place[rows]


def _changes(now: _Side, before: Tally, before_size: int, grams, at, bounds) -> np.ndarray:
    """The emerging pass's guess of each gram (the change of its share of
    documents: exact for words and pairs; for a longer phrase from its
    sample's count, and before in the same proportion to the least of its
    pairs' counts), on arrays, the grams of numbers `at` among `bounds`'."""
    out = np.zeros(len(grams), np.float64)
    lengths = bounds._length[at]
    # The bounds read every word's and pair's counts in both sets as they
    # numbered them, when their tallies are these (see _Bounds._own_bounds).
    read = bounds.tally is now.tally and bounds.rest is before and bounds.subset.size == now.size
    for kind, n in ((TEXT, 1), (PAIRS, 2)):
        where = np.flatnonzero(lengths == n)
        if read:
            now_count, before_count = bounds._own[at[where]], bounds._rest_count[at[where]]
        else:
            terms = [PAIR_SEPARATOR.join(grams[i]) for i in where.tolist()]
            now_count = np.array(now.tally.counts(kind, terms), np.int64)
            before_count = np.array(before.counts(kind, terms), np.int64)
        out[where] = now_count / now.size - before_count / before_size
    where = np.flatnonzero(lengths > 2)
    if where.size:
        if read:
            numbered, coded = _pairs_in(bounds, at[where], numbers=True)
            inside = bounds._own[numbered][coded].min(axis=1)
            outside = bounds._rest_count[numbered][coded].min(axis=1)
        else:
            pairs, coded = _pairs_in(bounds, at[where])
            inside = np.array(now.tally.counts(PAIRS, pairs), np.int64)[coded].min(axis=1)
            outside = np.array(before.counts(PAIRS, pairs), np.int64)[coded].min(axis=1)
        long = [grams[i] for i in where.tolist()]
        sampled = np.fromiter(map(now.counts.get, long, repeat(0)), np.int64, len(long))
        estimate = np.minimum(sampled * now.scale, inside)
        share = np.divide(estimate, inside, out=np.zeros(len(long)), where=inside > 0)
        out[where] = estimate / now.size - outside * share / before_size
    return out


def _in_sections(snap: Snapshot, terms: TermCache, side: _Side, gram: tuple[str, ...]) -> bool:
    """Whether a word or phrase the index finds in the side's debriefs is
    in the text of one of them (a section), not only in names or across
    sections: the debriefs with it are read until one has it."""
    if side.said is not None and len(gram) == 1:
        return gram[0] in side.said.words()
    ids = snap.debriefs_of(side.tally.phrase_docs([gram])[0])
    for start in range(0, len(ids), 500):
        for doc in terms.terms(ids[start : start + 500]).values():
            if gram in grams(doc):
                return True
    return False


def _frequent_sequences(side: _Side, frequent: set) -> set[tuple[str, ...]]:
    """Every sequence of two to four words of the side's debriefs whose
    adjacent pairs are all `frequent`."""
    seen: set[tuple[str, ...]] = set()
    if not frequent:
        return seen
    add = seen.add
    for doc in side.every.values():
        for terms in doc:
            pairs = list(zip(terms, terms[1:]))  # noqa: B905
            flags = [pair in frequent for pair in pairs]
            if True not in flags:
                continue
            last = len(flags)
            # Only the positions of frequent pairs, in order (most are not).
            for i in compress(range(last), flags):
                add(pairs[i])
                if i + 1 < last and flags[i + 1]:
                    add(tuple(terms[i : i + 3]))
                    if i + 2 < last and flags[i + 2]:
                        add(tuple(terms[i : i + 4]))
    return seen


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
    - A word's and a word pair's subset and rest counts are known exactly
      from the index's term tables (kb.themes.tallies), whatever the
      subset's size: their bound is their exact G².
    - Without tables, when every debrief of the subset was read (a subset
      of at most EVERY debriefs), a word's subset count is at most the
      debriefs whose text or names have it, and a pair's at most the
      debriefs whose sequence of terms may hold it (_Side.pairs); and a
      word's or pair's background count outside the subset is at least its
      document frequency less its subset count and the documents that are
      in neither. A longer phrase's frequency (the least of its pairs')
      bounds its documents from above only, so nothing is assumed of its
      count outside the subset. With the tables, its documents are among
      those of each of its two longest parts, and theirs among those of
      its middle words: its rest count is at least its parts' less its
      middle's (_rest_lower_bounds).

    Hundreds of thousands of phrases are bounded in one discovery, so each
    phrase and every phrase inside it is numbered, many at once, and what
    is known of them is kept in arrays by number: bounds are worked out for
    all the phrases of one length at once (words, then pairs, then longer
    phrases from their two longest parts), and asked for many at once
    (scores, reaching)."""

    def __init__(
        self,
        snap: Snapshot,
        subset: _Side,
        rest_size: int,
        min_support: int = 1,
        floor: float = EMERGING_SIGNIFICANT,
        candidates: list[tuple[str, ...]] = (),
        rest: Tally | None = None,
        numbered: dict | None = None,
    ):
        self.snap, self.subset, self.rest_size = snap, subset, rest_size
        self.tally = subset.tally if rest is not None else None
        self.rest = rest
        self.min_support = min_support
        self.outside = snap.view.size - subset.size - rest_size
        self.frequencies = postings.frequencies(snap)
        self.whole = subset.whole
        # Below this many subset debriefs no phrase can score `floor`, even
        # in no other debrief: its bound is 0 (see score).
        self.least_scoring = _least_count(floor, subset.size, rest_size)
        # Each phrase and every phrase inside it by number, a phrase's two
        # longest parts numbered before it, so that one pass in order of
        # length works every bound out from those of its parts (see _pass).
        self.ids: dict[tuple[str, ...], int] = {}
        self.grams: list[tuple[str, ...]] = []
        self._word_ids: dict[str, int] = {}  # each word's number (that of its phrase of one word)
        # By length from two words, the phrases numbered, each by a key made
        # of its two longest parts' numbers (_key), keys ascending: the parts
        # of new phrases are found among them on arrays (_add).
        self._keys: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._size = 0  # phrases numbered
        self._done = 0  # phrases whose bound is worked out (those numbered below)
        capacity = max(1024, 2 * len(candidates), numbered["size"] if numbered else 0)
        self._length = np.zeros(capacity, np.int8)
        self._left = np.full(capacity, -1, np.int64)  # its longest part but its last word
        self._right = np.full(capacity, -1, np.int64)  # and but its first
        # Its words' numbers, the last repeated to fill the row.
        self._words = np.zeros((capacity, MAX_WORDS), np.int64)
        self._counted = np.full(capacity, -1, np.int64)  # its count if learnt, else -1
        self._frequency = np.full(capacity, -1, np.int64)  # its document frequency if read
        # The bound on its subset count that its own counts give: with the
        # term tables a word's or pair's exact count, without them what was
        # read of a word or pair (when every debrief was); else the subset's size.
        self._own = np.zeros(capacity, np.int64)
        self._rest_count = np.zeros(capacity, np.int64)  # a word's or pair's, with the tables
        # With the tables, a lower bound on its count in the rest (see _pass),
        # and its count there when learnt (else -1).
        self._least_rest = np.zeros(capacity, np.int64)
        self._rest_learnt = np.full(capacity, -1, np.int64)
        self._most = np.zeros(capacity, np.int64)
        # Its bound on G², and the bound on its count that gave it.
        self._score = np.zeros(capacity, np.float64)
        self._scored = np.full(capacity, -1, np.int64)
        self._scored_rest = np.full(capacity, -1, np.int64)
        if numbered is None:
            self.prepare(candidates)
        else:
            self._adopt(numbered)

    _ARRAYS = (
        "_length",
        "_left",
        "_right",
        "_words",
        "_counted",
        "_frequency",
        "_own",
        "_rest_count",
        "_least_rest",
        "_rest_learnt",
        "_most",
        "_score",
        "_scored",
        "_scored_rest",
    )
    _EMPTY = {
        "_left": -1,
        "_right": -1,
        "_counted": -1,
        "_rest_learnt": -1,
        "_frequency": -1,
        "_scored": -1,
        "_scored_rest": -1,
    }
    # What numbering works out from the subset's and the rest's counts alone.
    _NUMBERED = (
        "_length",
        "_left",
        "_right",
        "_words",
        "_own",
        "_rest_count",
        "_least_rest",
        "_most",
    )

    def numbering(self) -> dict | None:
        """A copy of the phrases numbered so far and of what their numbering
        read (own counts, with the tables) and worked out (bounds on their
        counts), when nothing is learnt yet: another _Bounds over the same
        subset, rest counts and candidates starts from it (`numbered`)
        rather than numbering them again, and ends with the same numbers."""
        n = self._size
        if self.tally is None or self._done < n or (self._counted[:n] >= 0).any():
            return None
        found = {name: getattr(self, name)[:n].copy() for name in self._NUMBERED}
        # _number replaces a length's keys rather than changing them.
        found.update(
            ids=dict(self.ids),
            grams=list(self.grams),
            word_ids=dict(self._word_ids),
            keys=dict(self._keys),
            size=n,
        )
        return found

    def _adopt(self, numbered: dict) -> None:
        """Start from a `numbering` (taken over, not copied)."""
        n = numbered["size"]
        self._room(n, numbered["_words"].shape[1])
        for name in self._NUMBERED:
            getattr(self, name)[:n] = numbered[name]
        self.ids, self.grams = numbered["ids"], numbered["grams"]
        self._word_ids, self._keys = numbered["word_ids"], numbered["keys"]
        self._size = self._done = n

    def _room(self, size: int, width: int) -> None:
        """Arrays for at least `size` phrases of up to `width` words."""
        capacity = len(self._most)
        if size <= capacity and width <= self._words.shape[1]:
            return
        capacity = max(size, 2 * capacity)
        for name in self._ARRAYS:
            old = getattr(self, name)
            shape = (capacity, *old.shape[1:])
            new = np.full(shape, self._EMPTY.get(name, 0), old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)
        if width > self._words.shape[1]:
            more = width - self._words.shape[1]
            self._words = np.hstack([self._words, np.repeat(self._words[:, -1:], more, axis=1)])

    def _add(self, grams) -> None:
        """Number these phrases and every phrase inside them not numbered
        yet: the shorter first, and with them their own counts, read at once.

        Worked out on arrays: each word numbered once, each phrase of n
        words (n ≥ 2) known by its two longest parts, so every part of n
        words of the new phrases (at each place in them) is looked up among
        those numbered by the numbers of its parts of n - 1 words, found
        the step before; only the parts not numbered yet are written out."""
        ids = self.ids
        new = list(dict.fromkeys(filterfalse(ids.__contains__, grams)))
        if not new:
            return
        lengths = np.fromiter(map(len, new), np.int64, len(new))
        longest = int(lengths.max())
        flat = list(chain.from_iterable(new))
        word_ids = self._word_ids
        fresh = list(dict.fromkeys(filterfalse(word_ids.__contains__, flat)))
        if fresh:
            level = [(word,) for word in fresh]
            self._room(self._size + len(level), longest)
            start, stop = self._size, self._size + len(level)
            ids.update(zip(level, range(start, stop), strict=True))
            word_ids.update(zip(fresh, range(start, stop), strict=True))
            self.grams += level
            self._length[start:stop] = 1
            self._words[start:stop] = np.arange(start, stop)[:, None]
            self._own[start:stop] = self._own_bounds(level, 1)
            self._size = stop
        # Each new phrase's words' numbers, -1 past its last.
        words = np.full((len(new), longest), -1, np.int64)
        rows = np.repeat(np.arange(len(new)), lengths)
        columns = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        words[rows, columns] = np.fromiter(map(word_ids.__getitem__, flat), np.int64, len(flat))
        # Each word by its number, to write new parts out.
        names = np.empty(self._size, object)
        names[np.fromiter(word_ids.values(), np.int64, len(word_ids))] = list(word_ids)
        # The numbers of the parts of n - 1 words of each phrase, by place.
        below = list(words.T)
        for n in range(2, longest + 1):
            places = [np.flatnonzero(lengths >= at + n) for at in range(longest - n + 1)]
            lefts = np.concatenate([below[at][where] for at, where in enumerate(places)])
            rights = np.concatenate([below[at + 1][where] for at, where in enumerate(places)])
            keys = self._key(lefts, rights)
            found = self._find(n, keys)
            missing = np.flatnonzero(found < 0)
            if missing.size:
                distinct, first, inverse = np.unique(
                    keys[missing], return_index=True, return_inverse=True
                )
                # Where each distinct new part is first: its phrase, and its place.
                offsets = np.cumsum([0, *map(len, places)])
                where = missing[first]
                place = np.searchsorted(offsets, where, side="right") - 1
                row = np.concatenate(places)[where]
                columns = [names[words[row, place + k]].tolist() for k in range(n)]
                level = list(zip(*columns, strict=True))
                self._number(n, level, lefts[where], rights[where], distinct)
                found[missing] = self._size - len(level) + inverse.reshape(-1)
            offsets = np.cumsum([0, *map(len, places)])
            below = []
            for at, where in enumerate(places):
                part = np.full(len(new), -1, np.int64)
                part[where] = found[offsets[at] : offsets[at + 1]]
                below.append(part)

    @staticmethod
    def _key(lefts: np.ndarray, rights: np.ndarray) -> np.ndarray:
        return lefts * (1 << 31) + rights

    def _find(self, n: int, keys: np.ndarray) -> np.ndarray:
        """The numbers of the phrases of `n` words with these keys, -1 for
        those not numbered."""
        table = self._keys.get(n)
        found = np.full(len(keys), -1, np.int64)
        if table is None or not len(keys):
            return found
        known, numbers = table
        at = np.minimum(np.searchsorted(known, keys), len(known) - 1)
        hit = known[at] == keys
        found[hit] = numbers[at[hit]]
        return found

    def _number(self, n: int, level: list, left: np.ndarray, right: np.ndarray, keys) -> None:
        """Number these new phrases of `n` words (their parts numbered, their
        keys ascending), and read their own counts."""
        self._room(self._size + len(level), n)
        start, stop = self._size, self._size + len(level)
        self.ids.update(zip(level, range(start, stop), strict=True))
        self.grams += level
        at = slice(start, stop)
        self._length[at] = n
        self._left[at], self._right[at] = left, right
        self._words[at, : n - 1] = self._words[left, : n - 1]
        self._words[at, n - 1 :] = self._words[right, n - 2][:, None]
        self._own[at] = self._own_bounds(level, n)
        self._size = stop
        numbers = np.arange(start, stop, dtype=np.int64)
        table = self._keys.get(n)
        if table is None:
            self._keys[n] = (keys, numbers)
        else:
            known, known_numbers = table
            place = np.searchsorted(known, keys)
            self._keys[n] = (
                np.insert(known, place, keys),
                np.insert(known_numbers, place, numbers),
            )

    def _own_bounds(self, level: list[tuple[str, ...]], n: int) -> np.ndarray:
        """The bound each phrase of `n` words has from its own counts (see
        _own), and with the tables a word's or pair's count in the rest."""
        size, subset = self.subset.size, self.subset
        if n > 2:
            return np.full(len(level), size, np.int64)
        if self.tally is not None:
            kind = TEXT if n == 1 else PAIRS
            terms = [PAIR_SEPARATOR.join(gram) for gram in level]
            at = slice(self._size, self._size + len(level))
            self._rest_count[at] = self.rest.counts(kind, terms)
            return np.minimum(size, np.array(self.tally.counts(kind, terms), np.int64))
        if not self.whole:
            return np.full(len(level), size, np.int64)
        if n == 1:
            subset.names_of(level)
            found = [subset.in_text(gram) + subset.in_names(gram) for gram in level]
        else:
            found = [subset.pairs(gram) for gram in level]
        return np.minimum(size, np.array(found, np.int64))

    def prefetch(self, grams) -> None:
        """Number the words and pairs among these phrases, their exact
        counts read at once (looked up one by one, they would take longer);
        the words and pairs inside longer phrases are read when those are
        numbered (prepare)."""
        self._add([gram for gram in grams if len(gram) <= 2])

    def prepare(self, grams) -> None:
        """Number these phrases, and work their bounds out in one pass
        (asked for one by one, each would take a pass of its own)."""
        self._add(grams)
        if self._done < self._size:
            self._pass(self._done)

    def _pass(self, start: int) -> None:
        """Bounds of the phrases numbered from `start` on, all those of one
        length at once, shortest first: at most its own bound (_own) and
        that of each of its two longest parts, each bounded by theirs in
        turn, down to its words; its count when learnt."""
        stop = self._size
        lengths = self._length[start:stop]
        most, counted, own = self._most, self._counted, self._own
        for n in range(1, int(lengths.max(initial=0)) + 1):
            at = np.flatnonzero(lengths == n) + start
            if not at.size:
                continue
            found = own[at]
            if n > 1:
                found = np.minimum(found, np.minimum(most[self._left[at]], most[self._right[at]]))
            learnt = counted[at]
            if self.tally is None:
                found = self._with_frequencies(at, found, learnt)
            else:
                self._least_rest[at] = self._rest_lower_bounds(at, n)
            most[at] = np.where(learnt >= 0, learnt, found)
        self._done = stop

    def _rest_lower_bounds(self, at: np.ndarray, n: int) -> np.ndarray:
        """With the tables, a lower bound on the rest count of each phrase
        of these numbers, of `n` words: a word's or pair's exact count; a
        longer phrase's documents are those of both its longest parts, and
        each part's are among those of the phrase of its middle words (a
        word, or a pair: counted exactly), so at least as many as the
        parts' together less the middle's. Its count when learnt."""
        if n <= 2:
            return self._rest_count[at]
        left, right = self._left[at], self._right[at]
        middle = self._right[left]
        counted = self._length[middle] <= 2
        upper = np.where(counted, self._rest_count[middle], self.rest_size)
        found = np.maximum(0, self._least_rest[left] + self._least_rest[right] - upper)
        learnt = self._rest_learnt[at]
        return np.where(learnt >= 0, learnt, found)

    def _with_frequencies(self, at: np.ndarray, found: np.ndarray, learnt: np.ndarray):
        """Without the tables: at most its document frequency too, read
        only for those not too rare already."""
        ask = np.flatnonzero((learnt < 0) & (found >= self.min_support))
        if ask.size:
            where = at[ask]
            frequency = self._frequency[where]
            unread = np.flatnonzero(frequency < 0)
            if unread.size:
                phrase, grams = self.frequencies.phrase, self.grams
                read = [phrase(grams[i]) for i in where[unread].tolist()]
                frequency[unread] = read
                self._frequency[where[unread]] = read
            found[ask] = np.minimum(found[ask], frequency)
        return found

    def df(self, gram: tuple[str, ...]) -> int:
        return self.frequencies.phrase(gram)

    def learn(self, gram: tuple[str, ...], count: int) -> None:
        """A phrase's exact subset count: the bounds of the phrases it is in
        (numbered after it) are worked out again when next asked for."""
        i = self.ids.get(gram)
        if i is None:
            self._add([gram])
            i = self.ids[gram]
        self._counted[i] = count
        self._done = min(self._done, i)

    def learn_all(
        self, grams: list[tuple[str, ...]], counts: list[int], at=None, rest_counts=None
    ) -> None:
        """`learn` each of these phrases' counts at once (`at`: their
        numbers, when known), and their counts in the rest when given."""
        if at is None:
            self._add(grams)
            at = np.fromiter(map(self.ids.__getitem__, grams), np.int64, len(grams))
        if at.size:
            self._counted[at] = counts
            if rest_counts is not None:
                self._rest_learnt[at] = rest_counts
            self._done = min(self._done, int(at.min()))

    def learn_rest(self, at: np.ndarray, counts: list[int]) -> None:
        """The exact rest counts of the phrases of these numbers."""
        if at.size:
            self._rest_learnt[at] = counts
            self._done = min(self._done, int(at.min()))

    def _id(self, gram: tuple[str, ...]) -> int:
        found = self.ids.get(gram)
        if found is None:
            self._add([gram])
            found = self.ids[gram]
        if self._done < self._size:
            self._pass(self._done)
        return found

    def numbers(self, grams: list[tuple[str, ...]]) -> np.ndarray:
        """The numbers of these phrases (numbering those new), their bounds
        worked out."""
        ids = self.ids
        try:
            found = np.fromiter(map(ids.__getitem__, grams), np.int64, len(grams))
        except KeyError:
            self._add(grams)
            found = np.fromiter(map(ids.__getitem__, grams), np.int64, len(grams))
        if self._done < self._size:
            self._pass(self._done)
        return found

    def most(self, gram: tuple[str, ...]) -> int:
        return int(self._most[self._id(gram)])

    def mosts(self, grams: list[tuple[str, ...]]) -> np.ndarray:
        """`most` of each of these phrases, in order."""
        return self._most[self.numbers(grams)]

    def score(self, gram: tuple[str, ...]) -> float:
        """An upper bound on its G²; 0 when even that is below `floor` (too
        low for any list, and for a p-value that BH could pass)."""
        i = self._id(gram)
        if self._scored[i] == self._most[i] and self._scored_rest[i] == self._least_rest[i]:
            return float(self._score[i])
        return float(self._scores(np.array([i], np.int64))[0])

    def _scores(self, at: np.ndarray) -> np.ndarray:
        """score of the phrases of these numbers (bounds worked out), each
        worked out again only when its bound on its count has changed."""
        most, least = self._most[at], self._least_rest[at]
        stale = np.flatnonzero((self._scored[at] != most) | (self._scored_rest[at] != least))
        if stale.size:
            where, bound = at[stale], most[stale]
            self._score[where] = self._upper_bounds(where, bound)
            self._scored[where], self._scored_rest[where] = bound, least[stale]
        return self._score[at]

    def _upper_bounds(self, at: np.ndarray, most: np.ndarray) -> np.ndarray:
        """upper_bound for each of these phrases with these bounds on their
        subset counts: worked out once per distinct pair of counts."""
        size, rest_size = self.subset.size, self.rest_size
        short = self._length[at] <= 2
        if self.rest is not None:
            # A word's or pair's exact count in the rest, a longer phrase's
            # lower bound there (_rest_lower_bounds).
            least = self._least_rest[at]
        else:
            # Without its frequency (too rare to be a finding), no debrief
            # outside the subset is known for sure to have it; a longer
            # phrase's frequency bounds its documents from above only.
            frequency = np.where(most >= self.min_support, self._frequency[at], 0)
            least = np.where(short, np.maximum(0, frequency - most - self.outside), 0)
        found = np.zeros(len(at), np.float64)
        scoring = np.flatnonzero(most >= self.least_scoring)
        if scoring.size:
            width = rest_size + 1
            keys = np.minimum(most[scoring], size) * width + np.minimum(least[scoring], rest_size)
            distinct, inverse = np.unique(keys, return_inverse=True)
            values = [
                log_likelihood(key // width, size, key % width, rest_size)
                for key in distinct.tolist()
            ]
            found[scoring] = np.array(values, np.float64)[inverse.reshape(-1)]
        return found

    def reaches(self, gram: tuple[str, ...], least_count: int, level: float) -> bool:
        """Whether it may be a finding: in `least_count` subset debriefs or
        more (those it takes to reach G² `level`) and its bound reaches it."""
        most = self.most(gram)
        return most >= least_count and self.score(gram) >= level

    def scores(self, grams) -> list[float]:
        """`score` of each gram, in order, worked out at once."""
        return self._scores(self.numbers(list(grams))).tolist()

    def reaching_mask(self, grams: list[tuple[str, ...]], least_count: int, level: float):
        """`reaches` of each of these phrases, worked out at once, as an array."""
        at = self.numbers(grams)
        found = self._most[at] >= least_count
        where = np.flatnonzero(found)
        found[where] = self._scores(at[where]) >= level
        return found

    def unlearnt_reaching(self, at: np.ndarray, least_count: int, level: float) -> np.ndarray:
        """Whether each phrase of these numbers `reaches` and its count is
        not learnt yet, as an array."""
        if self._done < self._size:
            self._pass(self._done)
        found = (self._most[at] >= least_count) & (self._counted[at] < 0)
        where = np.flatnonzero(found)
        found[where] = self._scores(at[where]) >= level
        return found

    def reaching(self, grams, least_count: int, level: float, skip=()) -> list[tuple[str, ...]]:
        """The grams not in `skip` that `reaches`, in order, worked out at once."""
        grams = list(filterfalse(skip.__contains__, grams) if skip else grams)
        return list(compress(grams, self.reaching_mask(grams, least_count, level).tolist()))

    def per_word(self, values: Mapping[str, float], default: float) -> np.ndarray:
        """An array by phrase number holding each word's value (of those
        numbered), `default` elsewhere."""
        found = np.full(self._size, default, np.float64)
        ids = self.ids
        for term, value in values.items():
            i = ids.get((term,))
            if i is not None:
                found[i] = value
        return found


class _Many:
    """Bounds that answer for a list of phrases at once, with arrays: what
    a `value_bound` written for one phrase at a time gives for many."""

    def __init__(self, bounds: _Bounds, at: np.ndarray):
        self.bounds, self.at = bounds, at

    def most(self, grams) -> np.ndarray:
        return self.bounds._most[self.at]

    def score(self, grams) -> np.ndarray:
        return self.bounds._scores(self.at)


def _least_count(floor: float, subset_size: int, rest_size: int) -> int:
    """The fewest subset debriefs with which a phrase can reach G² `floor`
    (found in none of the others): G² then grows with the subset count."""
    low, high = 0, subset_size + 1
    while low < high:
        mid = (low + high) // 2
        if upper_bound(mid, subset_size, rest_size) >= floor:
            high = mid
        else:
            low = mid + 1
    return low


@dataclass
class Ranked:
    """The ideas of each kind, best first (each a Finding with its variants),
    and how many candidates pass the multiple-comparison correction."""

    lists: dict[Any, list[Finding]]
    correction: Correction


def _kind(terms: tuple[str, ...]) -> str:
    return "phrases" if len(terms) > 1 else "words"


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
    kinds: tuple[str, ...] = ("words", "phrases"),
    kind=_kind,
    unsampled=None,
    rest: Tally | None = None,
    shared: dict | None = None,
) -> Ranked:
    """The best `limit` ideas of each of `kinds` among the candidates, by
    `value`, exactly as if every candidate were counted on the index, then
    merged into ideas (kb.themes.ideas).

    Counting a phrase exactly means decoding its postings, so candidates are
    counted in order of an estimate (`guess`, highest first), and one is left
    uncounted only when it provably cannot change the result: when upper
    bounds on its G² (and its `value`, by `value_bound`) from what is known
    for sure of its counts (_Bounds) are below what it takes to be a finding
    or to enter a list, and the bound on its subset count is below what it
    takes to be merged with a finding of an idea that ranks high enough to
    be listed (an idea's rank only grows with its forms, so an uncounted
    phrase can lift an idea into a list only through one of those).
    Estimates only choose the order in which phrases are counted.

    `unsampled(known, least, may)`, when given, returns more candidates
    that `may` change the result (see _unsampled); it is asked each time
    the candidates known run out, until it has no more.

    `shared`, when given: its "numbered" (a _Bounds.numbering over the same
    subset, rest counts and candidates), when there, is where the bounds
    start from; else the bounds' numbering of the candidates is kept in it
    as "numbered" (see _discover)."""
    rest_bits = background_bits & ~subset.bits
    rest_size = rest_bits.bit_count()
    floor = min(threshold, EMERGING_SIGNIFICANT)
    if rest is None and subset.tally is not None:
        with _stage("tallies"):
            rest = _tally(snap, rest_bits)
    numbered = shared.pop("numbered", None) if shared is not None else None
    bounds = _Bounds(snap, subset, rest_size, min_support, floor, candidates, rest, numbered)
    if shared is not None and numbered is None:
        shared["numbered"] = bounds.numbering()
    value_bound = value_bound or (lambda bounds, gram: bounds.score(gram))
    # The candidates tested, once each (those _unsampled adds are not
    # among them), by number: their bounds before any counting are kept for
    # the multiple-comparison correction of the candidates never counted.
    known = dict.fromkeys(candidates)
    in_tests = dict(known)
    tested = candidates if len(known) == len(candidates) else list(known)
    tested_at = bounds.numbers(tested)
    first_scores = bounds._scores(tested_at)
    how_many = len(candidates)
    least = max(min_support, _least_count(threshold, subset.size, rest_size))
    may_count = (first_scores >= threshold) & (bounds._most[tested_at] >= min_support)
    pending, pending_at = _by_guess_at(tested, tested_at, guess, bounds, may_count)
    # The findings (phrases counted that are not are left out), and the G²
    # of every phrase counted.
    found: dict[tuple[str, ...], Finding] = {}
    scores: list[float] = []
    # Whether two findings are forms of one idea, kept from one grouping of
    # the findings to the next (kb.themes.ideas.group).
    linked = ideas.Links()
    size = first
    # Every word that may be a finding first: words are few, and their exact
    # counts bound those of the phrases they are in far better than the
    # index's frequencies do.
    words = np.flatnonzero(bounds._length[pending_at[size:]] == 1) + size
    batch = pending[:size] + [pending[i] for i in words.tolist()]
    batch_at = np.concatenate([pending_at[:size], pending_at[words]])
    needed = _anything()
    while batch:
        if rest is not None and subset.tally is not None:
            with _stage("exact"):
                batch, batch_at = _rest_first(bounds, batch, batch_at, least, threshold, needed)
        if batch:
            with _stage("exact"):
                findings, counts, rest_counts, exact_scores = _exact(
                    snap, batch, subset, background_bits, min_support, threshold, rest
                )
            scores += exact_scores.tolist()
            found.update(findings)
            bounds.learn_all(batch, counts, batch_at, rest_counts if rest is not None else None)
        # Those not counted yet that may still be findings (every one
        # counted is learnt), by number.
        kept = bounds.unlearnt_reaching(pending_at, least, threshold)
        pending, pending_at = list(compress(pending, kept.tolist())), pending_at[kept]
        # Counted in rounds, best guesses first, each round larger: counting
        # the likeliest first raises the cut-off that lets the rest go.
        size *= 4
        lists, _ = _ideas(found, value, limit, kind, linked)
        short = {k for k in kinds if len(lists.get(k, [])) < limit}
        if len(short) == len(kinds):
            # Anything that may be a finding may still enter.
            needed, most_needed = _anything(), least
        else:
            # A list not full yet takes anything that may be a finding
            # (a subset of few distinctive words still has its phrases
            # bounded by the phrases' cut-off, and the other way round).
            cutoff = {k: -math.inf if k in short else lists[k][-1].strength(value) for k in kinds}
            needed = _needed(lists, kinds, cutoff, kind, bounds, value_bound)
            most_needed = max(
                least,
                min(
                    needed.least_count,
                    *(_least_count(cutoff[k], subset.size, rest_size) for k in kinds),
                ),
            )
        batch, batch_at = _first_at(needed, pending, size, pending_at)
        if not batch and unsampled is not None:
            may = _may(bounds, least, threshold, needed)
            more = unsampled(known, most_needed, may)
            known.update(dict.fromkeys(more))
            # Tested: every unsampled phrase that may be a finding, whether
            # or not it may change the lists (what the lists need depends on
            # the order of counting; the number of tests must not).
            reached = list(filterfalse(in_tests.__contains__, may.reaching))
            in_tests.update(dict.fromkeys(reached))
            how_many += len(reached)
            reached_at = bounds.numbers(reached)
            tested_at = np.concatenate([tested_at, reached_at])
            first_scores = np.concatenate([first_scores, bounds._scores(reached_at)])
            more_at = bounds.numbers(more)
            pending, pending_at = _by_guess_at(more, more_at, guess, bounds)
            batch, batch_at = pending[:size], pending_at[:size]
    lists, _ = _ideas(found, value, limit, kind, linked)
    # Every candidate is a test: those counted with their exact G², the
    # others with the bound that left them uncounted.
    tested_at, first = np.unique(tested_at, return_index=True)
    bounded = first_scores[first][bounds._counted[tested_at] < 0]
    correction = correct(scores, bounded, how_many)
    rows: dict[Any, list[Finding]] = {}
    for k in kinds:
        rows[k] = []
        for idea in lists.get(k, []):
            row = replace(idea.shown, variants=idea.variants, examples=[])
            row.exploratory = not correction.passes(row.p_value)
            rows[k].append(row)
    return Ranked(rows, correction)


def _parts(gram: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The shorter phrases inside a phrase."""
    n = len(gram)
    return [gram[i:j] for i in range(n) for j in range(i + 1, n + 1) if j - i < n]


def _first(needed, grams: list[tuple[str, ...]], size: int, at=None) -> list[tuple[str, ...]]:
    """The first `size` grams that are `needed`, worked out at once when it
    can (its `mask`, given the grams' numbers `at` when known)."""
    mask = getattr(needed, "mask", None)
    if mask is None or not grams:
        return list(islice(filter(needed, grams), size))
    return list(islice(compress(grams, mask(grams, at).tolist()), size))


def _first_at(needed, grams: list[tuple[str, ...]], size: int, at: np.ndarray):
    """_first, and the numbers of the grams it picks (`at`: of all of them)."""
    mask = getattr(needed, "mask", None)
    if mask is None:
        where = np.fromiter(
            islice((i for i, gram in enumerate(grams) if needed(gram)), size), np.int64
        )
    elif not grams:
        where = np.zeros(0, np.int64)
    else:
        where = np.flatnonzero(mask(grams, at))[:size]
    return list(map(grams.__getitem__, where.tolist())), at[where]


def _anything():
    """`needed` while a list is short: any phrase that may be a finding may enter."""

    def needed(gram: tuple[str, ...]) -> bool:
        return True

    def mask(grams, at=None) -> np.ndarray:
        return np.ones(len(grams), bool)

    needed.mask = mask
    needed.least_count = 0
    return needed


def _may(bounds: _Bounds, least: int, threshold: float, needed):
    """Whether an unsampled phrase may change the result (see _unsampled):
    it `reaches` and is `needed`. Worked out at once for the phrases
    _unsampled names beforehand (the words and pairs it `prefetch`es, and
    those it has `prepare`d), then looked up. Its `reaching`: the phrases
    asked about (not those only prefetched) that `reaches`."""
    verdicts: dict[tuple[str, ...], bool] = {}
    reach: dict[tuple[str, ...], bool] = {}
    # The phrases asked about that `reaches` (may be findings), in order.
    reaching: dict[tuple[str, ...], None] = {}

    def may(gram: tuple[str, ...]) -> bool:
        found = verdicts.get(gram)
        reached = reach.get(gram)
        if reached is None:
            reached = bounds.reaches(gram, least, threshold)
        if reached:
            reaching[gram] = None
        if found is None:
            found = reached and needed(gram)
        return found

    def prepare(grams) -> list[bool] | None:
        """Work `may` out for these phrases at once; it of each of them,
        in order, when they are distinct."""
        asked = grams if isinstance(grams, list) else None
        grams = list(dict.fromkeys(grams))
        if not grams:
            return [] if asked is not None and not asked else None
        bounds.prepare(grams)
        at = bounds.numbers(grams)
        fits = bounds._most[at] >= least
        where = np.flatnonzero(fits)
        fits[where] = bounds._scores(at[where]) >= threshold
        reach.update(zip(grams, fits.tolist(), strict=True))
        if asked is not None:
            reaching.update(dict.fromkeys(compress(grams, fits.tolist())))
        mask = getattr(needed, "mask", None)
        where = np.flatnonzero(fits)
        if mask is not None:
            fits[where] = mask(list(map(grams.__getitem__, where.tolist())), at[where])
        elif where.size:
            fits[where] = [needed(grams[i]) for i in where.tolist()]
        fits = fits.tolist()
        verdicts.update(zip(grams, fits, strict=True))
        return fits if asked is not None and len(asked) == len(grams) else None

    def prefetch(grams) -> None:
        prepare(gram for gram in grams if len(gram) <= 2)

    may.prefetch, may.prepare, may.reaching = prefetch, prepare, reaching
    return may


def _needed(lists, kinds, cutoff, kind, bounds: _Bounds, value_bound):
    """Whether an uncounted phrase may change the lists: its value may reach
    its list's cut-off; or it may be merged with a listed idea (it reaches
    MERGE of the rarest of that idea's phrases with a word in common) or
    take a listed word in; or, a word, it may be a variant of a listed idea.
    Its `mask` answers for a list of phrases at once."""
    rarest: dict[str, float] = {}
    words: dict[str, float] = {}
    inside: set[str] = set()
    for idea in (idea for k in kinds for idea in lists[k]):
        if len(idea.shown.terms) == 1:
            words[idea.shown.terms[0]] = ideas.MERGE * idea.shown.subset
            continue
        inside |= idea.terms
        for f in idea.forms:
            for t in f.terms:
                rarest[t] = min(rarest.get(t, math.inf), ideas.MERGE * f.subset)

    def needed(gram: tuple[str, ...]) -> bool:
        if value_bound(bounds, gram) >= cutoff[kind(gram)]:
            return True
        if len(gram) == 1:
            return gram[0] in inside
        most = bounds.most(gram)
        return any(most >= min(rarest.get(t, math.inf), words.get(t, math.inf)) for t in gram)

    def mask(grams: list[tuple[str, ...]], at: np.ndarray | None = None) -> np.ndarray:
        at = bounds.numbers(grams) if at is None else at
        values = value_bound(_Many(bounds, at), grams)
        if not isinstance(values, np.ndarray) or values.shape != at.shape:
            values = np.array([value_bound(bounds, gram) for gram in grams], np.float64)
        if len(cutoff) == 1:
            # One list: every phrase has its cut-off.
            cutoffs = np.full(len(grams), next(iter(cutoff.values())), np.float64)
        elif kind is _kind and {"words", "phrases"} <= cutoff.keys():
            one = bounds._length[at] == 1
            cutoffs = np.where(one, cutoff["words"], cutoff["phrases"]).astype(np.float64)
        else:
            cutoffs = np.fromiter(map(cutoff.__getitem__, map(kind, grams)), np.float64, len(grams))
        found = values >= cutoffs
        rest = np.flatnonzero(~found)
        if rest.size:
            parts = at[rest]
            words_of = bounds._words[parts]
            # A word: whether a listed idea has it; a phrase: whether its
            # bound reaches the least of its words' thresholds to merge.
            listed = bounds.per_word(dict.fromkeys(inside, 1.0), 0.0)[words_of[:, 0]] > 0
            merge = bounds.per_word(joins, math.inf)[words_of].min(axis=1)
            one = bounds._length[parts] == 1
            found[rest] = np.where(one, listed, bounds._most[parts] >= merge)
        return found

    # A word's least bound to join a listed idea (the rarest of its phrases, or a listed word).
    joins = {t: min(rarest.get(t, math.inf), words.get(t, math.inf)) for t in {*rarest, *words}}
    needed.mask = mask
    # Below this many subset debriefs a phrase can join no listed idea.
    floor = min((*rarest.values(), *words.values()), default=math.inf)
    needed.least_count = math.inf if floor == math.inf else math.ceil(floor)
    return needed


def _ideas(found: Mapping, value, limit: int, kind, linked: ideas.Links | None = None):
    findings = (f for f in found.values() if f is not None)
    with _stage("ideas"):
        return ideas.ranked(findings, value, limit, lambda f: kind(f.terms), linked)


def _rest_first(bounds: _Bounds, batch, batch_at: np.ndarray, least: int, threshold, needed):
    """The phrases of a batch still worth counting in the subset once the
    longer ones are counted in the rest (with their numbers): a phrase of
    three or four words is bounded by its pairs' counts in the subset, and
    with its exact count in the rest, most of those as common in the rest
    as in the subset are seen to be no finding, and are never counted in
    the subset (kb.themes.tallies.count_phrases keeps the rest's counts for
    the others)."""
    long = np.flatnonzero((bounds._length[batch_at] > 2) & (bounds._rest_learnt[batch_at] < 0))
    if not long.size:
        return batch, batch_at
    grams = [batch[i] for i in long.tolist()]
    (counts,) = count_phrases([bounds.rest], grams)
    bounds.learn_rest(batch_at[long], counts)
    keep = bounds.unlearnt_reaching(batch_at, least, threshold)
    where = np.flatnonzero(keep)
    keep[where] = needed.mask([batch[i] for i in where.tolist()], batch_at[where])
    return list(compress(batch, keep.tolist())), batch_at[keep]


def _exact(
    snap: Snapshot,
    grams: list[tuple[str, ...]],
    subset: _Side,
    background_bits: int,
    min_support: int,
    threshold: float,
    rest: Tally | None = None,
) -> tuple[list[tuple[tuple[str, ...], Finding]], np.ndarray, np.ndarray, np.ndarray]:
    """Each phrase counted on the index: the findings among them (those not
    too rare, significant and no artefact of names), with their phrases, in
    the order of the phrases; and each phrase's count in the subset, its
    count in the rest and its G², as arrays."""
    rest_bits = background_bits & ~subset.bits
    subset_size, background_size = subset.size, background_bits.bit_count()
    rest_size = rest_bits.bit_count()
    if subset.tally is not None and rest is not None:
        return _exact_tallied(
            grams, subset, rest, background_bits, background_size, min_support, threshold
        )
    found: list[tuple[tuple[str, ...], Finding]] = []
    counts = np.zeros(len(grams), np.int64)
    rest_counts = np.zeros(len(grams), np.int64)
    scores = np.zeros(len(grams), float)
    for n, gram in enumerate(grams):
        bits = snap.phrase_bits(gram)
        inside = bits & subset.bits
        a = inside.bit_count()
        c = (bits & rest_bits).bit_count()
        score = log_likelihood(a, subset_size, c, rest_size)
        counts[n], rest_counts[n], scores[n] = a, c, score
        if a < min_support or score < threshold or _in_names(subset, gram, a):
            continue
        finding = Finding(
            gram,
            " ".join(gram),
            score,
            a,
            subset_size,
            (bits & background_bits).bit_count(),
            background_size,
            c,
            rest_size,
            bits=inside,
        )
        found.append((gram, finding))
    return found, counts, rest_counts, scores


def _exact_tallied(
    grams: list[tuple[str, ...]],
    subset: _Side,
    rest: Tally,
    background_bits: int,
    background_size: int,
    min_support: int,
    threshold: float,
) -> tuple[list[tuple[tuple[str, ...], Finding]], np.ndarray, np.ndarray, np.ndarray]:
    """_exact from the term tables: a word's or pair's counts are read off
    the tallies; a longer phrase's documents are its pairs' intersected;
    the documents themselves are gathered for findings only. Counts and
    scores are kept in arrays by the phrases' places (tens of thousands of
    phrases: no dict keyed by them)."""
    tally = subset.tally
    inside_counts = np.zeros(len(grams), np.int64)
    outside_counts = np.zeros(len(grams), np.int64)
    scores = np.zeros(len(grams), float)
    lengths = np.fromiter(map(len, grams), np.int64, len(grams))
    # The places of the phrases that may be findings, whose documents are gathered.
    may_find: list[np.ndarray] = []

    def judge(at, found_inside, found_outside):
        # G² once per distinct pair of counts (on arrays: tens of thousands
        # of phrases share a few thousand).
        found_inside = np.asarray(found_inside, np.int64)
        found_outside = np.asarray(found_outside, np.int64)
        inside_counts[at], outside_counts[at] = found_inside, found_outside
        found = _scores(found_inside, subset.size, found_outside, rest.size)
        scores[at] = found
        may_find.append(at[(found_inside >= min_support) & (found >= threshold)])

    for kind, n in ((TEXT, 1), (PAIRS, 2)):
        at = np.flatnonzero(lengths == n)
        terms = [PAIR_SEPARATOR.join(grams[i]) for i in at.tolist()]
        judge(at, tally.counts(kind, terms), rest.counts(kind, terms))
    # Counted at once on bitmaps of each set's documents (both sets'
    # bitmaps of new pairs from one read of each segment, with those of the
    # word pairs that may be findings), each phrase once per set while the
    # discovery lasts (count_phrases: the emerging pass asks again for those
    # of the main pass when it compares the same two sets); a phrase's
    # documents are gathered only when it may be a finding (a bitmap of the
    # index each: tens of thousands at once would take GBs).
    at = np.flatnonzero(lengths > 2)
    long = [grams[i] for i in at.tolist()]
    also = list(dict.fromkeys(PAIR_SEPARATOR.join(grams[i]) for i in may_find[1].tolist()))
    judge(at, *count_phrases([tally, rest], long, also))
    wanted = list(dict.fromkeys(grams[i] for i in np.concatenate(may_find).tolist()))
    inside = dict(zip(wanted, tally.phrase_docs(wanted), strict=True))
    subset.names_of(wanted)
    found: list[tuple[tuple[str, ...], Finding]] = []
    passing = (inside_counts >= min_support) & (scores >= threshold)
    for n in np.flatnonzero(passing).tolist():
        gram = grams[n]
        a, c, score = int(inside_counts[n]), int(outside_counts[n]), float(scores[n])
        if _in_names(subset, gram, a):
            continue
        bits = inside[gram]
        finding = Finding(
            gram,
            " ".join(gram),
            score,
            a,
            subset.size,
            (bits & background_bits).bit_count() + c,
            background_size,
            c,
            rest.size,
            bits=bits,
        )
        found.append((gram, finding))
    return found, inside_counts, outside_counts, scores


def _in_names(side: _Side, gram: tuple[str, ...], count: int) -> bool:
    """Whether a phrase is counted mostly in deal or account names rather
    than what the debriefs say: an artefact of how deals are named."""
    named = side.in_names(gram)
    return named > 0.5 * count and named >= 3


def _surface(gram: tuple[str, ...], texts: list[Section]) -> tuple[str, Section] | None:
    """The phrase as written in one of these sections (within one clause),
    and that section."""
    n = len(gram)
    for section in texts:
        text = section.text
        found = list(spans(text))
        for i in range(len(found) - n + 1):
            if tuple(t for _, _, t in found[i : i + n]) == gram and not any(
                breaks(text, found[j][1], found[j + 1][0]) for j in range(i, i + n - 1)
            ):
                return text[found[i][0] : found[i + n - 1][1]].lower(), section
    return None


def _has(terms: tuple[str, ...], gram: tuple[str, ...]) -> bool:
    """Whether the words of `gram` follow one another in `terms`."""
    first, n = gram[0], len(gram)
    if n == 1:
        return True  # asked only when the first word is there
    at = terms.index(first)
    last = len(terms) - n
    while at <= last:
        if terms[at : at + n] == gram:
            return True
        try:
            at = terms.index(first, at + 1)
        except ValueError:
            return False
    return False


def _where(wanted, side: _Side) -> dict[tuple[str, ...], list[int]]:
    """The first EXAMPLES debriefs of the side's sample (by id, whatever the
    order its terms were read in) with each wanted gram in one clause: what
    grams() would find, looked up for these grams alone, and no further
    than the debrief where the last of them has its examples (the side's
    counts, from the same sample, tell how many debriefs of it have each:
    those found only beyond it have none)."""
    where: dict[tuple[str, ...], list[int]] = {gram: [] for gram in wanted}
    # The grams still short of examples, by their first word.
    open_by_first: dict[str, list[tuple[str, ...]]] = {}
    needed: dict[tuple[str, ...], int] = {}
    for gram in where:
        needed[gram] = min(EXAMPLES, side.counts.get(gram, 0))
        if needed[gram] and 0 < len(gram) <= MAX_WORDS:
            open_by_first.setdefault(gram[0], []).append(gram)
    analysed = side.analysed
    for debrief_id in sorted(analysed):
        if not open_by_first:
            break
        found: set[tuple[str, ...]] = set()
        for terms in analysed[debrief_id]:
            present = set(terms)
            for first in open_by_first.keys() & present:
                for gram in open_by_first[first]:
                    if gram not in found and present.issuperset(gram) and _has(terms, gram):
                        found.add(gram)
        for gram in found:
            ids = where[gram]
            ids.append(debrief_id)
            if len(ids) == needed[gram]:
                same = open_by_first[gram[0]]
                same.remove(gram)
                if not same:
                    del open_by_first[gram[0]]
    return where


def _add_examples(findings: list[Finding], side: _Side) -> None:
    """Name each finding (and its variants) as it is written and attach
    example snippets to each finding: from the first debriefs of the
    side's sample, in the order of their ids, that have it in one clause."""
    named = [v for f in findings for v in (f, *f.variants)]
    wanted = {f.terms: f for f in named}
    where = _where(wanted, side)
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
            if finding not in findings:
                break  # a variant: its name is enough
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
    every: int = EVERY,
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
    left = left_out(snap, filters)
    key = (
        "discover",
        snap.state,
        left,
        query,
        repr(sorted(filters.items())),
        background,
        min_support,
        today,
        limit,
        sample,
        every,
    )

    def compute() -> Discovery:
        _STAGES.times, _STAGES.inner = {}, []
        try:
            found = _discover(
                snap,
                terms,
                query,
                filters,
                background,
                min_support,
                today,
                period,
                limit,
                (sample, every),
                left,
            )
            found.took_ms = round((time.perf_counter() - started) * 1000, 1)
            stages = {k: round(v * 1000, 1) for k, v in _STAGES.times.items()}
            stages["other"] = round(found.took_ms - sum(stages.values()), 1)
            found.stages = stages
        finally:
            _STAGES.times = None
            # What was counted for this discovery goes with it: a later one
            # reads another index state, and the documents kept per term
            # (a bitmap of the index each) would stay in the worker.
            with _tallies_lock:
                _tallies.pop(snap, None)
            # So do the G² kept by counts (the sizes of this discovery's
            # sets are in every key): small objects made among the
            # counting's, they would keep its freed memory from the system.
            log_likelihood.cache_clear()
            _give_back_memory()
        return found

    return cached(key, compute)


def _discover(
    snap, terms, query, filters, background, min_support, today, period, limit, reads, left
):
    sample, every = reads
    subset_match: Match = snap.match(query, filters)
    warnings = list(subset_match.warnings)
    subset = _side(snap, terms, subset_match.bits, sample, every)

    rest = None
    if background == "previous":
        before = snap.match(query, shifted(filters, period.previous()))
        background_bits = before.bits
        if subset.tally is not None:
            with _stage("tallies"):
                rest = _tally(snap, background_bits & ~subset.bits)
        if rest is None:
            rest_estimate = _side(snap, terms, background_bits, sample).estimate
    else:
        background_bits = snap.population
        total = max(1, snap.view.doc_count)
        share = background_bits.bit_count() / total

        frequency = postings.frequencies(snap).phrase

        def rest_estimate(gram):
            return max(0.0, frequency(gram) * share - subset.estimate(gram))

        if subset.tally is not None:
            with _stage("tallies"):
                rest = _tally(snap, background_bits & ~subset.bits)

    rest_bits = background_bits & ~subset.bits
    rest_size = rest_bits.bit_count()
    shared = None
    found = Ranked({"words": [], "phrases": []}, Correction(0, 0, 0))
    if subset.size and rest_size:

        def guess(gram) -> float:
            if rest is not None:
                return _guess(subset, rest, gram)
            c = min(rest_estimate(gram), rest_size)
            return log_likelihood(round(subset.estimate(gram)), subset.size, round(c), rest_size)

        if rest is not None:
            guess.many = lambda grams: _guesses(subset, rest, grams)
            guess.numbered = lambda grams, at, bounds: _guesses(subset, rest, grams, at, bounds)

        candidates = _candidates(subset, left)
        if background == "previous" and rest is not None and period is not None:
            # The emerging phrases of a subset with a period compare the same
            # two sets with the same counts: their bounds start from this
            # pass's numbering of the same candidates (see _emerging).
            shared = {"subset": subset, "rest_bits": rest_bits, "candidates": candidates}

        def in_sections(gram):
            return _in_sections(snap, terms, subset, gram)

        ahead = _read_ahead(subset, min_support, rest_size, left)

        def unsampled(known, least, may):
            with _stage("unsampled"):
                if ahead is not None:
                    ahead.result()
                return _unsampled(subset, left, known, least, may, in_sections)

        with _stage("bounds"):
            found = _best(
                snap,
                subset,
                background_bits,
                candidates,
                guess,
                min_support,
                SIGNIFICANT,
                limit,
                unsampled=unsampled,
                rest=rest,
                shared=shared,
            )
        with _stage("examples"):
            _add_examples(found.lists["words"] + found.lists["phrases"], subset)
    elif not subset.size:
        warnings.append("No submitted debrief matches this subset.")
    else:
        warnings.append(
            "The subset is the whole background: there are no other debriefs to compare it "
            "with. Narrow the subset (an outcome, a competitor, a segment or a period), or "
            "give it a period and compare it with the previous one."
        )

    emerging, now_period, before_period = _emerging(
        snap, terms, query, filters, subset, period, today, min_support, limit, left, reads, shared
    )
    return Discovery(
        subset.size,
        background,
        background_bits.bit_count(),
        found.lists["words"],
        found.lists["phrases"],
        emerging.lists["all"] if emerging else [],
        now_period,
        before_period,
        warnings,
        min_support,
        min(subset.size, sample),
        found.correction if subset.size and rest_size else None,
        emerging.correction if emerging else None,
    )


def _emerging(
    snap, terms, query, filters, subset, period, today, min_support, limit, left, reads, shared=None
) -> tuple[Ranked | None, Period, Period | None]:
    """Phrases whose share of the subset's debriefs grew most against the
    same search over the previous period of equal length (the subset's own
    period, or the last 90 days when it has none).

    `shared`: what the subset's own pass against the previous period keeps
    for this one (see _best), used when this pass compares the same two
    sets of debriefs with the same counts and candidates."""
    sample, every = reads
    if period is None:
        period = rolling("90d", today)
        now = _side(snap, terms, snap.match(query, shifted(filters, period)).bits, sample, every)
    else:
        now = subset
    if period.start > today:
        return None, period, None
    before_period = period.previous()
    before_bits = snap.match(query, shifted(filters, before_period)).bits
    before_tally = None
    if now.tally is not None:
        with _stage("tallies"):
            before_tally = _tally(snap, before_bits)
    if before_tally is not None:
        before_size = before_tally.size

        def change(gram) -> float:
            # Exact counts, or a phrase's sample count and its pairs' before;
            # only the order of counting follows it.
            if len(gram) <= 2:
                kind, term = (TEXT, gram[0]) if len(gram) == 1 else (PAIRS, " ".join(gram))
                now_count = now.tally.count(kind, term)
                return now_count / now.size - before_tally.count(kind, term) / before_size
            pairs = [a + PAIR_SEPARATOR + b for a, b in zip(gram, gram[1:])]  # noqa: B905
            inside = min(now.tally.counts(PAIRS, pairs))
            estimate = min(now.estimate(gram), inside)
            outside = min(before_tally.counts(PAIRS, pairs)) * (estimate / inside if inside else 0)
            return estimate / now.size - outside / before_size

        def changes(grams) -> list[float]:
            # change of each, their words' and pairs' counts read at once.
            out = [0.0] * len(grams)
            for kind, n in ((TEXT, 1), (PAIRS, 2)):
                at = [i for i, gram in enumerate(grams) if len(gram) == n]
                terms = [" ".join(grams[i]) for i in at]
                counts = zip(now.tally.counts(kind, terms), before_tally.counts(kind, terms))  # noqa: B905
                for i, (now_count, before_count) in zip(at, counts, strict=True):
                    out[i] = now_count / now.size - before_count / before_size
            at = [i for i, gram in enumerate(grams) if len(gram) > 2]
            pairs = [
                a + PAIR_SEPARATOR + b
                for i in at
                for a, b in zip(grams[i], grams[i][1:])  # noqa: B905
            ]
            inside_all = now.tally.counts(PAIRS, pairs)
            outside_all = before_tally.counts(PAIRS, pairs)
            start = 0
            for i in at:
                gram = grams[i]
                stop = start + len(gram) - 1
                inside = min(inside_all[start:stop])
                estimate = min(now.estimate(gram), inside)
                outside = min(outside_all[start:stop]) * (estimate / inside if inside else 0)
                start = stop
                out[i] = estimate / now.size - outside / before_size
            return out

        change.many = changes
        change.numbered = lambda grams, at, bounds: _changes(
            now, before_tally, before_size, grams, at, bounds
        )
    else:
        before = _side(snap, terms, before_bits, sample)
        before_size = before.size

        def change(gram) -> float:
            return now.estimate(gram) / now.size - before.estimate(gram) / before.size

    if not now.size or not before_size:
        return None, period, before_period

    candidates = _candidates(now, left)
    if not (
        shared
        and shared.get("numbered")
        and before_tally is not None
        and shared["subset"] is now
        and shared["rest_bits"] == before_bits & ~now.bits == before_bits
        and shared["candidates"] == candidates
    ):
        shared = None
    # The "background" here is the previous period alone (it never overlaps);
    # a share can grow by no more than the share it has now.
    with _stage("bounds"):
        found = _best(
            snap,
            now,
            before_bits,
            candidates,
            change,
            min_support,
            EMERGING_SIGNIFICANT,
            max(10, limit // 2),
            value=lambda f: f.change,
            value_bound=lambda bounds, gram: 100 * bounds.most(gram) / now.size,
            first=EMERGING_SHORTLIST,
            kinds=("all",),
            kind=lambda terms: "all",
            rest=before_tally,
            shared=shared,
        )
    with _stage("examples"):
        _add_examples(found.lists["all"], now)
    return found, period, before_period
