"""The demo data generator: deterministic, realistic in shape, and carrying the
planted themes that search and discovery features are expected to surface."""

import hashlib
import json
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from statistics import median

from click.testing import CliRunner
from sqlalchemy import func, select

from kb import create_app, search
from kb.analytics.periods import rolling
from kb.cli import main
from kb.deals.coverage import todos_for
from kb.demo.generator import (
    DEMO_PASSWORD,
    PLANTED_THEMES,
    TEXT_FIELDS,
    ensure_demo_data,
    generate,
    generate_with_showcase,
)
from kb.demo.showcase import add_showcase
from kb.extensions import db
from kb.lookups import find_competitor
from kb.models import (
    Comment,
    Competitor,
    CompetitorAlias,
    Deal,
    Debrief,
    DebriefSource,
    DebriefStatus,
    Direction,
    Endorsement,
    IndexChange,
    Outcome,
    Polarity,
    Practice,
    PracticeKind,
    PracticeStatus,
    Quote,
    Reason,
    ReasonCategory,
    Role,
    Tag,
    Team,
    Theme,
    ThemeStatus,
    User,
    WinnerKind,
    deal_competitors,
    practice_tags,
)
from kb.practices.queries import featured_for
from kb.themes import engine, figures
from kb.themes.facts import deal_facts

ANCHOR = date(2026, 6, 30)
FREE_TEXT = ("decision_process", "competitive_notes", "what_worked", "lessons_learned")
# Columns that differ between runs by design: salted hashes and insert times.
VOLATILE = {"password_hash", "users.created_at", "index_changes.created_at"}


GENERATED = (
    Team.__table__,
    User.__table__,
    Competitor.__table__,
    CompetitorAlias.__table__,
    Deal.__table__,
    deal_competitors,
    Debrief.__table__,
    Reason.__table__,
    Quote.__table__,
)
SHOWCASE = (
    Theme.__table__,
    Practice.__table__,
    Tag.__table__,
    practice_tags,
    Endorsement.__table__,
    Comment.__table__,
    IndexChange.__table__,
)


def _digest(tables=GENERATED) -> str:
    """A fingerprint of everything the generator writes (ids included)."""
    h = hashlib.sha256()
    for table in tables:
        columns = [c for c in table.columns if c.name not in VOLATILE and str(c) not in VOLATILE]
        for row in db.session.execute(select(*columns).order_by(*table.primary_key.columns)).all():
            h.update(json.dumps([_plain(v) for v in row], default=str).encode())
    return h.hexdigest()


def _plain(value):
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    return getattr(value, "value", value)


def _debriefs() -> list[dict]:
    """Each debrief with its deal's facts and all of its text, by field."""
    comps = defaultdict(list)
    for deal_id, name in db.session.execute(
        select(deal_competitors.c.deal_id, Competitor.name).join(
            Competitor, Competitor.id == deal_competitors.c.competitor_id
        )
    ):
        comps[deal_id].append(name)
    reasons, quotes = defaultdict(list), defaultdict(list)
    for debrief_id, text in db.session.execute(select(Reason.debrief_id, Reason.explanation)):
        reasons[debrief_id].append(text)
    for debrief_id, text in db.session.execute(select(Quote.debrief_id, Quote.text)):
        quotes[debrief_id].append(text)
    rows = db.session.execute(
        select(
            Debrief.id,
            Debrief.deal_id,
            Debrief.source,
            *(getattr(Debrief, f) for f in FREE_TEXT),
            Deal.outcome,
            Deal.segment,
            Deal.close_date,
        ).join(Deal, Deal.id == Debrief.deal_id)
    )
    out = []
    for row in rows:
        texts = {f: getattr(row, f) for f in FREE_TEXT}
        texts["reasons.explanation"] = " ".join(reasons[row.id])
        texts["quotes.text"] = " ".join(quotes[row.id])
        out.append(
            {
                "id": row.id,
                "deal_id": row.deal_id,
                "source": row.source,
                "outcome": row.outcome.value,
                "segment": row.segment,
                "competitors": comps[row.deal_id],
                "close_date": row.close_date,
                "texts": {k: v.lower() for k, v in texts.items()},
            }
        )
    return out


