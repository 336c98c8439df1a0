"""Words and sentence templates the demo generator combines into debriefs.

Templates use str.format placeholders. The pronoun slots let one phrase serve
both voices: written up by us ({our} product, {their} CFO) and quoted from the
buyer ("your product", "our CFO"). Other slots ({feature}, {integration},
{stakeholder}, {n}, ...) are drawn afresh each time they are filled, which is
what keeps thousands of debriefs from reading alike.

Planted theme phrases (kb/demo/themes.py) must not occur here, or the themes
would stop standing out: no "implementation timeline", "security review",
"per-seat pricing", "mutual action plan" or "change management".
"""

# --- people and companies --------------------------------------------------

FIRST_NAMES = (
    "Aisha", "Alex", "Ana", "Ben", "Carla", "Chen", "Dana", "David", "Elena", "Emeka",
    "Farah", "Felix", "Grace", "Hannah", "Hiro", "Ines", "Ivan", "Jamal", "Jana", "Jorge",
    "Julia", "Kai", "Karen", "Leila", "Liam", "Lucia", "Maya", "Mateo", "Mei", "Nadia",
    "Nikhil", "Noah", "Olga", "Omar", "Paula", "Rahul", "Rosa", "Sam", "Sara", "Tariq",
    "Tom", "Uma", "Victor", "Wen", "Yara", "Yusuf", "Zoe", "Greta", "Pedro", "Ruth",
)  # fmt: skip

LAST_NAMES = (
    "Adeyemi", "Alvarez", "Andersen", "Baker", "Bauer", "Castillo", "Cohen", "Dubois",
    "Evans", "Fischer", "Garcia", "Gupta", "Hansen", "Hughes", "Ibrahim", "Ito", "Jensen",
    "Kaur", "Kim", "Kowalski", "Larsen", "Lopez", "Mbeki", "Moreau", "Murphy", "Nakamura",
    "Nguyen", "Novak", "Okoro", "Olsen", "Park", "Patel", "Perez", "Quinn", "Rossi",
    "Santos", "Schmidt", "Silva", "Singh", "Sato", "Tanaka", "Turner", "Varga", "Walsh",
    "Weber", "Wong", "Yilmaz", "Zhang", "Costa", "Brennan",
)  # fmt: skip

COMPANY_PREFIXES = (
    "Northwind", "Blue Harbor", "Summit", "Redwood", "Ironbridge", "Silver Lake", "Cedar",
    "Granite", "Lakeshore", "Pinecrest", "Brightwater", "Oakridge", "Stonegate", "Clearview",
    "Meridian", "Harborview", "Evergreen", "Riverbend", "Highland", "Crescent", "Aurora",
    "Beacon", "Keystone", "Westfield", "Sterling", "Falcon", "Horizon", "Pioneer", "Atlas",
    "Vantage", "Copperleaf", "Bluefin", "Maple Grove", "Orchard", "Juniper", "Larkspur",
    "Sandstone", "Tidewater", "Wildrose", "Fairhaven", "Coastal", "Trinity", "Bridgeport",
    "Everest", "Sunridge", "Kingsway", "Lighthouse", "Ashford", "Silverpine", "Foxglove",
)  # fmt: skip

COMPANY_SUFFIXES = {
    "Software": ("Software", "Labs", "Systems", "Cloud", "Data", "Digital", "Networks"),
    "Financial services": (
        "Capital", "Bank", "Insurance", "Credit Union", "Financial", "Asset Management",
        "Mutual",
    ),
    "Healthcare": (
        "Health", "Medical Group", "Clinics", "Health Partners", "Diagnostics", "Care",
        "Hospital Trust",
    ),
    "Manufacturing": (
        "Manufacturing", "Industries", "Components", "Machining", "Plastics", "Steel",
        "Robotics",
    ),
    "Retail": ("Outfitters", "Markets", "Home Goods", "Apparel", "Grocers", "Retail Group"),
    "Public sector": (
        "County", "City Council", "Transit Authority", "Water District", "Port Authority",
        "Housing Agency",
    ),
    "Education": ("University", "College", "School District", "Academy", "Learning Trust"),
}  # fmt: skip
GENERIC_SUFFIXES = ("Group", "Holdings", "Partners", "Co.", "International")

