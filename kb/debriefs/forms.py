"""The debrief form. WTForms renders it, keeps what was typed and checks CSRF;
the values are validated by the same schema and service as the API's, and
their errors are put back on the fields they belong to."""

import re
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.widgets import CheckboxInput, DateInput, ListWidget

from kb.debriefs.schemas import COMMON_CURRENCIES, OTHER_CURRENCIES
from kb.lookups import category_groups, choice_values, competitor_names
from kb.models import SCORE_CRITERIA

GUIDE = {
    "reasons": "All the reasons, not just the first one offered. After each, ask: "
    "“what else mattered?” Rank them; mark the one that decided it as primary.",
    "explanation": "In the buyer's terms: what happened, and why it mattered to them.",
    "quotes": "Verbatim words from the buyer — the exact phrasing is what marketing can use.",
    "decision_process": "Who was involved, what criteria they used, how they weighed them, "
    "and what the final step was.",
    "competitive_notes": "How each competitor positioned themselves and priced; "
    "where they were stronger or weaker than us.",
    "what_worked": "The specific actions that moved the deal and what each one achieved "
    "(e.g. “brought our CISO to the security review: cut two weeks of back-and-forth”).",
    "lessons_learned": "What you would do differently next time. "
    "Honest lessons help peers most; they can be shared anonymously.",
    "interviewee_role": "Economic buyer, champion, technical evaluator, procurement…",
}


def _options(*pairs: tuple[str, str], optgroup: str | None = None) -> list[SelectChoice]:
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