def _share(debriefs: list[dict], phrase: str) -> float:
    hits = sum(any(phrase in t for t in d["texts"].values()) for d in debriefs)
    return hits / len(debriefs)


def _facts(d: dict) -> dict:
    return {k: d[k] for k in ("outcome", "segment", "competitors", "close_date")}


def _second_database(tmp_path, competitors):
    """A freshly migrated SQLite database holding the same competitors as the
    fixture's (whatever the fixture's database is)."""
    from kb.cli import init_database

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'second.sqlite3'}",
            "KB_INDEX_DIR": str(tmp_path / "second-index"),
        }
    )
    with app.app_context():
        init_database()
        for name, aliases in competitors:
            competitor = Competitor(name=name)
            competitor.aliases = [CompetitorAlias(alias=a, key=a.lower()) for a in aliases]
            db.session.add(competitor)
        db.session.commit()
    return app


def test_same_seed_same_data_and_a_second_run_adds_more(app, tmp_path):
    competitors = [
        (c.name, [a.alias for a in c.aliases])
        for c in db.session.scalars(select(Competitor).order_by(Competitor.id))
    ]
    assert generate(300, seed=11, echo=None, anchor=ANCHOR) == 300
    first = _digest()

    other = _second_database(tmp_path, competitors)
    with other.app_context():
        assert generate(300, seed=11, echo=None, anchor=ANCHOR) == 300
        assert _digest() == first
        before = {t for (t,) in db.session.execute(select(Debrief.decision_process))}
        crm_ids = set(db.session.scalars(select(Deal.crm_id)))

        # Run again: the same users and competitors, new and different deals.
        users = db.session.scalar(select(func.count()).select_from(User))
        assert generate(300, seed=11, echo=None, anchor=ANCHOR) == 300
        assert db.session.scalar(select(func.count()).select_from(User)) == users
        assert db.session.scalar(select(func.count()).select_from(Debrief)) == 600
        after = list(
            db.session.scalars(select(Debrief.decision_process).order_by(Debrief.id).offset(300))
        )
        assert sum(t in before for t in after) < 30
        new_crm_ids = set(db.session.scalars(select(Deal.crm_id))) - crm_ids
        assert len(new_crm_ids) > 200
        db.session.remove()
        db.engine.dispose()

    # A different seed gives different data.
    assert generate(50, seed=12, echo=None, anchor=ANCHOR) == 50
    texts = list(
        db.session.scalars(select(Debrief.decision_process).order_by(Debrief.id).offset(300))
    )
    first_texts = set(
        db.session.scalars(select(Debrief.decision_process).order_by(Debrief.id).limit(300))
    )
    assert sum(t in first_texts for t in texts) < 5


