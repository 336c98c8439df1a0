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
        # The view's number of each of the set's documents, in the set's order.
        self._order = np.concatenate(
            [local + offset for _, _, offset, local in self._parts] or [np.zeros(0, np.int64)]
        )
        self._counts: dict[str, list[np.ndarray]] = {}
        # Counts learnt, by field then term.
        self._known: dict[str, dict[str, int]] = {TEXT: {}, PAIRS: {}}
        self._bits: dict[tuple[str, str], int] = {}
        # Words' and pairs' documents as bitmaps of the set's own documents
        # (phrase_counts, phrase_docs).
        self._own: dict[tuple[str, str], np.ndarray] = {}

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
        known = self._known[field]
        try:  # Most asks are for terms counted already (see prefetch in kb.themes.discovery).
            return [known[t] for t in terms]
        except KeyError:
            pass
        missing = [t for t in dict.fromkeys(terms) if t not in known]
        if missing:
            total = np.zeros(len(missing), np.int64)
            hashed = termtable.hashes(missing)
            for table, counts in zip(self._tables(field), self._all_counts(field), strict=True):
                numbers = table.lookup(missing, hashed)
                found = numbers >= 0
                total[found] += counts[numbers[found]]
            known.update(zip(missing, total.tolist(), strict=True))
        return [known[t] for t in terms]

    def count(self, field: str, term: str) -> int:
        found = self._known[field].get(term)
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
        self._known[field].update(found)
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
        (kb.themes.engine.Snapshot.phrase_bits), for each phrase, as bitmaps
        of the view: its word's documents, or its pairs' intersected, on
        the bitmaps of the set's own documents phrase_counts keeps (no pass
        over the set's rows for what those hold already)."""
        keys = [
            [(TEXT, g[0])] if len(g) == 1 else [(PAIRS, f"{a} {b}") for a, b in zip(g, g[1:])]  # noqa: B905
            for g in grams
        ]
        for field in (TEXT, PAIRS):
            self._make_own([t for row in keys for f, t in row if f == field], field)
        own, order = self._own, self._order
        width = (self._view_size + 7) // 8
        out = []
        for start in range(0, len(keys), BITMAPS):
            part = keys[start : start + BITMAPS]
            rows = np.zeros((len(part), (self.size + 63) // 64), np.uint64)
            for n, row in enumerate(part):
                found = own[row[0]].copy()
                for key in row[1:]:
                    found &= own[key]
                rows[n] = found
            # Bits of the set's documents, then the view's numbers of those documents.
            at, place = np.nonzero(np.unpackbits(rows.view(np.uint8), axis=1, bitorder="little"))
            where = order[place]
            bitmaps = np.zeros((len(part), width), np.uint8)
            masks = np.left_shift(1, where & 7).astype(np.uint8)
            np.bitwise_or.at(bitmaps, (at, where >> 3), masks)
            out += [int.from_bytes(row.tobytes(), "little") for row in bitmaps]
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
        bitmaps = self._own_bitmaps(pairs, PAIRS)
        for start in range(0, len(grams), PHRASES):
            part = coded[start : start + PHRASES]
            both = bitmaps[part[:, 0]]
            for k in range(1, longest):
                both &= bitmaps[part[:, k]]
            found[start : start + part.shape[0]] = np.bitwise_count(both).sum(
                axis=1, dtype=np.int64
            )
        return found

    def _own_bitmaps(self, terms: list[str], field: str) -> np.ndarray:
        """A row of 64-bit words for each term of `field`: its documents, a
        bit per document of the set, in the set's order."""
        self._make_own(terms, field)
        return np.stack([self._own[(field, t)] for t in terms])

    def _make_own(self, terms: list[str], field: str) -> None:
        """Keep the bitmaps of _own_bitmaps of these terms (those not kept
        yet: one pass over the set's rows for all of them)."""
        make_own([self], terms, field)


def make_own(tallies: list[Tally], terms: list[str], field: str) -> None:
    """Keep each set's bitmaps of its own documents (Tally._own_bitmaps)
    for these terms of `field`, those it lacks: the sets are documents of
    one view, and a segment that holds a large share of one set's documents
    is read once for all of them (every row, rather than one pass per set)."""
    lacking = [(tally, {t for t in terms if (field, t) not in tally._own}) for tally in tallies]
    lacking = [(tally, missing) for tally, missing in lacking if missing]
    wanted = list(dict.fromkeys(t for t in terms if any(t in m for _, m in lacking)))
    if not wanted:
        return
    hashed = termtable.hashes(wanted)
    # Each set's rows of bits, and where each segment's documents start in it.
    rows = [np.zeros((len(wanted), (t.size + 63) // 64 * 8), np.uint8) for t, _ in lacking]
    segments: dict[int, list] = {}
    for n, (tally, _) in enumerate(lacking):
        base = 0
        for table, (_, _, offset, local) in zip(tally._tables(field), tally._parts, strict=True):
            segments.setdefault(offset, [table, []])[1].append((n, local, base))
            base += local.size
    for table, sets in segments.values():
        numbers = table.lookup(wanted, hashed)
        if any(local.size * 8 >= table.size for _, local, _ in sets):
            found = _postings(table, numbers)
        else:
            found = None
        for n, local, base in sets:
            if found is None:
                slots, docs = table.postings(local, numbers)
            else:
                inside = np.zeros(table.size, bool)
                inside[local] = True
                keep = inside[found[1]]
                slots, docs = found[0][keep], found[1][keep]
            place = np.zeros(table.size, np.int64)
            place[local] = np.arange(base, base + local.size)
            where = place[docs]
            masks = np.left_shift(1, where & 7).astype(np.uint8)
            np.bitwise_or.at(rows[n], (slots, where >> 3), masks)
    for (tally, missing), found in zip(lacking, rows, strict=True):
        for term, row in zip(wanted, found.view(np.uint64), strict=True):
            if term in missing:
                tally._own[(field, term)] = row


# Documents of a segment whose entries _postings reads at once.
DOCUMENTS = 8192


def _postings(table, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Table.postings over every document of the segment: (the position in
    `numbers`, the document) of each entry of one of these term numbers,
    from one pass over all its entries."""
    numbers = np.asarray(numbers, np.int64)
    valid = numbers >= 0
    slot = np.full(table.terms, -1, np.int32)
    slot[numbers[valid]] = np.flatnonzero(valid)
    wanted = slot >= 0
    entries, offsets = table.entries, table.offsets
    slots, docs = [np.zeros(0, np.int32)], [np.zeros(0, np.int64)]
    for start in range(0, table.size, DOCUMENTS):
        stop = min(table.size, start + DOCUMENTS)
        first, last = int(offsets[start]), int(offsets[stop])
        part = entries[first:last]
        hit = np.flatnonzero(wanted[part])
        if hit.size:
            slots.append(slot[part[hit]])
            lengths = np.diff(offsets[start : stop + 1])
            docs.append(np.repeat(np.arange(start, stop, dtype=np.int64), lengths)[hit])
    return np.concatenate(slots), np.concatenate(docs)
