"""The CRM exports we read, known by their column headers.

A Salesforce opportunity report ("Opportunity ID", "Opportunity Name",
"Stage", …) and a HubSpot deals export ("Record ID", "Deal Name", "Deal
Stage", …) are told apart by the headers only they use; each format lists,
for every field we store, the headers that carry it in that CRM. Anything
else is read as a plain CSV whose columns are mapped by common names.
"""

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Target:
    """A field the import fills, and what the mapping page says about it."""

    key: str
    label: str
    required: bool = False
    help: str = ""


TARGETS = (
    Target("crm_id", "CRM id", True, "The CRM's id of the deal; a re-import updates by it."),
    Target("name", "Deal name", True),
    Target("account", "Account", True),
    Target(
        "stage", "Stage", True, "Won, lost and no-decision stages import; open ones are skipped."
    ),
    Target("close_date", "Close date", True),
    Target("amount", "Amount"),
    Target("currency", "Currency", help="Else taken from the amount ($, €, USD…), else USD."),
    Target("owner_email", "Owner e-mail", help="Matched to a user's e-mail address."),
    Target(
        "owner_name", "Owner name", help="Used when there is no e-mail: matched to a user's name."
    ),
    Target("competitors", "Competitor", help="Several may be separated by ';'."),
    Target("segment", "Segment"),
    Target("region", "Region"),
    Target("industry", "Industry"),
    Target("product_line", "Product line"),
    Target("sales_cycle_days", "Sales cycle (days)"),
    Target(
        "created_date", "Created date", help="Gives the sales cycle when there is no column for it."
    ),
    Target("stage_reached", "Stage reached"),
    Target("is_closed", "Closed (checkbox)", help="Settles a stage this import does not know."),
    Target("is_won", "Won (checkbox)"),
)
TARGET_KEYS = tuple(t.key for t in TARGETS)
REQUIRED = tuple(t.key for t in TARGETS if t.required)


@dataclass(frozen=True)
class CrmFormat:
    key: str
    label: str
    signature: tuple[str, ...]  # headers only this CRM writes
    headers: dict[str, tuple[str, ...]] = field(default_factory=dict)


SALESFORCE = CrmFormat(
    "salesforce",
    "Salesforce opportunity report",
    signature=(
        "Opportunity ID",
        "Opportunity Name",
        "Opportunity Owner",
        "Account Name",
        "Stage",
        "Fiscal Period",
        "Probability (%)",
        "Lead Source",
    ),
    headers={
        "crm_id": ("Opportunity ID", "Opportunity ID (18)", "Opportunity ID 18", "Id"),
        "name": ("Opportunity Name",),
        "account": ("Account Name", "Account"),
        "stage": ("Stage", "Opportunity Stage", "Stage Name"),
        "close_date": ("Close Date",),
        "amount": ("Amount", "Amount (converted)"),
        "currency": ("Amount Currency", "Opportunity Currency", "Currency"),
        "owner_email": (
            "Owner Email",
            "Opportunity Owner Email",
            "Opportunity Owner: Email",
            "Owner: Email",
        ),
        "owner_name": ("Opportunity Owner", "Owner Name", "Opportunity Owner: Full Name", "Owner"),
        "competitors": ("Primary Competitor", "Competitor", "Competitors", "Main Competitor"),
        "segment": ("Segment", "Customer Segment", "Market Segment"),
        "region": ("Region", "Sales Region", "Territory"),
        "industry": ("Industry",),
        "product_line": ("Product Line", "Product Family"),
        "sales_cycle_days": ("Age", "Sales Cycle (days)"),
        "created_date": ("Created Date",),
        "is_closed": ("Closed",),
        "is_won": ("Won",),
    },
)

