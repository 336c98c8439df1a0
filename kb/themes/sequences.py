"""What a set of debriefs says, section by section, and the names it is
filed under, read from the index's per-segment sequence tables
(kb.search.sequences) rather than from each debrief's analysed text: the
words said in a section of one of them; every sequence of two to four words
within one clause whose adjacent pairs are all among given ones; and how
many of them have a word or phrase in a name (the deal's name, the account,
a competitor, the interviewee's role), over every debrief of the set at once.

A segment's tables are written by the first process that needs them, from
the debriefs' sections and names in the database, analysed as the index
analyses them; their term numbers are those of the segment's `text` term
table.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import compress
from pathlib import Path

import numpy as np

from kb.search import sequences, termtable
from kb.search.analysis import PAIR_SEPARATOR, analyse, clauses
from kb.themes.exclusions import Exclusions
from kb.themes.tallies import PAIRS, TEXT, Tally, docnums
from kb.themes.terms import CHUNK, names, sections

# Words of four-word names coded in one int64 below this many distinct words.
NAME_WORDS = 55_000
# Threads that read a large segment's documents at once (see _segment; at
# most os.cpu_count()): one. Two would halve the reading on an idle machine
# of two processors, but on a busy one each waits on the other for the
# interpreter at every step, and the reading takes longer than in one.
THREADS = 1


def _clauses(ids: list[int]) -> dict[int, list[list[str]]]:
    """Each debrief's sections, clause by clause (kb.themes.terms.Terms)."""
    return {
        i: [clause for s in found for clause in clauses(s.text)]
        for i, found in sections(ids).items()
    }


def _names(ids: list[int]) -> dict[int, list[list[str]]]:
    return {i: [analyse(name) for name in found] for i, found in names(ids).items()}


# Each debrief's analysed clauses (or names), by id.
READERS = {"sections": _clauses, "names": _names}


def _rows(read, debrief_ids, offset: int, size: int, terms: termtable.Table):
    """Each document's clauses (or names) as term numbers, in document order."""
    for start in range(0, size, CHUNK):
        ids = [debrief_ids[offset + d] for d in range(start, min(size, start + CHUNK))]
        analysed = read([i for i in ids if i >= 0])
        distinct = list({t for found in analysed.values() for words in found for t in words})
        numbers = terms.lookup(distinct)
        numbers[numbers < 0] = sequences.MISSING
        number = dict(zip(distinct, numbers.tolist(), strict=True))
        for debrief_id in ids:
            found = analysed.get(debrief_id, ())
            yield [[number[t] for t in words] for words in found if words]


