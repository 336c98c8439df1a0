"""Whatever is typed into search, the page and the API answer with results or
a message, never a server error: a seeded random mix of operators, fields,
ranges, brackets, quotes, bidirectional and control characters and scripts,
plus the page parameters. Bounded (about 2,000 inputs); it prints how many
inputs were tried and how many answers were 5xx."""

import random
import time

import pytest

from kb.auth.service import create_token
from kb.search import query as user_query
from kb.search.vocabulary import Vocabulary

SEED = 20_261_130
INPUTS = 2_000  # split between the page and the API
# The inputs stop early past either limit: CPU seconds of this process, and
# wall-clock seconds (which a busy shared machine stretches).
CPU_LIMIT = 30.0
WALL_LIMIT = 120.0

ATOMS = (
    # operators, as typed and doubled
    "NOT",
    "NOT NOT",
    "AND",
    "OR",
    "ANDNOT",
    "ANDMAYBE",
    "TO",
    "-",
    "+",
    "not",
    "or",
    # fields, known and unknown, with and without values
    "amount:",
    "close:",
    "date:",
    "outcome:",
    "competitor:",
    "category:",
    "author:",
    "quarter:",
    "segment:",
    "text:",
    "winner:",
    "nofield:",
    "x:",
    ":",
    # ranges and their pieces
    "[",
    "]",
    "{",
    "}",
    "amount:[50k TO]",
    "amount:[TO 1m]",
    "close:[2025-01 TO 2025-Q2]",
    "amount:[1e400 TO 9]",
    "close:[9999-99 TO]",
    "<",
    ">",
    "<=",
    ">=",
    "=",
    # grouping, quotes, wildcards, boosts, escapes
    "(",
    ")",
    '"',
    "'",
    "*",
    "?",
    "^2",
    "~",
    "\\",
    "/",
    "$",
    "%",
    "&",
    "|",
    "!",
    ",",
    ".",
    # bidirectional marks, joiners, separators and combining characters
    "\u200f",
    "\u200e",
    "\u202b",
    "\u202e",
    "\u2066",
    "\u2069",
    "\u061c",
    "\u200d",
    "\u00a0",
    "\u3000",
    "\u2028",
    "\u0301",
    "\ufeff",
    "\x00",
    "\x1b",
    # words in several scripts and numbers
    "pricing",
    "acme",
    "SFDC",
    "onboarding",
    "security review",
    "ש",
    "مرحبا",
    "価格",
    "café",
    "ǅ",
    "50k",
    "2025",
    "2025-Q1",
    "2147483648",
    "-1",
    "0x10",
    "1e309",
)
PARAMS = {
    "sort": ("relevance", "newest", "amount", "AMOUNT", "", "x", "\u200f"),
    "page": ("1", "2", "0", "-1", "999999999999", "2147483648", "1.5", "x", ""),
    "per_page": ("1", "100", "101", "0", "-5", "99999999999999999999", "x"),
    "date_from": ("2025-01-01", "2025-Q1", "9999-99-99", "x", "\u200f2025", ""),
    "outcome": ("lost", "won", "no_decision", "nope", "\x00"),
    "competitor": ("Acme", "SFDC", "[", "\u202e"),
    "category": ("price", "price.total-cost", "›", "..", "\u200f"),
}


def random_query(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 14)):
        parts.append(rng.choice(ATOMS))
        if rng.random() < 0.5:
            parts.append(" ")
    if rng.random() < 0.1:
        parts.append(chr(rng.randint(0x20, 0x2FFF)) * rng.randint(1, 3))
    if rng.random() < 0.02:
        parts.append("word " * 150)  # longer than the cap
    return "".join(parts)


def random_params(rng: random.Random) -> dict:
    params = {"q": random_query(rng)}
    for name, values in PARAMS.items():
        if rng.random() < 0.25:
            params[name] = rng.choice(values)
    return params


@pytest.mark.parametrize(
    "text",
    [
        "< 50k \u206650k %NOT^ AND|~! ש ",
        "NOT NOT \u0301\u3000} ANDNOT \u2028ANDNOT~ :a ",
        "\u200fNOT NOT amount:[50k TO] $",
        "$ NOT NOT close:[2025 TO] \u200f",
    ],
)
def test_inputs_that_crashed_the_parser_get_a_message(text):
    parsed = user_query.parse(text, Vocabulary())
    assert parsed.warnings, "a query that was not read as written says so"


def test_not_not_cancels_out():
    parsed = user_query.parse("pricing NOT NOT onboarding", Vocabulary())
    assert "'NOT NOT' cancels out; it was ignored." in parsed.warnings
    assert {t for f, t in user_query.positive_terms(parsed.query)} == {"price", "onboard"}


def test_search_syntax_fuzz_never_answers_5xx(app, client, auth, users, make_debrief, capsys):
    make_debrief(users.rep)
    make_debrief(
        users.peer,
        deal={"name": "Globex expansion", "amount": 250_000, "outcome": "won", "winner": None},
    )
    auth.login(users.manager)
    # The API on a client of its own: a bearer token there leaves the page's session alone.
    api_client = app.test_client()
    token = {"Authorization": f"Bearer {create_token(users.rep)}"}
    rng = random.Random(SEED)
    tried, server_errors = 0, []
    started, cpu_started = time.monotonic(), time.process_time()

    def in_time() -> bool:
        return (
            time.process_time() - cpu_started < CPU_LIMIT
            and time.monotonic() - started < WALL_LIMIT
        )

    while tried < INPUTS and in_time():
        params = random_params(rng)
        if tried % 2:
            response = api_client.get(
                "/api/v1/search", query_string=params, headers=token, follow_redirects=True
            )
        else:
            # A query string with NUL characters is redirected to one without them.
            response = client.get("/search", query_string=params, follow_redirects=True)
        tried += 1
        if response.status_code >= 500:
            server_errors.append((response.status_code, params))
        else:
            assert response.status_code in (200, 400), (response.status_code, params)
    with capsys.disabled():
        print(
            f"\nsearch syntax fuzz: {tried} inputs tried, {len(server_errors)} answered 5xx "
            f"({time.process_time() - cpu_started:.1f} s CPU, {time.monotonic() - started:.1f} s)"
        )
    assert tried >= 500, f"only {tried} inputs tried"
    assert server_errors == []