DEAL_KINDS = (("new business", 60), ("expansion", 22), ("renewal", 10), ("pilot", 8))

# Buyer-side titles, for quotes in rep debriefs and for interviewees.
BUYER_TITLES = (
    "CFO", "COO", "CIO", "VP of Sales", "VP of Operations", "IT director", "Head of RevOps",
    "Procurement manager", "CISO", "Project lead", "Finance director", "Sales operations manager",
    "Enterprise architect", "Head of customer success", "Data engineering lead",
)  # fmt: skip

INTERVIEWEE_ROLES = {
    "economic buyer": (35, ("CFO", "COO", "VP of Operations", "Finance director", "CEO")),
    "champion": (30, ("Head of RevOps", "Sales operations manager", "Project lead", "VP of Sales")),
    "technical evaluator": (
        25,
        ("IT director", "Enterprise architect", "Data engineering lead", "CISO"),
    ),
    "end user": (10, ("Account manager", "Team lead", "Operations analyst")),
}

STAKEHOLDER_ROLES = (
    "CFO", "COO", "CIO", "IT director", "procurement team", "project lead", "CISO",
    "steering committee", "head of RevOps", "evaluation team", "VP of Operations",
    "finance lead", "architecture board", "VP of Sales",
)  # fmt: skip

EXECUTIVES = ("CFO", "COO", "CIO", "CEO", "VP of Sales", "Chief Digital Officer", "CTO")

# --- product words -----------------------------------------------------------

# Deliberately no competitor names here, so that mentions of a competitor in
# the text always mean the competitor.
INTEGRATIONS = (
    "HubSpot", "SAP", "NetSuite", "Workday", "Snowflake", "Slack", "Microsoft Dynamics",
    "ServiceNow", "Zendesk", "Okta", "Oracle", "Jira", "Marketo", "BigQuery",
)  # fmt: skip

FEATURES = (
    "forecasting", "role-based access control", "audit logging", "bulk data import",
    "custom reporting", "workflow automation", "single sign-on", "mobile access",
    "sandbox testing", "EU data residency", "offline access", "territory management",
    "approval routing", "multi-currency handling", "real-time alerting", "API access",
    "field-level history", "AI summarisation", "embedded analytics", "scheduled exporting",
)  # fmt: skip

STATUS_QUO = (
    "sticking with spreadsheets",
    "extending their legacy system",
    "building it in-house",
    "doing nothing this year",
    "stretching their existing CRM reports",
    "a consultant-built workaround",
)

# --- reasons ---------------------------------------------------------------
# For each second-level category slug of the default taxonomy: noun phrases
# for when it helped and when it hurt, and follow-up sentences that add detail.

