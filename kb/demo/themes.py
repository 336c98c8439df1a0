"""Phrases the demo data over-represents in particular subsets, so that search,
discovery and theme features have known patterns to find (and tests have
known answers to check)."""

from dataclasses import dataclass
from datetime import date, timedelta

# Where a planted phrase may be written: the debrief's free-text columns, a
# reason's explanation, or a quote's text.
TEXT_FIELDS = (
    "reasons.explanation",
    "quotes.text",
    "decision_process",
    "competitive_notes",
    "what_worked",
    "lessons_learned",
)


@dataclass(frozen=True)
class PlantedTheme:
    """A phrase written into about `share` of the debriefs whose deal matches
    `filters`, and into about `background` of all others.

    `filters` uses the search filter names: outcome, competitor (one of the
    deal's competitors, by canonical name), segment, and closed_within_days
    (the deal closed at most that many days before the anchor date).
    `prior_share`, when set, is the phrase's share among debriefs that match
    every filter except closed_within_days: the phrase is emerging.
    `addressed_days`, when set, is how long before the anchor date the
    problem was addressed: matching deals closed since then carry the phrase
    at `after_share` only (the demo's addressed theme shows the drop).
    """

    key: str
    phrase: str
    description: str
    filters: dict
    fields: tuple[str, ...]
    polarity: str  # strength, weakness or neutral, as for a theme
    share: float = 0.5
    background: float = 0.006
    prior_share: float | None = None
    # The reason a phrase-bearing explanation is filed under.
    reason_category: str = ""
    reason_direction: str = "hurt"
    addressed_days: int | None = None
    after_share: float = 0.0

    def addressed_before(self, close_date: date, anchor: date) -> bool:
        """Whether a deal closed on this day came after the problem was addressed."""
        if self.addressed_days is None:
            return False
        return close_date >= anchor - timedelta(days=self.addressed_days)

    def matches(
        self,
        *,
        outcome: str,
        segment: str | None,
        competitors: list[str] | tuple[str, ...],
        close_date: date,
        anchor: date,
        ignore_window: bool = False,
    ) -> bool:
        f = self.filters
        if "outcome" in f and str(outcome) != f["outcome"]:
            return False
        if "segment" in f and segment != f["segment"]:
            return False
        if "competitor" in f and f["competitor"] not in competitors:
            return False
        if "closed_within_days" in f and not ignore_window:
            return close_date >= anchor - timedelta(days=f["closed_within_days"])
        return True


PLANTED_THEMES: list[PlantedTheme] = [
    PlantedTheme(
        key="implementation-timeline",
        phrase="implementation timeline",
        description="Enterprise deals lost with Acme in the running: Acme sells a shorter rollout.",
        filters={"outcome": "lost", "competitor": "Acme", "segment": "Enterprise"},
        fields=("reasons.explanation", "quotes.text", "competitive_notes", "lessons_learned"),
        polarity="weakness",
        reason_category="implementation-risk.time-to-value",
        reason_direction="hurt",
    ),
    PlantedTheme(
        key="security-review",
        phrase="security review",
        description="Deals won against Globex: we clear the buyer's security review faster.",
        filters={"outcome": "won", "competitor": "Globex"},
        fields=("reasons.explanation", "quotes.text", "what_worked", "competitive_notes"),
        polarity="strength",
        reason_category="product.security-and-compliance",
        reason_direction="helped",
    ),
    PlantedTheme(
        key="per-seat-pricing",
        phrase="per-seat pricing",
        description=(
            "Mid-market losses (any competitor) in the last two quarters: an emerging "
            "objection to per-seat pricing, rare before then."
        ),
        filters={"outcome": "lost", "segment": "Mid-market", "closed_within_days": 183},
        fields=("reasons.explanation", "quotes.text", "competitive_notes", "lessons_learned"),
        polarity="weakness",
        prior_share=0.025,
        reason_category="price.pricing-model",
        reason_direction="hurt",
    ),
    PlantedTheme(
        key="mutual-action-plan",
        phrase="mutual action plan",
        description="Won deals: reps who agree a mutual action plan with the buyer win.",
        filters={"outcome": "won"},
        fields=("what_worked", "reasons.explanation", "lessons_learned", "quotes.text"),
        polarity="strength",
        share=0.45,
        reason_category="sales-experience.trust-in-the-account-team",
        reason_direction="helped",
    ),
    PlantedTheme(
        key="change-management",
        phrase="change management",
        description=(
            "No-decision deals: buyers balk at the change management effort, much less "
            "since it was addressed 120 days ago."
        ),
        filters={"outcome": "no_decision"},
        fields=("reasons.explanation", "quotes.text", "decision_process", "lessons_learned"),
        polarity="weakness",
        reason_category="timing-budget.priorities-changed",
        reason_direction="hurt",
        addressed_days=120,
        after_share=0.12,
    ),
]

