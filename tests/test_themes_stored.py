"""The themes overview's figures are computed once per machine, by the
process that runs its indexer, and stored beside the index: another worker
(a second app, with caches of its own) shows them without computing, shows
their "as of" time while they lag a change, and fresh figures follow every
kind of change within the indexer's next pass."""

import time

import pytest

from kb import create_app
from kb.admin import service as admin
from kb.auth.service import create_token
from kb.extensions import db
from kb.models import Competitor
from kb.themes import discovery, engine, figures, service, stored, stored_discoveries
from tests.conftest import PASSWORD

CLIFF = "The renewal cliff scared their CFO."


def cliff_debriefs(make_debrief, author, count: int) -> None:
    for _ in range(count):
        make_debrief(author, quotes=[{"text": CLIFF}])


def make_theme(user, name: str, query: str):
    payload = {"name": name, "query": query, "status": "tracked"}
    return service.save_theme(user, service.parse(payload))


@pytest.fixture
def computing(monkeypatch) -> list[str]:
    """Every time a page computes figures or opens the index for them."""
    calls: list[str] = []
    overview, snapshot = figures.overview, engine.snapshot

    def counted_overview(*args, **kwargs):
        calls.append("overview")
        return overview(*args, **kwargs)

    def counted_snapshot(*args, **kwargs):
        calls.append("snapshot")
        return snapshot(*args, **kwargs)

    monkeypatch.setattr(figures, "overview", counted_overview)
    monkeypatch.setattr(engine, "snapshot", counted_snapshot)
    return calls