CATEGORY_VOCAB: dict[str, dict[str, tuple[str, ...]]] = {
    "product.missing-capability": {
        "helped": (
            "{our} {feature}",
            "having {feature} out of the box",
            "{our} {feature}, which {comp} could not match",
            "the depth of {our} {feature}",
            "{our} support for {feature} from day one",
            "the fit of {our} core product with {their} requirements",
        ),
        "hurt": (
            "the gap in {feature}",
            "not having {feature} yet",
            "{our} lack of {feature}",
            "a missing {feature} capability that {comp} already had",
            "no good answer to {their} {feature} requirement",
            "{comp} ticking more boxes on {their} feature list",
        ),
        "detail": (
            "It was on their must-have list from the first call.",
            "Their requirements sheet had {n} line items on it.",
            "They wanted it live before the next budget cycle.",
            "Product has it on the roadmap, but without a date.",
            "It came up again in the final scoring session.",
        ),
    },
    "product.ease-of-use": {
        "helped": (
            "how quickly {their} users got comfortable with {our} interface",
            "the clean admin console",
            "{our} guided setup",
            "how few clicks the core workflow took",
            "the end users' reaction in the hands-on trial",
            "how little training {their} team needed",
        ),
        "hurt": (
            "the learning curve for {their} admins",
            "a clunky reporting screen",
            "{our} dated user interface",
            "the number of clicks in the daily workflow",
            "feedback from end users that the app felt complicated",
            "{comp}'s simpler interface",
        ),
        "detail": (
            "Their users scored it in a hands-on session with {n} testers.",
            "Adoption was their biggest worry after the last rollout failed.",
            "Most of their users are in the field and on phones.",
            "The admins would be part-time, so simplicity mattered.",
        ),
    },
    "product.integrations": {
        "helped": (
            "{our} native {integration} connector",
            "the prebuilt {integration} sync",
            "{our} open API",
            "how easily {we} plugged into {their} {integration} instance",
            "the two-way {integration} integration",
        ),
        "hurt": (
            "no native {integration} connector",
            "the {integration} sync needing custom middleware",
            "gaps in {our} API coverage",
            "a brittle {integration} integration in the trial",
            "{comp}'s deeper {integration} integration",
        ),
        "detail": (
            "They run {integration} for finance and it is not going anywhere.",
            "Their IT team has {n} systems that all need to talk to each other.",
            "Integration effort was weighted at {pct}% of the score.",
            "Their architects tested it against a copy of production data.",
        ),
    },
    "product.performance-and-reliability": {
        "helped": (
            "{our} uptime record",
            "dashboard speed on {their} full data set",
            "how the trial held up with {n}00 concurrent users",
            "{our} published status history",
            "quick loading of large reports",
        ),
        "hurt": (
            "slow reporting during the trial",
            "an outage in the middle of the evaluation",
            "sluggish page loading at {their} data volume",
            "doubt about {our} scalability at {their} volume",
            "a sync delay {their} team noticed",
        ),
        "detail": (
            "They process about {n} million records a month.",
            "They had been burned by downtime with their previous vendor.",
            "Their operations team runs around the clock.",
        ),
    },
    "product.security-and-compliance": {
        "helped": (
            "{our} SOC 2 Type II report",
            "EU data residency",
            "SSO with SCIM provisioning out of the box",
            "{our} granular audit log",
            "a complete answer to {their} security questionnaire within {days} days",
            "{our} key management",
        ),
        "hurt": (
            "no FedRAMP authorisation",
            "a late answer on data residency",
            "a gap flagged in {their} vendor risk assessment",
            "{our} missing ISO 27001 certificate",
            "doubt about {our} encryption at rest",
        ),
        "detail": (
            "Their compliance team has veto power over new vendors.",
            "They are audited every year and cannot take chances.",
            "The questionnaire ran to {n}0 questions.",
        ),
    },
    "product.roadmap": {
        "helped": (
            "{our} roadmap for {feature}",
            "a credible roadmap session with {our} product manager",
            "the preview of {our} AI features",
            "a dated commitment on {feature} in the next release",
        ),
        "hurt": (
            "a roadmap that felt vague",
            "{comp}'s AI story",
            "uncertainty about when {feature} would ship",
            "{our} roadmap not covering {feature}",
        ),
        "detail": (
            "They plan to grow into the product over {n} years.",
            "They asked for the roadmap in writing.",
            "Their board is pushing every team to use more AI.",
        ),
    },
    "price.total-cost": {
        "helped": (
            "a lower three-year cost than {comp}",
            "no separate onboarding fee",
            "{our} all-in price",
            "the total cost once services were counted",
            "a price that fit inside {their} approved budget",
        ),
        "hurt": (
            "a price roughly {pct}% above {comp}",
            "{our} total cost over three years",
            "the services bill on top of licences",
            "a first-year price that blew {their} budget",
            "sticker shock at the proposal stage",
        ),
        "detail": (
            "Their budget was capped at {money}.",
            "Finance compared three-year totals side by side.",
            "They were replacing a tool that cost a fraction of ours.",
            "The gap was about {money} a year.",
        ),
    },
    "price.pricing-model": {
        "helped": (
            "usage-based pricing that matched {their} growth",
            "a flat platform fee",
            "predictable annual pricing",
            "flexible packaging",
        ),
        "hurt": (
            "{our} tiered packaging",
            "paying for modules {their} team would not use",
            "a pricing model that was hard to forecast",
            "the overage clause in {our} contract",
            "the minimum commitment in {our} price list",
        ),
        "detail": (
            "Their finance team wanted one predictable number.",
            "They expect usage to swing a lot by season.",
            "They had to model three growth scenarios for the board.",
        ),
    },
    "price.discounting": {
        "helped": (
            "a multi-year discount",
            "a well-timed end-of-quarter discount",
            "ramped pricing for year one",
            "price protection on renewal",
        ),
        "hurt": (
            "{comp} discounting {pct}% in the final week",
            "{our} refusal to match {comp}'s discount",
            "a last-minute discount from {comp}",
            "being out-discounted by {comp}",
            "a discount that came too late to matter",
        ),
        "detail": (
            "Procurement made it clear price was the last lever.",
            "The discount needed deal desk approval, which took {days} days.",
            "They shared the competing quote with us, unprompted.",
        ),
    },
    "price.roi-case": {
        "helped": (
            "the ROI model built with {their} finance team",
            "a payback period under {n} months",
            "a business case {their} CFO could defend",
            "a benchmark from a similar customer",
        ),
        "hurt": (
            "a weak ROI case",
            "not quantifying the payback",
            "a business case that never reached finance",
            "an ROI model {their} CFO did not trust",
        ),
        "detail": (
            "Anything above {money} needs a signed-off business case there.",
            "Finance asked for the savings to be shown per quarter.",
            "The model assumed {pct}% less manual work.",
        ),
    },
    "sales-experience.responsiveness": {
        "helped": (
            "a same-day answer to every question",
            "how fast {we} turned around the proposal",
            "{our} solutions engineer being available at short notice",
            "quick follow-up after each meeting",
        ),
        "hurt": (
            "slow turnaround on {their} technical questions",
            "a proposal that took {days} days to arrive",
            "a missed follow-up after the demo",
            "a week of silence over the holidays",
        ),
        "detail": (
            "They measured every vendor on turnaround time.",
            "The questions came from their IT team late on Fridays.",
            "They told us it was a proxy for how support would feel.",
        ),
    },
    "sales-experience.understanding-of-our-needs": {
        "helped": (
            "how well {we} understood {their} workflow",
            "a discovery process that got to the real problem",
            "tailoring the demo to {their} use cases",
            "{our} grasp of {industry} requirements",
        ),
        "hurt": (
            "a generic pitch",
            "not understanding {their} approval workflow",
            "a demo that ignored {their} main use case",
            "talking about features instead of {their} problem",
        ),
        "detail": (
            "Discovery took three calls and it was worth it.",
            "Their process has a lot of {industry} specifics.",
            "They said the other vendors never asked the right questions.",
        ),
    },
    "sales-experience.demo-and-proof-of-concept": {
        "helped": (
            "a focused {weeks}-week proof of concept",
            "running the demo on {their} own data",
            "a proof of concept with clear success criteria",
            "the hands-on sandbox",
        ),
        "hurt": (
            "a proof of concept that dragged on",
            "a demo that crashed in front of {stakeholder}",
            "a trial without success criteria",
            "{comp}'s slicker demo",
        ),
        "detail": (
            "The trial ran with {n} of their users.",
            "They scored every vendor on the same scripted scenarios.",
            "Their team built two real reports during the trial.",
        ),
    },
    "sales-experience.trust-in-the-account-team": {
        "helped": (
            "the account team's honesty about limitations",
            "a consistent team throughout the cycle",
            "{our} account executive's credibility with {stakeholder}",
            "straight talk in the negotiation",
        ),
        "hurt": (
            "a change of account executive mid-cycle",
            "over-promising in the early calls",
            "a pushy closing approach",
            "a handover to the solutions engineer that lost context",
        ),
        "detail": (
            "They had been oversold by a vendor before.",
            "It took {weeks} weeks to rebuild the relationship.",
            "Their project lead said it plainly on the last call.",
        ),
    },
    "implementation-risk.time-to-value": {
        "helped": (
            "a go-live in under {weeks} weeks",
            "a phased rollout plan",
            "a quick win in the first month",
            "templated onboarding for {their} industry",
        ),
        "hurt": (
            "a long ramp before any value",
            "{comp}'s faster go-live",
            "a {n}-month rollout estimate",
            "doubt about how soon {their} team would see results",
        ),
        "detail": (
            "They needed results to show before the next board meeting.",
            "Their last rollout took a year and they said never again.",
            "The steering committee wanted value inside one quarter.",
        ),
    },
    "implementation-risk.migration-effort": {
        "helped": (
            "the free data migration",
            "{our} import tooling for {their} legacy data",
            "a migration plan with named owners",
            "moving {n} years of history in a weekend",
        ),
        "hurt": (
            "the effort to migrate off {their} legacy system",
            "no migration tooling for {their} old platform",
            "the data clean-up it would take",
            "the risk of moving {n} years of history",
        ),
        "detail": (
            "Their data lives in {n} different systems today.",
            "The legacy vendor charges for every export.",
            "Their IT team is already stretched by another project.",
        ),
    },
    "implementation-risk.support-and-services": {
        "helped": (
            "{our} customer success plan",
            "a named support engineer",
            "around-the-clock support in {their} time zone",
            "{our} partner network in {their} region",
        ),
        "hurt": (
            "support only in business hours",
            "{our} thin partner network in {their} region",
            "services capacity that could not start for {weeks} weeks",
            "{comp}'s bundled onboarding services",
        ),
        "detail": (
            "They have no admin in-house and wanted a safety net.",
            "Their previous vendor's support was the reason they were switching.",
            "They asked to speak with our support lead directly.",
        ),
    },
    "relationship-trust.existing-relationship": {
        "helped": (
            "a long relationship with {their} operations team",
            "{our} existing footprint in another division",
            "the rapport built over earlier projects",
            "a former customer who had moved to the account",
        ),
        "hurt": (
            "{comp}'s long-standing relationship with {their} CIO",
            "the incumbent's relationship at board level",
            "no prior relationship with anyone there",
            "{their} loyalty to the incumbent",
        ),
        "detail": (
            "The relationship goes back {n} years.",
            "Their CIO and the incumbent's CEO went to school together.",
            "It was the first time we had met anyone in that division.",
        ),
    },
    "relationship-trust.references": {
        "helped": (
            "a reference call with a peer in {industry}",
            "a pair of reference customers of {their} size",
            "the case study from a similar company in {industry}",
            "a reference site visit",
        ),
        "hurt": (
            "no reference in {industry}",
            "a lukewarm reference call",
            "not having a customer of {their} size to point to",
            "{comp}'s list of big-name references",
        ),
        "detail": (
            "They asked for references before the shortlist.",
            "The reference customer was in their own city.",
            "Two of their peers already use the product.",
        ),
    },
    "relationship-trust.brand-and-reputation": {
        "helped": (
            "{our} analyst ranking",
            "strong peer feedback",
            "{our} reputation in {industry}",
            "word of mouth from {their} peers",
        ),
        "hurt": (
            "{comp} being the safe choice",
            "low brand awareness with {stakeholder}",
            "a bad review {their} team found online",
            "the feeling that nobody gets fired for buying {comp}",
        ),
        "detail": (
            "Their board likes well-known names.",
            "They read every review site before the shortlist.",
            "The analyst report came up twice.",
        ),
    },
    "timing-budget.budget-cut-or-frozen": {
        "helped": (
            "budget approved before year end",
            "money already set aside for the project",
            "use-it-or-lose-it budget at quarter end",
        ),
        "hurt": (
            "a budget freeze after a hiring pause",
            "the project budget being cut by {pct}%",
            "money moved to another initiative",
            "a company-wide spending freeze",
        ),
        "detail": (
            "Their fiscal year ends in June.",
            "A bad quarter hit the whole company.",
            "Every purchase above {money} now needs CEO approval.",
        ),
    },
    "timing-budget.priorities-changed": {
        "helped": (
            "the project becoming a top-three priority",
            "a new regulatory deadline that made it urgent",
            "a board mandate to modernise",
        ),
        "hurt": (
            "a reorganisation that stalled the project",
            "a merger that froze new vendors",
            "a new leader with other priorities",
            "the project dropping down the priority list",
        ),
        "detail": (
            "Nobody could tell us who owned the project afterwards.",
            "The new VP started {weeks} weeks before the decision date.",
            "The priority list was reshuffled at their planning offsite.",
        ),
    },
    "timing-budget.timeline": {
        "helped": (
            "matching {their} go-live date",
            "fitting {their} fiscal-year deadline",
            "being able to start immediately",
        ),
        "hurt": (
            "a deadline {we} could not meet",
            "{their} decision slipping by a quarter",
            "a compressed decision window",
            "contract start dates that did not line up",
        ),
        "detail": (
            "Their current contract ended in {n} weeks.",
            "They had a hard date tied to a trade show.",
            "The decision date moved twice.",
        ),
    },
    "internal-politics.executive-sponsor": {
        "helped": (
            "a strong executive sponsor in {their} COO",
            "{our} CRO meeting {their} CEO",
            "executive alignment early in the cycle",
            "sponsorship from the VP who owned the budget",
        ),
        "hurt": (
            "losing {our} sponsor to a reorganisation",
            "no access to the economic buyer",
            "a sponsor without budget authority",
            "never getting in front of {their} CFO",
        ),
        "detail": (
            "The sponsor joined every steering meeting.",
            "Our VP sent a personal note after the final presentation.",
            "We met the sponsor only once, in week {n}.",
        ),
    },
    "internal-politics.incumbent-champion": {
        "helped": (
            "a champion who had used {our} product before",
            "a champion who sold internally for {us}",
            "the project lead going to bat for {us}",
        ),
        "hurt": (
            "a champion of the incumbent on the committee",
            "{their} admin team's attachment to {comp}",
            "an internal champion for building it in-house",
            "the IT lead's preference for {comp}",
        ),
        "detail": (
            "The champion briefed us before every meeting.",
            "The incumbent's admin had built their whole process.",
            "Two of the five committee members never engaged with us.",
        ),
    },
    "internal-politics.procurement": {
        "helped": (
            "a smooth procurement process",
            "a pre-agreed contract",
            "being on {their} approved vendor list",
        ),
        "hurt": (
            "procurement insisting on {n} bids",
            "a legal review that took {weeks} weeks",
            "a procurement-led price negotiation",
            "not being on {their} approved vendor list",
        ),
        "detail": (
            "Procurement only joined in the last two weeks.",
            "Their legal team had {n} pages of redlines.",
            "The vendor onboarding form alone took a week.",
        ),
    },
}