def test_demo_data_has_the_shape_of_a_real_programme(app):
    assert generate(400, seed=5, echo=None, anchor=ANCHOR) == 400
    debriefs = list(db.session.scalars(select(Debrief).order_by(Debrief.id)))
    assert len(debriefs) == 400

    # Every debrief is queued for the search index.
    outbox = db.session.execute(select(IndexChange.doc_type, IndexChange.doc_id)).all()
    assert sorted(outbox) == sorted(("debrief", d.id) for d in debriefs)

    # Types survive the bulk insert and come back through the ORM.
    d = debriefs[0]
    assert isinstance(d.source, DebriefSource) and isinstance(d.status, DebriefStatus)
    assert isinstance(d.deal.outcome, Outcome)
    assert isinstance(d.reasons[0].direction, Direction)
    assert all(isinstance(x.deal.amount, Decimal) for x in debriefs if x.deal.amount is not None)

    deals = list(db.session.scalars(select(Deal)))
    outcomes = Counter(deal.outcome for deal in deals)
    assert set(outcomes) == set(Outcome)
    assert all(v > len(deals) * 0.1 for v in outcomes.values())
    dates = [deal.close_date for deal in deals]
    assert max(dates) < ANCHOR and (max(dates) - min(dates)).days > 2 * 365

    by_deal = defaultdict(list)
    for x in debriefs:
        by_deal[x.deal_id].append(x.source)
    both = [k for k, sources in by_deal.items() if sorted(sources) == ["buyer", "rep"]]
    assert len(both) > 40
    assert sum(s == DebriefSource.BUYER for x in by_deal.values() for s in x) > 60

    for x in debriefs:
        assert x.reasons, x.id
        assert sum(r.is_primary for r in x.reasons) == 1
        assert all(r.category.parent_id is not None for r in x.reasons)
        assert [r.rank for r in x.reasons] == list(range(1, len(x.reasons) + 1))
        if x.source == DebriefSource.BUYER:
            assert x.author.role == Role.MARKETING
            assert x.interviewee_role and x.interview_date >= x.deal.close_date
            assert x.interview_date <= ANCHOR
        else:
            assert x.author_id == x.deal.owner_id and x.author.role == Role.REP
            assert x.interviewee_role is None
        assert (x.submitted_at is None) == (x.status == DebriefStatus.DRAFT)
    drafts = sum(x.status == DebriefStatus.DRAFT for x in debriefs)
    assert 0 < drafts < 40
    # Wins are mostly explained by what helped, losses by what hurt.
    primary = Counter(
        (x.deal.outcome, next(r.direction for r in x.reasons if r.is_primary)) for x in debriefs
    )
    assert primary[Outcome.WON, Direction.HELPED] > 5 * primary[Outcome.WON, Direction.HURT]
    assert primary[Outcome.LOST, Direction.HURT] > 5 * primary[Outcome.LOST, Direction.HELPED]
    categories = {r.category_id for x in debriefs for r in x.reasons}
    second_level = db.session.scalar(
        select(func.count()).where(ReasonCategory.parent_id.is_not(None))
    )
    assert len(categories) > second_level * 0.8

    # The text is varied, not a handful of sentences repeated.
    explanations = [r.explanation for x in debriefs for r in x.reasons if r.explanation]
    assert len(set(explanations)) > 0.9 * len(explanations)
    notes = [x.decision_process for x in debriefs if x.decision_process]
    assert len(set(notes)) > 0.97 * len(notes)
    assert sum(len(x.quotes) for x in debriefs) > 400
    assert all(q.speaker_role for x in debriefs for q in x.quotes)
    scored = [x for x in debriefs if any(v is not None for v in x.scores.values())]
    assert len(scored) > 150
    assert all(1 <= v <= 5 for x in scored for v in x.scores.values() if v is not None)

    # Deal facts.
    crm_ids = [deal.crm_id for deal in deals if deal.crm_id]
    assert len(crm_ids) > 0.8 * len(deals) and len(set(crm_ids)) == len(crm_ids)
    assert all(c.startswith("006") and len(c) == 15 for c in crm_ids)
    amounts = defaultdict(list)
    for deal in deals:
        if deal.amount is not None:
            amounts[deal.segment].append(deal.amount)
    assert median(amounts["SMB"]) < median(amounts["Mid-market"]) < median(amounts["Enterprise"])
    assert Counter(deal.currency for deal in deals).most_common(1)[0][0] == "USD"
    for deal in deals:
        assert deal.owner.role == Role.REP
        assert deal.sales_cycle_days > 0 and deal.stage_reached
        assert deal.segment and deal.region and deal.industry and deal.product_line
        if deal.outcome == Outcome.WON:
            assert deal.winner_kind is None and deal.stage_reached == "Closed won"
        else:
            assert deal.winner_kind is not None
        if deal.winner_kind == WinnerKind.COMPETITOR:
            assert deal.winner_competitor in deal.competitors
    assert sum(deal.winner_kind == WinnerKind.COMPETITOR for deal in deals) > 50
    # Some recent deals are still owed a debrief: the coverage to-do list.
    assert any(not deal.debriefs for deal in deals)
    assert all(deal.crm_id for deal in deals if not deal.debriefs)

    # People and competitors.
    assert len(list(db.session.scalars(select(Competitor)))) >= 6
    assert find_competitor("SFDC").name == "Salesforce"
    assert find_competitor("acme corp").name == "Acme"
    teams = list(db.session.scalars(select(Team)))
    assert len(teams) >= 3
    for team in teams:
        roles = Counter(u.role for u in team.members)
        assert roles[Role.MANAGER] == 1 and roles[Role.REP] >= 3
    admin = db.session.scalar(select(User).where(User.email == "admin@demo.example"))
    assert admin.role == Role.ADMIN and admin.check_password(DEMO_PASSWORD)