class Worker:
    """Another web worker of the machine: its own app, so its own caches,
    on the same database and index folder, signed in through the API."""

    def __init__(self, app_config, user, **config):
        self.app = create_app({**app_config, **config})
        token = create_token(db.session.merge(user))
        db.session.commit()
        self.headers = {"Authorization": f"Bearer {token}"}
        self.client = self.app.test_client()

    def figures(self) -> dict[str, dict]:
        response = self.client.get("/api/v1/themes?figures=1", headers=self.headers)
        assert response.status_code == 200
        return {item["name"]: item["figures"] for item in response.json["items"]}

    def page(self, user) -> str:
        self.client.post("/login", data={"email": user.email, "password": PASSWORD})
        response = self.client.get("/themes/")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    def close(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def workers(app_config):
    made: list[Worker] = []

    def make(user, **config) -> Worker:
        made.append(Worker(app_config, user, **config))
        return made[-1]

    yield make
    for worker in made:
        worker.close()


def test_a_fresh_worker_shows_the_stored_figures_without_computing(
    app, users, make_debrief, workers, computing
):
    cliff_debriefs(make_debrief, users.rep, 2)
    make_theme(users.marketing, "Renewal cliff", '"renewal cliff"')
    assert stored.refresh()  # what the indexer's process does after its pass
    assert not stored.refresh()  # nothing changed: nothing computed again
    computing.clear()

    worker = workers(users.marketing)
    shown = worker.figures()["Renewal cliff"]
    assert shown["mentions"] == 2 and shown["as_of"] is None
    assert "Figures as of" not in worker.page(users.marketing)
    assert computing == []  # no figure computed, no index opened


def test_a_new_debrief_shows_as_of_until_the_next_pass_then_fresh_figures(
    app, users, make_debrief, workers, computing
):
    cliff_debriefs(make_debrief, users.rep, 2)
    make_theme(users.marketing, "Renewal cliff", '"renewal cliff"')
    assert stored.refresh()
    worker = workers(users.marketing, KB_SEARCH_INDEXER="external")

    cliff_debriefs(make_debrief, users.rep, 1)  # searchable at once (inline here)
    computing.clear()
    shown = worker.figures()["Renewal cliff"]
    assert shown["mentions"] == 2  # the last good figures, at once...
    assert shown["as_of"] == stored.load().as_of.isoformat()  # ...labelled with their time
    page = worker.page(users.marketing)
    assert "Figures as of " + stored.load().as_of.strftime("%Y-%m-%d %H:%M:%S") in page
    assert computing == []

    assert stored.refresh()
    shown = worker.figures()["Renewal cliff"]
    assert shown["mentions"] == 3 and shown["as_of"] is None
    assert "Figures as of" not in worker.page(users.marketing)


def test_where_no_indexer_recomputes_them_lagging_figures_are_not_used(
    app, users, make_debrief, workers
):
    cliff_debriefs(make_debrief, users.rep, 2)
    make_theme(users.marketing, "Renewal cliff", '"renewal cliff"')
    assert stored.refresh()
    cliff_debriefs(make_debrief, users.rep, 1)
    shown = workers(users.marketing).figures()["Renewal cliff"]  # inline, as in tests
    assert shown["mentions"] == 3 and shown["as_of"] is None


def test_figures_lagging_longer_than_the_limit_are_computed_again(
    app, users, make_debrief, workers
):
    cliff_debriefs(make_debrief, users.rep, 2)
    make_theme(users.marketing, "Renewal cliff", '"renewal cliff"')
    assert stored.refresh()
    cliff_debriefs(make_debrief, users.rep, 1)
    time.sleep(0.01)
    worker = workers(users.marketing, KB_SEARCH_INDEXER="external", KB_THEME_FIGURES_MAX_LAG=0)
    shown = worker.figures()["Renewal cliff"]  # the indexer's process is not keeping them
    assert shown["mentions"] == 3 and shown["as_of"] is None


def test_a_created_or_edited_theme_is_counted_at_once(app, users, make_debrief, workers):
    cliff_debriefs(make_debrief, users.rep, 2)
    make_debrief(users.rep, quotes=[{"text": "Their procurement stalled for months."}])
    theme = make_theme(users.marketing, "Renewal cliff", '"renewal cliff"')
    assert stored.refresh()
    worker = workers(users.marketing, KB_SEARCH_INDEXER="external")

    make_theme(users.marketing, "Stalled", "stalled")
    edited = service.as_input(theme) | {"query": "stalled OR scared"}
    service.save_theme(users.marketing, service.parse(edited), theme)
    shown = worker.figures()
    assert shown["Stalled"]["mentions"] == 1
    assert shown["Renewal cliff"]["mentions"] == 3  # its new query, counted now
    assert shown["Renewal cliff"]["as_of"] is None  # nothing the index holds changed

    assert stored.refresh()  # the themes changed: the next pass stores them all
    assert set(stored.load().overviews) == {theme.id, theme.id + 1}


def test_a_deleted_theme_leaves_the_overview(app, users, make_debrief, workers):
    cliff_debriefs(make_debrief, users.rep, 1)
    theme = make_theme(users.marketing, "Renewal cliff", '"renewal cliff"')
    make_theme(users.marketing, "Stalled", "stalled")
    assert stored.refresh()
    service.delete_theme(users.marketing, theme)
    worker = workers(users.marketing, KB_SEARCH_INDEXER="external")
    assert set(worker.figures()) == {"Stalled"}
    assert stored.refresh()
    assert set(stored.load().overviews) == {theme.id + 1}


def test_a_new_alias_makes_the_figures_lag_until_recomputed(app, users, make_debrief, workers):
    make_debrief(users.rep, quotes=[{"text": "Initrode undercut us badly."}])
    make_theme(users.marketing, "Globex", "Globex")
    assert stored.refresh()
    worker = workers(users.marketing, KB_SEARCH_INDEXER="external")
    assert worker.figures()["Globex"]["mentions"] == 0

    globex = db.session.query(Competitor).filter_by(name="Globex").one()
    admin.add_alias(users.admin, globex, "Initrode")  # a search for Globex now finds Initrode
    lagging = worker.figures()["Globex"]
    assert lagging["as_of"] is not None  # never silently stale

    assert stored.refresh()
    worker.app.extensions["kb_search"].forget_vocabulary()  # its 30 s re-read, now
    shown = worker.figures()["Globex"]
    assert shown["mentions"] == 1 and shown["as_of"] is None


def test_a_damaged_file_is_ignored(app, users, make_debrief, workers):
    cliff_debriefs(make_debrief, users.rep, 1)
    make_theme(users.marketing, "Renewal cliff", '"renewal cliff"')
    with app.app_context():
        target = stored.path()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"not figures")
    shown = workers(users.marketing).figures()["Renewal cliff"]
    assert shown["mentions"] == 1
    assert stored.refresh()  # and the next pass replaces it
    assert stored.load().overviews


