"""Realistic demo data: teams and users, competitors, and closed deals with rep
debriefs and buyer interviews spread over two years and more.

The same seed and count give the same data in an empty database. Debriefs
are written in bulk (Core inserts, a commit per batch) rather than through
the debrief service, so that 100,000 of them take minutes, not hours; each
batch also records its debriefs in the search outbox.

Besides plausible noise, the data carries planted themes (PLANTED_THEMES):
phrases deliberately frequent in one subset of deals and rare elsewhere.
"""

import math
import random
import time as clock
from bisect import bisect
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate

import click
from sqlalchemy import func, insert, select
from werkzeug.security import generate_password_hash

from kb.demo import vocab as V
from kb.demo.themes import PLANTED_THEMES, TEXT_FIELDS, THEME_TEMPLATES, PlantedTheme
from kb.extensions import db
from kb.lookups import choice_values, find_competitor
from kb.models import (
    Competitor,
    CompetitorAlias,
    Deal,
    Debrief,
    DebriefSource,
    DebriefStatus,
    Direction,
    IndexChange,
    Outcome,
    Quote,
    Reason,
    ReasonCategory,
    Role,
    Team,
    User,
    WinnerKind,
    deal_competitors,
)

__all__ = [
    "DEFAULT_COUNT",
    "DEFAULT_SEED",
    "DEMO_PASSWORD",
    "PLANTED_THEMES",
    "TEXT_FIELDS",
    "PlantedTheme",
    "ensure_demo_data",
    "generate",
    "generate_with_showcase",
]

DEFAULT_COUNT = 600
DEFAULT_SEED = 7
DEMO_PASSWORD = "demo-password"  # noqa: S105  (printed for people trying the demo)
DEMO_DOMAIN = "demo.example"
HISTORY_DAYS = 800  # a little over two years of closed deals
BATCH_DEBRIEFS = 4000

Echo = Callable[[str], object] | None

# --- who ----------------------------------------------------------------------

# Team name -> the regions its deals come from.
TEAMS = {
    "NA East": ("North America",),
    "NA West": ("North America",),
    "EMEA": ("EMEA",),
    "APAC & LATAM": ("APAC", "LATAM"),
}

# (email local part, name, role, team). The first of each role is the one
# the sign-in hint names.
DEMO_USERS = (
    ("admin", "Ada Admin", Role.ADMIN, None),
    ("mae.marketing", "Mae Marketing", Role.MARKETING, None),
    ("jonas.ferreira", "Jonas Ferreira", Role.MARKETING, None),
    ("mona.manager", "Mona Manager", Role.MANAGER, "NA East"),
    ("rita.rep", "Rita Rep", Role.REP, "NA East"),
    ("daniel.okafor", "Daniel Okafor", Role.REP, "NA East"),
    ("priya.raman", "Priya Raman", Role.REP, "NA East"),
    ("tom.brennan", "Tom Brennan", Role.REP, "NA East"),
    ("grace.liu", "Grace Liu", Role.REP, "NA East"),
    ("marcus.webb", "Marcus Webb", Role.MANAGER, "NA West"),
    ("carlos.mendes", "Carlos Mendes", Role.REP, "NA West"),
    ("hannah.cole", "Hannah Cole", Role.REP, "NA West"),
    ("jamal.wright", "Jamal Wright", Role.REP, "NA West"),
    ("emily.stone", "Emily Stone", Role.REP, "NA West"),
    ("ravi.shah", "Ravi Shah", Role.REP, "NA West"),
    ("sofia.lindqvist", "Sofia Lindqvist", Role.MANAGER, "EMEA"),
    ("lukas.becker", "Lukas Becker", Role.REP, "EMEA"),
    ("amelie.laurent", "Amelie Laurent", Role.REP, "EMEA"),
    ("oliver.hughes", "Oliver Hughes", Role.REP, "EMEA"),
    ("marta.nowak", "Marta Nowak", Role.REP, "EMEA"),
    ("luca.romano", "Luca Romano", Role.REP, "EMEA"),
    ("kenji.watanabe", "Kenji Watanabe", Role.MANAGER, "APAC & LATAM"),
    ("aiko.tanaka", "Aiko Tanaka", Role.REP, "APAC & LATAM"),
    ("mateo.silva", "Mateo Silva", Role.REP, "APAC & LATAM"),
    ("chloe.tan", "Chloe Tan", Role.REP, "APAC & LATAM"),
    ("arjun.mehta", "Arjun Mehta", Role.REP, "APAC & LATAM"),
    ("valentina.cruz", "Valentina Cruz", Role.REP, "APAC & LATAM"),
)


@dataclass(frozen=True)
class CompetitorProfile:
    name: str
    aliases: tuple[str, ...]
    website: str
    # Chance of showing up in a deal, by segment.
    presence: dict[str, float]
    # Multiplies our chance of winning when they are in the deal, by segment.
    win_factor: dict[str, float]
    # Reason categories where they beat us.
    strengths: tuple[str, ...]
    tactics: tuple[str, ...]


COMPETITORS = (
    CompetitorProfile(
        "Acme",
        ("ACME Corp", "Acme Inc"),
        "https://acme.example",
        {"SMB": 0.15, "Mid-market": 0.3, "Enterprise": 0.5},
        {"Enterprise": 0.7},
        (
            "implementation-risk.time-to-value",
            "implementation-risk.support-and-services",
            "price.discounting",
        ),
        (
            "{comp} bundled onboarding services at no cost.",
            "{comp} brought a delivery partner to every meeting.",
            "{comp} promised a dedicated project manager for the first year.",
        ),
    ),
    CompetitorProfile(
        "Salesforce",
        ("SFDC",),
        "https://salesforce.example",
        {"SMB": 0.2, "Mid-market": 0.3, "Enterprise": 0.35},
        {"SMB": 0.9, "Mid-market": 0.9, "Enterprise": 0.85},
        (
            "relationship-trust.brand-and-reputation",
            "product.integrations",
            "relationship-trust.existing-relationship",
        ),
        (
            "{comp} pitched it as an add-on to the platform they already own.",
            "{comp} offered the module free for the first year.",
            "{comp}'s account team went straight to the CIO.",
        ),
    ),
    CompetitorProfile(
        "Globex",
        ("Globex Corporation",),
        "https://globex.example",
        {"SMB": 0.2, "Mid-market": 0.3, "Enterprise": 0.25},
        {"SMB": 1.2, "Mid-market": 1.25, "Enterprise": 1.2},
        ("price.total-cost", "price.discounting"),
        (
            "{comp} came in at a much lower list price.",
            "{comp} pushed for a quick decision with an expiring offer.",
        ),
    ),
    CompetitorProfile(
        "Initrode",
        ("Initrode Systems",),
        "https://initrode.example",
        {"SMB": 0.25, "Mid-market": 0.15, "Enterprise": 0.05},
        {},
        ("product.ease-of-use", "price.pricing-model"),
        (
            "{comp} let their users try it without a sales call.",
            "{comp} showed a very simple self-serve setup.",
        ),
    ),
    CompetitorProfile(
        "Umbrella",
        ("Umbrella Corp",),
        "https://umbrella.example",
        {"SMB": 0.05, "Mid-market": 0.1, "Enterprise": 0.25},
        {"Enterprise": 0.95},
        ("product.security-and-compliance", "relationship-trust.references"),
        (
            "{comp} led with their compliance certifications.",
            "{comp} lined up three reference customers in the same industry.",
        ),
    ),
    CompetitorProfile(
        "Hooli",
        ("Hooli XYZ",),
        "https://hooli.example",
        {"SMB": 0.1, "Mid-market": 0.2, "Enterprise": 0.1},
        {"SMB": 1.05, "Mid-market": 1.05, "Enterprise": 1.05},
        ("product.roadmap", "product.performance-and-reliability"),
        (
            "{comp} demoed an AI assistant that is still in beta.",
            "{comp} talked mostly about their roadmap.",
        ),
    ),
    CompetitorProfile(
        "Vandelay",
        ("Vandelay Industries",),
        "https://vandelay.example",
        {"SMB": 0.2, "Mid-market": 0.1, "Enterprise": 0.03},
        {"SMB": 1.1, "Mid-market": 1.1, "Enterprise": 1.1},
        ("price.total-cost", "sales-experience.responsiveness"),
        (
            "{comp} answered every question within the hour.",
            "{comp} undercut us on price in the last week.",
        ),
    ),
)

