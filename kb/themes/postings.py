"""Document frequencies of index terms for discovery, read once per segment.

Discovery bounds tens of thousands of candidate words and phrases by their
document frequencies. Whoosh looks each one up in every segment's term
index, which at that volume takes seconds. A segment never changes once
written, and its frequencies count its deleted documents too, so what is
read from a segment is kept with it and reused by every later index state:
after a change only the new (small) segment is read again.
"""

import threading
import weakref

from kb.search.analysis import PAIR_SEPARATOR

# Frequencies kept per segment (a term and a number each, about 100 bytes):
# at most some 20 MB a segment; beyond it the segment starts again.
MAX_TERMS = 200_000

_segments: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _table(segment) -> dict[tuple[str, str], int]:
    with _lock:
        found = _segments.get(segment)
        if found is None or len(found) > MAX_TERMS:
            found = _segments[segment] = {}
        return found


class Frequencies:
    """Documents of the index (drafts and deleted ones included) with a
    term, and an upper bound for a phrase: the least of its word pairs'."""

    def __init__(self, view):
        self._leaves = [(_table(data), reader) for data, reader, _ in view.leaves]
        self._known: dict[tuple[str, str], int] = {}
        self._phrases: dict[tuple[str, ...], int] = {}

    def term(self, field: str, term: str) -> int:
        key = (field, term)
        found = self._known.get(key)
        if found is None:
            found = 0
            for table, reader in self._leaves:
                count = table.get(key)
                if count is None:
                    count = table[key] = reader.doc_frequency(field, term)
                found += count
            self._known[key] = found
        return found

    def phrase(self, terms: tuple[str, ...]) -> int:
        found = self._phrases.get(terms)
        if found is None:
            if len(terms) == 1:
                found = self.term("text", terms[0])
            else:
                found = min(
                    self.term("pairs", a + PAIR_SEPARATOR + b)
                    for a, b in zip(terms, terms[1:], strict=False)
                )
            self._phrases[terms] = found
        return found


_snapshots: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def frequencies(snap) -> Frequencies:
    """The frequencies of one index state (a kb.themes.engine.Snapshot)."""
    with _lock:
        found = _snapshots.get(snap)
    if found is None:
        made = Frequencies(snap.view)
        with _lock:
            found = _snapshots.setdefault(snap, made)
    return found
