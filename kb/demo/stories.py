"""What the demo's people have made of their debriefs: the themes marketing
tracks and the practices and lessons reps share, with who endorsed and
commented on them. People are named by the local part of their demo e-mail.

The themes follow the phrases the generator plants (kb.demo.themes), so each
has figures; the practices' text is new, so none can be traced back to a
debrief by searching for it.
"""

from dataclasses import dataclass, field

from kb.demo.themes import PLANTED_THEMES
from kb.models import EndorsementKind, Polarity, PracticeKind, ThemeStatus

TRIED, HELPFUL = EndorsementKind.TRIED, EndorsementKind.HELPFUL
# The planted phrase whose problem was addressed: the theme is addressed on
# the day the phrase becomes rarer.
ADDRESSED = next(t for t in PLANTED_THEMES if t.addressed_days is not None)


@dataclass(frozen=True)
class StoryTheme:
    name: str
    query: str
    filters: dict
    polarity: Polarity
    status: ThemeStatus
    owner: str | None
    created_days_ago: int
    description: str
    notes: str = ""
    # For an addressed theme: how long before the anchor date, and what was done.
    addressed_days_ago: int | None = None
    addressed_action: str = ""


@dataclass(frozen=True)
class StoryComment:
    author: str
    days_after: int  # after the practice was published
    body: str


@dataclass(frozen=True)
class StoryPractice:
    kind: PracticeKind
    title: str
    situation: str
    actions: str
    result: str
    author: str
    published_days_ago: int
    tags: tuple[str, ...]
    anonymous: bool = False
    featured: bool = False
    # Linked to the author's newest debriefed deal with this outcome (never
    # for an anonymous entry: the deal would name its owner).
    linked_outcome: str | None = None
    endorsements: tuple[tuple[str, EndorsementKind], ...] = ()
    comments: tuple[StoryComment, ...] = field(default=())


THEMES = (
    StoryTheme(
        name="Implementation timeline against Acme",
        query='"implementation timeline"',
        filters={"competitor": "Acme"},
        polarity=Polarity.WEAKNESS,
        status=ThemeStatus.TRACKED,
        owner="mae.marketing",
        created_days_ago=300,
        description="Acme wins Enterprise deals on a shorter, guaranteed rollout plan.",
        notes="Services are scoping a fixed-length rollout for Enterprise; review each quarter.",
    ),
    StoryTheme(
        name="Security review as a strength",
        query='"security review"',
        filters={},
        polarity=Polarity.STRENGTH,
        status=ThemeStatus.TRACKED,
        owner="jonas.ferreira",
        created_days_ago=260,
        description="Buyers say we clear their security review fastest; against Globex above all.",
        notes="Used in the Q3 battlecard against Globex.",
    ),
    StoryTheme(
        name="Per-seat pricing objection",
        query='"per-seat pricing"',
        filters={"segment": "Mid-market"},
        polarity=Polarity.WEAKNESS,
        status=ThemeStatus.EMERGING,
        owner=None,
        created_days_ago=45,
        description="A new objection in Mid-market losses over the last two quarters.",
    ),
    StoryTheme(
        name="Mutual action plans win deals",
        query='"mutual action plan"',
        # No outcome filter: its win rate when mentioned is compared with all
        # deals' (a theme of won deals only would be won 100 % of the time).
        filters={},
        polarity=Polarity.STRENGTH,
        status=ThemeStatus.TRACKED,
        owner="mona.manager",
        created_days_ago=400,
        description="Reps who agree a mutual action plan with the buyer win more often.",
    ),
    StoryTheme(
        name="Change management effort",
        query=f'"{ADDRESSED.phrase}"',
        filters={},
        polarity=Polarity.WEAKNESS,
        status=ThemeStatus.ADDRESSED,
        owner="mae.marketing",
        created_days_ago=330,
        description="Deals stall when the buyer fears the change management a rollout takes.",
        addressed_days_ago=ADDRESSED.addressed_days,
        addressed_action=(
            "Every proposal above $50k now includes a change management plan and two adoption "
            "workshops, and a customer who went through the same rollout joins the final call."
        ),
    ),
)