# --- what -------------------------------------------------------------------

SEGMENT_WEIGHTS = {"SMB": 35, "Mid-market": 40, "Enterprise": 25}
INDUSTRY_WEIGHTS = {"Software": 24, "Financial services": 18, "Healthcare": 14}
PRODUCT_LINE_WEIGHTS = {"Platform": 55, "Analytics": 30, "Integrations add-on": 15}
# (won, no decision) chances by segment; lost is the rest.
OUTCOME_BASE = {"SMB": (0.44, 0.13), "Mid-market": (0.39, 0.15), "Enterprise": (0.33, 0.2)}
BUYER_INTERVIEW_RATE = {"SMB": 0.12, "Mid-market": 0.25, "Enterprise": 0.42}
# Amount: median and spread of a lognormal, and the unit it is rounded to.
AMOUNTS = {"SMB": (12_000, 0.55, 100), "Mid-market": (55_000, 0.5, 500)}
AMOUNTS["Enterprise"] = (240_000, 0.6, 1000)
PRODUCT_LINE_AMOUNT = {"Analytics": 0.8, "Integrations add-on": 0.4}
CYCLE_DAYS = {"SMB": 30, "Mid-market": 70, "Enterprise": 150}
LOST_STAGES = {
    "Discovery": 5,
    "Solution demo": 15,
    "Proof of concept": 20,
    "Proposal": 30,
    "Negotiation": 30,
}
NO_DECISION_STAGES = {
    "Discovery": 10,
    "Solution demo": 20,
    "Proof of concept": 25,
    "Proposal": 30,
    "Negotiation": 15,
}
CURRENCIES = {"EMEA": {"USD": 45, "EUR": 35, "GBP": 20}, "APAC": {"USD": 80, "AUD": 20}}

# How often each category is given as a reason, by the direction of the
# reason (and for losses, whether the deal ended with no decision).
WIN_WEIGHTS = {
    "product.missing-capability": 10,
    "product.ease-of-use": 8,
    "product.integrations": 7,
    "product.performance-and-reliability": 3,
    "product.security-and-compliance": 4,
    "product.roadmap": 2,
    "price.total-cost": 5,
    "price.pricing-model": 3,
    "price.discounting": 2,
    "price.roi-case": 6,
    "sales-experience.responsiveness": 6,
    "sales-experience.understanding-of-our-needs": 8,
    "sales-experience.demo-and-proof-of-concept": 8,
    "sales-experience.trust-in-the-account-team": 6,
    "implementation-risk.time-to-value": 5,
    "implementation-risk.migration-effort": 2,
    "implementation-risk.support-and-services": 4,
    "relationship-trust.existing-relationship": 4,
    "relationship-trust.references": 5,
    "relationship-trust.brand-and-reputation": 3,
    "timing-budget.budget-cut-or-frozen": 1,
    "timing-budget.priorities-changed": 2,
    "timing-budget.timeline": 2,
    "internal-politics.executive-sponsor": 6,
    "internal-politics.incumbent-champion": 4,
    "internal-politics.procurement": 2,
}
LOSS_WEIGHTS = {
    "product.missing-capability": 10,
    "product.ease-of-use": 4,
    "product.integrations": 6,
    "product.performance-and-reliability": 3,
    "product.security-and-compliance": 3,
    "product.roadmap": 3,
    "price.total-cost": 10,
    "price.pricing-model": 5,
    "price.discounting": 5,
    "price.roi-case": 4,
    "sales-experience.responsiveness": 2,
    "sales-experience.understanding-of-our-needs": 3,
    "sales-experience.demo-and-proof-of-concept": 3,
    "sales-experience.trust-in-the-account-team": 2,
    "implementation-risk.time-to-value": 4,
    "implementation-risk.migration-effort": 3,
    "implementation-risk.support-and-services": 2,
    "relationship-trust.existing-relationship": 5,
    "relationship-trust.references": 2,
    "relationship-trust.brand-and-reputation": 4,
    "timing-budget.budget-cut-or-frozen": 2,
    "timing-budget.priorities-changed": 2,
    "timing-budget.timeline": 2,
    "internal-politics.executive-sponsor": 4,
    "internal-politics.incumbent-champion": 4,
    "internal-politics.procurement": 3,
}
NO_DECISION_WEIGHTS = {
    **dict.fromkeys(LOSS_WEIGHTS, 1),
    "timing-budget.budget-cut-or-frozen": 10,
    "timing-budget.priorities-changed": 10,
    "timing-budget.timeline": 5,
    "price.roi-case": 8,
    "internal-politics.executive-sponsor": 6,
    "internal-politics.incumbent-champion": 3,
    "internal-politics.procurement": 3,
    "price.total-cost": 3,
    "implementation-risk.migration-effort": 3,
    "implementation-risk.time-to-value": 2,
    "product.missing-capability": 2,
}
# Reps blame price for what went wrong; buyers more often name the product
# and the sales experience. This is what the perception gap view shows.
SOURCE_BIAS = {
    "rep": {"price": 1.8},
    "buyer": {"price": 0.6, "product": 1.3, "sales-experience": 1.6, "implementation-risk": 1.3},
}
# Groups where a reason often names the competitor it was about.
COMPETITIVE_GROUPS = ("product", "price", "implementation-risk", "relationship-trust")
# Groups a "we beat them on ..." line draws from.
SUMMARY_GROUPS = ("product", "price", "implementation-risk", "sales-experience")
REP_REASON_COUNTS = {2: 30, 3: 40, 4: 20, 5: 10}
BUYER_REASON_COUNTS = {2: 35, 3: 45, 4: 20}
SCORE_GROUPS = {
    "score_product_fit": ("product",),
    "score_value_for_money": ("price",),
    "score_sales_experience": ("sales-experience",),
    "score_implementation_confidence": ("implementation-risk",),
    "score_relationship": ("relationship-trust", "internal-politics"),
}
BASE_SCORE = {Outcome.WON: 3.9, Outcome.LOST: 2.7, Outcome.NO_DECISION: 3.0}
CRM_ID_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Used for a category an admin added, which the vocabulary does not know.
FALLBACK_VOCAB = {
    "helped": ("how {we} handled {cat}", "{our} strength in {cat}", "a good answer on {cat}"),
    "hurt": ("concerns about {cat}", "{our} weakness in {cat}", "the questions about {cat}"),
    "detail": (),
}


