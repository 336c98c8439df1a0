"""Exact counts of words and word pairs over a set of documents, from the
index's per-segment term tables (kb.search.termtable).

A word's documents are what a search for it finds, and a phrase's those
with every adjacent pair of its words (kb.themes.engine.Snapshot.phrase_bits):
so the count of every word and every pair in a set of debriefs is one
bincount over the set's rows, and a phrase of three or four words is counted
by intersecting its pairs' documents, taken from the segments' postings
tables (kb.search.postings_table: each term's documents) or, for a set
holding a small share of a segment, from its own rows.
"""

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from itertools import chain, repeat

import numpy as np

from kb.search import postings_table, termtable

TEXT, PAIRS = "text", "pairs"
# Terms whose bitmaps are made at once (a row of bytes each, a bit per document).
BITMAPS = 256
# Phrases counted at once by phrase_counts (a row of the set's bitmap each).
PHRASES = 256
# Rows a set's kept bitmaps of a field have room for at first (Tally._add_rows).
ROWS = 1024
# make_own_each reads a set's terms' documents from their postings (a
# segment's postings table) when those are at most this many times the
# entries of the set's own rows of the segment's term table.
BY_TERM = 1.0
# Threads that count the sets of one discovery at once: the array work
# (intersecting bitmaps, setting their bits) lets go of the interpreter
# lock, so two sets take little more than one on two cores.
THREADS = min(2, os.cpu_count() or 1)


def each_at_once(jobs: "list[Callable[[], object]]") -> list:
    """Each job's result, in order, the jobs run at once on up to THREADS
    threads (one job, or one thread: run here)."""
    if len(jobs) < 2 or THREADS < 2:
        return [job() for job in jobs]
    with ThreadPoolExecutor(min(THREADS, len(jobs))) as pool:
        return list(pool.map(lambda job: job(), jobs))