class DealForm(Form):
    crm_id = StringField("CRM id", description="Optional; links the deal to your CRM.")
    name = StringField("Deal name")
    account = StringField("Account")
    amount = StringField("Amount", render_kw={"inputmode": "decimal"})
    currency = SelectField("Currency", default="USD", validate_choice=False)
    close_date = StringField("Close date", widget=DateInput())
    outcome = SelectField(
        "Outcome",
        choices=_options(
            ("", "Choose…"), ("won", "Won"), ("lost", "Lost"), ("no_decision", "No decision")
        ),
        validate_choice=False,
    )
    segment = SelectField("Segment", validate_choice=False)
    region = SelectField("Region", validate_choice=False)
    industry = SelectField("Industry", validate_choice=False)
    product_line = SelectField("Product line", validate_choice=False)
    sales_cycle_days = StringField("Sales cycle (days)", render_kw={"inputmode": "numeric"})
    stage_reached = StringField("Stage reached")
    competitors = SelectMultipleField(
        "Competitors involved",
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    winner = SelectField(
        "Who won", validate_choice=False, description="For a loss: who the buyer chose instead."
    )


class ReasonForm(Form):
    category = SelectField("Category", validate_choice=False)
    # Nothing is chosen for the rep: left empty, the effect follows the outcome.
    direction = SelectField(
        "Effect",
        choices=_options(
            ("", "From the outcome (loss: hurt, win: helped)"),
            ("hurt", "Hurt us"),
            ("helped", "Helped us"),
        ),
        validate_choice=False,
    )
    primary = BooleanField("Primary reason")
    explanation = TextAreaField("Explanation", description=GUIDE["explanation"])
    competitor = SelectField("Competitor (optional)", validate_choice=False)


class QuoteForm(Form):
    text = TextAreaField("Quote")
    speaker_role = StringField("Who said it", description="e.g. CFO, IT director")


class ScoresForm(Form):
    pass


for _key, _label in SCORE_CRITERIA:
    setattr(
        ScoresForm,
        _key,
        SelectField(
            _label,
            choices=_options(("", "—"), *((str(n), str(n)) for n in range(1, 6))),
            validate_choice=False,
        ),
    )


class DebriefForm(FlaskForm):
    deal = FormField(DealForm)
    interviewee_role = StringField("Interviewee's role", description=GUIDE["interviewee_role"])
    interviewee_name = StringField("Interviewee's name (optional)")
    interview_date = StringField("Interview date", widget=DateInput())
    reasons = FieldList(FormField(ReasonForm), min_entries=1)
    quotes = FieldList(FormField(QuoteForm), min_entries=1)
    decision_process = TextAreaField("Decision process and criteria")
    competitive_notes = TextAreaField("Competitive notes")
    what_worked = TextAreaField("What worked")
    lessons_learned = TextAreaField("Lessons learned")
    scores = FormField(ScoresForm)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.section_errors: dict[str, list[str]] = {}

    def fill_choices(
        self, keep_categories: set[str] = frozenset(), deal_competitors: list[str] | None = None
    ) -> None:
        """Offer the current lists; `keep_categories` are slugs a stored debrief
        uses, offered even when an admin has since retired them. A reason's
        competitor list starts with the deal's competitors (`deal_competitors`,
        else those ticked in the form)."""
        blank = _options(("", "—"))
        deal = self.deal.form
        for kind in ("segment", "region", "industry", "product_line"):
            values = choice_values(kind)
            getattr(deal, kind).choices = blank + _options(*((v, v) for v in values))
        currencies = _options(*((c, f"{c} — {name}") for c, name in COMMON_CURRENCIES))
        currencies += _options(*((c, c) for c in OTHER_CURRENCIES), optgroup="All ISO codes")
        if deal.currency.data and deal.currency.data not in {c.value for c in currencies}:
            # Shown as it is stored (an import may have kept any three letters), never cut.
            currencies.insert(0, SelectChoice(deal.currency.data, deal.currency.data))
        deal.currency.choices = currencies
        names = competitor_names()
        competitors = [(name, name) for name in names]
        deal.competitors.choices = _options(*competitors)
        deal.winner.choices = blank + _options(
            ("us", "Us"),
            *competitors,
            ("no_decision", "No decision"),
            ("in_house", "Built in-house"),
        )
        in_deal = [n for n in names if n in (deal_competitors or deal.competitors.data or [])]
        reason_competitors = blank + _options(*((n, n) for n in in_deal), optgroup="In this deal")
        reason_competitors += _options(
            *((n, n) for n in names if n not in in_deal),
            optgroup="Other competitors" if in_deal else None,
        )
        categories = _options(("", "Choose a category…"))
        for group in category_groups():
            categories += _options(
                *(
                    (c.slug, c.name)
                    for c in group.children
                    if c.active or c.slug in keep_categories
                ),
                optgroup=group.name,
            )
        for entry in self.reasons:
            entry.form.category.choices = categories
            entry.form.competitor.choices = reason_competitors

    def follow_outcome(self) -> None:
        """On a win, "who won" is us unless the rep says otherwise."""
        deal = self.deal.form
        if deal.outcome.data == "won" and not deal.winner.data:
            deal.winner.data = "us"

    # Rows are rebuilt from their data so the names stay 0..n-1 in display order.
    def _rebuild(self, field_list: FieldList, rows: list[dict[str, Any]]) -> None:
        field_list.entries = []
        field_list.last_index = -1
        for row in rows:
            field_list.append_entry(row)

    @staticmethod
    def row_after(verb: str, index: int, count: int) -> int:
        """Where the row a button acts on is once it has: the row to return to.
        The template puts it in the button's anchor and the page after the
        round-trip puts the focus in it."""
        if verb == "add":
            return count
        if verb == "remove":
            return max(0, min(index, count - 2))
        return max(0, min(index + (-1 if verb == "up" else 1), count - 1))

    def change_rows(self, action: str) -> str | None:
        """Apply an add/remove/move button. Returns the id of the field to put
        the focus in, or None when `action` was no row button."""
        verb, _, index = action.partition(":")
        verb, _, kind = verb.partition("_")
        kinds = {"reason": (self.reasons, "category"), "quote": (self.quotes, "text")}
        if kind not in kinds or verb not in ("add", "remove", "up", "down"):
            return None
        field_list, first_field = kinds[kind]
        count = len(field_list.entries)
        if verb == "add":
            field_list.append_entry()
            target = count
        elif not index.isdecimal():
            return None
        elif int(index) >= count:
            target = count - 1  # a button from a page out of date: nothing to do
        else:
            i = int(index)
            rows = [entry.data for entry in field_list]
            target = self.row_after(verb, i, count)
            if verb == "remove":
                rows.pop(i)
            elif target != i:
                rows[i], rows[target] = rows[target], rows[i]
            self._rebuild(field_list, rows or [{}])
        field = field_list.entries[target].form[first_field]
        field.render_kw = {**(field.render_kw or {}), "autofocus": True}
        return field.id

    def to_payload(self, outcome: str | None = None) -> tuple[dict[str, Any], dict[str, str]]:
        """The form's values in the schema's shape, and a map from the payload's
        row paths ("reasons.0") to the form's ("reasons-2"), as blank rows are left out.
        `outcome` is the deal's when the form does not show it."""
        outcome = self.deal.outcome.data or outcome
        paths: dict[str, str] = {}
        reasons, quotes = [], []
        for entry in self.reasons:
            row = {**entry.data, "explanation": entry.data["explanation"] or ""}
            if not (row["category"] or row["explanation"].strip() or row["competitor"]):
                continue
            if not row["direction"] and outcome:
                row["direction"] = "helped" if outcome == "won" else "hurt"
            paths[f"reasons.{len(reasons)}"] = entry.name
            reasons.append(row)
        for entry in self.quotes:
            row = {**entry.data, "text": entry.data["text"] or ""}
            if not (row["text"].strip() or (row["speaker_role"] or "").strip()):
                continue
            paths[f"quotes.{len(quotes)}"] = entry.name
            quotes.append(row)
        payload = {
            "deal": dict(self.deal.data),
            "interviewee_role": self.interviewee_role.data,
            "interviewee_name": self.interviewee_name.data,
            "interview_date": self.interview_date.data,
            "reasons": reasons,
            "quotes": quotes,
            # A text area left out of the post reads as None; it means empty.
            "decision_process": self.decision_process.data or "",
            "competitive_notes": self.competitive_notes.data or "",
            "what_worked": self.what_worked.data or "",
            "lessons_learned": self.lessons_learned.data or "",
            "scores": self.scores.data,
        }
        return payload, paths

    def show_errors(
        self, errors: dict[str, str], paths: dict[str, str], date_format: str = "yyyy-mm-dd"
    ) -> list[str]:
        """Put each error on its field; return those that belong to no field.
        Dates in messages are written as the date picker shows them (`date_format`)."""
        unplaced = []
        for path, message in errors.items():
            if path in DATE_FIELDS:
                message = _in_picker_format(message, date_format)
            parts = path.split(".")
            if len(parts) >= 2 and f"{parts[0]}.{parts[1]}" in paths:
                parts = paths[f"{parts[0]}.{parts[1]}"].split("-") + parts[2:]
            field = self._find(parts)
            if field is None:
                unplaced.append(message)
            elif isinstance(field, FieldList | FormField):
                # A message about a whole section ("add at least one reason").
                self.section_errors.setdefault(field.name, []).append(message)
            else:
                field.errors = [*field.errors, message]
        return unplaced

    def _find(self, parts: list[str]):
        node: Any = self
        for part in parts:
            if isinstance(node, FieldList):
                index = int(part) if part.isdecimal() else -1
                matches = [e for e in node.entries if e.name.rsplit("-", 1)[-1] == str(index)]
                node = matches[0] if matches else None
            elif isinstance(node, FormField):
                node = node.form._fields.get(part)
            elif hasattr(node, "_fields"):
                node = node._fields.get(part)
            elif part.isdecimal():
                return node  # one of the values of a multi-value field ("deal.competitors.1")
            else:
                return None
            if node is None:
                return None
        return node


# --- dates as the browser's date picker shows them -------------------------

DATE_FIELDS = {"deal.close_date", "interview_date"}
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")

# Chromium's and Firefox's date inputs write dates in the browser's locale; the
# browser sends the same locale first in Accept-Language. Keyed by language
# and region, then by language (English outside the Americas reads day first);
# anything else reads day first.
_PICKER_FORMATS = {
    "en-us": "mm/dd/yyyy",
    "en-ph": "mm/dd/yyyy",
    "en-ca": "yyyy-mm-dd",
    "en": "mm/dd/yyyy",
    "de": "dd.mm.yyyy",
    "ru": "dd.mm.yyyy",
    "pl": "dd.mm.yyyy",
    "fi": "dd.mm.yyyy",
    "nb": "dd.mm.yyyy",
    "cs": "dd.mm.yyyy",
    "tr": "dd.mm.yyyy",
    "nl": "dd-mm-yyyy",
    "sv": "yyyy-mm-dd",
    "lt": "yyyy-mm-dd",
    "ja": "yyyy/mm/dd",
    "zh": "yyyy/mm/dd",
    "ko": "yyyy. mm. dd.",
}


def picker_format(language: str | None) -> str:
    """The date picker's format for a language tag such as "en-GB"."""
    tag = (language or "en-US").lower().replace("_", "-")
    if tag in _PICKER_FORMATS:
        return _PICKER_FORMATS[tag]
    lang = tag.split("-")[0]
    return "dd/mm/yyyy" if lang == "en" else _PICKER_FORMATS.get(lang, "dd/mm/yyyy")


def _in_picker_format(message: str, date_format: str) -> str:
    if "YYYY-MM-DD" in message:
        return f"Enter a real date as {date_format} (or pick it from the calendar)."

    def written(match: re.Match) -> str:
        day = date(*(int(part) for part in match.groups()))
        return (
            date_format.replace("yyyy", f"{day.year:04d}")
            .replace("mm", f"{day.month:02d}")
            .replace("dd", f"{day.day:02d}")
        )

    return _ISO_DATE.sub(written, message)
