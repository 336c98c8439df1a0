"""The debrief form. WTForms renders it, keeps what was typed and checks CSRF;
the values are validated by the same schema and service as the API's, and
their errors are put back on the fields they belong to."""

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
    currency = StringField("Currency", default="USD", render_kw={"maxlength": 3, "size": 4})
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
    direction = SelectField(
        "Effect",
        choices=_options(("hurt", "Hurt us"), ("helped", "Helped us")),
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

    def fill_choices(self, keep_categories: set[str] = frozenset()) -> None:
        """Offer the current lists; `keep_categories` are slugs a stored debrief
        uses, offered even when an admin has since retired them."""
        blank = _options(("", "—"))
        for kind in ("segment", "region", "industry", "product_line"):
            values = choice_values(kind)
            getattr(self.deal.form, kind).choices = blank + _options(*((v, v) for v in values))
        competitors = [(name, name) for name in competitor_names()]
        self.deal.form.competitors.choices = _options(*competitors)
        self.deal.form.winner.choices = blank + _options(
            *competitors, ("no_decision", "No decision"), ("in_house", "Built in-house")
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
            entry.form.competitor.choices = blank + _options(*competitors)

    # Rows are rebuilt from their data so the names stay 0..n-1 in display order.
    def _rebuild(self, field_list: FieldList, rows: list[dict[str, Any]]) -> None:
        field_list.entries = []
        field_list.last_index = -1
        for row in rows:
            field_list.append_entry(row)

    def change_rows(self, action: str) -> bool:
        """Apply an add/remove/move button. True when `action` was one."""
        verb, _, index = action.partition(":")
        kinds = {"reason": self.reasons, "quote": self.quotes}
        if verb.startswith("add_") and verb[4:] in kinds:
            kinds[verb[4:]].append_entry()
            return True
        for prefix in ("remove_", "up_", "down_"):
            if verb.startswith(prefix) and verb[len(prefix) :] in kinds and index.isdecimal():
                field_list = kinds[verb[len(prefix) :]]
                rows = [entry.data for entry in field_list]
                i = int(index)
                if i >= len(rows):
                    return True
                if prefix == "remove_":
                    rows.pop(i)
                else:
                    j = i - 1 if prefix == "up_" else i + 1
                    if 0 <= j < len(rows):
                        rows[i], rows[j] = rows[j], rows[i]
                self._rebuild(field_list, rows or [{}])
                return True
        return False

    def to_payload(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The form's values in the schema's shape, and a map from the payload's
        row paths ("reasons.0") to the form's ("reasons-2"), as blank rows are left out."""
        paths: dict[str, str] = {}
        reasons, quotes = [], []
        for entry in self.reasons:
            row = {**entry.data, "explanation": entry.data["explanation"] or ""}
            if not (row["category"] or row["explanation"].strip() or row["competitor"]):
                continue
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

    def show_errors(self, errors: dict[str, str], paths: dict[str, str]) -> list[str]:
        """Put each error on its field; return those that belong to no field."""
        unplaced = []
        for path, message in errors.items():
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
