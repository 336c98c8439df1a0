"""The knowledge base's tables. Import models from here."""

from kb.models.audit import AuditEntry
from kb.models.competitors import Competitor, CompetitorAlias
from kb.models.deals import Deal, deal_competitors
from kb.models.debriefs import SCORE_CRITERIA, Debrief, Quote, Reason
from kb.models.enums import (
    DebriefSource,
    DebriefStatus,
    Direction,
    EndorsementKind,
    Outcome,
    Polarity,
    PracticeKind,
    PracticeStatus,
    Role,
    ThemeStatus,
    WinnerKind,
)
from kb.models.idempotency import IdempotencyKey
from kb.models.index_outbox import IndexChange
from kb.models.lookups import Choice, ReasonCategory
from kb.models.practices import Comment, Endorsement, Practice, Tag, practice_tags
from kb.models.settings import Setting
from kb.models.themes import Theme
from kb.models.users import ApiToken, SignIn, Team, User
from kb.models.wordlists import ExcludedPhrase

__all__ = [
    "Comment",
    "Endorsement",
    "EndorsementKind",
    "Polarity",
    "Practice",
    "PracticeKind",
    "PracticeStatus",
    "Tag",
    "Theme",
    "ThemeStatus",
    "practice_tags",
    "SCORE_CRITERIA",
    "ApiToken",
    "AuditEntry",
    "Choice",
    "Competitor",
    "CompetitorAlias",
    "Deal",
    "Debrief",
    "DebriefSource",
    "DebriefStatus",
    "Direction",
    "ExcludedPhrase",
    "IdempotencyKey",
    "IndexChange",
    "Outcome",
    "Quote",
    "Reason",
    "ReasonCategory",
    "Role",
    "Setting",
    "SignIn",
    "Team",
    "User",
    "WinnerKind",
    "deal_competitors",
]