def test_planted_themes_stand_out_in_their_subsets(app):
    generate(500, seed=7, echo=None, anchor=ANCHOR)
    debriefs = _debriefs()
    assert len(PLANTED_THEMES) >= 4
    phrases = {t.phrase for t in PLANTED_THEMES}
    assert {"implementation timeline", "security review", "per-seat pricing"} <= phrases

    for theme in PLANTED_THEMES:
        inside = [d for d in debriefs if theme.matches(**_facts(d), anchor=ANCHOR)]
        outside = [d for d in debriefs if not theme.matches(**_facts(d), anchor=ANCHOR)]
        assert len(inside) >= 10, theme.key
        share_in, share_out = _share(inside, theme.phrase), _share(outside, theme.phrase)
        assert 0.3 <= share_in <= 0.75, (theme.key, share_in)
        assert share_out < 0.03, (theme.key, share_out)
        assert share_in > 10 * share_out, (theme.key, share_in, share_out)
        # Only in the fields the theme says carry it.
        for d in debriefs:
            for field, text in d["texts"].items():
                if theme.phrase in text:
                    assert field in theme.fields and field in TEXT_FIELDS, (theme.key, field)

    # The emerging theme was rare in the same kind of deal before its window.
    emerging = next(t for t in PLANTED_THEMES if t.prior_share is not None)
    earlier = [
        d
        for d in debriefs
        if emerging.matches(**_facts(d), anchor=ANCHOR, ignore_window=True)
        and not emerging.matches(**_facts(d), anchor=ANCHOR)
    ]
    recent = [d for d in debriefs if emerging.matches(**_facts(d), anchor=ANCHOR)]
    assert len(earlier) > len(recent)
    assert _share(recent, emerging.phrase) > 3 * _share(earlier, emerging.phrase)
    window = timedelta(days=emerging.filters["closed_within_days"])
    mentions = [d for d in debriefs if emerging.phrase in " ".join(d["texts"].values())]
    assert sum(d["close_date"] >= ANCHOR - window for d in mentions) > 0.6 * len(mentions)

    # The addressed theme's phrase is rarer in its subset since it was addressed.
    fixed = next(t for t in PLANTED_THEMES if t.addressed_days is not None)
    inside = [d for d in debriefs if fixed.matches(**_facts(d), anchor=ANCHOR)]
    after = [d for d in inside if fixed.addressed_before(d["close_date"], ANCHOR)]
    before = [d for d in inside if d not in after]
    assert len(after) >= 10 and len(before) > len(after)
    assert _share(after, fixed.phrase) < 0.5 * _share(before, fixed.phrase)


