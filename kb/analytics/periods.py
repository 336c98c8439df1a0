"""Periods of deal close dates that figures are computed over, and the
period before each one that changes are measured against."""

from dataclasses import dataclass
from datetime import date, timedelta

EARLIEST = date(2000, 1, 1)
# The latest date a period may end on: far enough out for any plan, and near
# enough that the previous period of the same length still starts after year 1.
LATEST = date(2100, 12, 31)
# The choices of the period menus: key -> label. Quarters are added per page.
ROLLING = {"30d": 30, "90d": 90, "180d": 180, "365d": 365}
ROLLING_LABELS = {
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "180d": "Last 6 months",
    "365d": "Last 12 months",
}


@dataclass(frozen=True)
class Period:
    """Close dates from `start` to `end`, both included."""

    start: date
    end: date
    label: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def is_quarter(self) -> bool:
        return self.start == quarter_start(self.start) and self.end == quarter_end(self.start)

    def previous(self) -> "Period":
        """The period of equal length just before this one: the previous
        calendar quarter for a quarter, else as many days just before."""
        if self.is_quarter:
            before = quarter_start(self.start) - timedelta(days=1)
            return quarter(before.year, quarter_of(before))
        end = self.start - timedelta(days=1)
        start = end - timedelta(days=self.days - 1)
        return Period(start, end, f"{start.isoformat()} to {end.isoformat()}")

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def span(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


def quarter_of(day: date) -> int:
    return (day.month - 1) // 3 + 1


def quarter_start(day: date) -> date:
    return date(day.year, 3 * quarter_of(day) - 2, 1)


def quarter_end(day: date) -> date:
    q = quarter_of(day)
    following = date(day.year + q // 4, (3 * q) % 12 + 1, 1)
    return following - timedelta(days=1)


def quarter(year: int, q: int) -> Period:
    start = date(year, 3 * q - 2, 1)
    return Period(start, quarter_end(start), f"{year}-Q{q}")


def quarter_key(day: date) -> str:
    return f"{day.year}-Q{quarter_of(day)}"


def parse_quarter(text: str) -> Period | None:
    """ "2025-Q3" (any case) as a period; None when it is not one."""
    year, _, rest = text.strip().upper().partition("-")
    valid = len(year) == 4 and year.isdecimal() and rest in ("Q1", "Q2", "Q3", "Q4")
    if valid and 2000 <= int(year) <= 2100:
        return quarter(int(year), int(rest[1]))
    return None


def recent_quarters(today: date, count: int = 8) -> list[Period]:
    """The last `count` calendar quarters, oldest first, today's last."""
    periods = [quarter(today.year, quarter_of(today))]
    while len(periods) < count:
        before = periods[0].start - timedelta(days=1)
        periods.insert(0, quarter(before.year, quarter_of(before)))
    return periods


def trend_quarters(
    period: Period, first_day: date | None, least: int = 8, most: int = 40
) -> Period:
    """The quarters a trend chart shows for a chosen period: from the quarter
    of its start (or of the first deal in it, for "all time") to the quarter of
    its end, at least `least` quarters so a short period still shows a trend,
    and at most `most` (ten years)."""
    start = max(period.start, first_day) if first_day else period.end
    start = min(start, period.end)
    count = (period.end.year - start.year) * 4 + quarter_of(period.end) - quarter_of(start) + 1
    shown = recent_quarters(period.end, min(most, max(least, count)))
    return Period(shown[0].start, quarter_end(shown[-1].start), f"{len(shown)} quarters")


def rolling(key: str, today: date) -> Period:
    days = ROLLING[key]
    return Period(today - timedelta(days=days - 1), today, ROLLING_LABELS[key])


def period_choices(today: date, quarters: int = 8) -> list[tuple[str, str]]:
    """(key, label) for a period menu: rolling windows, then recent quarters."""
    choices = list(ROLLING_LABELS.items())
    choices += [(p.label, p.label) for p in reversed(recent_quarters(today, quarters))]
    choices.append(("all", "All time"))
    return choices


def parse_date(text: str) -> date | None:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return day if EARLIEST <= day <= LATEST else None


def choose_period(args, today: date, default: str = "90d") -> tuple[Period, str, dict[str, str]]:
    """The period a page's query string asks for: `period` (a rolling key, a
    quarter such as 2025-Q3, or "all"), or a custom `date_from`/`date_to`,
    which win when given. Returns the period, the menu key chosen ("custom"
    for dates), and errors for fields that were not understood."""
    errors: dict[str, str] = {}
    raw_from, raw_to = (args.get("date_from") or "").strip(), (args.get("date_to") or "").strip()
    if raw_from or raw_to:
        start = parse_date(raw_from) if raw_from else EARLIEST
        end = parse_date(raw_to) if raw_to else today
        if start is None:
            errors["date_from"] = "Enter a real date as YYYY-MM-DD, from 2000 to 2100."
        if end is None:
            errors["date_to"] = "Enter a real date as YYYY-MM-DD, from 2000 to 2100."
        if start and end and start > end:
            errors["date_to"] = "The end of the period is before its start."
        if not errors:
            return Period(start, end, f"{start.isoformat()} to {end.isoformat()}"), "custom", {}
    key = (args.get("period") or default).strip()
    if key in ROLLING:
        return rolling(key, today), key, errors
    if key == "all":
        return Period(EARLIEST, today, "All time"), key, errors
    if (found := parse_quarter(key)) is not None:
        return found, found.label, errors
    errors.setdefault("period", "Choose a period from the list.")
    return rolling(default, today), default, errors