def stored_mentions_reach(count: int, timeout: float = 30.0) -> bool:
    """Wait for the stored figures of the one theme to count `count` mentions."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = stored.load()
        if found is not None and [o.now for _, o in found.overviews.values()] == [count]:
            return True
        time.sleep(0.05)
    return False


def test_the_indexer_thread_stores_fresh_figures_after_a_change(
    app, app_config, users, make_debrief, workers
):
    cliff_debriefs(make_debrief, users.rep, 2)
    make_theme(users.marketing, "Renewal cliff", '"renewal cliff"')
    worker = workers(users.marketing, KB_SEARCH_INDEXER="thread")
    try:
        worker.client.get("/healthz")  # its first request starts the machine's indexer

        assert stored_mentions_reach(2)
        cliff_debriefs(make_debrief, users.rep, 1)
        assert stored_mentions_reach(3)
        shown = worker.figures()["Renewal cliff"]
        assert shown["mentions"] == 3 and shown["as_of"] is None
    finally:
        worker.app.extensions["kb_search_indexer"].stop()


# --- discoveries -------------------------------------------------------------------

DISCOVER = "/api/v1/themes/discover?outcome=lost&background=all"


@pytest.fixture
def discovering(monkeypatch) -> list[str]:
    calls: list[str] = []
    discover = discovery.discover

    def counted(*args, **kwargs):
        calls.append("discover")
        return discover(*args, **kwargs)

    monkeypatch.setattr(discovery, "discover", counted)
    return calls


def test_a_discovery_one_worker_made_is_shown_by_another_without_computing(
    app, api, users, make_debrief, workers, discovering
):
    cliff_debriefs(make_debrief, users.rep, 2)
    first = api.get(users.marketing, DISCOVER)
    assert first.status_code == 200 and discovering == ["discover"]

    worker = workers(users.marketing)
    response = worker.client.get(DISCOVER, headers=worker.headers)
    assert response.json["subset"]["debriefs"] == 2 and response.json["as_of"] is None
    assert response.json["terms"] == first.json["terms"]
    assert discovering == ["discover"]  # not computed again

    other = worker.client.get(DISCOVER + "&min_support=2", headers=worker.headers)
    assert other.status_code == 200 and len(discovering) == 2  # other input: computed


def test_a_stored_discovery_shows_as_of_after_a_change_until_recomputed(
    app, api, users, make_debrief, workers, discovering
):
    cliff_debriefs(make_debrief, users.rep, 2)
    assert api.get(users.marketing, DISCOVER).status_code == 200
    assert api.get(users.marketing, DISCOVER + "&min_support=2").status_code == 200
    worker = workers(users.marketing, KB_SEARCH_INDEXER="external")
    cliff_debriefs(make_debrief, users.rep, 1)
    discovering.clear()

    lagging = worker.client.get(DISCOVER, headers=worker.headers).json
    assert lagging["subset"]["debriefs"] == 2 and lagging["as_of"] is not None
    worker.page(users.marketing)
    page = worker.client.get("/themes/discover?outcome=lost&background=all")
    assert "Found as of" in page.get_data(as_text=True)
    assert discovering == []

    # The keeper's next looks: one discovery each, the last asked first.
    assert stored_discoveries.refresh_recent(force=True) == 1
    fresh = worker.client.get(DISCOVER, headers=worker.headers).json
    assert fresh["subset"]["debriefs"] == 3 and fresh["as_of"] is None
    assert stored_discoveries.refresh_recent(force=True) == 1  # the other one
    assert stored_discoveries.refresh_recent(force=True) == 0  # both current: left alone


def test_inline_a_lagging_stored_discovery_is_computed_again(
    app, api, users, make_debrief, workers
):
    cliff_debriefs(make_debrief, users.rep, 2)
    assert api.get(users.marketing, DISCOVER).status_code == 200
    cliff_debriefs(make_debrief, users.rep, 1)
    worker = workers(users.marketing)
    shown = worker.client.get(DISCOVER, headers=worker.headers).json
    assert shown["subset"]["debriefs"] == 3 and shown["as_of"] is None
