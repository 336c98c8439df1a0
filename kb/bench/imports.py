"""The imports section of `kb bench`: `kb import-deals` of generated
Salesforce opportunity reports of 10,000, 100,000 and 200,000 rows (or the
sizes asked for), each into the bench database, reporting rows per second
for reading the file and for storing its deals; then `kb import-debriefs`
of a history spreadsheet as large as the smallest size.

Every row is a new deal owned by a user, with a competitor and list values,
as a CRM report has them; each size has its own CRM ids, so the later files
are imported into a database already holding the earlier ones.
"""

import random
import time
from pathlib import Path

from kb.bench import Bench
from kb.deals import crm_formats, crm_import, debrief_import, service

SIZES = (10_000, 100_000, 200_000)
HEADERS = [
    "Opportunity ID",
    "Opportunity Name",
    "Opportunity Owner",
    "Owner Email",
    "Account Name",
    "Stage",
    "Amount",
    "Close Date",
    "Primary Competitor",
    "Segment",
    "Fiscal Period",
]
OWNERS = [("Rita Rep", "bench-rep@example.com"), ("Nemo Nobody", "nobody@example.com")]
COMPETITORS = ["Acme", "Globex", "Salesforce", "Initech", ""]
SEGMENTS = ["Enterprise", "Mid-market", "SMB", ""]
STAGES = ["Closed Won", "Closed Lost", "Closed Lost", "Negotiation"]


def report_csv(rows: int, seed: int, prefix: str) -> bytes:
    """A Salesforce opportunity report of `rows` deals (a few still open,
    which the import skips), the same for the same seed."""
    rng = random.Random(seed)
    lines = [",".join(f'"{h}"' for h in HEADERS)]
    for n in range(rows):
        owner, email = rng.choice(OWNERS)
        stage = rng.choice(STAGES)
        competitor = rng.choice(COMPETITORS)
        cells = [
            f"{prefix}{n:09d}",
            f"Deal {n} renewal",
            owner,
            email,
            f"Account {rng.randrange(rows // 3 + 1)}",
            stage,
            f"${rng.randrange(1_000, 500_000):,}.00",
            f"{rng.randrange(1, 13)}/{rng.randrange(1, 29)}/2025",
            competitor,
            rng.choice(SEGMENTS),
            "Q1-2025",
        ]
        lines.append(",".join(f'"{c}"' for c in cells))
    return ("\n".join(lines) + "\n").encode("utf-8")


def import_file(path: Path) -> tuple[int, float, float]:
    """Import the file as `kb import-deals` does: (deals stored, seconds
    reading and checking the file, seconds storing)."""
    started = time.perf_counter()
    table = crm_import.read_table(path.read_bytes())
    crm = crm_formats.detect_format(table.headers)
    parsed = crm_import.parse_rows(table, crm_formats.suggest_mapping(table.headers, crm))
    read = time.perf_counter() - started
    started = time.perf_counter()
    report = service.import_rows(None, parsed, dry_run=False, source=path.name)
    stored = time.perf_counter() - started
    return report.count("create") + report.count("update"), read, stored


REASONS = [
    "Pricing was above budget and the discount came too late",
    "Onboarding plan and references convinced the buyer",
    "Missing integration with their data warehouse",
    "Budget frozen after the reorganisation",
]
CATEGORIES = ["Total cost", "References", "Integrations", "Budget cut or frozen", ""]


def history_csv(rows: int, seed: int) -> bytes:
    """Past win/loss notes, one a row, as a team keeps them in a spreadsheet;
    every third row adds to the deal of the row before."""
    rng = random.Random(seed)
    lines = ["Id,Deal,Account,Outcome,Date,Reasons,Category,Quotes,Author,Competitor"]
    for n in range(rows):
        deal = n - 1 if n % 3 == 2 else n
        cells = [
            f"H{n:08d}",
            f"History deal {deal}",
            f"Account {deal}",
            rng.choice(["Won", "Lost", "Lost", "No decision"]),
            f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
            f"{rng.choice(REASONS)} (note {n})",
            rng.choice(CATEGORIES),
            "They said the numbers did not add up",
            OWNERS[0][1],
            rng.choice(["Acme", "Globex", ""]),
        ]
        lines.append(",".join(f'"{c}"' for c in cells))
    return ("\n".join(lines) + "\n").encode("utf-8")


def import_history(path: Path) -> tuple[int, float]:
    """Import the file as `kb import-debriefs` does: (debriefs stored, seconds)."""
    started = time.perf_counter()
    table = debrief_import.read_file(path.read_bytes())
    mapping = debrief_import.suggest_mapping(table.headers)
    report = debrief_import.import_debriefs(None, table, mapping, source=path.name)
    if report.failed:
        raise RuntimeError("; ".join(report.problems[:3]))
    return report.created, time.perf_counter() - started


def section(bench: Bench) -> dict:
    from kb.auth.service import create_user, find_user
    from kb.models import Role

    if find_user(OWNERS[0][1]) is None:  # the other owner is unknown: a warning per row
        create_user(OWNERS[0][1], None, Role.REP, OWNERS[0][0])
    sizes = bench.import_sizes or SIZES
    results: dict = {"sizes": {}}
    bench.echo(f"Imports of Salesforce reports ({', '.join(f'{s:,}' for s in sizes)} rows):")
    bench.echo(f"{'rows':>10} {'deals':>10} {'read s':>8} {'store s':>8} {'rows/s':>9}")
    for number, rows in enumerate(sizes):
        path = bench.workdir / f"import-{rows}.csv"
        path.write_bytes(report_csv(rows, bench.seed + number, prefix=f"B{number}"))
        deals, read, stored = import_file(path)
        rate = rows / (read + stored) if read + stored else 0.0
        bench.echo(f"{rows:>10,} {deals:>10,} {read:>8.1f} {stored:>8.1f} {rate:>9,.0f}")
        results["sizes"][str(rows)] = {
            "rows": rows,
            "deals": deals,
            "read_seconds": round(read, 2),
            "store_seconds": round(stored, 2),
            "rows_per_second": round(rate),
        }
    rows = min(sizes)
    path = bench.workdir / f"history-{rows}.csv"
    path.write_bytes(history_csv(rows, bench.seed))
    created, seconds = import_history(path)
    rate = rows / seconds if seconds else 0.0
    bench.echo(
        f"Debrief import of a {rows:,}-row history file: {created:,} debriefs "
        f"in {seconds:.1f} s, {rate:,.0f} debriefs/s."
    )
    results["debriefs"] = {
        "rows": rows,
        "debriefs": created,
        "seconds": round(seconds, 2),
        "debriefs_per_second": round(rate),
    }
    return results