GENERIC_DETAILS = (
    "This came up in {n_of_m} meetings.",
    "The {title} confirmed it on the closing call.",
    "We heard the same from their project lead.",
    "It was the first thing raised in the debrief call.",
    "Nobody on our side saw it coming early enough.",
    "It was written into their evaluation scorecard.",
)

# Frames for a reason's explanation, written by us. {np} is a noun phrase
# from CATEGORY_VOCAB; frames naming {comp} are used only when the reason
# names a competitor. Decisive frames suit only the primary reason of a deal
# that went the same way.
EXPLANATION_FRAMES = {
    "helped": (
        "{np} worked in our favour.",
        "{stakeholder} called out {np} in the final readout.",
        "{np} set us apart from {comp}.",
        "They kept coming back to {np}.",
        "{np} carried a lot of weight with {stakeholder}.",
        "Strong point: {np}.",
        "We heard more than once that {np} mattered.",
        "{np} gave {stakeholder} confidence in us.",
        "Against {comp}, {np} was our strongest card.",
        "{stakeholder} liked {np}.",
        "A clear plus: {np}.",
        "{np} helped, and {stakeholder} said so.",
    ),
    "hurt": (
        "{np} hurt us.",
        "We lost ground on {np}.",
        "{stakeholder} raised {np} in almost every call.",
        "{np} was hard to overcome.",
        "{comp} used {np} against us.",
        "{stakeholder} flagged {np} as a concern.",
        "{np} made the evaluation harder than it should have been.",
        "{np} came up at the steering committee more than once.",
        "{comp} kept pointing at {np}.",
        "Weak spot: {np}.",
        "{np} counted against us with {stakeholder}.",
    ),
}
DECISIVE_EXPLANATION_FRAMES = {
    "helped": (
        "{np} was the deciding factor.",
        "What tipped it was {np}.",
        "{stakeholder} said {np} made the choice easy.",
        "In the end {np} counted for more than anything else.",
        "Biggest reason we won: {np}.",
        "Above all it was {np}; {comp} had nothing like it.",
    ),
    "hurt": (
        "The sticking point was {np}.",
        "We never fully recovered from {np}.",
        "In the end it came down to {np}.",
        "{stakeholder} told us plainly that {np} was the main reason.",
        "Main reason: {np}.",
        "{comp} won the argument on {np}.",
    ),
}