class _Weighted:
    """A fixed weighted choice, prepared once for repeated draws."""

    def __init__(self, weights: dict):
        self.items = list(weights)
        self.cum = list(accumulate(weights.values()))

    def pick(self, rng: random.Random):
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _frame(frame: str, np: str, slots: "_Slots") -> str:
    """A frame around an already filled noun phrase, its other blanks filled."""
    np = np.replace("{", "{{").replace("}", "}}")
    return _cap(frame.replace("{np}", np).format_map(slots))


class _Slots(dict):
    """Template values: fixed ones are stored, the rest drawn when a template
    asks for them (so two blanks of one kind in a debrief usually differ)."""

    def __init__(self, rng: random.Random, fixed: dict, draw: dict):
        super().__init__(fixed)
        self.rng = rng
        self.draw = draw

    def __missing__(self, key):
        return self.draw[key](self.rng)

    def fill(self, template: str) -> str:
        return template.format_map(self)


def _n_of_m(rng: random.Random) -> str:
    m = rng.randint(3, 7)
    return f"{rng.randint(2, m)} of the {m}"


def _votes(rng: random.Random) -> str:
    m = rng.randint(3, 7)
    return f"{rng.randint(m // 2 + 1, m)} to {0 if rng.random() < 0.4 else 1}"


COMMON_DRAWS = {
    "feature": lambda r: r.choice(V.FEATURES),
    "integration": lambda r: r.choice(V.INTEGRATIONS),
    "n": lambda r: r.randint(2, 9),
    "pct": lambda r: r.choice((10, 12, 15, 18, 20, 25, 30, 35, 40)),
    "weeks": lambda r: r.randint(3, 14),
    "weeks_short": lambda r: r.randint(2, 6),
    "days": lambda r: r.randint(3, 21),
    "money": lambda r: f"${r.choice((25, 50, 75, 100, 150, 250, 500))}k",
    "n_of_m": _n_of_m,
    "votes": _votes,
    "n_vendors": lambda r: r.randint(3, 6),
    "title": lambda r: r.choice(V.BUYER_TITLES),
    "exec": lambda r: r.choice(V.EXECUTIVES),
    "status_quo": lambda r: r.choice(V.STATUS_QUO),
}
INTERNAL_DRAWS = {
    **COMMON_DRAWS,
    "stakeholder": lambda r: f"{r.choice(('their', 'the'))} {r.choice(V.STAKEHOLDER_ROLES)}",
}
BUYER_DRAWS = {
    **COMMON_DRAWS,
    "stakeholder": lambda r: f"our {r.choice(V.STAKEHOLDER_ROLES)}",
}
INTERNAL_VOICE = {"our": "our", "we": "we", "us": "us", "their": "their"}
BUYER_VOICE = {"our": "your", "we": "you", "us": "you", "their": "our"}


