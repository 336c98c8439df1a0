"""Charts as data: what static/charts.js draws, and the table of the same
figures that every chart carries for screen readers, printing and people who
prefer numbers. Built once here so the picture and the table cannot differ."""

from dataclasses import dataclass, field
from typing import Any

from kb.analytics.stats import wilson

TONES = ("won", "lost", "no_decision", "accent", "previous", "muted")


def percent(value: float | None, digits: int = 0) -> str:
    """A share (0..1) as "42%"; a dash when there is nothing to divide by."""
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def interval(won: int, decided: int) -> str:
    """A win rate's 95 % Wilson interval, as "25–61%"; a dash without deals."""
    found = wilson(won, decided)
    if found is None:
        return "—"
    low, high = found
    return f"{100 * low:.0f}–{100 * high:.0f}%"


def rate_with_interval(won: int, decided: int) -> str:
    """A win rate with its sample and interval: "40% (4 of 10; 95% CI 17–69%)"."""
    if not decided:
        return "— (no decided deals)"
    return f"{percent(won / decided)} ({won:,} of {decided:,}; 95% CI {interval(won, decided)})"


def points(value: float | None) -> str:
    """A change in percentage points, signed."""
    if value is None:
        return "—"
    rounded = round(value, 1)
    return "±0.0 pts" if rounded == 0 else f"{rounded:+.1f} pts"


@dataclass
class Series:
    label: str
    values: list[float | int | None]
    tone: str = "accent"
    line: bool = False  # drawn as a line over bars


@dataclass
class Chart:
    id: str
    caption: str
    labels: list[str]
    series: list[Series]
    kind: str = "bar"  # bar, hbar (horizontal bars) or line
    unit: str = "count"  # count, or percent (values are 0..100)
    stacked: bool = False
    # The accessible table: its header row and body rows, already formatted.
    # Left empty, it is one row per label and one column per series.
    head: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""

    def __post_init__(self) -> None:
        assert self.kind in ("bar", "hbar", "line")
        for s in self.series:
            assert s.tone in TONES and len(s.values) == len(self.labels)
        if not self.head:
            self.head = ["", *(s.label for s in self.series)]
            self.rows = [
                [label, *(self._format(s.values[i]) for s in self.series)]
                for i, label in enumerate(self.labels)
            ]

    def _format(self, value: float | int | None) -> str:
        if value is None:
            return "—"
        if self.unit == "percent":
            return f"{value:.0f}%"
        return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"

    @property
    def size(self) -> str:
        """A height class for the canvas's box (no inline styles under the CSP)."""
        if self.kind != "hbar":
            return "chart-m"
        return (
            "chart-s"
            if len(self.labels) <= 4
            else "chart-m"
            if len(self.labels) <= 9
            else "chart-l"
        )

    @property
    def summary(self) -> str:
        return f"{self.caption}. The table below the chart has the figures."

    @property
    def empty(self) -> bool:
        """Nothing to draw: no labels, or a row of blanks (or of zero counts),
        which would read as a real figure."""
        nothing = (None,) if self.unit == "percent" else (None, 0)
        return all(v in nothing for s in self.series for v in s.values)

    def spec(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "unit": self.unit,
            "stacked": self.stacked,
            "labels": self.labels,
            "series": [
                {"label": s.label, "values": s.values, "tone": s.tone, "line": s.line}
                for s in self.series
            ],
        }


def rate_value(rate: float | None) -> float | None:
    return None if rate is None else round(100 * rate, 1)


def sparkline(values: list[int], width: int = 120, height: int = 28) -> dict[str, Any]:
    """An SVG polyline's points for a small trend line, with its last point."""
    if not values:
        return {"points": "", "width": width, "height": height, "last": None}
    top = max(values) or 1
    step = width / max(1, len(values) - 1)
    pad = 3
    coords = [
        (round(i * step, 1), round(height - pad - (height - 2 * pad) * v / top, 1))
        for i, v in enumerate(values)
    ]
    return {
        "points": " ".join(f"{x},{y}" for x, y in coords),
        "width": width,
        "height": height,
        "last": coords[-1],
    }
