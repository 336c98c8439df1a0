"""What discovery leaves out of its findings, and the lists admins edit.

- Stop words: too common to be a finding on their own or to start or end a
  phrase (the index's own stop words never reach discovery at all).
- Boilerplate of scraped feedback: HTML entities whose "&" or ";" was lost
  ("amp"), retweet markers written in lower case.
- URLs and @handles: kept whole by the analyser so that they are
  searchable, but a link or an account is an address, not a reason.
- Redaction marks ("XX/XX/XXXX", "XXXX" where a name or a date was taken
  out of a complaint): what was removed is no finding. A phrase does not
  end with a lone digit or letter either: "section 611 (a)(1)" is read as
  "section 611 1", whose "1" is a clause number, not part of an idea.
- Competitors' names and aliases: competitor is a facet of every debrief
  already; "acme" in losses to Acme, or an alias such as "@acmehq", is no
  finding. No finding contains a name; the words of a longer name ("ACME
  Corp") work as stop words.
- Words that only name the outcome ("lost", "chose", "vendor") when the
  subset is chosen by outcome: losses say "lost"; that is the filter.
- The extra words and phrases admins add (kb.admin.wordlists), stored in
  the database: no finding contains any of them.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
from sqlalchemy import select
from whoosh.analysis import STOP_WORDS as INDEX_STOP_WORDS

from kb.extensions import db
from kb.models import ExcludedPhrase
from kb.search.analysis import analyse, stem

STOP_WORDS_TEXT = """
    about above after again against all also am any because been before being
    below between both but could did do does doing down during each even ever
    every few further got had has having he her here hers him his how however
    i into its itself just me might more most much must my no nor now off once
    only other our ours out over own same she should so some still such than
    their theirs them then there these they those through too under until up
    upon very was were what which while who whom why would yes yours
    get gets make made one two three lot really well way back many thing things
