"""A demo knowledge base in use: each rep's closed deals waiting for their
debrief, the themes marketing tracks (one addressed, so its page compares
before and after), and shared practices and lessons with endorsements,
comments and one featured.

Added once: each part is skipped where it already exists (a theme or
practice of the same name, a rep who already has recent deals waiting), so
running the demo again adds nothing twice. Deterministic for a seed and
anchor date on the same generated data.
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from kb.analytics.filters import clean_filters
from kb.deals.coverage import has_rep_debrief
from kb.demo.generator import (
    DEMO_DOMAIN,
    SEGMENT_WEIGHTS,
    _Builder,
    _insert_batch,
    _Plan,
    _weighted_choices,
    _World,
    prepare_world,
)
from kb.demo.stories import PRACTICES, THEMES, StoryPractice, StoryTheme
from kb.extensions import db
from kb.models import (
    Comment,
    Deal,
    Endorsement,
    Outcome,
    Practice,
    PracticeStatus,
    Tag,
    Theme,
    User,
)
from kb.search.outbox import enqueue
from kb.themes.queries import query_problem

# Each rep's recent closed deals without a debrief, topped up to these.
WAITING = {Outcome.WON: 1, Outcome.LOST: 2}
RECENT_DAYS = 30
HAND_ENTERED = 0.25  # share of the added deals typed in rather than imported from the CRM


@dataclass
class Showcase:
    waiting_deals: int = 0
    themes: int = 0
    practices: int = 0
    endorsements: int = 0
    comments: int = 0

    def summary(self) -> str:
        return (
            f"Added {self.waiting_deals} closed deals waiting for a debrief, {self.themes} "
            f"themes, {self.practices} practices and lessons with {self.endorsements} "
            f"endorsements and {self.comments} comments."
        )


def add_showcase(seed: int, anchor: date) -> Showcase:
    world = prepare_world(anchor)
    rng = random.Random(f"kb-demo/showcase/{seed}")
    found = Showcase()
    found.waiting_deals = _add_waiting_deals(world, rng)
    people = _demo_people()
    found.themes = _add_themes(people, anchor)
    for story in PRACTICES:
        if _add_practice(story, people, anchor, found):
            found.practices += 1
    db.session.commit()
    return found


def _stamp(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour))


def _demo_people() -> dict[str, User]:
    users = db.session.scalars(select(User).where(User.email.like(f"%@{DEMO_DOMAIN}")))
    return {u.email.split("@")[0]: u for u in users}


# --- the to-do lists -----------------------------------------------------------


def _waiting(rep_id: int, anchor: date) -> dict[Outcome, int]:
    rows = db.session.execute(
        select(Deal.outcome, func.count())
        .where(
            Deal.owner_id == rep_id,
            Deal.close_date <= anchor,
            Deal.close_date > anchor - timedelta(days=RECENT_DAYS),
            ~has_rep_debrief(),
        )
        .group_by(Deal.outcome)
    )
    return {outcome: n for outcome, n in rows}


def _add_waiting_deals(world: _World, rng: random.Random) -> int:
    """Closed won and lost deals for every rep, recently closed and not yet
    debriefed: mostly imported from the CRM (with its id), a few typed in."""
    crm_ids = set(db.session.scalars(select(Deal.crm_id).where(Deal.crm_id.is_not(None))))
    builder = _Builder(rng, world, crm_ids)
    segments = _weighted_choices(world.choices["segment"], SEGMENT_WEIGHTS, 20)
    batch = []
    for index, rep in enumerate(world.reps):
        waiting = _waiting(rep.id, world.anchor)
        for outcome, wanted in WAITING.items():
            for _ in range(wanted - waiting.get(outcome, 0)):
                close = world.anchor - timedelta(days=rng.randint(1, RECENT_DAYS - 5))
                segment = segments.pick(rng) if segments else None
                plan = _Plan(close, segment, rep=False, buyer=False, owner=index, outcome=outcome)
                deal = builder.deal(plan)
                if rng.random() < HAND_ENTERED:
                    deal.row["crm_id"] = None
                batch.append((deal, []))
    if batch:
        _insert_batch(batch)
    return len(batch)


# --- themes --------------------------------------------------------------------


def _add_themes(people: dict[str, User], anchor: date) -> int:
    added = 0
    for story in THEMES:
        if db.session.scalar(select(Theme.id).where(func.lower(Theme.name) == story.name.lower())):
            continue
        db.session.add(_theme(story, people, anchor))
        added += 1
    db.session.flush()
    return added


def _theme(story: StoryTheme, people: dict[str, User], anchor: date) -> Theme:
    filters, errors = clean_filters(story.filters)
    problem = query_problem(story.query)
    if errors or problem:
        raise ValueError(f"Demo theme {story.name!r}: {errors or problem}")
    owner = people.get(story.owner) if story.owner else None
    created = _stamp(anchor - timedelta(days=story.created_days_ago))
    addressed_on = (
        anchor - timedelta(days=story.addressed_days_ago)
        if story.addressed_days_ago is not None
        else None
    )
    return Theme(
        name=story.name,
        description=story.description,
        query=story.query,
        filters=filters,
        polarity=story.polarity,
        status=story.status,
        addressed_on=addressed_on,
        addressed_action=story.addressed_action,
        owner_id=owner.id if owner else None,
        notes=story.notes,
        created_by_id=(owner or people.get("mae.marketing")).id,
        created_at=created,
        updated_at=_stamp(addressed_on) if addressed_on else created,
    )


# --- practices and lessons -----------------------------------------------------


def _add_practice(story: StoryPractice, people: dict[str, User], anchor: date, found) -> bool:
    if db.session.scalar(select(Practice.id).where(Practice.title == story.title)):
        return False
    author = people[story.author]
    published = _stamp(anchor - timedelta(days=story.published_days_ago), 9)
    practice = Practice(
        kind=story.kind,
        title=story.title,
        situation=story.situation,
        actions=story.actions,
        result=story.result,
        author=author,
        anonymous=story.anonymous,
        status=PracticeStatus.PUBLISHED,
        featured=story.featured,
        featured_at=published + timedelta(days=5) if story.featured else None,
        created_at=published - timedelta(hours=1),
        updated_at=published,
        published_at=published,
        tags=[_tag(name) for name in story.tags],
    )
    if story.linked_outcome and not story.anonymous:
        practice.deal = _linked_deal(author, Outcome(story.linked_outcome), anchor)
    for local, kind in story.endorsements:
        practice.endorsements.append(
            Endorsement(
                user_id=people[local].id,
                kind=kind,
                created_at=published + timedelta(days=1 + len(practice.endorsements)),
            )
        )
    for comment in story.comments:
        practice.comments.append(
            Comment(
                author_id=people[comment.author].id,
                body=comment.body,
                created_at=published + timedelta(days=comment.days_after, hours=3),
            )
        )
    db.session.add(practice)
    db.session.flush()
    enqueue("practice", practice.id)
    found.endorsements += len(story.endorsements)
    found.comments += len(story.comments)
    return True


def _tag(name: str) -> Tag:
    tag = db.session.scalar(select(Tag).where(Tag.name == name))
    if tag is None:
        tag = Tag(name=name)
        db.session.add(tag)
    return tag


def _linked_deal(author: User, outcome: Outcome, anchor: date) -> Deal | None:
    """The author's most recent deal with this outcome that they debriefed."""
    return db.session.scalar(
        select(Deal)
        .where(
            Deal.owner_id == author.id,
            Deal.outcome == outcome,
            Deal.close_date <= anchor,
            has_rep_debrief(),
        )
        .order_by(Deal.close_date.desc(), Deal.id.desc())
        .limit(1)
    )
