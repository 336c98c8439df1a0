"""What a set of debriefs says, section by section, read from the index's
per-segment sequence tables (kb.search.sequences) rather than from each
debrief's analysed text: the words said in a section of one of them, and
every sequence of two to four words within one section whose adjacent
pairs are all among given ones, over every debrief of the set at once.

A segment's table is written by the first process that needs it, from the
debriefs' sections in the database, analysed as the index analyses them;
its term numbers are those of the segment's `text` term table.
"""

from pathlib import Path

import numpy as np

from kb.search import sequences, termtable
from kb.search.analysis import PAIR_SEPARATOR, analyse
from kb.themes.tallies import TEXT, docnums
from kb.themes.terms import CHUNK, sections

# Three pair numbers are coded in one int64 below this many pairs.
WIDE = 2_000_000


def _rows(debrief_ids, offset: int, size: int, terms: termtable.Table):
    """Each document's sections as term numbers, in document order."""
    for start in range(0, size, CHUNK):
        ids = [debrief_ids[offset + d] for d in range(start, min(size, start + CHUNK))]
        texts = sections([i for i in ids if i >= 0])
        analysed = {i: [analyse(s.text) for s in found] for i, found in texts.items()}
        distinct = list({t for found in analysed.values() for words in found for t in words})
        numbers = terms.lookup(distinct)
        numbers[numbers < 0] = sequences.MISSING
        number = dict(zip(distinct, numbers.tolist(), strict=True))
        for debrief_id in ids:
            found = analysed.get(debrief_id, ())
            yield [[number[t] for t in words] for words in found if words]


class Said:
    """The sections of one set of documents (live ones: a bitmap of the view)."""

    def __init__(self, snap, bits: int):
        docs = docnums(bits)
        self._parts = []  # (sequence table, text term table, local document numbers)
        self._available = True
        kept = set()
        for data, reader, offset in snap.view.leaves:
            kept.add(data.segment_id)
            low, high = np.searchsorted(docs, (offset, offset + data.size))
            if high <= low:
                continue
            terms = data.term_table(reader, TEXT)
            table = None
            if terms is not None:
                ids = snap.debrief_ids
                table = sequences.table(
                    data.folder,
                    data.segment_id,
                    data.size,
                    lambda ids=ids, offset=offset, size=data.size, terms=terms: _rows(
                        ids, offset, size, terms
                    ),
                )
            if table is None:
                self._available = False
                self._parts = []
                break
            self._parts.append((table, terms, docs[low:high] - offset))
        folders = {data.folder for data, _, _ in snap.view.leaves}
        if len(folders) == 1 and isinstance(next(iter(folders)), Path):
            sequences.forget(next(iter(folders)), kept)
        self._words: set[str] | None = None

    def available(self) -> bool:
        return self._available

    def words(self) -> set[str]:
        """Every word said in a section of one of the documents."""
        if self._words is None:
            found: set[str] = set()
            for table, terms, local in self._parts:
                seen = np.zeros(terms.terms + 1, bool)
                for entries in table.rows(local):
                    seen[entries[entries >= 0]] = True
                found.update(terms.terms_of(np.flatnonzero(seen)))
            self._words = found
        return self._words

    def sequences(self, pairs) -> set[tuple[str, ...]]:
        """Every sequence of two to four words within one section of one of
        the documents whose adjacent pairs are all in `pairs` (word pairs as
        "first second" terms of the index)."""
        pairs = list(pairs)
        if not pairs:
            return set()
        firsts, seconds = zip(*(p.split(PAIR_SEPARATOR) for p in pairs), strict=True)
        found: set[tuple[str, ...]] = set()
        for table, terms, local in self._parts:
            count = terms.terms
            hashed_first = terms.lookup(list(firsts))
            hashed_second = terms.lookup(list(seconds))
            known = (hashed_first >= 0) & (hashed_second >= 0)
            keys = np.unique(hashed_first[known] * count + hashed_second[known])
            if not keys.size:
                continue
            # A sequence is coded by the numbers of its pairs in `keys`.
            width = keys.size
            wide = width >= WIDE
            seen = np.zeros(width, bool)
            threes, fours = [], []
            for entries in table.rows(local):
                words = entries.astype(np.int64)
                key = words[:-1] * count + words[1:]
                at = np.minimum(np.searchsorted(keys, key), width - 1)
                flag = (keys[at] == key) & (words[:-1] >= 0) & (words[1:] >= 0)
                seen[at[flag]] = True
                three = flag[:-1] & flag[1:]
                starts = np.flatnonzero(three)
                if not starts.size:
                    continue
                first, second = at[starts], at[starts + 1]
                threes.append(np.unique(first * width + second))
                four = three[:-1] & flag[2:]
                starts = np.flatnonzero(four)
                if starts.size:
                    first, second, third = at[starts], at[starts + 1], at[starts + 2]
                    if wide:
                        fours.append(np.unique(np.stack([first, second, third], 1), axis=0))
                    else:
                        fours.append(np.unique((first * width + second) * width + third))
            pairs_at = np.flatnonzero(seen)
            rows = [np.stack([keys[pairs_at] // count, keys[pairs_at] % count], 1)]
            if threes:
                coded = np.unique(np.concatenate(threes))
                first, second = keys[coded // width], keys[coded % width]
                rows.append(np.stack([first // count, first % count, second % count], 1))
            if fours:
                if wide:
                    coded = np.unique(np.concatenate(fours), axis=0).T
                else:
                    coded = np.unique(np.concatenate(fours))
                    coded = (coded // (width * width), coded // width % width, coded % width)
                first, second, third = (keys[c] for c in coded)
                rows.append(
                    np.stack([first // count, first % count, second % count, third % count], 1)
                )
            numbers = np.unique(np.concatenate([r.ravel() for r in rows]))
            if not numbers.size:
                continue
            name = dict(zip(numbers.tolist(), terms.terms_of(numbers), strict=True))
            for part in rows:
                found.update(tuple(map(name.__getitem__, row)) for row in part.tolist())
        return found