# The buyer's own words. The pronoun slots are filled in the buyer's voice.
QUOTE_FRAMES = {
    "helped": (
        "What stood out was {np}.",
        "{np} - that was a real plus.",
        "We liked {np}.",
        "{np} counted for a lot with our team.",
        "Credit where it's due: {np}.",
        "{np} made my job easier internally.",
        "{np} went down well with our board.",
        "Nobody else offered anything close to {np}.",
        "{np} gave us confidence you'd deliver.",
    ),
    "hurt": (
        "The problem was {np}.",
        "{np} was a real concern for us.",
        "For us the biggest issue was {np}.",
        "What worried the committee was {np}.",
        "{np} made it hard for me to champion you.",
        "Honestly? {np}. That hurt.",
        "I kept hearing about {np} from my team.",
        "{comp} made a big deal of {np}.",
    ),
}
DECISIVE_QUOTE_FRAMES = {
    "helped": (
        "{np} - that's what sold us.",
        "If I'm honest, {np} won it for you.",
        "For us it came down to {np}.",
        "What I told my boss was simple: {np}.",
    ),
    "hurt": (
        "{np} was the deal-breaker for our team.",
        "If it weren't for {np}, we'd probably have signed.",
        "For us it came down to {np}.",
        "We just couldn't get past {np}.",
    ),
}