class Said:
    """The sections and names of one set of documents (live ones: a bitmap
    of the view)."""

    def __init__(self, snap, bits: int):
        docs = docnums(bits)
        self._docs = docs
        # (sections table, names table, text term table, local document numbers)
        self._parts = []
        self._offsets: list[int] = []  # each part's segment's first document in the view
        self._available = True
        kept = set()
        for data, reader, offset in snap.view.leaves:
            kept.add(data.segment_id)
            low, high = np.searchsorted(docs, (offset, offset + data.size))
            if high <= low:
                continue
            terms = data.term_table(reader, TEXT)
            tables = [None, None]
            if terms is not None:
                for n, kind in enumerate(sequences.KINDS):
                    tables[n] = sequences.table(
                        data.folder,
                        data.segment_id,
                        kind,
                        data.size,
                        lambda kind=kind, offset=offset, size=data.size, terms=terms: _rows(
                            READERS[kind], snap.debrief_ids, offset, size, terms
                        ),
                    )
            if None in tables:
                self._available = False
                self._parts = []
                break
            self._parts.append((*tables, terms, docs[low:high] - offset))
            self._offsets.append(offset)
        folders = {data.folder for data, _, _ in snap.view.leaves}
        if len(folders) == 1 and isinstance(next(iter(folders)), Path):
            sequences.forget(next(iter(folders)), kept)
        self._words: set[str] | None = None
        self._named: list | None = None
        # The last phrases read (phrases): cut-off, exclusions, phrases, least pair counts.
        self._phrases: tuple | None = None
        # Discovery reads a set's phrases and names in a thread of its own
        # while it counts (read_ahead): what is read is read once.
        self._reading = threading.Lock()

    def read_ahead(self, tally: Tally, least: int, left: Exclusions) -> None:
        """Read what `phrases` (at this cut-off) and `in_names` will be asked."""
        self.in_names([])
        self.phrases(tally, least, left)

    def available(self) -> bool:
        return self._available

    def analysed(self, debrief_ids: list[int], owners) -> dict[int, tuple[tuple[str, ...], ...]]:
        """The sections of these debriefs of the set as index terms (what
        kb.themes.terms.TermCache.terms reads from the database and analyses),
        spelt from the sections table, for those whose every term the
        segment's term table has (the others are left out: a term it lacks
        cannot be spelt). Sections without terms are not kept. `owners`:
        the debrief id of each document of the view."""
        docs = self._docs
        held = np.asarray(owners, np.int64)[docs]
        order = np.argsort(held, kind="stable")
        wanted = np.asarray(debrief_ids, np.int64)
        at = np.minimum(np.searchsorted(held[order], wanted), max(0, docs.size - 1))
        found = docs.size > 0
        if found:
            hit = held[order[at]] == wanted
            asked = np.sort(docs[order[at[hit]]])
        out: dict[int, tuple[tuple[str, ...], ...]] = {}
        if not found or not asked.size:
            return out
        for (table, _, terms, local), offset in zip(self._parts, self._offsets, strict=True):
            if not local.size:
                continue
            low, high = np.searchsorted(asked, (offset, offset + int(local[-1]) + 1))
            part = asked[low:high] - offset
            if not part.size:
                continue
            entries = np.concatenate([*table.rows(part), np.zeros(0, np.int32)])
            lengths = (table.offsets[part + 1] - table.offsets[part]).astype(np.int64)
            numbers = np.unique(entries[entries >= 0])
            spelt = np.array([*terms.terms_of(numbers.tolist()), ""], dtype=object)
            words = spelt[np.where(entries >= 0, np.searchsorted(numbers, entries), -1)]
            # How many terms of each document the term table lacks.
            owner = np.repeat(np.arange(part.size), lengths)
            lacking = np.bincount(owner[entries == sequences.MISSING], minlength=part.size)
            # Every row ends with BREAK: each section runs from the entry
            # after one break (or the row's first) to the next.
            ends = np.flatnonzero(entries < 0)
            starts = np.concatenate(([0], ends[:-1] + 1))
            flat = words.tolist()
            found: list[list[tuple[str, ...]]] = [[] for _ in range(part.size)]
            for doc, start, end in zip(
                owner[ends].tolist(), starts.tolist(), ends.tolist(), strict=True
            ):
                if end > start:
                    found[doc].append(tuple(flat[start:end]))
            for doc, sections_of, missing in zip(
                part.tolist(), found, lacking.tolist(), strict=True
            ):
                if not missing:
                    out[int(owners[doc + offset])] = tuple(sections_of)
        return out

    def words(self) -> set[str]:
        """Every word said in a section of one of the documents."""
        if self._words is None:
            found: set[str] = set()
            for table, _, terms, local in self._parts:
                seen = np.zeros(terms.terms + 1, bool)
                for entries in table.rows(local):
                    seen[entries[entries >= 0]] = True
                found.update(terms.terms_of(np.flatnonzero(seen)))
            self._words = found
        return self._words

    def sequences(self, pairs, left: Exclusions | None = None) -> set[tuple[str, ...]]:
        """Every sequence of two to four words within one clause of one of
        the documents whose adjacent pairs are all in `pairs` (word pairs as
        "first second" terms of the index); without those `left` leaves out
        (Exclusions.keeps)."""
        words, _, rows = self._read(list(pairs))
        if left is not None:
            rows = [
                part[keep] for part, keep in zip(rows, left.kept_rows(words, rows), strict=True)
            ]
        return set(_tuples(words, rows))

    def phrases(self, tally: Tally, least: int, left: Exclusions) -> list[tuple[str, ...]]:
        """The sequences of two to four words within one clause of one of
        the documents whose adjacent pairs are each in `least` of them or
        more (by `tally`, the same documents' exact counts), that `left`
        keeps (Exclusions.keeps), each once, in no particular order.

        Asked again with a cut-off as high or higher (and the same
        exclusions), the sequences read last time hold every one that can
        pass it: those whose least frequent pair reaches it are kept,
        without reading the tables again."""
        with self._reading:
            return self._read_phrases(tally, least, left)

    def _read_phrases(self, tally: Tally, least: int, left: Exclusions) -> list[tuple[str, ...]]:
        last = self._phrases
        if last is not None and last[0] <= least and last[1] == left:
            grams, lowest = last[2], last[3]
            return list(compress(grams, (lowest >= least).tolist()))
        counts = tally.frequent(PAIRS, least)
        words, places, rows = self._read(list(counts))
        rows = [part[keep] for part, keep in zip(rows, left.kept_rows(words, rows), strict=True)]
        # Each phrase's least frequent pair: a phrase is in no more of the
        # documents than that.
        base = max(1, len(words))
        order = np.argsort(places[:, 0] * base + places[:, 1])
        codes = (places[:, 0] * base + places[:, 1])[order]
        count = np.fromiter(counts.values(), np.int64, len(counts))[order]
        lowest = [
            np.min(
                [
                    count[np.searchsorted(codes, part[:, i] * base + part[:, i + 1])]
                    for i in range(part.shape[1] - 1)
                ],
                axis=0,
            )
            for part in rows
        ]
        grams = _tuples(words, rows)
        lowest = np.concatenate(lowest) if lowest else np.zeros(0, np.int64)
        self._phrases = (least, left, grams, lowest)
        return grams

    def _read(self, pairs: list[str]) -> tuple[list[str], np.ndarray, list[np.ndarray]]:
        """The words of `pairs` (word pairs as "first second" terms of the
        index), each pair as the places of its two words among them, and
        every distinct sequence of two, three and four words within one
        section of one of the documents whose adjacent pairs are all among
        them, as rows of the places of its words (an array per length).

        Each segment's sequences are found in term numbers and given in the
        pairs' words' places, so that those of all segments are made
        distinct in arrays, before any is spelt."""
        # Split at once (a list each would be as many objects to collect).
        spelt = PAIR_SEPARATOR.join(pairs).split(PAIR_SEPARATOR) if pairs else []
        words = {word: i for i, word in enumerate(dict.fromkeys(spelt))}
        places = np.fromiter(map(words.__getitem__, spelt), np.int64, len(spelt))
        places = places.reshape(len(pairs), 2)
        found: list[list[np.ndarray]] = [[], [], []]
        if pairs:
            hashed = termtable.hashes(list(words))
            for table, _, terms, local in self._parts:
                numbers = terms.lookup(hashed[0], hashed)
                found_here = _segment(table, local, terms.terms, numbers, places, THREADS)
                for n, part in enumerate(found_here):
                    if part.size:
                        found[n].append(part)
        rows = [
            _distinct_rows(np.concatenate(parts), len(words))
            if parts
            else np.zeros((0, n + 2), np.int64)
            for n, parts in enumerate(found)
        ]
        return list(words), places, rows

    def in_names(self, grams: list[tuple[str, ...]]) -> list[int] | None:
        """How many of the documents have each word or phrase (up to four
        words) within one of their names; None when the names have too many
        distinct words to code their phrases."""
        if self._named is None:
            with self._reading:
                if self._named is None:
                    self._named = [_named(table, local) for _, table, _, local in self._parts]
        if None in self._named:
            return None
        found = np.zeros(len(grams), np.int64)
        if not grams:
            return []
        # Each gram as the places of its words among `words`, one after
        # another, coded below in arrays rather than word by word.
        place = {}
        spelt = [place.setdefault(t, len(place)) for gram in grams for t in gram]
        words = list(place)
        hashed = termtable.hashes(words)
        lengths = np.fromiter(map(len, grams), np.int64, len(grams))
        starts = np.cumsum(lengths) - lengths
        spelt = np.array(spelt, np.int64)
        # Longer than any phrase of a name: in none.
        longest = min(int(lengths.max()), 5)
        for (_, _, terms, _), (vocabulary, codes, counts) in zip(
            self._parts, self._named, strict=True
        ):
            if not codes.size:
                continue
            numbers = terms.lookup(words, hashed)
            at = np.minimum(np.searchsorted(vocabulary, numbers), max(0, vocabulary.size - 1))
            known = (numbers >= 0) & (vocabulary[at] == numbers)
            compact = np.where(known, at + 1, 0)[spelt]
            base = vocabulary.size + 1
            wanted = np.zeros(len(grams), np.int64)
            missing = lengths > 4
            for n in range(longest):
                longer = np.flatnonzero((lengths > n) & ~missing)
                word = compact[starts[longer] + n]
                wanted[longer] = wanted[longer] * base + word
                missing[longer[word == 0]] = True
            wanted[missing] = -1
            slot = np.minimum(np.searchsorted(codes, wanted), codes.size - 1)
            hit = (codes[slot] == wanted) & (wanted > 0)
            found[hit] += counts[slot[hit]]
        return found.tolist()