def docnums(bits: int) -> np.ndarray:
    """The document numbers of a bitmap, ascending."""
    if not bits:
        return np.zeros(0, np.int64)
    raw = np.frombuffer(bits.to_bytes((bits.bit_length() + 7) // 8, "little"), np.uint8)
    return np.flatnonzero(np.unpackbits(raw, bitorder="little"))


def by_pairs(grams: list[tuple[str, ...]]) -> tuple[list[str], np.ndarray]:
    """Phrases of two words or more as their distinct pairs, and a row for
    each phrase of the places of its pairs among them, the last repeated to
    fill the row (intersecting a set with itself changes nothing).

    Worked out on arrays: each word numbered once, each pair a number made
    of its two words' and found among the others by np.unique, so that only
    the distinct pairs are written out (a few thousand for tens of thousands
    of phrases)."""
    if not grams:
        return [], np.zeros((0, 1), np.int64)
    flat = list(chain.from_iterable(grams))
    vocabulary = list(dict.fromkeys(flat))
    number = {word: n for n, word in enumerate(vocabulary)}
    words = np.fromiter(map(number.__getitem__, flat), np.int64, len(flat))
    lengths = np.fromiter(map(len, grams), np.int64, len(grams))
    if lengths.min() < 2:
        raise ValueError("phrases of two words or more")
    starts = np.cumsum(lengths) - lengths
    longest = int(lengths.max()) - 1
    # The first word of each pair of a phrase, its last pair's repeated.
    at = np.minimum(starts[:, None] + np.arange(longest), (starts + lengths - 2)[:, None])
    size = len(vocabulary)
    distinct, coded = np.unique((words[at] * size + words[at + 1]).ravel(), return_inverse=True)
    pairs = [
        f"{vocabulary[a]} {vocabulary[b]}"
        for a, b in zip((distinct // size).tolist(), (distinct % size).tolist(), strict=True)
    ]
    return pairs, coded.reshape(len(grams), longest).astype(np.int64, copy=False)


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
        self._counting = threading.Lock()  # see count_ahead
        # Counts learnt, by field then term.
        self._known: dict[str, dict[str, int]] = {TEXT: {}, PAIRS: {}}
        self._bits: dict[tuple[str, str], int] = {}
        # Words' and pairs' documents as bitmaps of the set's own documents
        # (phrase_counts, phrase_docs): by field, a row of 64-bit words per
        # term (the rows of `_own` from 0 to its number of terms, the others
        # room for more), and each term's row. A term's row is made once,
        # when first asked for, and kept while the tally is (the discovery's
        # duration): later rounds of counting add only their new terms.
        self._own: dict[str, np.ndarray] = {
            field: np.zeros((0, (self.size + 63) // 64), np.uint64) for field in (TEXT, PAIRS)
        }
        self._row: dict[str, dict[str, int]] = {TEXT: {}, PAIRS: {}}
        # Counts of phrases of two words or more learnt (count_phrases),
        # and phrases' documents as bitmaps of the view (phrase_docs).
        self._phrases: dict[tuple[str, ...], int] = {}
        self._phrase_bits: dict[tuple[str, ...], int] = {}
        self._place: dict[int, np.ndarray] = {}  # see _places
        self._code: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # see _codes

    def _tables(self, field: str):
        return [data.term_table(reader, field) for data, reader, _, _ in self._parts]

    def available(self) -> bool:
        return all(t is not None for field in (TEXT, PAIRS) for t in self._tables(field))

    def count_ahead(self) -> None:
        """Start counting every word and pair of the set in a thread of its
        own (what the first `counts` would do), while its caller reads
        other things."""
        pool = ThreadPoolExecutor(1)
        try:
            pool.submit(lambda: [self._all_counts(field) for field in (TEXT, PAIRS)])
        finally:
            pool.shutdown(wait=False)

    def _all_counts(self, field: str) -> list[np.ndarray]:
        found = self._counts.get(field)
        if found is None:
            with self._counting:
                found = self._counts.get(field)
                if found is None:
                    found = self._counts[field] = [
                        table.counts(local)
                        for table, (_, _, _, local) in zip(
                            self._tables(field), self._parts, strict=True
                        )
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
        over the set's rows for what those hold already). Each phrase's
        is kept while the tally is (a few hundred findings of a discovery,
        asked for again by its emerging pass)."""
        kept = self._phrase_bits
        missing = [g for g in dict.fromkeys(grams) if g not in kept]
        if missing:
            kept.update(zip(missing, self._phrase_docs(missing), strict=True))
        return [kept[g] for g in grams]

    def _phrase_docs(self, grams: list[tuple[str, ...]]) -> list[int]:
        keys = [
            [(TEXT, g[0])] if len(g) == 1 else [(PAIRS, f"{a} {b}") for a, b in zip(g, g[1:])]  # noqa: B905
            for g in grams
        ]
        for field in (TEXT, PAIRS):
            self._make_own([t for row in keys for f, t in row if f == field], field)
        own, order = self._own_row, self._order
        width = (self._view_size + 7) // 8
        out = []
        for start in range(0, len(keys), BITMAPS):
            part = keys[start : start + BITMAPS]
            rows = np.zeros((len(part), (self.size + 63) // 64), np.uint64)
            for n, row in enumerate(part):
                found = own(row[0]).copy()
                for key in row[1:]:
                    found &= own(key)
                rows[n] = found
            # Bits of the set's documents (of the words that have any: most
            # are empty), then the view's numbers of those documents.
            at, word = np.nonzero(rows)
            full = rows[at, word]
            which, bit = np.nonzero(
                np.unpackbits(full.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
            )
            at, place = at[which], word[which] * 64 + bit
            where = order[place]
            bitmaps = np.zeros((len(part), width), np.uint8)
            masks = np.left_shift(1, where & 7).astype(np.uint8)
            np.bitwise_or.at(bitmaps, (at, where >> 3), masks)
            out += [int.from_bytes(row.tobytes(), "little") for row in bitmaps]
        return out

    def _own_row(self, key: tuple[str, str]) -> np.ndarray:
        field, term = key
        return self._own[field][self._row[field][term]]

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
        self._make_own(pairs, PAIRS)
        # The phrases' pairs as rows of the kept bitmaps.
        rows = self._rows(pairs, PAIRS)[coded]
        bitmaps = self._own[PAIRS]

        def count(starts: range) -> None:
            for start in starts:
                part = rows[start : start + PHRASES]
                both = bitmaps[part[:, 0]]
                for k in range(1, longest):
                    both &= bitmaps[part[:, k]]
                found[start : start + part.shape[0]] = np.bitwise_count(both).sum(
                    axis=1, dtype=np.int64
                )

        # The phrases split between the threads, each a run of chunks.
        starts = range(0, len(grams), PHRASES)
        per = -(-len(starts) // THREADS)
        each_at_once([partial(count, starts[i : i + per]) for i in range(0, len(starts), per)])
        return found

    def _rows(self, terms: list[str], field: str) -> np.ndarray:
        """The row of each of these terms (kept already) in `_own[field]`."""
        return np.fromiter(map(self._row[field].__getitem__, terms), np.int64, len(terms))

    def _own_bitmaps(self, terms: list[str], field: str) -> np.ndarray:
        """A row of 64-bit words for each term of `field`: its documents, a
        bit per document of the set, in the set's order."""
        self._make_own(terms, field)
        return self._own[field][self._rows(terms, field)]

    def _make_own(self, terms: list[str], field: str) -> None:
        """Keep the bitmaps of _own_bitmaps of these terms (those not kept
        yet: see make_own)."""
        make_own([self], terms, field)

    def _places(self, offset: int, size: int) -> np.ndarray:
        """For each document of the segment at `offset` (of `size` documents),
        its place in the set's order, or -1 when not in the set; kept."""
        found = self._place.get(offset)
        if found is None:
            found = np.full(size, -1, np.int64)
            base = 0
            for _, _, start, local in self._parts:
                if start == offset:
                    found[local] = np.arange(base, base + local.size)
                base += local.size
            self._place[offset] = found
        return found

    def _codes(self, offset: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """For each document of the segment at `offset` (of `size`
        documents), the 64-bit word of a row of `_own` holding its place in
        the set (int32) and its bit there (uint64); a document outside the
        set has the word of the set's next document of the segment (its
        last, after that one) and no bit. Kept. The words ascend with the
        documents, as _fill needs."""
        found = self._code.get(offset)
        if found is None:
            places = self._places(offset, size)
            inside = places >= 0
            # The set's documents of a segment have places one after another.
            held = np.flatnonzero(inside)
            first = int(places[held[0]]) if held.size else 0
            before = np.minimum(np.cumsum(inside) - inside, max(0, held.size - 1))
            place = first + before
            bits = np.left_shift(inside.astype(np.uint64), (place & 63).astype(np.uint64))
            found = self._code[offset] = ((place >> 6).astype(np.int32), bits)
        return found

    def _add_rows(self, terms: list[str], field: str) -> np.ndarray:
        """Empty rows for these terms (new ones) in `_own[field]`, as their
        numbers. When full, the array is made four times larger (or more):
        the rows not written yet are zero pages the system maps only when
        first written, and the rows written are copied seldom."""
        kept, row = self._own[field], self._row[field]
        used = len(row)
        if used + len(terms) > kept.shape[0]:
            rows = max(used + len(terms), 4 * used, ROWS)
            grown = np.zeros((rows, kept.shape[1]), np.uint64)
            grown[:used] = kept[:used]
            self._own[field] = grown
        row.update(zip(terms, range(used, used + len(terms)), strict=True))
        return np.arange(used, used + len(terms), dtype=np.int64)


def count_phrases(
    tallies: list[Tally], grams: list[tuple[str, ...]], also: list[str] = ()
) -> list[list[int]]:
    """phrase_counts of these phrases in each set, each counted once per
    set while the sets are kept (a discovery's main and emerging passes ask
    for many of the same on the same two sets): the phrases not counted yet
    are coded once (by_pairs) for all the sets, and their pairs' bitmaps
    made at once for all the sets (make_own_each), with those of the
    pairs `also` for the first set (the documents of findings that are word
    pairs, for phrase_docs) when there are bitmaps to make."""
    # Each set's kept counts looked up once per phrase (-1: not counted yet).
    found = [
        np.fromiter(map(tally._phrases.get, grams, repeat(-1)), np.int64, len(grams))
        for tally in tallies
    ]
    unknown = np.any([counts < 0 for counts in found], axis=0) if grams else None
    if unknown is not None and unknown.any():
        at = np.flatnonzero(unknown)
        new = list(dict.fromkeys(grams[i] for i in at.tolist()))
        coded = by_pairs(new)
        lacking = [n for n, counts in enumerate(found) if (counts[at] < 0).any()]
        wants = [(tallies[n], coded[0]) for n in lacking]
        if also:
            first = tallies[0]
            wants = [(t, [*terms, *also] if t is first else terms) for t, terms in wants]
            if 0 not in lacking:
                wants.append((first, list(also)))
        make_own_each(wants, PAIRS)
        for n in lacking:
            tally = tallies[n]
            counts = tally.phrase_counts(new, coded)
            tally._phrases.update(zip(new, counts.tolist(), strict=True))
            if len(new) == at.size:
                found[n][at] = counts
            else:  # A phrase asked for more than once.
                found[n][at] = [tally._phrases[grams[i]] for i in at.tolist()]
    return [counts.tolist() for counts in found]


def make_own(tallies: list[Tally], terms: list[str], field: str) -> None:
    """Keep each set's bitmaps of its own documents (Tally._own_bitmaps)
    for these terms of `field`, those it lacks: the sets are documents of
    one view; each segment's documents of the terms any set lacks are read
    once from its postings table, for every set holding a large share of
    its documents (and for a smaller one when they are fewer than the
    entries of its own rows), and each other set's from its own rows only
    (a pass over every row of the segment when it has no postings table)."""
    make_own_each([(tally, terms) for tally in tallies], field)


def make_own_each(wants: "list[tuple[Tally, list[str]]]", field: str) -> None:
    """make_own with terms of its own for each set."""
    asked: dict[Tally, list[str]] = {}
    for tally, terms in wants:
        asked.setdefault(tally, []).extend(terms)
    lacking = []
    for tally, terms in asked.items():
        row = tally._row[field]
        missing = [t for t in dict.fromkeys(terms) if t not in row]
        if missing:
            lacking.append((tally, missing))
    if not lacking:
        return
    wanted = list(dict.fromkeys(t for _, missing in lacking for t in missing))
    hashed = termtable.hashes(wanted)
    place_of = {t: n for n, t in enumerate(wanted)}
    # Each set's row for each wanted term (-1: kept already), and its rows
    # as bytes (made room for first: a set's array may grow).
    rows, targets = [], []
    for tally, missing in lacking:
        target = np.full(len(wanted), -1, np.int64)
        target[[place_of[t] for t in missing]] = tally._add_rows(missing, field)
        targets.append(target)
        rows.append(tally._own[field].view(np.uint8))
    segments: dict[int, list] = {}
    for n, (tally, _) in enumerate(lacking):
        for table, (data, _, offset, local) in zip(tally._tables(field), tally._parts, strict=True):
            segments.setdefault(offset, [data, table, []])[2].append((n, tally, offset, local))
    for data, table, sets in segments.values():
        numbers = table.lookup(wanted, hashed)
        # Each set's terms' documents are read from the segment's postings
        # (those terms' documents only, rather than every entry a pass over
        # the segment's rows reads for a set holding a large share of it),
        # and so are those of a smaller set when fewer than the entries of
        # its own rows; the others' from its rows.
        inverted = postings_table.table(data.folder, data.segment_id, field, table)
        by_term = []
        if inverted is not None:
            lengths = inverted.lengths(numbers)
            per_row = table.entries.size / max(1, table.size)
            by_term = [
                n
                for n, _, _, local in sets
                if local.size * 8 >= table.size
                or int(lengths[targets[n] >= 0].sum()) <= BY_TERM * local.size * per_row
            ]
        if by_term:
            lacked = np.any([targets[n] >= 0 for n in by_term], axis=0)
            runs = inverted.runs(np.where(lacked, numbers, -1))
            for n, tally, offset, _ in sets:
                if n in by_term:
                    _fill(tally._own[field], targets[n], tally._codes(offset, table.size), *runs)
        rest = [s for s in sets if s[0] not in by_term]
        if not rest:
            continue
        # Without postings, the sets holding a large share of the segment's
        # documents are read from one pass over all its entries, for the
        # terms any of them lacks; each of the others from its own rows.
        large = [n for n, _, _, local in rest if local.size * 8 >= table.size]
        found = None
        if large:
            lacked = np.any([targets[n] >= 0 for n in large], axis=0)
            found = _postings(table, np.where(lacked, numbers, -1))
        for n, tally, offset, local in rest:
            if n in large:
                slots, docs = found
            else:
                slots, docs = table.postings(local, np.where(targets[n] >= 0, numbers, -1))
            # Each entry's place in the set (-1: a document outside it) and
            # row (-1: a term the set keeps already).
            where = tally._places(offset, table.size)[docs]
            at = targets[n][slots]
            keep = np.flatnonzero((where >= 0) & (at >= 0))
            where, at = where[keep], at[keep]
            masks = np.left_shift(np.uint8(1), (where & 7).astype(np.uint8))
            # A document holds a term once, so no bit is set twice: adding
            # the bits sets them, and np.add.at on one flat index is many
            # times quicker than np.bitwise_or.at on two.
            width = rows[n].shape[1]
            np.add.at(rows[n].reshape(-1), at * width + (where >> 3), masks)


def _fill(
    own: np.ndarray, target: np.ndarray, codes: tuple[np.ndarray, np.ndarray], at, lengths, docs
) -> None:
    """Set the bits of a set's kept bitmaps `own` from postings (runs of
    postings_table.Table: the documents of each term `at`, ascending): each
    term's row `target[at]` (-1: not wanted), each document's word and bit
    in the row `codes` (Tally._codes). A term's words ascend as its
    documents do, so the bits of one word of a row come one after another:
    they are joined by one reduceat, and each word written once."""
    rows = target[at]
    wanted = rows >= 0
    if not wanted.all():
        docs = docs[np.repeat(wanted, lengths)]
        rows, lengths = rows[wanted], lengths[wanted]
    if not docs.size:
        return
    word_of, bit_of = codes
    word = np.repeat(rows * own.shape[1], lengths) + word_of[docs]
    heads = np.concatenate(([0], np.flatnonzero(word[1:] != word[:-1]) + 1))
    flat = own.reshape(-1)
    flat[word[heads]] |= np.bitwise_or.reduceat(bit_of[docs], heads)


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
