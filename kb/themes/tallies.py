"""Exact counts of words and word pairs over a set of documents, from the
index's per-segment term tables (kb.search.termtable).

A word's documents are what a search for it finds, and a phrase's those
with every adjacent pair of its words (kb.themes.engine.Snapshot.phrase_bits):
so the count of every word and every pair in a set of debriefs is one
bincount over the set's rows, and a phrase of three or four words is counted
by intersecting its pairs' documents, taken from the same rows.
"""

import numpy as np

from kb.search import termtable

TEXT, PAIRS = "text", "pairs"
# Terms whose bitmaps are made at once (a row of bytes each, a bit per document).
BITMAPS = 256
# Phrases counted at once by phrase_counts (a row of the set's bitmap each).
PHRASES = 1024


def docnums(bits: int) -> np.ndarray:
    """The document numbers of a bitmap, ascending."""
    if not bits:
        return np.zeros(0, np.int64)
    raw = np.frombuffer(bits.to_bytes((bits.bit_length() + 7) // 8, "little"), np.uint8)
    return np.flatnonzero(np.unpackbits(raw, bitorder="little"))


def by_pairs(grams: list[tuple[str, ...]]) -> tuple[list[str], np.ndarray]:
    """Phrases of two words or more as their distinct pairs, and a row for
    each phrase of the places of its pairs among them, the last repeated to
    fill the row (intersecting a set with itself changes nothing)."""
    numbered: dict[str, int] = {}
    number = numbered.setdefault
    longest = max((len(g) for g in grams), default=2) - 1
    rows = []
    for gram in grams:
        row = [number(f"{a} {b}", len(numbered)) for a, b in zip(gram, gram[1:], strict=False)]
        rows.append(row + row[-1:] * (longest - len(row)))
    return list(numbered), np.array(rows, np.int64).reshape(len(grams), longest)


class Tally:
    """Documents of one set (live ones: a bitmap of the view) holding each
    word and pair, counted on every document of the set."""

    def __init__(self, view, bits: int):
        self.bits = bits
        self.size = bits.bit_count()
        docs = docnums(bits)
        self._parts = []  # (segment data, reader, offset, local document numbers)
        for data, reader, offset in view.leaves:
            low, high = np.searchsorted(docs, (offset, offset + data.size))
            if high > low:
                self._parts.append((data, reader, offset, docs[low:high] - offset))
        self._view_size = view.size
        self._counts: dict[str, list[np.ndarray]] = {}
        self._known: dict[tuple[str, str], int] = {}
        self._bits: dict[tuple[str, str], int] = {}
        # Pairs' documents as bitmaps of the set's own documents (phrase_counts).
        self._own: dict[str, np.ndarray] = {}

    def _tables(self, field: str):
        return [data.term_table(reader, field) for data, reader, _, _ in self._parts]

    def available(self) -> bool:
        return all(t is not None for field in (TEXT, PAIRS) for t in self._tables(field))

    def _all_counts(self, field: str) -> list[np.ndarray]:
        found = self._counts.get(field)
        if found is None:
            found = self._counts[field] = [
                table.counts(local)
                for table, (_, _, _, local) in zip(self._tables(field), self._parts, strict=True)
            ]
        return found

    def counts(self, field: str, terms: list[str]) -> list[int]:
        """How many documents of the set hold each term."""
        known = self._known
        try:  # Most asks are for terms counted already (see prefetch in kb.themes.discovery).
            return [known[(field, t)] for t in terms]
        except KeyError:
            pass
        missing = [t for t in dict.fromkeys(terms) if (field, t) not in known]
        if missing:
            total = np.zeros(len(missing), np.int64)
            hashed = termtable.hashes(missing)
            for table, counts in zip(self._tables(field), self._all_counts(field), strict=True):
                numbers = table.lookup(missing, hashed)
                found = numbers >= 0
                total[found] += counts[numbers[found]]
            for term, count in zip(missing, total.tolist(), strict=True):
                known[(field, term)] = count
        return [known[(field, t)] for t in terms]

    def count(self, field: str, term: str) -> int:
        found = self._known.get((field, term))
        return found if found is not None else self.counts(field, [term])[0]

    def frequent(self, field: str, least: int) -> dict[str, int]:
        """Every term held by at least `least` documents of the set, with its count."""
        least = max(1, least)
        parts = self._all_counts(field)
        sizes = [local.size for _, _, _, local in self._parts]
        found: dict[str, int] = {}
        for i, (table, counts) in enumerate(zip(self._tables(field), parts, strict=True)):
            # A term short of `least` here can reach it only with the other segments' documents.
            others = sum(sizes) - sizes[i]
            numbers = np.flatnonzero(counts >= max(1, least - others))
            for term, count in zip(table.terms_of(numbers), counts[numbers].tolist(), strict=True):
                found[term] = found.get(term, 0) + count
        found = {t: c for t, c in found.items() if c >= least}
        for term, count in found.items():
            self._known[(field, term)] = count
        return found

    def docs(self, field: str, terms: list[str]) -> list[int]:
        """The documents of the set holding each term, as bitmaps of the view."""
        missing = [t for t in dict.fromkeys(terms) if (field, t) not in self._bits]
        if missing:
            hashed = termtable.hashes(missing)
            slots, docs = [], []
            for table, (_, _, offset, local) in zip(self._tables(field), self._parts, strict=True):
                found_slots, found_docs = table.postings(local, table.lookup(missing, hashed))
                slots.append(found_slots)
                docs.append(found_docs + offset)
            slots, docs = np.concatenate(slots), np.concatenate(docs)
            width = (self._view_size + 7) // 8
            for start in range(0, len(missing), BITMAPS):
                part = missing[start : start + BITMAPS]
                rows = np.zeros((len(part), width), np.uint8)
                inside = (slots >= start) & (slots < start + len(part))
                at, where = slots[inside] - start, docs[inside]
                masks = np.left_shift(1, where & 7).astype(np.uint8)
                np.bitwise_or.at(rows, (at, where >> 3), masks)
                for term, row in zip(part, rows, strict=True):
                    self._bits[(field, term)] = int.from_bytes(row.tobytes(), "little")
        return [self._bits[(field, t)] for t in terms]

    def phrase_docs(self, grams: list[tuple[str, ...]]) -> list[int]:
        """The documents of the set a quoted phrase of these terms matches
        (kb.themes.engine.Snapshot.phrase_bits), for each phrase."""
        words = [g[0] for g in grams if len(g) == 1]
        pairs = [f"{a} {b}" for g in grams if len(g) > 1 for a, b in zip(g, g[1:], strict=False)]
        self.docs(TEXT, words)
        self.docs(PAIRS, pairs)
        out = []
        for gram in grams:
            if len(gram) == 1:
                out.append(self._bits[(TEXT, gram[0])])
                continue
            # A pair's documents are among the set's already (see docs).
            found = self._bits
            bits = found[(PAIRS, f"{gram[0]} {gram[1]}")]
            for a, b in zip(gram[1:], gram[2:], strict=False):
                bits &= found[(PAIRS, f"{a} {b}")]
            out.append(bits)
        return out

    def phrase_counts(
        self, grams: list[tuple[str, ...]], coded: "tuple[list[str], np.ndarray] | None" = None
    ) -> np.ndarray:
        """How many documents of the set each phrase of two words or more
        matches, as phrase_docs would count them: its pairs' documents
        intersected on bitmaps of the set's own documents, many phrases
        at once, rather than a bitmap of the view made for each. `coded`:
        the phrases by_pairs, when already worked out for another set."""
        found = np.zeros(len(grams), np.int64)
        if not grams:
            return found
        pairs, coded = coded or by_pairs(grams)
        longest = coded.shape[1]
        bitmaps = self._own_bitmaps(pairs)
        for start in range(0, len(grams), PHRASES):
            part = coded[start : start + PHRASES]
            both = bitmaps[part[:, 0]]
            for k in range(1, longest):
                both &= bitmaps[part[:, k]]
            found[start : start + part.shape[0]] = np.bitwise_count(both).sum(
                axis=1, dtype=np.int64
            )
        return found

    def _own_bitmaps(self, pairs: list[str]) -> np.ndarray:
        """A row of 64-bit words for each pair: its documents, a bit per
        document of the set, in the set's order."""
        missing = [p for p in pairs if p not in self._own]
        if missing:
            hashed = termtable.hashes(missing)
            rows = np.zeros((len(missing), (self.size + 63) // 64 * 8), np.uint8)
            base = 0
            for table, (_, _, _, local) in zip(self._tables(PAIRS), self._parts, strict=True):
                slots, docs = table.postings(local, table.lookup(missing, hashed))
                place = np.zeros(table.size, np.int64)
                place[local] = np.arange(base, base + local.size)
                where = place[docs]
                masks = np.left_shift(1, where & 7).astype(np.uint8)
                np.bitwise_or.at(rows, (slots, where >> 3), masks)
                base += local.size
            for pair, row in zip(missing, rows.view(np.uint64), strict=True):
                self._own[pair] = row
        return np.stack([self._own[p] for p in pairs])