def _split_by_comp(templates) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(all templates, those that need no competitor name)."""
    return tuple(templates), tuple(t for t in templates if "{comp}" not in t)


# (direction, decisive) -> (all frames, frames needing no competitor)
EXPLANATION_FRAMES = {
    (d, decisive): _split_by_comp(frames)
    for decisive, table in ((False, V.EXPLANATION_FRAMES), (True, V.DECISIVE_EXPLANATION_FRAMES))
    for d, frames in table.items()
}
QUOTE_FRAMES = {
    (d, decisive): _split_by_comp(frames)
    for decisive, table in ((False, V.QUOTE_FRAMES), (True, V.DECISIVE_QUOTE_FRAMES))
    for d, frames in table.items()
}


@dataclass
class _Comp:
    id: int
    name: str
    aliases: tuple[str, ...]
    profile: CompetitorProfile


@dataclass
class _Rep:
    id: int
    regions: tuple[str, ...]
    skill: float


@dataclass
class _Plan:
    close_date: date
    segment: str | None
    rep: bool
    buyer: bool
    # Set for a deal made for a particular rep with a given outcome (the
    # showcase's to-dos); otherwise both are drawn.
    owner: int | None = None  # index into _World.reps
    outcome: Outcome | None = None


@dataclass
class _Deal:
    row: dict
    outcome: Outcome
    comps: list[_Comp]
    winner: _Comp | None
    industry: str
    age_days: int


class _World:
    """The users, competitors, categories and lists the deals draw on."""

    def __init__(self, anchor: date):
        self.anchor = anchor
        self.reps: list[_Rep] = []
        self.rep_pick: _Weighted | None = None
        self.marketing: _Weighted | None = None
        self.comps: list[_Comp] = []
        self.category_ids: dict[str, int] = {}
        self.category_names: dict[str, str] = {}
        self.vocab: dict[str, dict] = {}
        self.choices: dict[str, list[str]] = {}
        self.hints: list[str] = []
        self.created_users = 0


# --- setting the scene -----------------------------------------------------


def _ensure_users(world: _World) -> None:
    teams = {}
    for name in TEAMS:
        team = db.session.scalar(select(Team).where(Team.name == name))
        if team is None:
            team = Team(name=name)
            db.session.add(team)
        teams[name] = team
    password_hash = None
    users = []
    for local, name, role, team in DEMO_USERS:
        email = f"{local}@{DEMO_DOMAIN}"
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        if user is None:
            # One hash for everyone: hashing is deliberately slow.
            password_hash = password_hash or generate_password_hash(DEMO_PASSWORD)
            user = User(email=email, name=name, role=role, password_hash=password_hash)
            user.team = teams[team] if team else None
            db.session.add(user)
            world.created_users += 1
        users.append((user, role, team))
    db.session.flush()

    rng = random.Random("kb-demo/people")  # traits of the fixed cast, whatever the seed
    rep_weights = {}
    marketing = {}
    for user, role, team in users:
        if role == Role.REP:
            rep = _Rep(user.id, TEAMS[team], skill=rng.uniform(0.85, 1.15))
            world.reps.append(rep)
            rep_weights[len(world.reps) - 1] = rng.uniform(0.6, 1.4)
        elif role == Role.MARKETING:
            marketing[user.id] = 7 if not marketing else 3
    world.rep_pick = _Weighted(rep_weights)
    world.marketing = _Weighted(marketing)
    seen = set()
    for user, role, team in users:
        if role not in seen:
            seen.add(role)
            where = f", {team}" if team else ""
            world.hints.append(f"  {user.email} / {DEMO_PASSWORD}  ({role.value}{where})")


def _ensure_competitors(world: _World) -> None:
    for profile in COMPETITORS:
        competitor = find_competitor(profile.name)
        if competitor is None:
            competitor = Competitor(name=profile.name, website=profile.website)
            db.session.add(competitor)
            db.session.flush()
        for alias in profile.aliases:
            key = alias.lower()
            taken = db.session.scalar(
                select(func.count()).select_from(CompetitorAlias).where(CompetitorAlias.key == key)
            ) or db.session.scalar(
                select(func.count())
                .select_from(Competitor)
                .where(func.lower(Competitor.name) == key)
            )
            if not taken:
                db.session.add(CompetitorAlias(competitor=competitor, alias=alias, key=key))
        db.session.flush()
        aliases = tuple(
            db.session.scalars(
                select(CompetitorAlias.alias)
                .where(CompetitorAlias.competitor_id == competitor.id)
                .order_by(CompetitorAlias.alias)
            )
        )
        world.comps.append(_Comp(competitor.id, competitor.name, aliases, profile))


def _load_reference_data(world: _World) -> None:
    rows = db.session.execute(
        select(ReasonCategory.slug, ReasonCategory.id, ReasonCategory.name)
        .where(ReasonCategory.parent_id.is_not(None), ReasonCategory.active.is_(True))
        .order_by(ReasonCategory.id)
    )
    for slug, category_id, name in rows:
        world.category_ids[slug] = category_id
        world.category_names[slug] = name.lower()
        world.vocab[slug] = V.CATEGORY_VOCAB.get(slug, FALLBACK_VOCAB)
    if not world.category_ids:
        raise click.ClickException("No reason categories: run `kb init` first.")
    for kind in ("segment", "region", "industry", "product_line"):
        world.choices[kind] = choice_values(kind)


# --- planning: which deals, when, and how many debriefs each ---------------


def _close_date(rng: random.Random, anchor: date) -> date:
    # Business grows: deal density rises linearly from 0.7 to 1.3 over the
    # window (inverse of the CDF 0.7t + 0.3t²).
    t = (-0.7 + math.sqrt(0.49 + 1.2 * rng.random())) / 0.6
    day = anchor - timedelta(days=max(1, HISTORY_DAYS - int(t * HISTORY_DAYS)))
    if rng.random() < 0.3:
        # Deals bunch up in the last days of a quarter.
        q_month = ((day.month - 1) // 3) * 3 + 3
        q_end = date(day.year + q_month // 12, q_month % 12 + 1, 1) - timedelta(days=1)
        snapped = q_end - timedelta(days=rng.randint(0, 10))
        if snapped < anchor and snapped >= anchor - timedelta(days=HISTORY_DAYS):
            day = snapped
    return day


def _plan(rng: random.Random, count: int, world: _World) -> list[_Plan]:
    segments = _weighted_choices(world.choices["segment"], SEGMENT_WEIGHTS, 20)
    plans = []
    made = 0
    while made < count:
        close = _close_date(rng, world.anchor)
        segment = segments.pick(rng) if segments else None
        age = (world.anchor - close).days
        # Recent deals are often not debriefed yet: the to-do list and coverage.
        if rng.random() < (0.4 if age <= 21 else 0.05):
            plans.append(_Plan(close, segment, rep=False, buyer=False))
            continue
        buyer = age >= 10 and rng.random() < BUYER_INTERVIEW_RATE.get(segment, 0.2)
        if made + 1 + buyer > count:
            buyer = False
        made += 1 + buyer
        plans.append(_Plan(close, segment, rep=True, buyer=buyer))
    plans.sort(key=lambda p: p.close_date)
    return plans


def _weighted_choices(values: list[str], weights: dict, default: float) -> _Weighted | None:
    return _Weighted({v: weights.get(v, default) for v in values}) if values else None


# --- one deal and its debriefs ---------------------------------------------


class _Builder:
    def __init__(self, rng: random.Random, world: _World, existing_crm_ids: set[str]):
        self.rng = rng
        self.world = world
        self.crm_ids = existing_crm_ids
        c = world.choices
        self.industries = _weighted_choices(c["industry"], INDUSTRY_WEIGHTS, 10)
        self.product_lines = _weighted_choices(c["product_line"], PRODUCT_LINE_WEIGHTS, 10)
        self.regions = c["region"]
        self.lost_stages = _Weighted(LOST_STAGES)
        self.nd_stages = _Weighted(NO_DECISION_STAGES)
        self.deal_kinds = _Weighted(dict(V.DEAL_KINDS))
        self.currencies = {region: _Weighted(w) for region, w in CURRENCIES.items()}
        self.rep_counts = _Weighted(REP_REASON_COUNTS)
        self.buyer_counts = _Weighted(BUYER_REASON_COUNTS)
        self.roles = _Weighted({role: w for role, (w, _) in V.INTERVIEWEE_ROLES.items()})
        self.category_pickers: dict[tuple, _Weighted] = {}
        # (theme, tier) -> [expected plants so far, actual plants]
        self.theme_counts: dict[tuple[str, str], list] = {}

    # deal facts

    def deal(self, plan: _Plan) -> _Deal:
        rng, world = self.rng, self.world
        rep = world.reps[world.rep_pick.pick(rng) if plan.owner is None else plan.owner]
        segment = plan.segment
        age = (world.anchor - plan.close_date).days
        team_regions = [r for r in rep.regions if r in self.regions]
        region = (
            rng.choice(team_regions)
            if team_regions
            else (rng.choice(self.regions) if self.regions else None)
        )
        industry = self.industries.pick(rng) if self.industries else None
        product_line = self.product_lines.pick(rng) if self.product_lines else None
        account = (
            f"{rng.choice(V.COMPANY_PREFIXES)} "
            f"{rng.choice(V.COMPANY_SUFFIXES.get(industry, V.GENERIC_SUFFIXES))}"
        )

        comps = [c for c in world.comps if rng.random() < c.profile.presence.get(segment, 0.15)]
        if len(comps) > 3:
            keep = rng.sample(range(len(comps)), 3)
            comps = [c for i, c in enumerate(comps) if i in keep]

        won, nd = OUTCOME_BASE.get(segment, (0.38, 0.15))
        won *= rep.skill
        for c in comps:
            won *= c.profile.win_factor.get(segment, 1.0)
        if not comps:
            won, nd = won * 1.1, nd * 1.6
        if segment == "Mid-market" and age <= 183:
            won *= 0.8  # the per-seat pricing objection costs deals lately
        roll = rng.random()
        outcome = plan.outcome or (
            Outcome.WON if roll < won else Outcome.NO_DECISION if roll < won + nd else Outcome.LOST
        )

        winner_kind, winner = None, None
        if outcome == Outcome.NO_DECISION:
            winner_kind = WinnerKind.NO_DECISION
        elif outcome == Outcome.LOST:
            r = rng.random()
            if comps and r < 0.88:
                winner_kind = WinnerKind.COMPETITOR
                # Stronger competitors win more of the deals we lose.
                strength = _Weighted(
                    {i: 1 / c.profile.win_factor.get(segment, 1.0) for i, c in enumerate(comps)}
                )
                winner = comps[strength.pick(rng)]
            elif comps:
                winner_kind = WinnerKind.IN_HOUSE if r < 0.96 else WinnerKind.NO_DECISION
            else:
                winner_kind = WinnerKind.IN_HOUSE if r < 0.65 else WinnerKind.NO_DECISION

        median, sigma, unit = AMOUNTS.get(segment, AMOUNTS["Mid-market"])
        value = median * PRODUCT_LINE_AMOUNT.get(product_line, 1.0) * rng.lognormvariate(0, sigma)
        amount = Decimal(max(unit, round(value / unit) * unit)).quantize(Decimal("0.01"))
        currency = self.currencies[region].pick(rng) if region in self.currencies else "USD"

        crm_id = None
        if not plan.rep or rng.random() < 0.85:
            while crm_id is None or crm_id in self.crm_ids:
                crm_id = "006" + "".join(rng.choices(CRM_ID_CHARS, k=12))
            self.crm_ids.add(crm_id)
        elif rng.random() < 0.1:
            amount = None  # typed in by a rep who did not know it

        cycle = CYCLE_DAYS.get(segment, 60) * rng.lognormvariate(0, 0.45)
        if outcome == Outcome.WON:
            stage = "Closed won"
        elif outcome == Outcome.LOST:
            stage = self.lost_stages.pick(rng)
        else:
            stage = self.nd_stages.pick(rng)
        kind = self.deal_kinds.pick(rng)
        stamp = datetime.combine(plan.close_date, time(20, rng.randint(0, 59)))
        row = {
            "crm_id": crm_id,
            "name": f"{account}: {product_line or 'Platform'} {kind}",
            "account": account,
            "amount": amount,
            "currency": currency,
            "close_date": plan.close_date,
            "outcome": outcome,
            "segment": segment,
            "region": region,
            "industry": industry,
            "product_line": product_line,
            "sales_cycle_days": max(7, min(540, int(cycle))),
            "stage_reached": stage,
            "owner_id": rep.id,
            "winner_kind": winner_kind,
            "winner_competitor_id": winner.id if winner else None,
            "created_at": stamp,
            "updated_at": stamp,
        }
        return _Deal(row, outcome, comps, winner, industry or "", age)

    # debriefs

    def debriefs(self, plan: _Plan, deal: _Deal) -> list[dict]:
        out = []
        rep_primary = None
        if plan.rep:
            rep_debrief = self.debrief(deal, DebriefSource.REP)
            rep_primary = rep_debrief["_primary"]
            out.append(rep_debrief)
        if plan.buyer:
            out.append(self.debrief(deal, DebriefSource.BUYER, rep_primary))
        return out

    def debrief(self, deal: _Deal, source: DebriefSource, rep_primary=None) -> dict:
        rng, anchor = self.rng, self.world.anchor
        close = deal.row["close_date"]
        outcome = deal.outcome
        buyer = source == DebriefSource.BUYER
        industry = deal.industry.lower() or "their industry"
        winner_name = self.display(deal.winner) if deal.winner else "another vendor"
        fixed = {"industry": industry, "winner": winner_name, "comp": winner_name}
        internal = _Slots(rng, {**INTERNAL_VOICE, **fixed}, INTERNAL_DRAWS)
        spoken = _Slots(rng, {**BUYER_VOICE, **fixed}, BUYER_DRAWS)

        if buyer:
            role = self.roles.pick(rng)
            title = rng.choice(V.INTERVIEWEE_ROLES[role][1])
            internal["title"] = title
            interviewee = (role, f"{rng.choice(V.FIRST_NAMES)} {rng.choice(V.LAST_NAMES)}")
            interview_date = min(close + timedelta(days=rng.randint(7, 45)), anchor)
            filed = min(interview_date + timedelta(days=rng.randint(0, 5)), anchor)
            draft = rng.random() < 0.03
            author = self.world.marketing.pick(rng)
        else:
            title, interviewee, interview_date = None, (None, None), None
            filed = close + timedelta(days=min(30, int(rng.expovariate(1 / 4))))
            filed = min(filed, anchor - timedelta(days=1))
            draft = rng.random() < (0.15 if deal.age_days <= 30 else 0.02)
            author = deal.row["owner_id"]

        reasons, primary = self.reasons(deal, source, draft, internal, rep_primary)
        quotes = self.quotes(deal, reasons, spoken, title, 1 if draft else None)
        created = datetime.combine(filed, time(rng.randint(8, 17), rng.randint(0, 59)))
        submitted = None if draft else created + timedelta(minutes=rng.randint(5, 300))
        row = {
            "source": source,
            "status": DebriefStatus.DRAFT if draft else DebriefStatus.SUBMITTED,
            "author_id": author,
            "interviewee_role": interviewee[0],
            "interviewee_name": interviewee[1],
            "interview_date": interview_date,
            "decision_process": self.decision_process(deal, internal, buyer, draft),
            "competitive_notes": self.competitive_notes(deal, internal, buyer, draft),
            "what_worked": self.what_worked(deal, internal, buyer, draft),
            "lessons_learned": self.lessons(deal, internal, buyer, draft),
            **self.scores(outcome, reasons, buyer),
            "created_at": created,
            "updated_at": submitted or created,
            "submitted_at": submitted,
            "_reasons": reasons,
            "_quotes": quotes,
            "_primary": primary,
        }
        for theme in PLANTED_THEMES:
            if self.should_plant(theme, deal):
                self.plant(theme, deal, row, internal, spoken, title)
        return row

    def display(self, comp: _Comp) -> str:
        """A competitor's name as people write it: now and then an alias."""
        if comp.aliases and self.rng.random() < 0.15:
            return self.rng.choice(comp.aliases)
        return comp.name

    def pick_category(self, direction: str, deal: _Deal, source: str, used) -> str:
        key = (direction, deal.outcome, source, deal.winner.name if deal.winner else None)
        picker = self.category_pickers.get(key)
        if picker is None:
            if direction == "helped":
                table = WIN_WEIGHTS
            elif deal.outcome == Outcome.NO_DECISION:
                table = NO_DECISION_WEIGHTS
            else:
                table = LOSS_WEIGHTS
            bias = SOURCE_BIAS[source] if deal.outcome != Outcome.WON else {}
            strengths = deal.winner.profile.strengths if deal.winner else ()
            weights = {}
            for slug in self.world.category_ids:
                w = table.get(slug, 1) * bias.get(slug.split(".")[0], 1)
                if direction == "hurt" and slug in strengths:
                    w *= 3
                weights[slug] = w
            picker = self.category_pickers[key] = _Weighted(weights)
        for _ in range(8):
            slug = picker.pick(self.rng)
            if slug not in used:
                return slug
        return next((s for s in picker.items if s not in used), picker.items[0])

    def reasons(self, deal, source, draft, slots, rep_primary) -> tuple[list[dict], str]:
        rng = self.rng
        main = "helped" if deal.outcome == Outcome.WON else "hurt"
        if draft:
            n = rng.randint(1, 2)
        else:
            n = (self.buyer_counts if source == DebriefSource.BUYER else self.rep_counts).pick(rng)
        # Rep and buyer agree on the primary reason about half the time.
        if rep_primary and rep_primary[1] == main and rng.random() < 0.5:
            primary = rep_primary[0]
        else:
            primary = self.pick_category(main, deal, source.value, ())
        picked = [(primary, main)]
        for _ in range(n - 1):
            direction = main if rng.random() < 0.7 else ("hurt" if main == "helped" else "helped")
            used = [slug for slug, _ in picked]
            picked.append((self.pick_category(direction, deal, source.value, used), direction))
        if n > 1 and rng.random() < 0.1:
            picked[0], picked[1] = picked[1], picked[0]  # ranked second, still primary
        reasons = []
        for slug, direction in picked:
            comp = self.reason_competitor(slug, deal)
            decisive = (slug, direction) == (primary, main) and rng.random() < 0.6
            explanation = self.explanation(slug, direction, comp, slots, decisive)
            if draft and rng.random() < 0.4:
                explanation = ""
            reasons.append(
                {
                    "category_id": self.world.category_ids[slug],
                    "direction": Direction(direction),
                    "is_primary": (slug, direction) == (primary, main),
                    "explanation": explanation,
                    "competitor_id": comp.id if comp else None,
                    "_slug": slug,
                    "_comp": comp,
                }
            )
        return reasons, (primary, main)

    def reason_competitor(self, slug: str, deal: _Deal) -> _Comp | None:
        rng = self.rng
        if not deal.comps or slug.split(".")[0] not in COMPETITIVE_GROUPS:
            return None
        if rng.random() >= 0.45:
            return None
        if deal.winner and rng.random() < 0.7:
            return deal.winner
        return rng.choice(deal.comps)

    def phrase(self, slug: str, direction: str, comp: _Comp | None, slots: _Slots) -> str:
        vocab = self.world.vocab[slug]
        phrases = vocab[direction]
        if comp is None:
            phrases = [p for p in phrases if "{comp}" not in p] or phrases
        slots["cat"] = self.world.category_names[slug]
        return slots.fill(self.rng.choice(phrases))

    def explanation(self, slug, direction, comp, slots: _Slots, decisive: bool) -> str:
        rng = self.rng
        slots["comp"] = self.display(comp) if comp else slots["winner"]
        frames = EXPLANATION_FRAMES[direction, decisive][0 if comp else 1]
        np = self.phrase(slug, direction, comp, slots)
        text = _frame(rng.choice(frames), np, slots)
        if rng.random() < 0.45:
            details = self.world.vocab[slug]["detail"]
            pool = details if details and rng.random() < 0.7 else V.GENERIC_DETAILS
            text += " " + slots.fill(rng.choice(pool))
        return text

    def quotes(self, deal, reasons, slots: _Slots, title, limit) -> list[dict]:
        rng = self.rng
        # Buyer interviews are where quotes come from; rep debriefs quote less.
        n = rng.choice((2, 2, 3, 3, 4) if title else (0, 1, 1, 1, 2, 2, 2, 3))
        if limit is not None:
            n = min(n, limit)
        # The primary reason first, then the others, so quotes rarely repeat.
        primary = next(r for r in reasons if r["is_primary"])
        others = [r for r in reasons if r is not primary]
        chosen = [primary, *rng.sample(others, len(others))]
        quotes, used = [], set()
        for i in range(n):
            reason = chosen[i] if i < len(chosen) else rng.choice(reasons)
            direction = reason["direction"].value
            comp = reason["_comp"]
            slots["comp"] = self.display(comp) if comp else slots["winner"]
            np = self.phrase(reason["_slug"], direction, comp, slots)
            decisive = reason is primary and rng.random() < 0.5
            frames = QUOTE_FRAMES[direction, decisive][0 if comp else 1]
            frame = rng.choice(frames)
            if frame in used:
                frame = rng.choice(frames)
            used.add(frame)
            text = _frame(frame, np, slots)
            speaker = title if title and rng.random() < 0.9 else rng.choice(V.BUYER_TITLES)
            quotes.append({"text": text, "speaker_role": speaker})
        return quotes

    def decision_process(self, deal, slots: _Slots, buyer, draft) -> str:
        rng = self.rng
        if draft and rng.random() < 0.5:
            return ""
        if deal.comps:
            slots["comp"] = self.display(deal.winner or rng.choice(deal.comps))
        parts = [rng.choice(V.DECISION_OPENERS), rng.choice(V.DECISION_STEPS)]
        if rng.random() < 0.6:
            criteria = [slots.fill(c) for c in rng.sample(V.DECISION_CRITERIA, 3)]
            slots["criteria"] = f"{criteria[0]}, {criteria[1]} and {criteria[2]}"
            parts.append(rng.choice(V.DECISION_CRITERIA_FRAMES))
        if rng.random() < 0.7:
            parts.append(rng.choice(V.DECISION_APPROVALS))
        if rng.random() < 0.6:
            endings = V.DECISION_ENDINGS[deal.outcome.value]
            if not deal.comps:
                endings = [e for e in endings if "{comp}" not in e] or endings
            parts.append(rng.choice(endings))
        text = " ".join(slots.fill(p) for p in parts)
        if buyer and rng.random() < 0.4:
            text = f"As the {slots['title']} described it: {text[:1].lower()}{text[1:]}"
        return text

    def competitive_notes(self, deal, slots: _Slots, buyer, draft) -> str:
        rng = self.rng
        if (buyer and rng.random() < 0.3) or (draft and rng.random() < 0.5):
            return ""
        parts = []
        if deal.comps:
            for comp in rng.sample(deal.comps, min(len(deal.comps), rng.choice((1, 1, 2)))):
                slots["comp"] = self.display(comp)
                pool = comp.profile.tactics if rng.random() < 0.5 else V.COMPETITOR_TACTICS
                parts.append(slots.fill(rng.choice(pool)))
            if deal.outcome != Outcome.NO_DECISION and rng.random() < 0.6:
                if deal.outcome == Outcome.LOST and deal.winner:
                    comp, direction = deal.winner, "hurt"
                    slugs = [s for s in comp.profile.strengths if s in self.world.category_ids]
                else:
                    comp, direction = rng.choice(deal.comps), "helped"
                    slugs = [
                        s for s in self.world.category_ids if s.split(".")[0] in SUMMARY_GROUPS
                    ]
                slugs = slugs or list(self.world.category_ids)
                if deal.outcome == Outcome.WON or deal.winner:
                    slots["comp"] = self.display(comp)
                    np = self.phrase(rng.choice(slugs), direction, comp, slots)
                    frame = rng.choice(V.COMPETITOR_SUMMARIES[deal.outcome.value])
                    parts.append(_frame(frame, np, slots))
        elif deal.row["winner_kind"] == WinnerKind.IN_HOUSE:
            parts.append(rng.choice(V.IN_HOUSE_NOTES))
        else:
            parts.append(slots.fill(rng.choice(V.NO_COMPETITOR_NOTES)))
        if deal.comps and deal.row["winner_kind"] == WinnerKind.IN_HOUSE:
            parts.append(rng.choice(V.IN_HOUSE_NOTES))
        return " ".join(_cap(p) for p in parts)

    def what_worked(self, deal, slots: _Slots, buyer, draft) -> str:
        rng = self.rng
        chance = {Outcome.WON: 0.9, Outcome.LOST: 0.55, Outcome.NO_DECISION: 0.5}[deal.outcome]
        if buyer:
            chance = 0.6
        if draft:
            chance /= 2
        if rng.random() >= chance:
            return ""
        parts = []
        n = rng.choice((1, 1, 2))
        frames = rng.sample(V.WORKED_BUYER_FRAMES if buyer else V.WORKED_FRAMES, n)
        for action, frame in zip(rng.sample(V.WORKED_ACTIONS, n), frames, strict=True):
            action = slots.fill(action)
            slots["action"] = action
            slots["action_lc"] = action[:1].lower() + action[1:]
            slots["result"] = slots.fill(rng.choice(V.WORKED_RESULTS))
            parts.append(_cap(slots.fill(frame)))
        return " ".join(parts)

    def lessons(self, deal, slots: _Slots, buyer, draft) -> str:
        rng = self.rng
        if rng.random() >= (0.6 if buyer else 0.8) * (0.5 if draft else 1):
            return ""
        if buyer:
            frames = V.LESSON_FRAMES["buyer"]
        else:
            frames = V.LESSON_FRAMES["helped" if deal.outcome == Outcome.WON else "hurt"]
        parts = []
        n = rng.choice((1, 1, 2))
        for lesson, frame in zip(rng.sample(V.LESSONS, n), rng.sample(frames, n), strict=True):
            slots["lesson"] = slots.fill(lesson)
            parts.append(_cap(slots.fill(frame)))
        return " ".join(parts)

    def scores(self, outcome: Outcome, reasons: list[dict], buyer: bool) -> dict:
        rng = self.rng
        scored = rng.random() < (0.85 if buyer else 0.55)
        out = {}
        for column, groups in SCORE_GROUPS.items():
            if not scored or rng.random() >= 0.85:
                out[column] = None
                continue
            value = BASE_SCORE[outcome] + rng.gauss(0, 0.7)
            for r in reasons:
                if r["_slug"].split(".")[0] in groups:
                    weight = 1.5 if r["is_primary"] else 1.0
                    value += weight * (0.8 if r["direction"] == Direction.HELPED else -0.9)
            out[column] = max(1, min(5, round(value)))
        return out

    # planted themes

    def should_plant(self, theme: PlantedTheme, deal: _Deal) -> bool:
        """A random draw, held within a couple of debriefs of the expected
        count, so that even a small subset carries close to its share."""
        tier, share = self.theme_share(theme, deal)
        counts = self.theme_counts.setdefault((theme.key, tier), [0.0, 0])
        counts[0] += share
        plant = self.rng.random() < share
        if counts[1] + plant < counts[0] - 1.5:
            plant = True
        elif counts[1] + plant > counts[0] + 1.5:
            plant = False
        counts[1] += plant
        return plant

    def theme_share(self, theme: PlantedTheme, deal: _Deal) -> tuple[str, float]:
        facts = {
            "outcome": deal.outcome.value,
            "segment": deal.row["segment"],
            "competitors": [c.name for c in deal.comps],
            "close_date": deal.row["close_date"],
            "anchor": self.world.anchor,
        }
        if theme.matches(**facts):
            if theme.addressed_before(facts["close_date"], facts["anchor"]):
                return "addressed", theme.after_share
            return "subset", theme.share
        if theme.prior_share is not None and theme.matches(**facts, ignore_window=True):
            return "prior", theme.prior_share
        return "elsewhere", theme.background

    def plant(self, theme: PlantedTheme, deal: _Deal, row, internal, spoken, title) -> None:
        rng = self.rng
        templates = THEME_TEMPLATES[theme.key]
        wanted = theme.filters.get("competitor")
        named = [c for c in deal.comps if c.name == wanted] or deal.comps
        comp = rng.choice(named) if named else None
        options = {}
        for field in theme.fields:
            usable = [t for t in templates.get(field, ()) if comp or "{comp}" not in t]
            if usable:
                options[field] = usable
        if not options:
            return
        fields = list(options)
        # The first listed field carries the phrase most often.
        field = fields[0] if rng.random() < 0.4 else rng.choice(fields)
        slots = spoken if field == "quotes.text" else internal
        slots["comp"] = self.display(comp) if comp else slots["winner"]
        sentence = _cap(slots.fill(rng.choice(options[field])))
        if field == "quotes.text":
            speaker = title or rng.choice(V.BUYER_TITLES)
            row["_quotes"].insert(
                rng.randint(0, len(row["_quotes"])), {"text": sentence, "speaker_role": speaker}
            )
        elif field == "reasons.explanation":
            self.plant_reason(theme, row, sentence, comp)
        else:
            row[field] = f"{row[field]} {sentence}".strip()

    def plant_reason(self, theme: PlantedTheme, row, sentence: str, comp) -> None:
        rng = self.rng
        reasons = row["_reasons"]
        slug = theme.reason_category
        same = [r for r in reasons if r["_slug"] == slug]
        if same:
            reason = same[0]
            reason["explanation"] = (
                sentence if rng.random() < 0.5 else f"{sentence} {reason['explanation']}".strip()
            )
            return
        if slug not in self.world.category_ids:
            primary = next(r for r in reasons if r["is_primary"])
            primary["explanation"] = f"{primary['explanation']} {sentence}".strip()
            return
        direction = Direction(theme.reason_direction)
        reason = {
            "category_id": self.world.category_ids[slug],
            "direction": direction,
            "is_primary": False,
            "explanation": sentence,
            "competitor_id": comp.id if comp else None,
            "_slug": slug,
            "_comp": comp,
        }
        primary = next(r for r in reasons if r["is_primary"])
        if primary["direction"] == direction and rng.random() < 0.35:
            primary["is_primary"] = False
            reason["is_primary"] = True
            reasons.insert(0, reason)
        else:
            reasons.append(reason)
        if len(reasons) > 5:
            del reasons[max(i for i, r in enumerate(reasons[:-1]) if not r["is_primary"])]
        # The planted reason's category may now be the primary one a buyer
        # interview agrees with.
        if reason["is_primary"]:
            row["_primary"] = (slug, theme.reason_direction)