HUBSPOT = CrmFormat(
    "hubspot",
    "HubSpot deals export",
    signature=(
        "Record ID",
        "Deal Name",
        "Deal Stage",
        "Deal owner",
        "Pipeline",
        "Create Date",
        "Associated Company",
        "Associated Company (Primary)",
    ),
    headers={
        "crm_id": ("Record ID", "Deal ID", "Record ID - Deal"),
        "name": ("Deal Name",),
        "account": (
            "Associated Company",
            "Associated Company (Primary)",
            "Associated Company Name",
            "Company name",
        ),
        "stage": ("Deal Stage",),
        "close_date": ("Close Date",),
        "amount": ("Amount", "Amount in company currency"),
        "currency": ("Currency", "Deal Currency Code"),
        "owner_email": ("Deal owner email", "Deal Owner Email", "Owner Email"),
        "owner_name": ("Deal owner", "Deal Owner", "HubSpot Owner"),
        "competitors": ("Competitor", "Primary Competitor", "Competitors"),
        "segment": ("Segment", "Customer Segment", "Market Segment"),
        "region": ("Region", "Sales Region"),
        "industry": ("Industry",),
        "product_line": ("Product Line", "Product"),
        "sales_cycle_days": ("Days to close",),
        "created_date": ("Create Date",),
        "is_closed": ("Is Closed", "Is Deal Closed?"),
        "is_won": ("Is Closed Won",),
    },
)

GENERIC = CrmFormat(
    "csv",
    "Other CSV",
    signature=(),
    headers={
        "crm_id": ("CRM ID", "CRM Id", "External ID", "Deal ID", "ID"),
        "name": ("Deal Name", "Deal", "Name", "Opportunity"),
        "account": ("Account", "Account Name", "Company", "Customer"),
        "stage": ("Stage", "Outcome", "Status", "Result"),
        "close_date": ("Close Date", "Closed Date", "Date Closed", "Closed On"),
        "amount": ("Amount", "Deal Value", "Value"),
        "currency": ("Currency",),
        "owner_email": ("Owner Email", "Rep Email", "Owner E-mail", "Email"),
        "owner_name": ("Owner", "Rep", "Sales Rep", "Owner Name"),
        "competitors": ("Competitor", "Competitors", "Primary Competitor"),
        "segment": ("Segment",),
        "region": ("Region",),
        "industry": ("Industry",),
        "product_line": ("Product Line", "Product"),
        "sales_cycle_days": ("Sales Cycle (days)", "Sales Cycle", "Age", "Days to close"),
        "created_date": ("Created Date", "Create Date"),
        "stage_reached": ("Stage Reached",),
    },
)

FORMATS = {f.key: f for f in (SALESFORCE, HUBSPOT, GENERIC)}
# What the upload form offers; "auto" detects from the headers.
FORMAT_CHOICES = [
    ("auto", "Detect from the headers"),
    ("salesforce", SALESFORCE.label),
    ("hubspot", HUBSPOT.label),
    ("csv", "Other CSV (map the columns yourself)"),
]


def header_key(header: str) -> str:
    """Headers compared without case, spaces or punctuation."""
    return re.sub(r"[^a-z0-9]", "", header.lower())


def detect_format(headers: list[str]) -> CrmFormat:
    """The CRM whose own headers the file has most of (at least two), else GENERIC."""
    keys = {header_key(h) for h in headers}
    scores = {f.key: sum(header_key(s) in keys for s in f.signature) for f in (SALESFORCE, HUBSPOT)}
    best = max(scores, key=lambda k: scores[k])
    return FORMATS[best] if scores[best] >= 2 else GENERIC


def suggest_mapping(headers: list[str], crm: CrmFormat) -> dict[str, int]:
    """Target field -> column index, from the headers the format writes for
    each field (the first present wins); a column serves one field at most."""
    keys = [header_key(h) for h in headers]
    used: set[int] = set()
    mapping: dict[str, int] = {}
    for target in TARGET_KEYS:
        for name in crm.headers.get(target, ()):
            wanted = header_key(name)
            index = next((i for i, k in enumerate(keys) if k == wanted and i not in used), None)
            if index is not None:
                mapping[target] = index
                used.add(index)
                break
    return mapping


def missing_required(mapping: dict[str, int]) -> list[Target]:
    return [t for t in TARGETS if t.required and t.key not in mapping]


def override_mapping(headers: list[str], mapping: dict[str, int], pairs) -> dict[str, int]:
    """`mapping` with "field=Column header" pairs applied ("field=" drops the
    field). Raises ValueError naming an unknown field or column."""
    mapping = dict(mapping)
    keys = [header_key(h) for h in headers]
    for pair in pairs:
        target, _, column = pair.partition("=")
        if target not in TARGET_KEYS:
            raise ValueError(f"Unknown field '{target}'; one of: {', '.join(TARGET_KEYS)}.")
        if not column:
            mapping.pop(target, None)
        elif header_key(column) in keys:
            mapping[target] = keys.index(header_key(column))
        else:
            raise ValueError(f"The file has no column '{column}'.")
    return mapping
