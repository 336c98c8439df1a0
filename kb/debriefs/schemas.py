"""What a debrief is made of, as submitted by the form or the API."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from kb.models import SCORE_CRITERIA, DebriefSource, DebriefStatus, Direction, Outcome
from kb.validation import BlankIsNone, Id

EARLIEST_DATE = date(2000, 1, 1)
LONG_TEXT = 10_000

# ISO 4217 currency codes, the ones deals are most often in first. Funds,
# metals and test codes are left out; a few recently withdrawn codes (HRK,
# BGN, ANG, SLL, ZWL, CUC) stay, as older deals were priced in them.
COMMON_CURRENCIES = (
    ("USD", "US dollar"),
    ("EUR", "Euro"),
    ("GBP", "Pound sterling"),
    ("CAD", "Canadian dollar"),
    ("AUD", "Australian dollar"),
    ("JPY", "Japanese yen"),
    ("CHF", "Swiss franc"),
    ("CNY", "Chinese yuan"),
    ("INR", "Indian rupee"),
    ("SEK", "Swedish krona"),
    ("NOK", "Norwegian krone"),
    ("DKK", "Danish krone"),
    ("SGD", "Singapore dollar"),
    ("HKD", "Hong Kong dollar"),
    ("NZD", "New Zealand dollar"),
    ("BRL", "Brazilian real"),
    ("MXN", "Mexican peso"),
    ("ZAR", "South African rand"),
)
_OTHER_CODES = """
    AED AFN ALL AMD ANG AOA ARS AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BSD
    BTN BWP BYN BZD CDF CLP COP CRC CUC CUP CVE CZK DJF DOP DZD EGP ERN ETB FJD
    FKP GEL GHS GIP GMD GNF GTQ GYD HNL HRK HTG HUF IDR ILS IQD IRR ISK JMD JOD
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD
    MMK MNT MOP MRU MUR MVR MWK MYR MZN NAD NGN NIO NPR OMR PAB PEN PGK PHP PKR
    PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SHP SLE SLL SOS SRD SSP STN SVC
    SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX UYU UZS VED VES VND VUV
    WST XAF XCD XCG XOF XPF YER ZMW ZWG ZWL
"""
OTHER_CURRENCIES = tuple(_OTHER_CODES.split())
CURRENCIES = frozenset(code for code, _ in COMMON_CURRENCIES) | frozenset(OTHER_CURRENCIES)


def _short(max_length: int):
    """Optional one-line text: blank means not given."""
    return Annotated[Annotated[str, Field(max_length=max_length)] | None, BlankIsNone]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DealIn(_Strict):
    crm_id: _short(64) = None
    name: str = Field(min_length=1, max_length=200)
    account: str = Field(min_length=1, max_length=200)
    amount: Annotated[
        Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)] | None, BlankIsNone
    ] = None
    currency: str = "USD"
    close_date: date
    outcome: Outcome
    segment: _short(80) = None
    region: _short(80) = None
    industry: _short(80) = None
    product_line: _short(80) = None
    sales_cycle_days: Annotated[Annotated[int, Field(ge=0, le=3650)] | None, BlankIsNone] = None
    stage_reached: _short(80) = None
    competitors: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        default_factory=list, max_length=20
    )
    # For a deal we did not win: a competitor's name, "no_decision" or "in_house".
    winner: _short(120) = None

    @field_validator("currency")
    @classmethod
    def _iso_code(cls, value: str) -> str:
        code = value.upper()
        if len(code) != 3 or not code.isascii() or not code.isalpha():
            raise ValueError("Enter the currency in ISO 4217 format: three letters, e.g. USD.")
        if code not in CURRENCIES:
            raise ValueError(f"'{code}' is not an ISO 4217 currency code (e.g. USD, EUR, GBP).")
        return code

    @field_validator("winner")
    @classmethod
    def _us_only_on_a_win(cls, value: str | None, info: ValidationInfo) -> str | None:
        """ "us" (the form's choice on a win) means no other winner."""
        if value is None or value.lower() != "us":
            return value
        if info.data.get("outcome") == Outcome.WON:
            return None
        raise ValueError("Only a won deal was won by us: choose who won, or change the outcome.")

    @field_validator("close_date")
    @classmethod
    def _plausible(cls, value: date) -> date:
        if value < EARLIEST_DATE:
            raise ValueError(f"Enter a close date after {EARLIEST_DATE.isoformat()}.")
        if value > date.today() + timedelta(days=366):
            raise ValueError("A close date more than a year ahead is not a closed deal.")
        return value


class ReasonIn(_Strict):
    category: str = Field(min_length=1, max_length=120)
    direction: Direction
    primary: bool = False
    explanation: str = Field(default="", max_length=LONG_TEXT // 2)
    competitor: _short(120) = None


class QuoteIn(_Strict):
    text: str = Field(min_length=1, max_length=2000)
    speaker_role: _short(80) = None


Score = Annotated[Annotated[int, Field(ge=1, le=5)] | None, BlankIsNone]
ScoresIn = type(
    "ScoresIn",
    (_Strict,),
    {
        "__annotations__": {key: Score for key, _ in SCORE_CRITERIA},
        **{key: None for key, _ in SCORE_CRITERIA},
    },
)


class DebriefIn(_Strict):
    source: DebriefSource = DebriefSource.REP
    status: DebriefStatus = DebriefStatus.DRAFT
    deal_id: Id | None = None
    deal: DealIn | None = None
    interviewee_role: _short(80) = None
    interviewee_name: _short(120) = None
    interview_date: Annotated[date | None, BlankIsNone] = None
    reasons: list[ReasonIn] = Field(default_factory=list, max_length=20)
    quotes: list[QuoteIn] = Field(default_factory=list, max_length=20)
    decision_process: str = Field(default="", max_length=LONG_TEXT)
    competitive_notes: str = Field(default="", max_length=LONG_TEXT)
    what_worked: str = Field(default="", max_length=LONG_TEXT)
    lessons_learned: str = Field(default="", max_length=LONG_TEXT)
    scores: ScoresIn = Field(default_factory=ScoresIn)  # type: ignore[valid-type]
