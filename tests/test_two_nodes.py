"""Two app nodes, each a real gunicorn server with its own index folder and
index writer, on one PostgreSQL database, as on two machines: a debrief
filed through one node is found through the other's search within 2 s, and
a node that was down finds everything filed meanwhile once it is back.

The nodes run on the machine's real clock, this test process on the
suite's pinned one: nothing here compares the two (durations are measured
with time.monotonic, which is not pinned, and the debriefs carry a fixed
close date every clock accepts)."""

import pytest

from kb.auth.service import create_token
from kb.bench import nodes as two_nodes

pytestmark = pytest.mark.postgresql

SEARCHABLE_WITHIN = 2.0


@pytest.fixture
def node_pair(app, database_url, tmp_path):
    try:
        two_nodes.gunicorn()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    pair = [two_nodes.Node(name, database_url, tmp_path / name) for name in ("a", "b")]
    yield pair
    for node in pair:
        node.stop()


def test_a_debrief_filed_on_one_node_is_searchable_on_the_other_and_a_restarted_node_catches_up(
    app, users, node_pair
):
    a, b = node_pair
    token = create_token(users.rep)
    for node in node_pair:
        node.start()
    two_nodes.wait_until_healthy(node_pair, 120)
    assert a.index_dir != b.index_dir
    assert (a.index_dir / "CURRENT").exists() and (b.index_dir / "CURRENT").exists()

    for n in range(3):
        term = two_nodes.word(n)
        debrief_id = a.file(token, term)
        on_b, on_a = two_nodes.searchable_after([b, a], token, term, debrief_id, 60)
        assert on_b is not None and on_a is not None, f"{term} was never found"
        assert on_b < SEARCHABLE_WITHIN, f"{term} took {on_b:.2f} s to reach node B"

    # And the other way round.
    debrief_id = b.file(token, "reverso")
    [on_a] = two_nodes.searchable_after([a], token, "reverso", debrief_id, 60)
    assert on_a is not None and on_a < SEARCHABLE_WITHIN

    b.stop()
    assert b.health()[0] == 0  # nothing answers on B's port
    filed = {a.file(token, "whiledown") for _ in range(5)}
    two_nodes.wait_until_found(a, token, "whiledown", 5, 30)
    assert b.found(token, "whiledown") == (0, set())

    b.start()
    b.wait_until_healthy(120)
    assert b.found(token, "whiledown") == (5, filed)
    status, health = b.health()
    assert status == 200 and health["search_index"]["outbox_lag"] == 0