class _Places:
    """The place of each of these distinct non-negative keys in their array,
    found for millions of keys at once through a hash table (open
    addressing, a quarter full or less; small enough to stay in cache):
    nearly every place of a section is looked up, and a binary search of
    each took most of the reading. Keys below DENSE (a segment of few
    distinct terms) are looked up directly in an array of every key's
    place instead."""

    MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
    DENSE = 1 << 22

    def __init__(self, keys: np.ndarray):
        self._dense = None
        if keys.size and int(keys.max()) < self.DENSE:
            self._dense = np.full(int(keys.max()) + 2, -1, np.int32)
            self._dense[keys] = np.arange(keys.size, dtype=np.int32)
            return
        bits = max(4, int(keys.size * 4 - 1).bit_length())
        self._shift = np.uint64(64 - bits)
        self._mask = (1 << bits) - 1
        self._keys = np.full(1 << bits, -1, np.int64)
        self._places = np.zeros(1 << bits, np.int64)
        todo = np.arange(keys.size)
        at = self._slots(keys)
        while todo.size:
            # Of the keys wanting a free slot, the first of each slot takes it.
            free = self._keys[at] < 0
            wanted, slots = todo[free], at[free]
            _, first = np.unique(slots, return_index=True)
            self._keys[slots[first]] = keys[wanted[first]]
            self._places[slots[first]] = wanted[first]
            placed = np.zeros(keys.size, bool)
            placed[wanted[first]] = True
            left = ~placed[todo]
            todo, at = todo[left], (at[left] + 1) & self._mask

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        hashed = keys.view(np.uint64) * self.MULTIPLIER
        hashed >>= self._shift
        return hashed.view(np.int64)

    def of(self, keys: np.ndarray) -> np.ndarray:
        """Each key's place, -1 for a key not among them (int32 or int64)."""
        if self._dense is not None:
            # The last place is no key's: a larger key reads it.
            return self._dense[np.minimum(keys, self._dense.size - 1)]
        keys = np.ascontiguousarray(keys, np.int64)
        at = self._slots(keys)
        there = self._keys[at]
        same = there == keys
        found = np.where(same, self._places[at], -1)
        # A free slot ends the search; a key of another goes on to the next.
        todo = np.flatnonzero(~same & (there >= 0))
        at = at[todo]
        while todo.size:
            at = (at + 1) & self._mask
            there = self._keys[at]
            same = there == keys[todo]
            found[todo[same]] = self._places[at[same]]
            left = ~same & (there >= 0)
            todo, at = todo[left], at[left]
        return found