# --- writing -----------------------------------------------------------------

REASON_KEYS = ("category_id", "direction", "is_primary", "explanation", "competitor_id")


def _insert_batch(batch: list[tuple[_Deal, list[dict]]]) -> None:
    """Write deals, their debriefs, reasons, quotes and outbox entries with a
    few multi-row statements, then commit."""
    deals_t = Deal.__table__
    debriefs_t = Debrief.__table__
    deal_ids = (
        db.session.execute(
            insert(deals_t).returning(deals_t.c.id, sort_by_parameter_order=True),
            [deal.row for deal, _ in batch],
        )
        .scalars()
        .all()
    )
    links, debrief_rows, children = [], [], []
    for deal_id, (deal, debriefs) in zip(deal_ids, batch, strict=True):
        links.extend({"deal_id": deal_id, "competitor_id": c.id} for c in deal.comps)
        for d in debriefs:
            debrief_rows.append({k: v for k, v in d.items() if not k.startswith("_")})
            debrief_rows[-1]["deal_id"] = deal_id
            children.append((d["_reasons"], d["_quotes"]))
    if links:
        db.session.execute(insert(deal_competitors), links)
    if not debrief_rows:
        db.session.commit()
        return
    debrief_ids = (
        db.session.execute(
            insert(debriefs_t).returning(debriefs_t.c.id, sort_by_parameter_order=True),
            debrief_rows,
        )
        .scalars()
        .all()
    )
    reasons, quotes = [], []
    for debrief_id, (rs, qs) in zip(debrief_ids, children, strict=True):
        for rank, r in enumerate(rs, start=1):
            reasons.append(
                {"debrief_id": debrief_id, "rank": rank, **{k: r[k] for k in REASON_KEYS}}
            )
        for position, q in enumerate(qs, start=1):
            quotes.append({"debrief_id": debrief_id, "position": position, **q})
    if reasons:
        db.session.execute(insert(Reason.__table__), reasons)
    if quotes:
        db.session.execute(insert(Quote.__table__), quotes)
    db.session.execute(
        insert(IndexChange.__table__), [{"doc_type": "debrief", "doc_id": i} for i in debrief_ids]
    )
    db.session.commit()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def prepare_world(anchor: date) -> _World:
    """The demo users, competitors and reference data, created where missing."""
    world = _World(anchor)
    _ensure_users(world)
    _ensure_competitors(world)
    _load_reference_data(world)
    db.session.commit()
    return world