PRACTICES = (
    StoryPractice(
        kind=PracticeKind.PRACTICE,
        title="Agree a mutual action plan in week two",
        situation="Mid-sized deals slipped a quarter at a time once procurement got involved.",
        actions=(
            "After discovery, draft a one-page plan with the champion: every step to signature, "
            "with an owner and a date on each side. Review it at the start of every call."
        ),
        result="Three deals in a row closed on the planned date; the champion reused the plan "
        "as their internal project plan.",
        author="daniel.okafor",
        published_days_ago=40,
        tags=("closing", "process"),
        featured=True,
        linked_outcome="won",
        endorsements=(
            ("rita.rep", TRIED),
            ("rita.rep", HELPFUL),
            ("carlos.mendes", TRIED),
            ("marta.nowak", HELPFUL),
            ("mona.manager", HELPFUL),
            ("aiko.tanaka", HELPFUL),
        ),
        comments=(
            StoryComment(
                "rita.rep", 3, "Tried it on the Northwind renewal - procurement stuck to the dates."
            ),
            StoryComment(
                "mona.manager", 5, "Featuring this. Please use it on every deal over $50k."
            ),
            StoryComment("carlos.mendes", 12, "Works best when the buyer writes half of it."),
        ),
    ),
    StoryPractice(
        kind=PracticeKind.PRACTICE,
        title="Send the security pack with the first proposal",
        situation="Security questionnaires added weeks at the end of every regulated deal.",
        actions=(
            "Attach our standard security pack and certifications to the first proposal and "
            "offer a call with our security lead before they ask."
        ),
        result="Their review finished before the competitor had sent their documents.",
        author="priya.raman",
        published_days_ago=75,
        tags=("security", "globex"),
        linked_outcome="won",
        endorsements=(
            ("lukas.becker", TRIED),
            ("hannah.cole", HELPFUL),
            ("sofia.lindqvist", HELPFUL),
        ),
        comments=(StoryComment("lukas.becker", 9, "Our EMEA buyers ask for the DPA too; add it."),),
    ),
    StoryPractice(
        kind=PracticeKind.PRACTICE,
        title="A reference call from the same industry before the proposal",
        situation="Late-stage doubts about whether we had done it before in their industry.",
        actions="Line up a reference customer from the same industry and let the buyer call "
        "them without us on the line.",
        result="The buyer's CFO stopped asking for more proof after the call.",
        author="mateo.silva",
        published_days_ago=20,
        tags=("references",),
        anonymous=True,
        endorsements=(("chloe.tan", HELPFUL), ("jamal.wright", TRIED)),
    ),
    StoryPractice(
        kind=PracticeKind.PRACTICE,
        title="Meet the CFO before the proposal, not after",
        situation="Deals approved by the business stalled at the budget owner.",
        actions="Ask the champion for thirty minutes with the CFO once the pilot succeeds; bring "
        "the ROI case in their numbers.",
        result="No surprise budget review at the end.",
        author="rita.rep",
        published_days_ago=60,
        tags=("roi", "executives"),
        linked_outcome="won",
        endorsements=(("tom.brennan", HELPFUL), ("grace.liu", TRIED)),
        comments=(StoryComment("grace.liu", 4, "Our CFO meeting went better with a one-pager."),),
    ),
    StoryPractice(
        kind=PracticeKind.LESSON,
        title="Defend the rollout plan with a named delivery lead",
        situation="Lost an Enterprise deal to a competitor who promised a much shorter rollout.",
        actions="Bring the delivery lead to the second meeting with a week-by-week plan and a "
        "customer who went live on time.",
        result="We lost this one, but the next two buyers stopped comparing rollout promises.",
        author="oliver.hughes",
        published_days_ago=90,
        tags=("acme", "implementation"),
        anonymous=True,
        endorsements=(("amelie.laurent", HELPFUL), ("ravi.shah", HELPFUL), ("luca.romano", TRIED)),
        comments=(
            StoryComment(
                "marcus.webb", 6, "Services agreed to join the second meeting from now on."
            ),
        ),
    ),
    StoryPractice(
        kind=PracticeKind.LESSON,
        title="Have a flat-fee option ready for growing companies",
        situation="A fast-growing buyer modelled our price at next year's headcount and balked.",
        actions="Ask deal desk for a platform fee option as soon as the buyer says they hire.",
        result="Too late for this deal; the option is now in the pricing guide.",
        author="hannah.cole",
        published_days_ago=30,
        tags=("pricing",),
        linked_outcome="lost",
        endorsements=(("emily.stone", HELPFUL), ("daniel.okafor", HELPFUL)),
    ),
    StoryPractice(
        kind=PracticeKind.LESSON,
        title="Ask who owns the rollout before the demo",
        situation="The buyer liked the product and then nobody would own the rollout.",
        actions="In discovery, ask who will run the rollout and how their last one went; if "
        "nobody owns it, offer the adoption workshops up front.",
        result="Two stalled deals came back once an owner was named.",
        author="arjun.mehta",
        published_days_ago=15,
        tags=("discovery", "no decision"),
        anonymous=True,
        endorsements=(("valentina.cruz", TRIED),),
        comments=(
            StoryComment("kenji.watanabe", 2, "Adding this question to our discovery notes."),
        ),
    ),
)