# --- the other sections ----------------------------------------------------

DECISION_OPENERS = (
    "A cross-functional committee ran a {n_vendors}-vendor evaluation over {weeks} weeks.",
    "Their operations and IT leads ran the evaluation together, over about {weeks} weeks.",
    "A five-person steering group owned the decision.",
    "The {title} ran the process with a small working group.",
    "Procurement ran a formal tender with {n_vendors} vendors invited.",
    "It started as a departmental purchase and grew into a company-wide evaluation.",
    "They evaluated {n_vendors} vendors; we were on the shortlist from the start.",
    "We came in late, after they had already seen {n_vendors} vendors.",
)
DECISION_STEPS = (
    "It went RFP, shortlist, scripted demos, then a {weeks_short}-week trial.",
    "They cut the list after the demos and ran reference calls on the finalists.",
    "Each vendor presented to the full committee, then the finalists ran a trial.",
    "The shortlist was decided in a single workshop.",
    "They ran a paid pilot with two teams before deciding.",
    "There were {n} rounds of demos before the business case went to finance.",
    "Their IT team ran a technical deep-dive with each finalist.",
)
DECISION_CRITERIA = (
    "functionality",
    "total cost",
    "ease of use",
    "integration with {integration}",
    "vendor stability",
    "the support model",
    "time to go live",
    "security posture",
    "references in {industry}",
    "reporting",
)
DECISION_CRITERIA_FRAMES = (
    "Their top criteria were {criteria}.",
    "The scorecard weighted {criteria} highest.",
    "Criteria, in their order: {criteria}.",
    "They scored vendors on {criteria}.",
)
DECISION_APPROVALS = (
    "Final sign-off sat with the {exec}.",
    "The {exec} had the final say.",
    "The {exec} approved it after a short business-case review.",
    "Anything above {money} goes to their board.",
    "The {exec} signed off within a week of the recommendation.",
)
DECISION_ENDINGS = {
    "won": (
        "We were the unanimous choice.",
        "It came down to us and {comp} in the last round.",
        "The committee vote was {votes} in our favour.",
        "They told us on a call the day after the final presentation.",
    ),
    "lost": (
        "It came down to us and {comp}; the vote went their way.",
        "We found out by e-mail, with little explanation.",
        "They chose {winner} after the final round.",
        "We were the runner-up.",
    ),
    "no_decision": (
        "The evaluation ended without a decision.",
        "The project was shelved after the last round.",
        "They decided to revisit it next fiscal year.",
        "Everything stopped after the budget review.",
    ),
}