def generate(count: int, seed: int, echo: Echo, *, anchor: date | None = None) -> int:
    """Add `count` debriefs (rep debriefs and buyer interviews) on new deals
    closed over the two-plus years before `anchor` (default today), with the
    users, teams and competitors they need. Returns the number of debriefs
    created. Deterministic for (seed, count, anchor) in an empty database;
    a second run adds different deals rather than repeating the first."""
    started = clock.monotonic()
    world = prepare_world(anchor or date.today())

    existing_deals = _count(Deal)
    rng = random.Random(f"kb-demo/{seed}/{existing_deals}")
    existing_crm_ids = set(db.session.scalars(select(Deal.crm_id).where(Deal.crm_id.is_not(None))))
    plans = _plan(rng, count, world)
    builder = _Builder(rng, world, existing_crm_ids)

    created = buyers = 0
    progress = (
        click.progressbar(length=count, label="Generating demo debriefs")
        if echo is not None
        else nullcontext()
    )
    with progress as bar:
        batch, in_batch = [], 0
        for plan in plans:
            deal = builder.deal(plan)
            debriefs = builder.debriefs(plan, deal)
            batch.append((deal, debriefs))
            in_batch += len(debriefs)
            buyers += sum(d["source"] == DebriefSource.BUYER for d in debriefs)
            if in_batch >= BATCH_DEBRIEFS:
                _insert_batch(batch)
                created += in_batch
                if bar is not None:
                    bar.update(in_batch)
                batch, in_batch = [], 0
        if batch:
            _insert_batch(batch)
            created += in_batch
            if bar is not None:
                bar.update(in_batch)

    if echo is not None:
        first, last = plans[0].close_date, plans[-1].close_date
        echo(
            f"Created {created} debriefs ({created - buyers} rep debriefs, {buyers} buyer "
            f"interviews) on {len(plans)} deals closed {first} to {last}, "
            f"in {clock.monotonic() - started:.1f}s."
        )
        if world.created_users:
            echo(f"Created {world.created_users} demo users. Sign in as, for example:")
        else:
            echo("Reused the existing demo users. Sign in (unless a password was changed) as:")
        for hint in world.hints:
            echo(hint)
    return created


def ensure_demo_data(echo: Echo, *, anchor: date | None = None) -> int:
    """Generate the default demo data and its showcase (kb.demo.showcase),
    but only into a database without debriefs. Returns the number of
    debriefs created."""
    existing = _count(Debrief)
    if existing:
        if echo is not None:
            echo(f"The database already has {existing} debriefs; not adding demo data.")
        return 0
    if echo is not None:
        echo(f"The database has no debriefs yet; adding {DEFAULT_COUNT} demo debriefs.")
    return generate_with_showcase(DEFAULT_COUNT, DEFAULT_SEED, echo, anchor=anchor)


def generate_with_showcase(count: int, seed: int, echo: Echo, *, anchor: date | None = None) -> int:
    """generate(), then the themes, practices and to-dos of a knowledge base in use."""
    from kb.demo.showcase import add_showcase  # it builds on this module

    anchor = anchor or date.today()
    created = generate(count, seed, echo, anchor=anchor)
    shown = add_showcase(seed, anchor)
    if echo is not None:
        echo(shown.summary())
    return created