def test_demo_command_and_ensure_demo_data(app, runner):
    result = runner.invoke(
        args=["demo", "--debriefs", "50", "--seed", "3", "--as-of", "2026-06-30"]
    )
    assert result.exit_code == 0, result.output
    assert "admin@demo.example" in result.output and DEMO_PASSWORD in result.output
    assert db.session.scalar(select(func.count()).select_from(Debrief)) == 50
    assert db.session.scalar(select(func.count()).select_from(Deal)) >= 40

    said = []
    assert ensure_demo_data(echo=said.append) == 0
    assert "already has 50 debriefs" in said[0]

    result = runner.invoke(
        args=["demo", "--debriefs", "20", "--seed", "3", "--as-of", "2026-06-30"]
    )
    assert result.exit_code == 0, result.output
    assert "Reused the existing demo users" in result.output
    assert db.session.scalar(select(func.count()).select_from(Debrief)) == 70


def test_ensure_demo_data_fills_an_empty_database(app):
    said = []
    created = ensure_demo_data(echo=said.append, anchor=ANCHOR)
    assert created == 600 == db.session.scalar(select(func.count()).select_from(Debrief))
    assert "no debriefs yet" in said[0]
    assert any("rita.rep@demo.example" in line for line in said)


def _demo_reps() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.REP, User.email.like("%@demo.example"))
            .order_by(User.id)
        )
    )


def test_the_demo_shows_a_knowledge_base_in_use(app):
    """What `make run` shows on an empty database: the default demo data with
    tracked themes, shared practices and every rep's to-do list."""
    said = []
    ensure_demo_data(echo=said.append, anchor=ANCHOR)
    assert any("5 themes, 7 practices and lessons" in line for line in said), said

    # Themes: strengths and weaknesses, one addressed on a day with what was done.
    themes = list(db.session.scalars(select(Theme).order_by(Theme.id)))
    assert len(themes) == 5
    assert {t.polarity for t in themes} == {Polarity.STRENGTH, Polarity.WEAKNESS}
    addressed = [t for t in themes if t.status == ThemeStatus.ADDRESSED]
    assert len(addressed) == 1
    fixed = addressed[0]
    assert fixed.addressed_on == ANCHOR - timedelta(days=120)
    assert "change management plan" in fixed.addressed_action
    assert sum(t.status == ThemeStatus.TRACKED for t in themes) >= 3
    assert all(t.addressed_on is None for t in themes if t is not fixed)

    # Practices and lessons, published, some anonymous, one featured.
    practices = list(db.session.scalars(select(Practice).order_by(Practice.id)))
    assert len(practices) == 7
    assert {p.kind for p in practices} == {PracticeKind.PRACTICE, PracticeKind.LESSON}
    assert all(p.status == PracticeStatus.PUBLISHED and p.published_at for p in practices)
    anonymous = [p for p in practices if p.anonymous]
    assert 2 <= len(anonymous) < len(practices)
    # An anonymous entry links to no deal or debrief that would name its author.
    assert all(p.deal_id is None and p.debrief_id is None for p in anonymous)
    featured = [p for p in practices if p.featured]
    assert len(featured) == 1 and featured[0].featured_at and featured[0].deal is not None
    assert all(p.endorsements for p in practices)
    assert all(e.user_id != p.author_id for p in practices for e in p.endorsements)
    assert sum(len(p.comments) for p in practices) == 7
    assert sum(bool(p.comments) for p in practices) >= 4
    assert all(p.published_at.date() < ANCHOR for p in practices)
    # Queued for search, like every practice.
    queued = set(
        db.session.scalars(select(IndexChange.doc_id).where(IndexChange.doc_type == "practice"))
    )
    assert queued == {p.id for p in practices}

    # Every rep has closed won and lost deals waiting for a debrief.
    reps = _demo_reps()
    assert len(reps) == 20
    waiting = []
    for rep in reps:
        count, todos = todos_for(rep, ANCHOR, 14)
        recent = [w.deal for w in todos if w.days_since_close < 30]
        outcomes = Counter(d.outcome for d in recent)
        assert outcomes[Outcome.WON] >= 1 and outcomes[Outcome.LOST] >= 2, rep.email
        # No rep debrief submitted yet (a draft may be under way).
        for d in recent:
            assert d.close_date < ANCHOR, rep.email
            submitted = [x for x in d.debriefs if x.status == DebriefStatus.SUBMITTED]
            assert all(x.source == DebriefSource.BUYER for x in submitted), rep.email
        waiting.extend(recent)
    from_crm = [d for d in waiting if d.crm_id]
    assert len(from_crm) > len(waiting) // 2 and len(from_crm) < len(waiting)
    assert all(d.segment and d.region for d in waiting)

    # The featured practice is offered on a rep's home page.
    rita = db.session.scalar(select(User).where(User.email == "rita.rep@demo.example"))
    _, todos = todos_for(rita, ANCHOR, 14)
    offered = featured_for(rita, ANCHOR, [w.deal.id for w in todos])
    assert [p.id for p in offered] == [featured[0].id]

    # Each theme finds debriefs, and the addressed one has figures on both
    # sides of the day it was addressed.
    search.catch_up()
    snap, facts = engine.snapshot(), deal_facts()
    for theme in themes:
        found = figures.figures(snap, facts, theme, rolling("365d", ANCHOR), ANCHOR, "quarter")
        assert found.total > 0 and not found.warnings, theme.name
    found = figures.figures(snap, facts, fixed, rolling("365d", ANCHOR), ANCHOR, "quarter")
    ba = found.before_after
    assert ba is not None and ba.days == 121 and not ba.too_early
    assert ba.before.mentions > 0 and ba.after.mentions > 0
    # Addressing it worked: the phrase is much rarer since.
    assert ba.after.share < 0.6 * ba.before.share
    assert ba.before.debriefs > ba.before.mentions and ba.after.debriefs > ba.after.mentions