COMPETITOR_TACTICS = (
    "{comp} led with a heavy discount.",
    "{comp} pushed hard on their AI features.",
    "{comp} brought their regional VP to the final meeting.",
    "{comp} offered a free pilot.",
    "{comp} tried to go around the project team to the CFO.",
    "{comp} positioned us as a point solution.",
    "{comp} dropped out after the demo round.",
    "{comp} claimed we could not scale past {n}0,000 records.",
    "{comp} was already in use in another business unit.",
    "{comp} promised features that are not yet generally available.",
    "{comp} matched every concession we made.",
    "{comp} ran a polished but generic demo.",
)
COMPETITOR_SUMMARIES = {
    "won": (
        "We beat {comp} on {np}.",
        "Against {comp} our edge was {np}.",
        "{comp} had nothing to match {np}.",
    ),
    "lost": (
        "{comp} won on {np}.",
        "{comp}'s advantage was {np}.",
        "In the end {comp} had the edge on {np}.",
    ),
}
NO_COMPETITOR_NOTES = (
    "No competitor in the deal; the alternative was {status_quo}.",
    "We never saw another vendor. The real alternative was {status_quo}.",
    "Not a competitive deal: they were weighing us against {status_quo}.",
)
IN_HOUSE_NOTES = (
    "Their engineering team decided to build it themselves.",
    "An internal team convinced leadership they could build it in a quarter.",
    "They chose to extend their in-house tool instead.",
)

