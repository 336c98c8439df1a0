"""The default reference data a new knowledge base starts with."""

from sqlalchemy import func, select

from kb.extensions import db
from kb.models import Choice, ReasonCategory

# A win/loss reason taxonomy along the lines most programmes converge on.
DEFAULT_TAXONOMY: dict[str, list[str]] = {
    "Product": [
        "Missing capability",
        "Ease of use",
        "Integrations",
        "Performance and reliability",
        "Security and compliance",
        "Roadmap",
    ],
    "Price": ["Total cost", "Pricing model", "Discounting", "ROI case"],
    "Sales experience": [
        "Responsiveness",
        "Understanding of our needs",
        "Demo and proof of concept",
        "Trust in the account team",
    ],
    "Implementation & risk": ["Time to value", "Migration effort", "Support and services"],
    "Relationship & trust": ["Existing relationship", "References", "Brand and reputation"],
    "Timing & budget": ["Budget cut or frozen", "Priorities changed", "Timeline"],
    "Internal politics": ["Executive sponsor", "Incumbent champion", "Procurement"],
}

DEFAULT_CHOICES: dict[str, list[str]] = {
    "segment": ["SMB", "Mid-market", "Enterprise"],
    "region": ["North America", "EMEA", "APAC", "LATAM"],
    "industry": [
        "Software",
        "Financial services",
        "Healthcare",
        "Manufacturing",
        "Retail",
        "Public sector",
        "Education",
    ],
    "product_line": ["Platform", "Analytics", "Integrations add-on"],
}


def slugify(text: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    return "-".join(part for part in out.split("-") if part)


def seed_reference_data() -> None:
    """Add the default taxonomy and choice lists to an empty database. Does
    nothing where an admin has already set them up."""
    if not db.session.scalar(select(func.count()).select_from(ReasonCategory)):
        for g, (group, names) in enumerate(DEFAULT_TAXONOMY.items()):
            parent = ReasonCategory(slug=slugify(group), name=group, position=g)
            db.session.add(parent)
            for i, name in enumerate(names):
                db.session.add(
                    ReasonCategory(
                        parent=parent,
                        slug=f"{slugify(group)}.{slugify(name)}",
                        name=name,
                        position=i,
                    )
                )
    if not db.session.scalar(select(func.count()).select_from(Choice)):
        for kind, values in DEFAULT_CHOICES.items():
            for i, value in enumerate(values):
                db.session.add(Choice(kind=kind, value=value, position=i))
    db.session.commit()
