"""What a set of debriefs says, section by section, and the names it is
filed under, read from the index's per-segment sequence tables
(kb.search.sequences) rather than from each debrief's analysed text: the
words said in a section of one of them; every sequence of two to four words
within one section whose adjacent pairs are all among given ones; and how
many of them have a word or phrase in a name (the deal's name, the account,
a competitor, the interviewee's role), over every debrief of the set at once.

A segment's tables are written by the first process that needs them, from
the debriefs' sections and names in the database, analysed as the index
analyses them; their term numbers are those of the segment's `text` term
table.
"""

from itertools import compress
from pathlib import Path

import numpy as np

from kb.search import sequences, termtable
from kb.search.analysis import PAIR_SEPARATOR, analyse
from kb.themes.exclusions import Exclusions
from kb.themes.tallies import PAIRS, TEXT, Tally, docnums
from kb.themes.terms import CHUNK, names, sections

# Three pair numbers are coded in one int64 below this many pairs.
WIDE = 2_000_000
# Words of four-word names coded in one int64 below this many distinct words.
NAME_WORDS = 55_000


def _sections(ids: list[int]) -> dict[int, list[str]]:
    return {i: [s.text for s in found] for i, found in sections(ids).items()}


READERS = {"sections": _sections, "names": names}


def _rows(read, debrief_ids, offset: int, size: int, terms: termtable.Table):
    """Each document's sections (or names) as term numbers, in document order."""
    for start in range(0, size, CHUNK):
        ids = [debrief_ids[offset + d] for d in range(start, min(size, start + CHUNK))]
        texts = read([i for i in ids if i >= 0])
        analysed = {i: [analyse(text) for text in found] for i, found in texts.items()}
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
        # (sections table, names table, text term table, local document numbers)
        self._parts = []
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
        folders = {data.folder for data, _, _ in snap.view.leaves}
        if len(folders) == 1 and isinstance(next(iter(folders)), Path):
            sequences.forget(next(iter(folders)), kept)
        self._words: set[str] | None = None
        self._named: list | None = None
        # The last phrases read (phrases): cut-off, exclusions, phrases, least pair counts.
        self._phrases: tuple | None = None

    def available(self) -> bool:
        return self._available

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
        """Every sequence of two to four words within one section of one of
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
        """The sequences of two to four words within one section of one of
        the documents whose adjacent pairs are each in `least` of them or
        more (by `tally`, the same documents' exact counts), that `left`
        keeps (Exclusions.keeps), each once, in no particular order.

        Asked again with a cut-off as high or higher (and the same
        exclusions), the sequences read last time hold every one that can
        pass it: those whose least frequent pair reaches it are kept,
        without reading the tables again."""
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
                for n, part in enumerate(_segment(table, local, terms.terms, numbers, places)):
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
            self._named = [_named(table, local) for _, table, _, local in self._parts]
        if None in self._named:
            return None
        found = np.zeros(len(grams), np.int64)
        if not grams:
            return []
        words = list({t for gram in grams for t in gram})
        for (_, _, terms, _), (vocabulary, codes, counts) in zip(
            self._parts, self._named, strict=True
        ):
            if not codes.size:
                continue
            numbers = terms.lookup(words)
            at = np.minimum(np.searchsorted(vocabulary, numbers), max(0, vocabulary.size - 1))
            known = (numbers >= 0) & (vocabulary[at] == numbers)
            compact = dict(zip(words, np.where(known, at + 1, 0).tolist(), strict=True))
            base = vocabulary.size + 1
            wanted = np.zeros(len(grams), np.int64)
            for i, gram in enumerate(grams):
                code = 0
                for t in gram:
                    if not compact[t]:
                        code = -1
                        break
                    code = code * base + compact[t]
                wanted[i] = code
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
        """Each key's place, -1 for a key not among them."""
        if self._dense is not None:
            # The last place is no key's: a larger key reads it.
            return self._dense[np.minimum(keys, self._dense.size - 1)].astype(np.int64)
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


def _segment(table, local: np.ndarray, count: int, numbers: np.ndarray, places: np.ndarray):
    """One segment's distinct sequences of two, three and four words within
    a section of these documents (local numbers) whose adjacent pairs are
    all among `places` (pairs of places of words, whose term numbers in the
    segment are `numbers`, -1 for a word it lacks), as rows of places."""
    empty = [np.zeros((0, n), np.int64) for n in (2, 3, 4)]
    pair = numbers[places]
    known = (pair[:, 0] >= 0) & (pair[:, 1] >= 0)
    keys = _distinct(pair[known, 0] * count + pair[known, 1])
    if not keys.size:
        return empty
    # The place of each word's term number.
    place_of = np.full(count + 1, -1, np.int64)
    present = np.flatnonzero(numbers >= 0)
    place_of[numbers[present]] = present
    # A sequence is coded by the numbers of its pairs in `keys`.
    width = keys.size
    wide = width >= WIDE
    seen = np.zeros(width, bool)
    # The words that start and those that end a wanted pair: most places
    # are neither, and are passed over before any search. A break (-1) or
    # a missing term (-2) reads as one of the last two: no pair's.
    starting = np.zeros(count + 2, bool)
    ending = np.zeros(count + 2, bool)
    starting[keys // count] = True
    ending[keys % count] = True
    place = _Places(keys)
    threes, fours = [], []
    for entries in table.rows(local):
        at = np.flatnonzero(starting[entries[:-1]] & ending[entries[1:]])
        slot = place.of(entries[at].astype(np.int64) * count + entries[at + 1])
        hit = slot >= 0
        # Where a wanted pair starts, in order, and its number in `keys`.
        at, slot = at[hit], slot[hit]
        seen[slot] = True
        # Wanted pairs at consecutive places make a sequence of three
        # words; three in a row, one of four.
        follows = at[1:] == at[:-1] + 1
        starts = np.flatnonzero(follows)
        if not starts.size:
            continue
        # Of those of three words, only the last of each run of wanted pairs
        # starts no four: the others are read from the fours.
        last = follows.copy()
        last[:-1] &= ~follows[1:]
        starts = np.flatnonzero(last)
        threes.append(_distinct(slot[starts] * width + slot[starts + 1]))
        starts = np.flatnonzero(follows[:-1] & follows[1:])
        if starts.size:
            first, second, third = slot[starts], slot[starts + 1], slot[starts + 2]
            if wide:
                fours.append(np.unique(np.stack([first, second, third], 1), axis=0))
            else:
                fours.append(_distinct((first * width + second) * width + third))
    pairs_at = np.flatnonzero(seen)
    found = [np.stack([keys[pairs_at] // count, keys[pairs_at] % count], 1)]
    four_rows = empty[2]
    if fours:
        if wide:
            coded = np.unique(np.concatenate(fours), axis=0).T
        else:
            coded = _distinct(np.concatenate(fours))
            coded = (coded // (width * width), coded // width % width, coded % width)
        # The first three words of each four.
        threes.append(coded[0] * width + coded[1])
        first, second, third = (keys[c] for c in coded)
        four_rows = np.stack([first // count, first % count, second % count, third % count], 1)
    if threes:
        coded = _distinct(np.concatenate(threes))
        first, second = keys[coded // width], keys[coded % width]
        found.append(np.stack([first // count, first % count, second % count], 1))
    else:
        found.append(empty[1])
    found.append(four_rows)
    return [place_of[part] for part in found]


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
    if base**4 * documents < 1 << 63:
        # A phrase and a document in one number: one sort.
        both = _distinct(code * documents + holder)
        return vocabulary, *_runs(both // documents)
    order = np.lexsort((holder, code))
    code, holder = code[order], holder[order]
    first = np.ones(code.size, bool)
    first[1:] = (code[1:] != code[:-1]) | (holder[1:] != holder[:-1])
    codes, counts = _distinct(code[first], counts=True)
    return vocabulary, codes, counts


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted 1-d array, and how often each is there."""
    first = np.ones(values.size, bool)
    np.not_equal(values[1:], values[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return values[starts], np.diff(np.append(starts, values.size))
