"""The theme form. WTForms renders it, keeps what was typed and checks CSRF;
the values are validated by the same schema and service as the API's, and
their errors are put back on the fields they belong to."""

from typing import Any

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    Form,
    FormField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.widgets import CheckboxInput, DateInput, ListWidget

from kb.analytics.filters import CHOICE_KEYS, SPECIAL_WINNERS
from kb.extensions import db
from kb.lookups import category_groups, choice_values, competitor_names
from kb.models import Polarity, ThemeStatus, User

HELP = {
    "query": 'Search syntax, as on the search page: words, "exact phrases", -exclusions, '
    "field queries such as competitor:acme. May be empty when a filter is chosen.",
    "addressed_on": "Required when the status is addressed: the day the fix shipped "
    "(the theme page compares before and after it).",
    "addressed_action": "What was done: a new pricing option, a battlecard, a product change…",
    # Shown while an outcome (or who won) is chosen: see figures.fixed_outcome.
    "fixed_outcome": "With an outcome (or who won) chosen, the theme's win rate when "
    "mentioned cannot be shown: every deal it counts has that outcome, so the rate would be "
    "100% or 0%. Leave the outcome out to compare the deals that mention it with all deals. "
    "A theme of one outcome, such as a list of loss reasons, still shows its mentions, "
    "growth and revenue.",
}


def _options(*pairs: tuple[str, str], optgroup: str | None = None) -> list[SelectChoice]:
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


class FiltersForm(Form):
    outcome = SelectField(
        "Outcome",
        choices=_options(
            ("", "Any"), ("won", "Won"), ("lost", "Lost"), ("no_decision", "No decision")
        ),
        validate_choice=False,
    )
    competitor = SelectField("Competitor", validate_choice=False)
    winner = SelectField("Who won", validate_choice=False)
    segment = SelectField("Segment", validate_choice=False)
    region = SelectField("Region", validate_choice=False)
    industry = SelectField("Industry", validate_choice=False)
    product_line = SelectField("Product line", validate_choice=False)
    source = SelectField(
        "Source",
        choices=_options(("", "Any"), ("rep", "Rep debriefs"), ("buyer", "Buyer interviews")),
        validate_choice=False,
    )
    quarter = StringField("Quarter", description="e.g. 2025-Q3", render_kw={"size": 8})
    date_from = StringField("Closed from", widget=DateInput())
    date_to = StringField("Closed to", widget=DateInput())
    category = SelectMultipleField(
        "Reason categories (any of)",
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class ThemeForm(FlaskForm):
    name = StringField("Name")
    description = TextAreaField("Description")
    query = StringField("Query", description=HELP["query"])
    filters = FormField(FiltersForm)
    polarity = SelectField(
        "Polarity",
        choices=_options(*((p.value, p.value.capitalize()) for p in Polarity)),
        default=Polarity.NEUTRAL.value,
        validate_choice=False,
    )
    status = SelectField(
        "Status",
        choices=_options(*((s.value, s.value.capitalize()) for s in ThemeStatus)),
        default=ThemeStatus.EMERGING.value,
        validate_choice=False,
    )
    addressed_on = StringField("Addressed on", widget=DateInput(), description=HELP["addressed_on"])
    addressed_action = TextAreaField("What was done", description=HELP["addressed_action"])
    owner_id = SelectField("Owner", validate_choice=False)
    notes = TextAreaField("Notes")
    fixed_outcome_help = HELP["fixed_outcome"]

    def fill_choices(self, keep_categories: set[str] = frozenset()) -> None:
        blank = _options(("", "Any"))
        f = self.filters.form
        for kind in CHOICE_KEYS:
            values = choice_values(kind)
            getattr(f, kind).choices = blank + _options(*((v, v) for v in values))
        names = [(n, n) for n in competitor_names()]
        f.competitor.choices = blank + _options(*names)
        f.winner.choices = blank + _options(*SPECIAL_WINNERS.items(), *names)
        categories = []
        for group in category_groups():
            # A whole group, as the search page's category facet chooses it.
            categories += _options((group.slug, f"{group.name} (any)"))
            categories += _options(
                *(
                    (c.slug, f"{group.name} › {c.name}")
                    for c in group.children
                    if c.active or c.slug in keep_categories
                )
            )
        f.category.choices = categories
        owners = db.session.execute(
            select(User.id, User.name, User.email)
            .where(User.active.is_(True))
            .order_by(User.name, User.email)
        )
        self.owner_id.choices = _options(("", "Nobody yet")) + _options(
            *((str(id_), name or email) for id_, name, email in owners)
        )

    def to_payload(self) -> dict[str, Any]:
        filters = {
            key: value for key, value in self.filters.data.items() if value not in (None, "", [])
        }
        return {
            "name": self.name.data or "",
            "description": self.description.data or "",
            "query": self.query.data or "",
            "filters": filters,
            "polarity": self.polarity.data,
            "status": self.status.data,
            "addressed_on": self.addressed_on.data,
            "addressed_action": self.addressed_action.data or "",
            "owner_id": self.owner_id.data,
            "notes": self.notes.data or "",
        }

    def show_errors(self, errors: dict[str, str]) -> list[str]:
        """Put each error on its field; return those that belong to no field."""
        unplaced = []
        for path, message in errors.items():
            head, _, rest = path.partition(".")
            field = self._fields.get(head)
            if head == "filters" and rest:
                field = self.filters.form._fields.get(rest.split(".")[0])
            if field is None or isinstance(field, FormField):
                unplaced.append(message if field is None else f"Filters: {message}")
            else:
                field.errors = [*field.errors, message]
        return unplaced