def _distinct(values: np.ndarray, counts: bool = False):
    """The distinct values of a 1-d array of integers, ascending (and how
    often each is there): np.unique's answer, by sorting, which for the
    millions of codes read here is many times quicker than its hashing."""
    values = np.sort(values)
    first = np.ones(values.size, bool)
    np.not_equal(values[1:], values[:-1], out=first[1:])
    if not counts:
        return values[first]
    starts = np.flatnonzero(first)
    return values[starts], np.diff(np.append(starts, values.size))


class _Gathered:
    """The distinct values of the non-negative integers of arrays given in
    turn (a segment's chunks), in no particular order. Each value is put in
    a hash table, at the slot its hash names when that is free (a value
    there is never replaced), so that only those whose slot another value
    holds are sorted to be made distinct: nearly every sequence read here
    is said many times over, and sorting every time it is said took most
    of the reading."""

    # Fibonacci hashing: the top bits of the value times 2^w / φ.
    MULTIPLIERS = {4: np.uint32(0x9E3779B9), 8: np.uint64(0x9E3779B97F4A7C15)}
    # Of slots: small enough to stay in cache; large enough that few of
    # the distinct values of a large segment find their slot taken.
    BITS = 18

    def __init__(self, expected: int, dtype=np.int64):
        bits = min(self.BITS, max(10, int(expected).bit_length()))
        self._table = np.full(1 << bits, -1, dtype)
        size = self._table.itemsize
        self._unsigned = np.dtype(f"u{size}")
        self._multiplier = self.MULTIPLIERS[size]
        self._shift = self._unsigned.type(8 * size - bits)
        self._rest: list[np.ndarray] = []

    def add(self, values: np.ndarray) -> None:
        if values.size:
            values, _, lost = self._place(values)
            if lost.any():
                self._rest.append(_distinct(values[lost]))

    def _place(self, values: np.ndarray):
        """Put the values in the table; gives them (of the table's type),
        their slots, and which of them another value's slot holds."""
        table = self._table
        size = table.itemsize
        values = np.ascontiguousarray(values, table.dtype)
        at = values.view(self._unsigned) * self._multiplier
        at >>= self._shift
        # (Signed, and as wide as an index: read as it is.)
        at = at.view(np.int64) if size == 8 else at.view(np.int32).astype(np.intp)
        there = table[at]
        lost = there != values
        free = np.flatnonzero(there < 0)
        if free.size:
            # Of the values wanting one free slot, one takes it; the others
            # find it held by another.
            wanted, wanting = at[free], values[free]
            table[wanted] = wanting
            lost[free] = table[wanted] != wanting
        return values, at, lost

    def values(self) -> np.ndarray:
        table = self._table
        held = table[table >= 0]
        if not self._rest:
            return held
        return np.concatenate([held, _distinct(np.concatenate(self._rest))])