def test_the_showcase_is_deterministic_and_added_once(app, tmp_path):
    competitors = [
        (c.name, [a.alias for a in c.aliases])
        for c in db.session.scalars(select(Competitor).order_by(Competitor.id))
    ]
    assert generate_with_showcase(120, seed=4, echo=None, anchor=ANCHOR) == 120
    first = _digest(GENERATED + SHOWCASE)
    deals = db.session.scalar(select(func.count()).select_from(Deal))

    other = _second_database(tmp_path, competitors)
    with other.app_context():
        assert generate_with_showcase(120, seed=4, echo=None, anchor=ANCHOR) == 120
        assert _digest(GENERATED + SHOWCASE) == first
        db.session.remove()
        db.engine.dispose()

    # Again on the same data: nothing is added twice.
    again = add_showcase(4, ANCHOR)
    assert (again.waiting_deals, again.themes, again.practices) == (0, 0, 0)
    assert _digest(GENERATED + SHOWCASE) == first
    assert db.session.scalar(select(func.count()).select_from(Deal)) == deals


def test_demo_as_of_a_day(app, runner):
    result = runner.invoke(
        args=["demo", "--debriefs", "40", "--seed", "3", "--as-of", "2025-02-28"]
    )
    assert result.exit_code == 0, result.output
    last = db.session.scalar(select(func.max(Deal.close_date)))
    assert date(2025, 2, 1) < last < date(2025, 2, 28)
    addressed = db.session.scalar(select(Theme.addressed_on).where(Theme.addressed_on.is_not(None)))
    assert addressed == date(2025, 2, 28) - timedelta(days=120)


def test_demo_refuses_a_date_that_does_not_exist(app, runner):
    result = runner.invoke(args=["demo", "--debriefs", "40", "--as-of", "2025-02-30"])
    assert result.exit_code == 2
    assert "'2025-02-30' does not match the format '%Y-%m-%d'" in result.output
    assert db.session.scalar(select(func.count()).select_from(Deal)) == 0
    assert db.session.scalar(select(func.count()).select_from(User)) == 0

    # `kb run --demo` takes the same option, checked before anything starts.
    result = CliRunner().invoke(main, ["run", "--demo", "--as-of", "30/06/2026"])
    assert result.exit_code == 2
    assert "Invalid value for '--as-of': '30/06/2026' does not match" in result.output