"""
BOILERPLATE_TEXT = "amp quot apos nbsp lt gt rt via"
# Words that name an outcome rather than a reason for it, by the outcome
# filter ("Acme won", "we lost", "they chose another vendor").
_WIN_LOSE = (
    "won win wins winning winner lost lose loses losing loss losses "
    "chose choose chosen selected picked vendor vendors"
)
OUTCOME_TEXT = {
    "won": _WIN_LOSE,
    "lost": _WIN_LOSE,
    "no_decision": "decision decided undecided vendor vendors",
}

STOP_WORDS = frozenset(stem(w) for w in STOP_WORDS_TEXT.split())
BOILERPLATE = frozenset(BOILERPLATE_TEXT.split())
OUTCOME_WORDS = {
    outcome: frozenset(term for w in text.split() for term in analyse(w))
    for outcome, text in OUTCOME_TEXT.items()
}
# Any outcome filter (a winner filter chooses losses or wins too).
ANY_OUTCOME_WORDS = frozenset().union(*OUTCOME_WORDS.values())

MAX_PHRASE = 120
MAX_ENTRIES = 500


@dataclass(frozen=True)
class Exclusions:
    """Index terms that may not start or end a finding (nor be one), and
    term sequences no finding may contain."""

    ends: frozenset[str] = frozenset()
    inside: frozenset[tuple[str, ...]] = frozenset()

    def keeps(self, gram: tuple[str, ...]) -> bool:
        if gram[0] in self.ends or gram[-1] in self.ends:
            return False
        if len(gram) > 1 and len(gram[-1]) < 2:
            return False  # "… (a)(1)"; a count starts a phrase ("6 weeks") but does not end it
        inside = self.inside
        for term in gram:
            if term[0] == "@" or "://" in term or term.startswith("www."):
                return False  # an account or an address
            if len(term) > 1 and not term.strip("x"):
                return False  # a redaction mark
            if (len(term) < 2 and term.isalpha()) or (term,) in inside:
                return False
        n = len(gram)
        if n == 1:
            return not gram[0].isdigit()  # a bare number; "6 weeks" and "30%" are findings
        return not any(gram[i:j] in inside for i in range(n - 1) for j in range(i + 2, n + 1))

    def kept(self, grams: Iterable[tuple[str, ...]]) -> list[tuple[str, ...]]:
        """The grams `keeps` keeps, in order: the same rules, with what each
        rule asks of a term worked out once per distinct term rather than
        once per gram it is in (discovery tests tens of thousands of grams
        made of a few thousand terms), and each gram then judged by a few
        set lookups."""
        grams = grams if isinstance(grams, list) else list(grams)
        if not grams:
            return []
        ends, inside = self.ends, self.inside
        # The terms that may be in no finding; what may not end a phrase
        # (a lone character: "… (a)(1)"); what may not be a finding alone.
        banned = {t for t in set(chain.from_iterable(grams)) if _term_verdict(t, inside)}
        no_last = ends | banned | {t for t in set(g[-1] for g in grams) if len(t) < 2}
        no_single = ends | banned | {g[0] for g in grams if len(g) == 1 and g[0].isdigit()}
        free = banned.isdisjoint
        out = [
            gram
            for gram in grams
            if (
                gram[0] not in no_single
                if len(gram) == 1
                else gram[0] not in ends and gram[-1] not in no_last and free(gram)
            )
        ]
        # Only a phrase with a word that starts a sequence of `inside` may hold one.
        starts = {seq[0] for seq in inside if len(seq) > 1}
        if starts:
            apart = starts.isdisjoint
            out = [g for g in out if len(g) == 1 or apart(g) or not _holds(g, inside)]
        return out

    def kept_rows(self, terms: list[str], rows: list[np.ndarray]) -> list[np.ndarray]:
        """Which phrases `keeps` keeps of these arrays of phrases of two
        words or more (a phrase a row of places in `terms`): its rules
        worked out once per term, and applied to the rows in arrays; only
        the few rows that may hold a multi-word sequence of `inside` are
        made into tuples to be checked."""
        if not rows:
            return []
        inside = self.inside
        ends = np.fromiter((t in self.ends for t in terms), bool, len(terms))
        banned = np.fromiter((bool(_term_verdict(t, inside)) for t in terms), bool, len(terms))
        short = np.fromiter((len(t) < 2 for t in terms), bool, len(terms))
        no_last = ends | banned | short
        no_first = ends | banned
        # Words that start a sequence no finding may contain.
        starts = {seq[0] for seq in inside if len(seq) > 1}
        opening = np.fromiter((t in starts for t in terms), bool, len(terms))
        out = []
        for part in rows:
            keep = ~(no_first[part[:, 0]] | no_last[part[:, -1]])
            for column in range(1, part.shape[1] - 1):
                keep &= ~banned[part[:, column]]
            if starts:
                check = np.flatnonzero(keep & opening[part[:, :-1]].any(axis=1))
                for i, row in zip(check.tolist(), part[check].tolist(), strict=True):
                    keep[i] = not _holds(tuple(terms[t] for t in row), inside)
            out.append(keep)
        return out


def _holds(gram: tuple[str, ...], inside: frozenset[tuple[str, ...]]) -> bool:
    """Whether a phrase contains a sequence of two words or more of `inside`."""
    n = len(gram)
    return any(gram[i:j] in inside for i in range(n - 1) for j in range(i + 2, n + 1))


def _term_verdict(term: str, inside: frozenset[tuple[str, ...]]) -> int:
    """2 when a term may be in no finding (Exclusions.keeps), else 0."""
    if term[:1] == "@" or "://" in term or term.startswith("www."):
        return 2  # an account or an address
    if len(term) > 1 and not term.strip("x"):
        return 2  # a redaction mark
    if (len(term) < 2 and term.isalpha()) or (term,) in inside:
        return 2
    return 0


def outcome_words(filters: Mapping[str, Any]) -> frozenset[str]:
    """The words that name the outcome the subset is chosen by, if it is."""
    outcomes = filters.get("outcome") or []
    outcomes = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    words: set[str] = set()
    for outcome in outcomes:
        words |= OUTCOME_WORDS.get(str(outcome), frozenset())
    if filters.get("winner"):
        words |= ANY_OUTCOME_WORDS
    return frozenset(words)


def name_sequences(spellings: Mapping[str, list[str]]) -> frozenset[tuple[str, ...]]:
    """Every competitor's name and alias as index terms."""
    return frozenset(
        terms for names in spellings.values() for name in names if (terms := tuple(analyse(name)))
    )


def extra_phrases() -> tuple[str, ...]:
    """The words and phrases admins added, as written, in order."""
    return tuple(db.session.scalars(select(ExcludedPhrase.phrase).order_by(ExcludedPhrase.key)))


def for_discovery(
    spellings: Mapping[str, list[str]], filters: Mapping[str, Any], extra: Iterable[str]
) -> Exclusions:
    ends = set(STOP_WORDS | BOILERPLATE | outcome_words(filters))
    inside = set(name_sequences(spellings))
    for name in list(inside):
        if len(name) > 1:
            ends.update(name)  # "corp" of "ACME Corp" is not a finding either
    inside.update(terms for phrase in extra if (terms := tuple(analyse(phrase))))
    return Exclusions(frozenset(ends), frozenset(inside))


def built_in() -> dict[str, list[str]]:
    """The built-in lists as people write them, for the admin page."""
    return {
        "index": sorted(INDEX_STOP_WORDS),
        "stop": sorted(STOP_WORDS_TEXT.split()),
        "boilerplate": sorted(BOILERPLATE_TEXT.split()),
        **{f"outcome_{k}": v.split() for k, v in OUTCOME_TEXT.items()},
    }
