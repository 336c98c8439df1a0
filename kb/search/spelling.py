"""Words one edit away from a word the index does not know, and how many
documents hold each: what a "did you mean" suggestion is chosen from.

A word of n letters has about 54·n + 25 neighbours one edit away. Asking
Whoosh for each one's document frequency is a term lookup per segment per
neighbour (thousands of lookups: 5 to 18 ms of CPU at 100,000 debriefs in
eight segments, and more with more segments); nearly all of them are not
words of the index. Instead every neighbour's stem is hashed once
and looked up in each segment's term table (kb.search.termtable) with one
sorted search, and Whoosh is asked for the document frequency of the few
found only. A segment without a table is asked term by term, for the stems
no other segment has; a small one gets its table written (cheap, and
shared by the machine's processes from then on) so that recent segments of
the incremental writer do not each cost a lookup per neighbour.
"""

import numpy as np

from kb.search import termtable
from kb.search.analysis import stem

FIELD = "text"
LETTERS = "abcdefghijklmnopqrstuvwxyz"
# A segment of at most this many documents gets its table written when it
# lacks one (reading its postings: about 10 ms of CPU per 1,000 debriefs,
# once per machine); a larger one (a merge not yet tabled) is asked term by
# term rather than have a search wait for its table.
TABLE_AT_MOST = 1000


def edits(word: str) -> set[str]:
    """Every string one edit (delete, swap, replace, insert) away from `word`."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in LETTERS}
    out |= {a + c + b for a, b in splits for c in LETTERS}
    return out


def _table(data, reader):
    """The segment's table of the text field when it is there or cheap to write."""
    if data.folder is None:
        return None
    if (
        data.size > TABLE_AT_MOST
        and not termtable.path_of(data.folder, data.segment_id, FIELD).exists()
    ):
        return None
    return data.term_table(reader, FIELD)


def known(view, terms: list[str]) -> list[str]:
    """The terms (distinct) that some segment of the view holds."""
    if not terms:
        return []
    found = np.zeros(len(terms), bool)
    hashed = None
    for data, reader, _ in view.leaves:
        table = _table(data, reader)
        if table is not None:
            hashed = hashed or termtable.hashes(terms)
            found |= table.lookup(terms, hashed) >= 0
        else:
            for i in np.flatnonzero(~found):
                found[i] = (FIELD, terms[i]) in reader
    return [t for t, f in zip(terms, found.tolist(), strict=True) if f]


def neighbours(view, word: str) -> dict[str, int]:
    """The words one edit away from `word` whose stem the index holds, with
    the number of documents holding that stem (deleted ones included, as
    Whoosh counts them)."""
    candidates = list(edits(word))
    stems = [stem(c) for c in candidates]
    reader = view.searcher.reader()
    frequency = {s: reader.doc_frequency(FIELD, s) for s in known(view, list(dict.fromkeys(stems)))}
    return {c: frequency[s] for c, s in zip(candidates, stems, strict=True) if frequency.get(s)}


def likeliest(view, word: str) -> str | None:
    """The most common word one edit away (ties: the first alphabetically)."""
    found = neighbours(view, word)
    return min(found, key=lambda c: (-found[c], c)) if found else None