# Sentences carrying each phrase, per field. Those naming {comp} are used only
# when the deal has a competitor to name.
THEME_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "implementation-timeline": {
        "reasons.explanation": (
            "{comp} promised a shorter implementation timeline and {stakeholder} believed them.",
            "Our implementation timeline of {n} months looked slow next to {comp}.",
            "The implementation timeline was the first thing {stakeholder} asked about.",
            "We could not commit to an implementation timeline that fit their go-live date.",
            "They doubted our implementation timeline after a reference call went badly.",
            "{stakeholder} did not believe our implementation timeline would hold.",
            "Our services team quoted an implementation timeline twice as long as {comp}'s.",
        ),
        "quotes.text": (
            "Your implementation timeline was twice as long as theirs.",
            "Frankly, the implementation timeline scared our project board.",
            "We had to be live by year end; your implementation timeline didn't get us there.",
            "{comp} gave us a credible implementation timeline; yours felt padded.",
            "Nobody on your side could explain the implementation timeline in detail.",
        ),
        "competitive_notes": (
            "{comp} sold hard on a {weeks}-week implementation timeline.",
            "{comp} put their implementation timeline on a single slide and it stuck.",
            "{comp} guaranteed the implementation timeline in the contract.",
            "Expect {comp} to attack our implementation timeline in every large deal.",
        ),
        "lessons_learned": (
            "Have a realistic implementation timeline ready before the competition sets the bar.",
            "Bring a delivery lead in early to defend the implementation timeline.",
            "Put the implementation timeline in the proposal, with a reference who lived it.",
        ),
    },
    "security-review": {
        "reasons.explanation": (
            "We cleared their security review in {days} days, well ahead of {comp}.",
            "The security review went smoothly because our CISO joined early.",
            "Passing the security review first gave us momentum with {stakeholder}.",
            "{comp} stalled in the security review; we did not.",
            "Their security review was strict and we had every answer ready.",
            "{stakeholder} said our security review package was the most complete they had seen.",
        ),
        "quotes.text": (
            "You were the only vendor that sailed through our security review.",
            "Your team made the security review painless.",
            "The security review is where {comp} fell apart.",
            "Our CISO still talks about how easy your security review was.",
        ),
        "what_worked": (
            "Started the security review in week one - it was done before {comp} had sent "
            "their documents.",
            "Offered a call with our security team during their security review; it removed "
            "the last objection.",
            "Sent the full security review pack with the first proposal, which saved "
            "{weeks_short} weeks.",
        ),
        "competitive_notes": (
            "{comp} got stuck in the security review for {weeks} weeks.",
            "{comp} had no answers ready for the security review.",
            "{comp} asked for an extension on the security review twice.",
        ),
    },
    "per-seat-pricing": {
        "reasons.explanation": (
            "Per-seat pricing made us look expensive as they planned to add users.",
            "They pushed back on our per-seat pricing, and {comp} offered a flat fee.",
            "Our per-seat pricing did not fit their seasonal staff.",
            "{stakeholder} modelled our per-seat pricing at {n}00 users and balked.",
            "Per-seat pricing penalised them for rolling out to the whole company.",
            "The per-seat pricing meant paying for occasional users at full price.",
        ),
        "quotes.text": (
            "Per-seat pricing just doesn't work for a company growing like ours.",
            "With your per-seat pricing, every new hire is a new invoice.",
            "We liked the product; we did not like per-seat pricing.",
            "{comp} didn't make us count heads. Your per-seat pricing did.",
        ),
        "competitive_notes": (
            "{comp} attacked our per-seat pricing with a usage-based offer.",
            "{comp} showed a slide comparing their flat fee with our per-seat pricing.",
            "{comp} is now leading with per-seat pricing comparisons in mid-sized accounts.",
        ),
        "lessons_learned": (
            "We need an answer to the per-seat pricing objection before the proposal.",
            "Offer a platform option up front when per-seat pricing will not scale for them.",
            "Ask deal desk for alternatives to per-seat pricing early in the cycle.",
        ),
    },
    "mutual-action-plan": {
        "what_worked": (
            "Agreed a mutual action plan with {stakeholder} in week two; every step had an "
            "owner and a date.",
            "Shared a mutual action plan after discovery - it kept the deal on track "
            "through procurement.",
            "Built the mutual action plan together with their champion; it became their "
            "internal project plan.",
            "Reviewed the mutual action plan on every call, so nothing slipped.",
        ),
        "reasons.explanation": (
            "The mutual action plan kept {stakeholder} engaged to the end.",
            "Working from a mutual action plan meant no surprises at signature.",
            "A shared mutual action plan made the decision date stick.",
        ),
        "lessons_learned": (
            "Start the mutual action plan earlier - it paid off here.",
            "Keep using a mutual action plan on every deal above {money}.",
            "A mutual action plan in week one is worth more than another demo.",
        ),
        "quotes.text": (
            "The mutual action plan made it easy for me to sell this internally.",
            "I liked that the mutual action plan showed exactly who did what by when.",
        ),
    },
    "change-management": {
        "reasons.explanation": (
            "They were worried about the change management effort across {n} teams.",
            "Nobody owned the change management, so the project stalled.",
            "The change management needed for the rollout scared {stakeholder}.",
            "Their last system rollout left scars, and change management became the blocker.",
        ),
        "quotes.text": (
            "We weren't ready for the change management this would take.",
            "The tool was fine; the change management was the problem.",
            "Honestly, we underestimated the change management on our side.",
        ),
        "decision_process": (
            "The project paused when the steering committee asked for a change management plan.",
            "HR was pulled in late to assess the change management impact.",
        ),
        "lessons_learned": (
            "Offer a change management plan before they talk themselves out of it.",
            "Bring a customer who went through the same change management to the table.",
        ),
    },
}