def _segment(
    table, local: np.ndarray, count: int, numbers: np.ndarray, places: np.ndarray, threads: int = 1
):
    """One segment's distinct sequences of two, three and four words within
    a section of these documents (local numbers) whose adjacent pairs are
    all among `places` (pairs of places of words, whose term numbers in the
    segment are `numbers`, -1 for a word it lacks), as rows of places (in
    no particular order). The documents of a large segment are read in as
    many `threads` as it has chunks for (numpy's work on the chunks' arrays
    lets the others run)."""
    empty = [np.zeros((0, n), np.int64) for n in (2, 3, 4)]
    pair = numbers[places]
    known = (pair[:, 0] >= 0) & (pair[:, 1] >= 0)
    keys = _distinct(pair[known, 0] * count + pair[known, 1])
    if not keys.size or not local.size:
        return empty
    # The place of each word's term number.
    place_of = np.full(count + 1, -1, np.int64)
    present = np.flatnonzero(numbers >= 0)
    place_of[numbers[present]] = present
    scan = _Scan(table, count, keys)
    pieces = -(-local.size // sequences.CHUNK)
    threads = max(1, min(threads, pieces, os.cpu_count() or 1))
    if threads > 1:
        # Whole chunks to each thread.
        per = -(-pieces // threads) * sequences.CHUNK
        with ThreadPoolExecutor(threads) as pool:
            parts = list(
                pool.map(scan, [local[start : start + per] for start in range(0, local.size, per)])
            )
    else:
        parts = [scan(local)]
    seen, threes, fours = parts[0]
    for other_seen, other_threes, other_fours in parts[1:]:
        seen |= other_seen
        threes.add(other_threes.values())
        fours.add(other_fours.values())
    width = keys.size
    coded = fours.values().astype(np.int64)
    first, third = keys[coded // width], keys[coded % width]
    if coded.size:
        # The first three words of each four: its first pair, and the
        # pair of its second and third words.
        second = scan.place.of((first % count) * count + third // count)
        threes.add(coded // width * width + second)
    four_rows = np.stack([first // count, first % count, third // count, third % count], 1)
    coded = threes.values().astype(np.int64)
    # Each pair of a sequence of three words is there; those in none are
    # marked as read.
    seen[coded // width] = True
    seen[coded % width] = True
    first, second = keys[coded // width], keys[coded % width]
    pairs_at = np.flatnonzero(seen)
    found = [
        np.stack([keys[pairs_at] // count, keys[pairs_at] % count], 1),
        np.stack([first // count, first % count, second % count], 1),
        four_rows,
    ]
    return [place_of[part] for part in found]


class _Scan:
    """Reads the wanted pairs of a segment (`keys`: the pairs' term numbers,
    coded first * count + second, ascending) and the sequences they make
    in the rows of some of its documents."""

    def __init__(self, table, count: int, keys: np.ndarray):
        self.table, self.count, self.keys = table, count, keys
        # Whether each term starts (1) or ends (2) a wanted pair: most
        # places are neither, and are passed over before any search. A
        # break (-1) or a missing term (-2) reads as one of the last two:
        # no pair's.
        self.marks = np.zeros(count + 2, np.uint8)
        self.marks[keys // count] |= 1
        self.marks[keys % count] |= 2
        self.place = _Places(keys)

    def __call__(self, local: np.ndarray):
        """Of these documents: a mark for each pair of `keys` said apart
        from any sequence of three words; their distinct sequences of three
        words, coded by the numbers of their pairs in `keys` (first * width
        + second); and those of four, coded by their first and last pairs."""
        table, count, marks, place = self.table, self.count, self.marks, self.place
        width = self.keys.size
        seen = np.zeros(width, bool)
        said = int((table.offsets[local + 1] - table.offsets[local]).sum())
        # Codes in 32 bits where they fit: half the memory to go through.
        pair_type = _fitting(count * count)
        code_type = _fitting(width * width)
        threes = _Gathered(said, code_type)
        fours = _Gathered(said, code_type)
        for entries in table.rows(local):
            flags = marks[entries]
            at = np.flatnonzero((flags[:-1] & (flags[1:] >> 1)).view(bool))
            # (Coded at every place at once: quicker than gathering twice.)
            coded = entries[:-1].astype(pair_type) * count + entries[1:]
            slot = place.of(coded[at])
            hit = slot >= 0
            # Where a wanted pair starts, in order, and its number in `keys`.
            at, slot = at[hit], slot[hit].astype(code_type, copy=False)
            # Wanted pairs at consecutive places make a sequence of three
            # words; three in a row, one of four.
            follows = at[1:] == at[:-1] + 1
            alone = np.ones(at.size, bool)
            alone[1:] = ~follows
            alone[:-1] &= ~follows
            seen[slot[alone]] = True
            if not follows.any():
                continue
            # Of those of three words, only the last of each run of wanted
            # pairs starts no four: the others are read from the fours.
            four = follows[:-1] & follows[1:]
            last = follows.copy()
            last[:-1] &= ~follows[1:]
            threes.add((slot[:-1] * width + slot[1:])[last])
            if four.any():
                fours.add((slot[:-2] * width + slot[2:])[four])
        return seen, threes, fours


def _fitting(largest: int):
    """The narrower integer type that holds values up to `largest`."""
    return np.int32 if largest < 1 << 31 else np.int64


def _distinct_rows(rows: np.ndarray, base: int) -> np.ndarray:
    """The distinct rows of a 2-d array of integers in [0, base), in order."""
    n = rows.shape[1]
    if base**n >= 1 << 63:
        return np.unique(rows, axis=0)
    code = rows[:, 0].copy()
    for i in range(1, n):
        code = code * base + rows[:, i]
    code = _distinct(code)
    out = np.empty((code.size, n), np.int64)
    for i in range(n - 1, -1, -1):
        code, out[:, i] = np.divmod(code, base)
    return out


def _tuples(words: list[str], rows: list[np.ndarray]) -> list[tuple[str, ...]]:
    """Rows of places in `words` as tuples of the words."""
    spelt = np.array(words, dtype=object)
    out: list[tuple[str, ...]] = []
    for part in rows:
        if part.size:
            out += zip(*spelt[part.T].tolist())  # noqa: B905  (columns of one length)
    return out


def _named(table: sequences.Table, local: np.ndarray):
    """Every word and phrase of up to four words within one name of these
    documents, coded by the words' places in the names' vocabulary (1 on),
    sorted, with the number of documents that have each."""
    parts, docs = [], []
    for start in range(0, local.size, sequences.CHUNK):
        part = local[start : start + sequences.CHUNK]
        entries = next(table.rows(part), None)
        if entries is not None:
            parts.append(entries)
            lengths = table.offsets[part + 1] - table.offsets[part]
            docs.append(np.repeat(np.arange(start, start + part.size), lengths))
    if not parts:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    entries = np.concatenate(parts).astype(np.int64)
    doc = np.concatenate(docs)
    # The distinct terms, marked rather than sorted, and each one's place.
    there = np.zeros(int(entries.max(initial=-1)) + 2, bool)
    there[entries[entries >= 0]] = True
    vocabulary = np.flatnonzero(there)
    base = vocabulary.size + 1
    if base >= NAME_WORDS:
        return None
    # 0 for a break (or a term the segment lacks, read as the last, unmarked
    # place): no phrase goes across it.
    place = np.cumsum(there)
    place[~there] = 0
    compact = place[np.where(entries >= 0, entries, there.size - 1)]
    codes, holders = [], []
    code = compact.copy()
    valid = compact > 0
    for n in range(1, 5):
        if n > 1:
            code = code[:-1] * base + compact[n - 1 :]
            valid = valid[:-1] & (compact[n - 1 :] > 0)
        at = np.flatnonzero(valid)
        codes.append(code[at])
        holders.append(doc[at])
    code, holder = np.concatenate(codes), np.concatenate(holders)
    # One count per document that has it, however often.
    documents = max(1, local.size)
    top = base**4
    if top * documents < 1 << 63:
        # A document and a phrase in one number, the document first: read
        # in the order of documents (each length's phrases), they are out
        # of order only within a document, which a merging sort takes
        # quickly. The phrases are then counted in a hash table.
        both = np.sort(holder * top + code, kind="stable")
        first = np.ones(both.size, bool)
        np.not_equal(both[1:], both[:-1], out=first[1:])
        return vocabulary, *_counted(both[first] % top)
    order = np.lexsort((holder, code))
    code, holder = code[order], holder[order]
    first = np.ones(code.size, bool)
    first[1:] = (code[1:] != code[:-1]) | (holder[1:] != holder[:-1])
    codes, counts = _distinct(code[first], counts=True)
    return vocabulary, codes, counts


def _counted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a 1-d array of non-negative integers,
    ascending, and how often each is there: counted in a hash table (see
    _Gathered) rather than by sorting them all, when they are many times
    fewer than the values."""
    if not values.size:
        return values, np.zeros(0, np.int64)
    gathered = _Gathered(values.size)
    values, at, lost = gathered._place(values)
    inside = gathered._table >= 0
    distinct = [gathered._table[inside]]
    counts = [np.bincount(at[~lost], minlength=inside.size)[inside]]
    if lost.any():
        others, times = _distinct(values[lost], counts=True)
        distinct.append(others)
        counts.append(times)
    distinct, counts = np.concatenate(distinct), np.concatenate(counts)
    order = np.argsort(distinct)
    return distinct[order], counts[order]


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted 1-d array, and how often each is there."""
    first = np.ones(values.size, bool)
    np.not_equal(values[1:], values[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return values[starts], np.diff(np.append(starts, values.size))
