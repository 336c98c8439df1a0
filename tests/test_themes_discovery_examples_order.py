"""Two identical discoveries in one process pick the same example quotes,
whatever the term cache kept in between: examples come from the first
debriefs of the sample, in the order of their ids, that have the phrase,
never in the order the cache happens to return them (those it kept first,
then those it read)."""

from datetime import date, timedelta

ANCHOR = date(2026, 6, 30)


def _examples(found) -> dict:
    return {
        kind: [(f.terms, f.phrase, [e.debrief_id for e in f.examples]) for f in findings]
        for kind, findings in (
            ("words", found.words),
            ("phrases", found.phrases),
            ("emerging", found.emerging),
        )
    }


def test_examples_do_not_depend_on_what_the_term_cache_kept(app):
    from kb import search
    from kb.demo.generator import generate
    from kb.extensions import db
    from kb.themes import discovery, engine
    from kb.themes.terms import TermCache

    generate(600, seed=7, echo=None, anchor=ANCHOR)
    search.reindex()
    db.session.commit()
    app.config["KB_THEME_CACHE"] = False  # compute both, not the first again
    snap = engine.snapshot()
    filters = {"date_from": (ANCHOR - timedelta(days=200)).isoformat()}

    def discover(cache: TermCache):
        return discovery.discover(snap, cache, "", filters, "previous", 1, today=ANCHOR, sample=60)

    first = discover(TermCache())
    # A cache that already holds every other debrief of the subset (as after
    # other discoveries or a read of some of its debriefs): read in another
    # order, the same sample.
    ids = sorted(snap.debriefs_of(snap.match("", filters).bits))
    warm = TermCache()
    warm.terms(ids[1::2])
    second = discover(warm)

    assert first.subset_size > 60
    assert first.emerging and any(f.examples for f in first.emerging)
    assert _examples(second) == _examples(first)
