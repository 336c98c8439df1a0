"""A bounded, seeded fuzz of the inputs people and programs type: page
numbers and ids in query strings, ids in forms and JSON bodies, and CSV
files to import. No input may cause a server error. Each test prints how
many inputs it tried (run with -s to see them)."""

import codecs
import io
import random
import time

from kb.deals import crm_formats, crm_import, service
from kb.validation import MAX_ID
from tests.conftest import debrief_payload
from tests.test_practices import practice_payload

SEED = 20261130
BUDGET_SECONDS = 18  # per test; the three stay under a minute together


def numbers(rng: random.Random) -> str:
    """Text someone might put where a number goes."""
    choices = [
        lambda: str(rng.randrange(-5, 50)),
        lambda: str(MAX_ID + rng.randrange(-2, 3)),
        lambda: str(2**63 + rng.randrange(-2, 3)),
        lambda: "9" * rng.randrange(11, 5000),
        lambda: "0" * rng.randrange(1, 30) + str(rng.randrange(10)),
        lambda: rng.choice(["", " ", "-0", "+1", "1.5", "1e309", "NaN", "0x10", "١٢", "²", "½"]),
        lambda: " " + str(rng.randrange(100)) + " ",
        lambda: "".join(rng.choice("0123456789-+. e") for _ in range(rng.randrange(1, 12))),
    ]
    return rng.choice(choices)()


def json_ids(rng: random.Random):
    return rng.choice(
        [
            lambda: rng.randrange(-3, 10),
            lambda: MAX_ID + rng.randrange(-1, 3),
            lambda: 10 ** rng.randrange(10, 400),
            lambda: -(10 ** rng.randrange(10, 40)),
            lambda: rng.random() * 10 ** rng.randrange(0, 300),
            lambda: numbers(rng),
            lambda: rng.choice([None, True, False, [], {}, [1], {"id": 1}]),
        ]
    )()


PAGES = [
    "/debriefs/?page={v}",
    "/debriefs/?author={v}",
    "/debriefs/new?deal={v}",
    "/practices/?page={v}&author={v}",
    "/practices/new?from_debrief={v}",
    "/admin/audit?page={v}&user={v}",
    "/admin/users?page={v}",
    "/analytics/perception?page={v}&rep={v}&buyer={v}",
    "/api/v1/debriefs?page={v}&per_page={v}&author={v}",
    "/api/v1/deals?page={v}&owner={v}",
    "/api/v1/practices?page={v}&per_page={v}&author={v}",
    "/api/v1/debriefs/{v}",
    "/api/v1/deals/{v}",
    "/debriefs/{v}",
]


def test_fuzz_page_numbers_and_ids_in_urls(client, auth, users, make_debrief):
    make_debrief(users.rep)
    auth.login(users.admin)
    rng = random.Random(SEED)
    tried, server_errors = 0, []
    deadline = time.monotonic() + BUDGET_SECONDS
    while time.monotonic() < deadline:
        url = rng.choice(PAGES).format(v=numbers(rng))
        status = client.get(url).status_code
        tried += 1
        if status >= 500:
            server_errors.append((url[:120], status))
    print(f"\nURL fuzz: {tried} inputs tried, {len(server_errors)} server errors")
    assert tried >= 50  # the budget is time: a busy machine tries fewer
    assert server_errors == []


def test_fuzz_ids_in_forms_and_json_bodies(client, api, auth, users):
    rng = random.Random(SEED + 1)
    tried, server_errors = 0, []
    deadline = time.monotonic() + BUDGET_SECONDS
    auth.login(users.manager)
    while time.monotonic() < deadline:
        kind = rng.randrange(4)
        if kind == 0:
            payload = debrief_payload()
            payload.pop("deal")
            payload["deal_id"] = json_ids(rng)
            status = api.post(users.rep, "/api/v1/debriefs", json=payload).status_code
        elif kind == 1:
            field = rng.choice(["deal_id", "debrief_id"])
            body = practice_payload(**{field: json_ids(rng)})
            status = api.post(users.manager, "/api/v1/practices", json=body).status_code
        elif kind == 2:
            form = {k: v for k, v in practice_payload().items() if isinstance(v, str)}
            form[rng.choice(["deal_id", "debrief_id"])] = numbers(rng)
            status = client.post("/practices/new", data=form).status_code
        else:
            body = {"crm_id": numbers(rng) or "x", "amount": json_ids(rng)}
            status = api.post(users.manager, "/api/v1/deals", json=body).status_code
        tried += 1
        if status >= 500:
            server_errors.append((kind, status))
    print(f"\nForm and body fuzz: {tried} inputs tried, {len(server_errors)} server errors")
    assert tried >= 50  # the budget is time: a busy machine tries fewer
    assert server_errors == []


VALID_CSV = (
    '"Opportunity ID","Opportunity Name","Account Name","Stage","Amount","Close Date",'
    '"Primary Competitor","Owner Email"\n'
    '"006A1","Initech renewal","Initech","Closed Lost","$48,000.00","3/5/2026","Acme",'
    '"rep@example.com"\n'
    '"006A2","Globex expansion","Globex","Closed Won","1200.50","3/6/2026","","x@y.z"\n'
)


def mutated_csv(rng: random.Random) -> bytes:
    text = VALID_CSV
    for _ in range(rng.randrange(0, 4)):
        at = rng.randrange(len(text) + 1)
        junk = rng.choice(
            ['"', ",", ";", "\t", "\n", "\r", "\x00", "\ud800", "é", "東京", "=1+2", numbers(rng)]
        )
        text = text[:at] + junk + text[at + rng.randrange(0, 3) :]
    codec = rng.choice(["utf-8", "utf-8-sig", "utf-16", "cp1252", "shift_jis", "cp1251"])
    data = text.encode(codec, errors="surrogatepass" if codec.startswith("utf") else "replace")
    if rng.random() < 0.2:
        data = data[: rng.randrange(len(data) + 1)]
    if rng.random() < 0.1:
        data = codecs.BOM_UTF16_LE + data
    return data


def test_fuzz_csv_imports(app, client, auth, users):
    rng = random.Random(SEED + 2)
    tried, server_errors = 0, []
    deadline = time.monotonic() + BUDGET_SECONDS
    auth.login(users.manager)
    while time.monotonic() < deadline:
        data = mutated_csv(rng)
        tried += 1
        if tried % 10 == 0:  # every tenth through the upload page, the rest directly
            response = client.post(
                "/deals/import",
                data={"file": (io.BytesIO(data), "deals.csv"), "format": "auto"},
                content_type="multipart/form-data",
            )
            if response.status_code >= 500:
                server_errors.append(("upload", response.status_code))
            continue
        try:
            table = crm_import.read_table(data)
            crm = crm_formats.detect_format(table.headers)
            parsed = crm_import.parse_rows(table, crm_formats.suggest_mapping(table.headers, crm))
        except ValueError:  # FileError, or a required column missing: explained
            continue
        try:
            service.import_rows(users.manager, parsed, dry_run=True)
        except Exception as exc:  # noqa: BLE001  (any escape here would be a 500)
            server_errors.append((type(exc).__name__, str(exc)[:100]))
    print(f"\nImport fuzz: {tried} inputs tried, {len(server_errors)} server errors")
    assert tried >= 50  # the budget is time: a busy machine tries fewer
    assert server_errors == []