WORKED_ACTIONS = (
    "Brought our solutions engineer into discovery on the first call",
    "Ran the proof of concept on their own {integration} data",
    "Set up a reference call with a customer of similar size in {industry}",
    "Built the ROI model together with their finance lead",
    "Sent a recap with next steps within an hour of every meeting",
    "Mapped the buying committee in the first two weeks",
    "Got our VP to meet their {exec} before the proposal",
    "Shared a written rollout plan with named owners",
    "Offered a phased start with one team",
    "Walked their IT team through our architecture in a dedicated session",
    "Pre-filled their security questionnaire from our trust portal",
    "Agreed success criteria in writing before the trial",
    "Recorded a short video walkthrough for people who missed the demo",
    "Invited their admin to a session with one of our power users",
    "Tailored the demo script to their top three use cases",
    "Had our support lead join the final call",
)
WORKED_RESULTS = (
    "that put us on the shortlist",
    "they called it the most useful session of the evaluation",
    "the {exec} signed off without a second review",
    "it cut about {weeks_short} weeks off the cycle",
    "their champion had everything needed for the internal pitch",
    "a sceptical IT lead became a supporter",
    "price stopped being the main topic",
    "we were the only vendor invited back",
    "objections about risk stopped coming up",
    "the committee scored us highest on fit",
)
WORKED_FRAMES = (
    "{action} - {result}.",
    "{action}; {result}.",
    "{action}. Result: {result}.",
    "What worked: we {action_lc}, and {result}.",
)
WORKED_BUYER_FRAMES = (
    "The buyer appreciated that we {action_lc}.",
    "They singled out one thing: we {action_lc}.",
    "According to the {title}, it helped that we {action_lc}.",
)

LESSONS = (
    "get the economic buyer in the room before the proposal",
    "qualify the budget before investing in a trial",
    "involve procurement as soon as the shortlist is set",
    "bring a reference from their industry to the first demo",
    "put success criteria in writing before any proof of concept",
    "multi-thread beyond the champion",
    "test the {integration} integration early rather than at the end",
    "ask who else they are talking to during discovery",
    "build the ROI case with finance, not for them",
    "confirm the decision date and what could move it",
    "send pricing options before they ask for a discount",
    "brief our product team on gaps before the demo, not after",
)
LESSON_FRAMES = {
    "hurt": (
        "Next time I would {lesson}.",
        "Lesson for the team: {lesson}.",
        "Biggest takeaway: {lesson}.",
        "If I ran this again I'd {lesson}.",
        "We should {lesson}; we left it too late here.",
    ),
    "helped": (
        "Keep doing this: {lesson}.",
        "It paid off to {lesson}.",
        "Worth repeating on every deal: {lesson}.",
        "What made the difference was that we chose to {lesson}.",
    ),
    "buyer": (
        "Advice from the buyer: {lesson}.",
        "The {title}'s advice to us: {lesson}.",
        "Takeaway from the interview: {lesson}.",
    ),
}
