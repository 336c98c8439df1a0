"""The debriefs discovery reads for candidates: spread over the subset like
a random sample, and the same after a debrief is added or taken out but for
at most one, so that discovery after a change reads what it read before."""

from kb.themes.discovery import _sample


def test_the_sample_is_spread_over_the_whole_set():
    ids = list(range(1, 20_001))
    sample = _sample(ids, 2000)
    assert len(sample) == len(set(sample)) == 2000
    assert sample == sorted(sample) and set(sample) <= set(ids)
    # About a tenth in each tenth of the set.
    for tenth in range(10):
        inside = [i for i in sample if tenth * 2000 < i <= (tenth + 1) * 2000]
        assert 150 <= len(inside) <= 250, (tenth, len(inside))


def test_a_debrief_added_or_taken_out_changes_at_most_one_debrief_of_the_sample():
    ids = list(range(1, 20_001, 3))
    before = _sample(ids, 500)
    for changed in (ids + [60_001], ids[:100] + ids[101:], [7, *ids]):
        after = _sample(sorted(changed), 500)
        assert len(after) == 500
        assert len(set(before) - set(after)) <= 1


def test_a_set_no_larger_than_the_sample_is_read_whole():
    assert _sample([3, 5, 9], 3) == [3, 5, 9]
    assert _sample([], 10) == []
