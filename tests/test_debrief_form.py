"""The debrief form as a user meets it: rows added, removed and reordered
without losing what was typed, drafts and submission, field-level errors that
keep every typed value and store nothing, editing with history, buyer
interviews on an existing deal, the lists with their filters, and escaping."""

import copy
import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from kb.debriefs import service
from kb.extensions import db
from kb.models import AuditEntry, Debrief, DebriefSource, DebriefStatus
from tests.conftest import row_counts


class _FormReader(HTMLParser):
    """Reads the debrief form of a page the way a browser would submit it (the
    successful controls with their current values, buttons left out), and the
    error messages shown: by the id of the field they describe, or by the
    fieldset of the section they belong to."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.fields: dict[str, list[str]] = {}
        self.errors: dict[str, str] = {}
        self.section_errors: dict[str, list[str]] = {}
        self.alerts: list[str] = []
        self._in_form = False
        self._fieldsets: list[str] = []
        self._select = None
        self._option = None
        self._textarea = None
        self._error = None
        self._alert = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "form" and "debrief-form" in classes:
            self._in_form = True
        if tag == "div" and "flash-error" in classes and a.get("role") == "alert":
            self._alert = []
        if tag == "p" and "error" in classes:
            self._error = (a.get("id"), [])
        if not self._in_form:
            return
        if tag == "fieldset":
            self._fieldsets.append(a.get("id") or "")
        elif tag == "input" and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.setdefault(a["name"], []).append(
                a.get("value", "on" if kind in ("checkbox", "radio") else "")
            )
        elif tag == "textarea":
            self._textarea = (a["name"], [])
        elif tag == "select":
            self._select = {
                "name": a["name"],
                "multiple": "multiple" in a,
                "options": [],
                "selected": [],
            }
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "text": [], "selected": "selected" in a}

    def handle_data(self, data):
        for sink in (self._textarea, self._error):
            if sink is not None:
                sink[1].append(data)
        if self._option is not None:
            self._option["text"].append(data)
        if self._alert is not None:
            self._alert.append(data)

    def handle_endtag(self, tag):
        if tag == "p" and self._error is not None:
            element_id, text = self._error
            message = "".join(text).strip()
            if element_id and element_id.endswith("-error"):
                self.errors[element_id.removesuffix("-error")] = message
            else:
                section = self._fieldsets[-1] if self._fieldsets else ""
                self.section_errors.setdefault(section, []).append(message)
            self._error = None
        elif tag == "div" and self._alert is not None:
            self.alerts.append(" ".join("".join(self._alert).split()))
            self._alert = None
        if not self._in_form:
            return
        if tag == "form":
            self._in_form = False
        elif tag == "fieldset" and self._fieldsets:
            self._fieldsets.pop()
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            value = "".join(text)
            # Browsers drop the one newline that may follow <textarea>.
            value = value[2:] if value.startswith("\r\n") else value.removeprefix("\n")
            self.fields.setdefault(name, []).append(value)
            self._textarea = None
        elif tag == "option" and self._option is not None:
            option = self._option
            value = option["value"] if option["value"] is not None else "".join(option["text"])
            self._select["options"].append(value)
            if option["selected"]:
                self._select["selected"].append(value)
            self._option = None
        elif tag == "select" and self._select is not None:
            select_ = self._select
            chosen = select_["selected"]
            if not chosen and not select_["multiple"] and select_["options"]:
                chosen = select_["options"][:1]
            if not select_["multiple"]:
                chosen = chosen[-1:]
            if chosen:
                self.fields[select_["name"]] = list(chosen)
            self._select = None


class PageForm:
    """The debrief form on a page: read what it shows, type into it, press a button."""

    def __init__(self, response):
        reader = _FormReader()
        reader.feed(response.get_data(as_text=True))
        self.status = response.status_code
        self.fields = reader.fields
        self.errors = reader.errors
        self.section_errors = reader.section_errors
        self.alerts = reader.alerts

    def __getitem__(self, name: str) -> str:
        values = self.fields.get(name, [])
        return values[0] if values else ""

    def getlist(self, name: str) -> list[str]:
        return list(self.fields.get(name, []))

    def __setitem__(self, name: str, value) -> None:
        self.fields[name] = list(value) if isinstance(value, list | tuple) else [value]

    def fill(self, values: dict) -> "PageForm":
        for name, value in values.items():
            self[name] = value
        return self

    def clear(self, name: str) -> None:
        self.fields.pop(name, None)

    def rows(self, kind: str) -> int:
        pattern = re.compile(rf"^{kind}-(\d+)-")
        return len({m.group(1) for name in self.fields if (m := pattern.match(name))})

    def column(self, kind: str, field: str) -> list[str]:
        return [self[f"{kind}-{i}-{field}"] for i in range(self.rows(kind))]

    def press(self, client, url: str, action: str):
        return client.post(url, data={**self.fields, "action": action})


def open_form(client, url: str) -> PageForm:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return PageForm(response)


def deal_fields() -> dict:
    """The deal's fields of the form, closed ten days before the (pinned) today."""
    return {
        "deal-name": "Initech renewal",
        "deal-account": "Initech",
        "deal-outcome": "lost",
        "deal-close_date": (date.today() - timedelta(days=10)).isoformat(),
        "deal-amount": "48000",
        "deal-currency": "USD",
        "deal-segment": "Enterprise",
        "deal-region": "EMEA",
        "deal-competitors": ["Acme"],
        "deal-winner": "Acme",
    }


REASONS = [
    {
        "category": "price.total-cost",
        "direction": "hurt",
        "explanation": "Acme bundled implementation at no cost.",
        "competitor": "Acme",
    },
    {
        "category": "product.integrations",
        "direction": "helped",
        "explanation": "Our SAP connector impressed their IT team.",
        "competitor": "",
    },
    {
        "category": "timing-budget.timeline",
        "direction": "hurt",
        "explanation": "They had to sign before the fiscal year ended.",
        "competitor": "",
    },
]
QUOTES = [
    {"text": "Your pricing was simply too high.", "speaker_role": "CFO"},
    {"text": "The connector demo was the best hour of the evaluation.", "speaker_role": "CIO"},
]
STORY = {
    "decision_process": "Three-vendor bake-off run by procurement.",
    "competitive_notes": "Acme discounted 30% in the final week.",
    "what_worked": "Early security review with their CISO.",
    "lessons_learned": "Build the ROI case before procurement gets involved.",
    "scores-product_fit": "4",
}


def row(kind: str, i: int, values: dict) -> dict:
    return {f"{kind}-{i}-{key}": value for key, value in values.items()}


def valid_form(reasons=1, quotes=1) -> dict:
    """A complete rep debrief as the form posts it."""
    data = {**deal_fields(), **STORY}
    for i in range(reasons):
        data.update(row("reasons", i, REASONS[i]))
    for i in range(quotes):
        data.update(row("quotes", i, QUOTES[i]))
    return data


def stored(debrief_id: int) -> dict:
    db.session.expire_all()
    return copy.deepcopy(service.as_input(db.session.get(Debrief, debrief_id)))


def the_debrief() -> Debrief:
    db.session.expire_all()
    return db.session.scalars(select(Debrief)).one()


@pytest.fixture
def rep(auth, users):
    auth.login(users.rep)
    return users.rep


# ---------------------------------------------------------------- rows


def test_file_a_debrief_with_three_reasons_and_two_quotes(client, rep):
    form = open_form(client, "/debriefs/new")
    assert (form.rows("reasons"), form.rows("quotes")) == (1, 1)
    assert form["deal-currency"] == "USD"
    counts = row_counts()

    form.fill({**deal_fields(), **STORY, **row("reasons", 0, REASONS[0])})
    for i in (1, 2):
        response = form.press(client, "/debriefs/new", "add_reason")
        assert response.status_code == 200
        form = PageForm(response)
        assert form.rows("reasons") == i + 1
        assert form[f"reasons-{i}-explanation"] == ""  # a new, empty row
        form.fill(row("reasons", i, REASONS[i]))
    form.fill(row("quotes", 0, QUOTES[0]))
    form = PageForm(form.press(client, "/debriefs/new", "add_quote"))
    assert form.rows("quotes") == 2
    form.fill(row("quotes", 1, QUOTES[1]))
    # Adding rows stores nothing.
    assert row_counts() == counts

    response = form.press(client, "/debriefs/new", "submit")
    assert response.status_code == 302
    debrief = the_debrief()
    assert response.headers["Location"] == f"/debriefs/{debrief.id}"
    assert debrief.status == DebriefStatus.SUBMITTED and debrief.author_id == rep.id
    assert [r.explanation for r in debrief.reasons] == [r["explanation"] for r in REASONS]
    assert [r.category.slug for r in debrief.reasons] == [r["category"] for r in REASONS]
    assert [r.is_primary for r in debrief.reasons] == [True, False, False]
    assert [(q.text, q.speaker_role) for q in debrief.quotes] == [
        (q["text"], q["speaker_role"]) for q in QUOTES
    ]
    assert debrief.deal.competitors[0].name == "Acme" and debrief.deal.owner_id == rep.id

    page = client.get(response.headers["Location"]).text
    assert "Debrief submitted." in page
    for text in [r["explanation"] for r in REASONS] + [q["text"] for q in QUOTES]:
        assert text in page
    assert "Price › Total cost" in page and "$48,000" in page


def test_every_typed_value_survives_a_row_button(client, rep):
    form = open_form(client, "/debriefs/new").fill(valid_form(reasons=1, quotes=1))
    form["reasons-0-primary"] = "y"
    form["deal-competitors"] = ["Acme", "Globex"]
    typed = copy.deepcopy(form.fields)
    after = PageForm(form.press(client, "/debriefs/new", "add_quote"))
    for name, values in typed.items():
        assert after.getlist(name) == values, name


def _three_reasons_two_quotes(client) -> PageForm:
    form = open_form(client, "/debriefs/new").fill(valid_form(reasons=1, quotes=1))
    for i in (1, 2):
        form = PageForm(form.press(client, "/debriefs/new", "add_reason"))
        form.fill(row("reasons", i, REASONS[i]))
    form = PageForm(form.press(client, "/debriefs/new", "add_quote"))
    form.fill(row("quotes", 1, QUOTES[1]))
    form["reasons-2-primary"] = "y"
    return form


def test_remove_a_row_keeps_the_others(client, rep):
    form = _three_reasons_two_quotes(client)
    counts = row_counts()
    form = PageForm(form.press(client, "/debriefs/new", "remove_reason:1"))
    assert form.column("reasons", "explanation") == [
        REASONS[0]["explanation"],
        REASONS[2]["explanation"],
    ]
    assert form.column("reasons", "category") == [REASONS[0]["category"], REASONS[2]["category"]]
    assert form.column("reasons", "primary") == ["", "y"]  # the checkbox moved with its row
    assert form.column("quotes", "text") == [q["text"] for q in QUOTES]
    assert form["deal-name"] == "Initech renewal"
    assert form["lessons_learned"] == STORY["lessons_learned"]

    form = PageForm(form.press(client, "/debriefs/new", "remove_quote:0"))
    assert form.column("quotes", "text") == [QUOTES[1]["text"]]
    assert form.column("quotes", "speaker_role") == ["CIO"]
    assert form.rows("reasons") == 2

    # Removing the last row leaves one empty row to type into.
    form = PageForm(form.press(client, "/debriefs/new", "remove_quote:0"))
    assert form.rows("quotes") == 1 and form["quotes-0-text"] == ""
    assert row_counts() == counts

    response = form.press(client, "/debriefs/new", "submit")
    assert response.status_code == 302
    debrief = the_debrief()
    assert [r.explanation for r in debrief.reasons] == [
        REASONS[0]["explanation"],
        REASONS[2]["explanation"],
    ]
    assert [r.is_primary for r in debrief.reasons] == [False, True]
    assert debrief.quotes == []


def test_move_rows_up_and_down(client, rep):
    form = _three_reasons_two_quotes(client)
    form = PageForm(form.press(client, "/debriefs/new", "up_reason:2"))
    assert form.column("reasons", "explanation") == [
        REASONS[0]["explanation"],
        REASONS[2]["explanation"],
        REASONS[1]["explanation"],
    ]
    assert form.column("reasons", "direction") == ["hurt", "hurt", "helped"]
    assert form.column("reasons", "primary") == ["", "y", ""]
    form = PageForm(form.press(client, "/debriefs/new", "down_reason:0"))
    assert form.column("reasons", "explanation") == [
        REASONS[2]["explanation"],
        REASONS[0]["explanation"],
        REASONS[1]["explanation"],
    ]
    assert form.column("reasons", "competitor") == ["", "Acme", ""]
    form = PageForm(form.press(client, "/debriefs/new", "down_quote:0"))
    assert form.column("quotes", "text") == [QUOTES[1]["text"], QUOTES[0]["text"]]
    assert form.column("quotes", "speaker_role") == ["CIO", "CFO"]
    # Moving the first row up or the last row down changes nothing.
    form = PageForm(form.press(client, "/debriefs/new", "up_reason:0"))
    form = PageForm(form.press(client, "/debriefs/new", "down_quote:1"))
    assert form.column("reasons", "explanation")[0] == REASONS[2]["explanation"]
    assert form.column("quotes", "text") == [QUOTES[1]["text"], QUOTES[0]["text"]]
    assert form["deal-account"] == "Initech"

    assert form.press(client, "/debriefs/new", "submit").status_code == 302
    debrief = the_debrief()
    assert [r.rank for r in debrief.reasons] == [1, 2, 3]
    assert [r.explanation for r in debrief.reasons] == [
        REASONS[2]["explanation"],
        REASONS[0]["explanation"],
        REASONS[1]["explanation"],
    ]
    assert [q.text for q in debrief.quotes] == [QUOTES[1]["text"], QUOTES[0]["text"]]


def test_stray_row_buttons_do_no_harm(client, rep):
    form = open_form(client, "/debriefs/new").fill(valid_form())
    # As sent by a page that is out of date, e.g. after a double click.
    for action in ("remove_reason:7", "up_quote:9", "down_quote:1"):
        after = PageForm(form.press(client, "/debriefs/new", action))
        assert after.status == 200, action
        assert after.fields == form.fields, action
    assert row_counts()["debriefs"] == 0


# ---------------------------------------------------------------- draft and submit


def test_save_draft_with_no_reasons(client, rep):
    form = open_form(client, "/debriefs/new").fill(
        {**deal_fields(), "what_worked": "Half-written."}
    )
    response = form.press(client, "/debriefs/new", "save_draft")
    assert response.status_code == 302
    debrief = the_debrief()
    assert debrief.status == DebriefStatus.DRAFT and debrief.reasons == []
    assert debrief.submitted_at is None
    assert "Draft saved." in client.get(response.headers["Location"]).text
    # The draft is listed on the home page for its author, and opens in the form.
    home = client.get("/").text
    assert f"/debriefs/{debrief.id}/edit" in home
    form = open_form(client, f"/debriefs/{debrief.id}/edit")
    assert form["what_worked"] == "Half-written."
    assert "Save draft" in client.get(f"/debriefs/{debrief.id}/edit").text


def test_submit_with_no_reasons_is_refused_and_keeps_the_typed_text(client, rep):
    form = open_form(client, "/debriefs/new").fill({**valid_form(reasons=0, quotes=1)})
    counts = row_counts()
    response = form.press(client, "/debriefs/new", "submit")
    assert response.status_code == 422
    after = PageForm(response)
    assert after.section_errors["reasons"] == [
        "Add at least one reason before submitting (a draft may have none)."
    ]
    assert after["deal-name"] == "Initech renewal"
    assert after["quotes-0-text"] == QUOTES[0]["text"]
    assert after["decision_process"] == STORY["decision_process"]
    assert "Nothing was saved yet" in response.text
    assert row_counts() == counts

    # The same form, with a reason, goes through.
    after.fill(row("reasons", 0, REASONS[0]))
    assert after.press(client, "/debriefs/new", "submit").status_code == 302


def test_a_draft_is_submitted_later(client, rep):
    form = open_form(client, "/debriefs/new").fill(deal_fields())
    form.press(client, "/debriefs/new", "save_draft")
    debrief = the_debrief()
    form = open_form(client, f"/debriefs/{debrief.id}/edit").fill(row("reasons", 0, REASONS[0]))
    assert form.press(client, f"/debriefs/{debrief.id}/edit", "submit").status_code == 302
    debrief = the_debrief()
    assert debrief.status == DebriefStatus.SUBMITTED and debrief.submitted_at is not None
    assert len(debrief.reasons) == 1


# ---------------------------------------------------------------- bad input

# More than a year ahead of any date the suite runs at.
FAR_FUTURE = "2999-06-30"

# (id, fields changed in a valid form, field id showing the error, words of
# the message, whether the typed value can be shown again: a value that is
# not among a select's options cannot)
BAD_FORM = [
    ("missing outcome", {"deal-outcome": ""}, "deal-outcome", "Choose one of", True),
    ("missing deal name", {"deal-name": ""}, "deal-name", "cannot be empty", True),
    ("blank account", {"deal-account": "   "}, "deal-account", "cannot be empty", True),
    ("negative amount", {"deal-amount": "-5"}, "deal-amount", "cannot be negative", True),
    ("amount not a number", {"deal-amount": "abc"}, "deal-amount", "Enter a number", True),
    ("amount with a comma", {"deal-amount": "48,000"}, "deal-amount", "Enter a number", True),
    ("amount with cents of cents", {"deal-amount": "10.555"}, "deal-amount", "two decimal", True),
    ("impossible date", {"deal-close_date": "2026-02-30"}, "deal-close_date", "real date", True),
    # As the browser's date picker shows dates (en-US when the browser does not say).
    ("empty close date", {"deal-close_date": ""}, "deal-close_date", "mm/dd/yyyy", True),
    ("date in words", {"deal-close_date": "yesterday"}, "deal-close_date", "mm/dd/yyyy", True),
    (
        "close date long ago",
        {"deal-close_date": "1999-12-31"},
        "deal-close_date",
        "01/01/2000",
        True,
    ),
    (
        "close date far ahead",
        {"deal-close_date": FAR_FUTURE},
        "deal-close_date",
        "year ahead",
        True,
    ),
    ("bad currency", {"deal-currency": "dollars"}, "deal-currency", "format", True),
    ("unknown currency", {"deal-currency": "ABC"}, "deal-currency", "not an ISO 4217", True),
    (
        "sales cycle in words",
        {"deal-sales_cycle_days": "two weeks"},
        "deal-sales_cycle_days",
        "whole number",
        True,
    ),
    (
        "negative sales cycle",
        {"deal-sales_cycle_days": "-1"},
        "deal-sales_cycle_days",
        "negative",
        True,
    ),
    ("over-long deal name", {"deal-name": "x" * 201}, "deal-name", "200 characters", True),
    (
        "over-long lessons",
        {"lessons_learned": "x" * 10_001},
        "lessons_learned",
        "10000 characters",
        True,
    ),
    (
        "over-long explanation",
        {"reasons-0-explanation": "y" * 5_001},
        "reasons-0-explanation",
        "5000 characters",
        True,
    ),
    ("over-long quote", {"quotes-0-text": "z" * 2_001}, "quotes-0-text", "2000 characters", True),
    (
        "empty quote",
        {"quotes-0-text": "", "quotes-0-speaker_role": "CFO"},
        "quotes-0-text",
        "cannot be empty",
        True,
    ),
    ("winner of a won deal", {"deal-outcome": "won"}, "deal-winner", "won deal", True),
    ("us as winner of a loss", {"deal-winner": "us"}, "deal-winner", "Only a won deal", True),
    (
        "two primary reasons",
        {"reasons-0-primary": "y", "reasons-1-primary": "y"},
        "reasons-1-primary",
        "Only one",
        True,
    ),
    (
        "unknown category",
        {"reasons-0-category": "product.teleportation"},
        "reasons-0-category",
        "Unknown reason category",
        False,
    ),
    (
        "unknown reason competitor",
        {"reasons-0-competitor": "Initrode"},
        "reasons-0-competitor",
        "Unknown competitor 'Initrode'",
        False,
    ),
    (
        "unknown competitor",
        {"deal-competitors": ["Acme", "Initrode"]},
        "deal-competitors",
        "Unknown competitor 'Initrode'",
        False,
    ),
    ("unknown winner", {"deal-winner": "Initrode"}, "deal-winner", "Unknown competitor", False),
    ("unknown segment", {"deal-segment": "Galaxy"}, "deal-segment", "Unknown segment", False),
    (
        "unknown direction",
        {"reasons-0-direction": "sideways"},
        "reasons-0-direction",
        "helped",
        False,
    ),
    ("score out of range", {"scores-product_fit": "9"}, "scores-product_fit", "at most 5", False),
]


@pytest.mark.parametrize(
    ("changes", "field", "words", "shown_again"),
    [case[1:] for case in BAD_FORM],
    ids=[case[0] for case in BAD_FORM],
)
def test_bad_input_shows_the_error_by_the_field_keeps_everything_and_stores_nothing(
    client, rep, changes, field, words, shown_again
):
    typed = {**valid_form(reasons=2, quotes=2), **changes}
    counts = row_counts()
    response = client.post("/debriefs/new", data={**typed, "action": "submit"})
    assert response.status_code == 422
    form = PageForm(response)
    assert field in form.errors, (form.errors, form.section_errors, form.alerts)
    assert words in form.errors[field]
    if field != "deal-competitors":  # a group of checkboxes has no single control
        control = re.search(rf'<(?:input|select|textarea)[^>]* id="{field}"[^>]*>', response.text)
        assert 'aria-invalid="true"' in control.group(0)
        assert f"{field}-error" in control.group(0)  # aria-describedby names the message
    assert "Nothing was saved yet" in response.text
    # Everything typed is still in the form.
    for name, value in typed.items():
        if name in changes and not shown_again:
            continue
        expected = value if isinstance(value, list) else [value]
        assert form.getlist(name) == expected, name
    assert row_counts() == counts


def test_an_error_lands_on_its_row_when_an_empty_row_comes_first(client, rep):
    typed = {
        **valid_form(reasons=0, quotes=0),
        **row("reasons", 0, {"category": "", "direction": "hurt", "explanation": ""}),
        **row("reasons", 1, {**REASONS[1], "explanation": "x" * 5_001}),
        **row("quotes", 0, {"text": "", "speaker_role": ""}),
        **row("quotes", 1, {"text": "", "speaker_role": "CTO"}),
    }
    response = client.post("/debriefs/new", data={**typed, "action": "submit"})
    assert response.status_code == 422
    form = PageForm(response)
    assert set(form.errors) == {"reasons-1-explanation", "quotes-1-text"}
    assert form["quotes-1-speaker_role"] == "CTO"


def test_several_errors_are_shown_at_once(client, rep):
    typed = {**valid_form(), "deal-amount": "abc", "deal-close_date": "2026-02-30"}
    typed["deal-outcome"] = ""
    form = PageForm(client.post("/debriefs/new", data={**typed, "action": "save_draft"}))
    assert {"deal-amount", "deal-close_date", "deal-outcome"} <= set(form.errors)


EDIT_ERRORS = [
    ("amount not a number", {"deal-amount": "abc"}, "deal-amount"),
    ("impossible date", {"deal-close_date": "2026-02-30"}, "deal-close_date"),
    ("empty deal name", {"deal-name": ""}, "deal-name"),
    ("empty quote", {"quotes-0-text": ""}, "quotes-0-text"),
    ("over-long notes", {"competitive_notes": "n" * 10_001}, "competitive_notes"),
]


@pytest.mark.parametrize(
    ("changes", "field"),
    [case[1:] for case in EDIT_ERRORS],
    ids=[case[0] for case in EDIT_ERRORS],
)
def test_bad_edit_leaves_the_stored_debrief_unchanged(client, rep, make_debrief, changes, field):
    debrief = make_debrief(rep)
    url = f"/debriefs/{debrief.id}/edit"
    before, counts = stored(debrief.id), row_counts()
    form = open_form(client, url)
    # A good change next to the bad one is not stored either.
    form.fill({"what_worked": "Rewritten.", "quotes-0-speaker_role": "COO", **changes})
    typed = copy.deepcopy(form.fields)
    response = form.press(client, url, "submit")
    assert response.status_code == 422
    after = PageForm(response)
    assert field in after.errors
    for name, values in typed.items():
        assert after.getlist(name) == values, name
    assert stored(debrief.id) == before
    assert row_counts() == counts


def test_removing_every_reason_of_a_submitted_debrief_is_refused(client, rep, make_debrief):
    debrief = make_debrief(rep)
    url = f"/debriefs/{debrief.id}/edit"
    before = stored(debrief.id)
    form = open_form(client, url)
    form = PageForm(form.press(client, url, "remove_reason:0"))
    form = PageForm(form.press(client, url, "remove_reason:0"))
    response = form.press(client, url, "submit")
    assert response.status_code == 422
    assert "Add at least one reason" in PageForm(response).section_errors["reasons"][0]
    assert stored(debrief.id) == before


# ---------------------------------------------------------------- editing


def test_edit_keeps_a_submitted_debrief_submitted_and_shows_the_history(client, rep, make_debrief):
    debrief = make_debrief(rep)
    submitted_at = debrief.submitted_at
    url = f"/debriefs/{debrief.id}/edit"
    page = client.get(url).text
    assert "Save draft" not in page  # a submitted debrief cannot go back to draft
    form = PageForm(client.get(url))
    assert form["deal-amount"] == "48000.00"
    assert form.column("reasons", "explanation") == [
        "Acme bundled implementation at no cost.",
        "Our SAP connector impressed their IT team.",
    ]
    form["deal-amount"] = "52000"
    form["what_worked"] = "Bringing their CISO in early."
    response = form.press(client, url, "submit")
    assert response.status_code == 302
    # An edit is saved, not submitted again.
    confirmation = client.get(response.headers["Location"]).text
    assert "Changes saved." in confirmation and "Debrief submitted." not in confirmation

    db.session.expire_all()
    debrief = db.session.get(Debrief, debrief.id)
    assert debrief.status == DebriefStatus.SUBMITTED
    assert debrief.submitted_at == submitted_at
    assert float(debrief.deal.amount) == 52000
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_id == debrief.id, AuditEntry.action == "update")
    ).one()
    assert set(entry.changes) == {"deal.amount", "what_worked"}
    assert entry.user_id == rep.id

    history = client.get(url).text.split("<h2>History</h2>", 1)[1]
    assert "Updated</strong> by Rita Rep" in history
    assert "Created</strong> by Rita Rep" in history
    assert "2 fields changed" in history
    assert re.search(r"<td>deal\.amount</td><td>48000\.00</td><td>52000\.00</td>", history)
    assert re.search(
        r"<td>what_worked</td><td>Early security review with their CISO\.</td>"
        r"<td>Bringing their CISO in early\.</td>",
        history,
    )
    # The debrief's page shows the same history to those who may edit it.
    assert "deal.amount" in client.get(f"/debriefs/{debrief.id}").text


def test_saving_a_submitted_debrief_as_draft_keeps_it_submitted(client, rep, make_debrief):
    debrief = make_debrief(rep)
    url = f"/debriefs/{debrief.id}/edit"
    form = open_form(client, url).fill({"lessons_learned": "Changed."})
    assert form.press(client, url, "save_draft").status_code == 302
    assert stored(debrief.id)["status"] == "submitted"
    assert stored(debrief.id)["lessons_learned"] == "Changed."


def test_saving_without_changes_records_no_history(client, rep, make_debrief):
    debrief = make_debrief(rep)
    url = f"/debriefs/{debrief.id}/edit"
    counts = row_counts()
    assert open_form(client, url).press(client, url, "submit").status_code == 302
    assert row_counts() == counts


def test_readers_who_cannot_edit_see_no_history(client, auth, users, make_debrief):
    debrief = make_debrief(users.rep)
    auth.login(users.west_rep)
    assert "<h2>History</h2>" not in client.get(f"/debriefs/{debrief.id}").text


# ---------------------------------------------------------------- buyer interviews


def test_buyer_interview_on_an_existing_deal(client, auth, users, make_debrief):
    rep_debrief = make_debrief(users.rep, deal={"crm_id": "006INI"})
    deal_id = rep_debrief.deal_id
    deal_before = service.deal_as_input(rep_debrief.deal)
    auth.login(users.marketing)
    url = f"/debriefs/new?source=buyer&deal={deal_id}"
    response = client.get(url)
    assert response.status_code == 200
    page = response.text
    assert "Record a buyer interview" in page
    # The deal's facts are shown, read-only.
    assert "These facts belong to the deal" in page
    assert "<dd>Initech renewal (Initech)</dd>" in page
    assert "<dt>Competitors</dt><dd>Acme</dd>" in page
    form = PageForm(response)
    assert not [name for name in form.fields if name.startswith("deal-")]
    assert "interviewee_role" in form.fields

    form.fill(
        {
            **row("reasons", 0, REASONS[1]),
            **row("quotes", 0, {"text": "Integration sealed it for us.", "speaker_role": "CIO"}),
            "interviewee_name": "Dana Buyer",
            "interview_date": "2025-02-03",
            # Deal fields a crafted post might add are ignored.
            "deal-name": "Renamed by marketing",
        }
    )
    counts = row_counts()
    response = form.press(client, url, "submit")
    assert response.status_code == 422
    after = PageForm(response)
    assert "Say who was interviewed" in after.errors["interviewee_role"]
    assert after["interviewee_name"] == "Dana Buyer"
    assert after["quotes-0-text"] == "Integration sealed it for us."
    assert after["reasons-0-explanation"] == REASONS[1]["explanation"]
    assert "These facts belong to the deal" in response.text
    assert row_counts() == counts

    after["interviewee_role"] = "Economic buyer"
    response = after.press(client, url, "submit")
    assert response.status_code == 302
    buyer = db.session.scalars(select(Debrief).where(Debrief.source == DebriefSource.BUYER)).one()
    assert buyer.deal_id == deal_id and buyer.author_id == users.marketing.id
    assert buyer.interviewee_role == "Economic buyer"
    assert buyer.interview_date.isoformat() == "2025-02-03"
    assert row_counts()["deals"] == counts["deals"]
    db.session.expire_all()
    assert service.deal_as_input(buyer.deal) == deal_before

    page = client.get(response.headers["Location"]).text
    assert "Buyer interview with the Economic buyer (Dana Buyer)" in page
    assert "Integration sealed it for us." in page
    # Each debrief of the deal links to the other.
    auth.logout()
    auth.login(users.rep)
    assert f'href="/debriefs/{buyer.id}"' in client.get(f"/debriefs/{rep_debrief.id}").text


def test_a_draft_buyer_interview_needs_no_interviewee_yet(client, auth, users, make_debrief):
    deal_id = make_debrief(users.rep).deal_id
    auth.login(users.marketing)
    url = f"/debriefs/new?source=buyer&deal={deal_id}"
    response = open_form(client, url).press(client, url, "save_draft")
    assert response.status_code == 302
    draft = db.session.scalars(select(Debrief).where(Debrief.source == DebriefSource.BUYER)).one()
    assert (draft.deal_id, draft.status, draft.interviewee_role) == (
        deal_id,
        DebriefStatus.DRAFT,
        None,
    )


def test_buyer_interview_with_a_new_deal(client, auth, users):
    auth.login(users.marketing)
    form = open_form(client, "/debriefs/new")
    assert "interviewee_role" in form.fields and "deal-name" in form.fields
    form.fill({**valid_form(), "interviewee_role": "Champion"})
    assert form.press(client, "/debriefs/new", "submit").status_code == 302
    debrief = the_debrief()
    assert debrief.source == DebriefSource.BUYER and debrief.deal.owner_id is None


# ---------------------------------------------------------------- lists


@pytest.fixture
def listed(users, make_debrief):
    """Debriefs with distinct deal names, to find them in the lists."""

    def make(author, name, **overrides):
        deal = {"name": name, **overrides.pop("deal", {})}
        return make_debrief(author, deal=deal, **overrides).id

    return {
        "rep lost to Acme": make(users.rep, "Lost to Acme"),
        "rep won vs Globex": make(
            users.rep,
            "Won vs Globex",
            deal={"outcome": "won", "winner": None, "competitors": ["Globex"]},
        ),
        "rep draft": make(users.rep, "Rep draft", status="draft"),
        "peer no decision": make(
            users.peer,
            "Peer no decision",
            deal={"outcome": "no_decision", "winner": "no_decision", "competitors": []},
        ),
        "peer draft": make(users.peer, "Peer draft", status="draft"),
        "west lost to Salesforce": make(
            users.west_rep,
            "West lost to Salesforce",
            deal={"competitors": ["Salesforce"], "winner": "SFDC"},
        ),
        "buyer interview": make(
            users.marketing, "Buyer on Acme deal", source="buyer", interviewee_role="Champion"
        ),
    }


def listed_names(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(r'<td><a href="/debriefs/\d+">([^<]*)</a>', response.text)


# What a rep (team East) sees in each list and filter.
LISTS_FOR_A_REP = [
    (
        "/debriefs/",
        {
            "Lost to Acme",
            "Won vs Globex",
            "Rep draft",
            "Peer no decision",
            "West lost to Salesforce",
            "Buyer on Acme deal",
        },
    ),
    (
        "/debriefs/?outcome=lost",
        {"Lost to Acme", "Rep draft", "West lost to Salesforce", "Buyer on Acme deal"},
    ),
    ("/debriefs/?outcome=won", {"Won vs Globex"}),
    ("/debriefs/?outcome=no_decision", {"Peer no decision"}),
    ("/debriefs/?source=buyer", {"Buyer on Acme deal"}),
    ("/debriefs/?competitor=Globex", {"Won vs Globex"}),
    ("/debriefs/?competitor=Salesforce&outcome=lost", {"West lost to Salesforce"}),
    ("/debriefs/?competitor=Acme&source=rep", {"Lost to Acme", "Rep draft"}),
    ("/debriefs/?status=draft", {"Rep draft"}),
    ("/debriefs/?competitor=Initrode", set()),
    ("/debriefs/mine", {"Lost to Acme", "Won vs Globex", "Rep draft"}),
    ("/debriefs/mine?outcome=won", {"Won vs Globex"}),
    ("/debriefs/team", {"Lost to Acme", "Won vs Globex", "Rep draft", "Peer no decision"}),
    ("/debriefs/team?source=rep&outcome=won", {"Won vs Globex"}),
]


def test_lists_and_filters_as_a_rep(client, rep, listed):
    for url, expected in LISTS_FOR_A_REP:
        response = client.get(url)
        assert set(listed_names(response)) == expected, url
        count = len(expected)
        assert f"{count} debrief{'' if count == 1 else 's'}</p>" in response.text, url


def test_team_list_for_a_manager_includes_drafts(client, auth, users, listed):
    auth.login(users.manager)
    assert set(listed_names(client.get("/debriefs/team"))) == {
        "Lost to Acme",
        "Won vs Globex",
        "Rep draft",
        "Peer no decision",
        "Peer draft",
    }


def test_team_list_without_a_team_goes_to_all_debriefs(client, auth, users, listed):
    auth.login(users.marketing)
    response = client.get("/debriefs/team", follow_redirects=True)
    assert response.request.path == "/debriefs/"
    assert "You are not on a team yet" in response.text


def test_the_menu_links_to_each_list(client, rep):
    for url in ("/", "/debriefs/", "/debriefs/mine", "/debriefs/team"):
        menu = client.get(url).text.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
        assert '<a href="/debriefs/"' in menu and ">Debriefs<" in menu, url
    for url in ("/debriefs/", "/debriefs/mine", "/debriefs/team"):
        tabs = client.get(url).text.split('<nav class="tabs"', 1)[1].split("</nav>", 1)[0]
        assert '<a href="/debriefs/"' in tabs and '<a href="/debriefs/mine"' in tabs, url
        assert '<a href="/debriefs/team"' in tabs, url
        assert f'<a href="{url}" aria-current="page">' in tabs, url


def test_unknown_filter_values_do_not_break_the_list(client, rep, listed):
    for query in ("outcome=nonsense", "source=%3Cscript%3E", "status=", "page=abc", "page=-3"):
        assert client.get(f"/debriefs/?{query}").status_code == 200, query
    # A value no debrief can have lists nothing, rather than everything.
    for query in ("outcome=nonsense", "source=%3Cscript%3E", "status=archived"):
        assert listed_names(client.get(f"/debriefs/?{query}")) == [], query
    assert listed_names(client.get("/debriefs/?status="))  # an empty filter is no filter


def test_a_tampered_form_action_saves_nothing(client, rep):
    before = row_counts()
    response = client.post("/debriefs/new", data={"deal-name": "X", "action": "up_reason:x"})
    assert response.status_code == 400
    assert row_counts() == before


def test_filter_choices_stay_selected(client, rep, listed):
    page = client.get("/debriefs/?outcome=lost&competitor=Acme").text
    assert '<option value="lost" selected>' in page
    assert "<option selected>Acme</option>" in page


def test_lists_are_paginated(client, rep, make_debrief):
    for i in range(27):
        make_debrief(rep, deal={"name": f"Deal {i:02d}"})
    first = client.get("/debriefs/")
    assert len(listed_names(first)) == 25 and "Page 1 of 2" in first.text
    second = client.get("/debriefs/?page=2")
    assert len(listed_names(second)) == 2
    assert set(listed_names(first)).isdisjoint(listed_names(second))


# ---------------------------------------------------------------- escaping

SCRIPT = "<script>alert(1)</script>"


def test_html_in_texts_is_shown_as_text(client, rep, make_debrief):
    debrief = make_debrief(
        rep,
        deal={"name": f"Deal {SCRIPT}", "account": '<img src=x onerror="alert(2)">'},
        quotes=[{"text": f"They said {SCRIPT}", "speaker_role": "<b>CFO</b>"}],
        reasons=[{"category": "price.total-cost", "direction": "hurt", "explanation": SCRIPT}],
        lessons_learned=f"{SCRIPT} & more",
    )
    # Create an audit entry whose values hold the markup too.
    service.save_debrief(
        rep, service.parse({**service.as_input(debrief), "what_worked": SCRIPT}), debrief
    )
    for url in (f"/debriefs/{debrief.id}", f"/debriefs/{debrief.id}/edit", "/debriefs/", "/"):
        page = client.get(url).text
        assert "<script>alert" not in page, url
        assert "<img src=x" not in page and "<b>CFO" not in page, url
    page = client.get(f"/debriefs/{debrief.id}").text
    assert "They said &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;CFO&lt;/b&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    # The form shows the stored text exactly, ready to edit.
    form = open_form(client, f"/debriefs/{debrief.id}/edit")
    assert form["quotes-0-text"] == f"They said {SCRIPT}"
    assert form["deal-name"] == f"Deal {SCRIPT}"


def test_html_typed_into_a_failing_form_is_shown_as_text(client, rep):
    typed = {**valid_form(), "deal-amount": "abc", "quotes-0-text": SCRIPT}
    response = client.post("/debriefs/new", data={**typed, "action": "submit"})
    assert response.status_code == 422
    assert SCRIPT not in response.text
    assert PageForm(response)["quotes-0-text"] == SCRIPT


# ---------------------------------------------------------------- as reps use it


def _options(html: str, select_id: str) -> list[str]:
    """The option values of a select, in the order the page offers them."""
    select = re.search(rf'<select[^>]* id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    return re.findall(r'<option[^>]*value="([^"]*)"', select.group(1))


def test_a_quick_debrief_is_outcome_primary_reason_and_one_sentence(client, rep):
    """On a deal from the CRM the facts are there already: the rep picks the
    reason and writes one sentence, and leaves its effect to the outcome."""
    deal = _crm_deal(rep, outcome="lost")
    url = f"/debriefs/new?deal={deal.id}"
    form = open_form(client, url)
    assert form["deal-outcome"] == "lost" and form["deal-name"] == "Umbrella renewal"
    assert form["reasons-0-direction"] == ""  # no effect is chosen for the rep
    form.fill({"reasons-0-category": "price.total-cost"})
    form["reasons-0-explanation"] = "Their budget was cut by half in Q3."
    response = form.press(client, url, "submit")
    assert response.status_code == 302, PageForm(response).errors
    debrief = the_debrief()
    assert debrief.status == DebriefStatus.SUBMITTED and debrief.deal_id == deal.id
    (reason,) = debrief.reasons
    assert (reason.direction.value, reason.is_primary) == ("hurt", True)
    assert reason.explanation == "Their budget was cut by half in Q3."


def _crm_deal(owner, outcome: str):
    from kb.models import Deal, Outcome

    deal = Deal(
        crm_id="SF-0042",
        name="Umbrella renewal",
        account="Umbrella",
        outcome=Outcome(outcome),
        close_date=date.today() - timedelta(days=3),
        currency="USD",
        owner=owner,
    )
    db.session.add(deal)
    db.session.commit()
    return deal


def test_a_blank_effect_follows_the_outcome(client, rep):
    won = {**valid_form(reasons=2, quotes=0), "deal-outcome": "won", "deal-winner": "us"}
    won["reasons-0-direction"] = won["reasons-1-direction"] = ""
    response = client.post("/debriefs/new", data={**won, "action": "submit"})
    assert response.status_code == 302, PageForm(response).errors
    debrief = the_debrief()
    assert [r.direction.value for r in debrief.reasons] == ["helped", "helped"]
    # "Us" on a win means no other winner.
    assert debrief.deal.winner_kind is None and debrief.deal.winner_competitor is None


def test_who_won_is_us_on_a_win_and_nobody_is_chosen_on_a_loss(client, rep, make_debrief):
    assert open_form(client, "/debriefs/new")["deal-winner"] == ""
    debrief = make_debrief(rep, deal={"outcome": "won", "winner": None})
    url = f"/debriefs/{debrief.id}/edit"
    form = open_form(client, url)
    assert form["deal-winner"] == "us"
    before = stored(debrief.id)
    # Saving it unchanged records no change.
    assert form.press(client, url, "submit").status_code == 302
    assert stored(debrief.id) == before
    # Without JavaScript, a row button brings "us" as soon as the outcome is a win.
    form = open_form(client, "/debriefs/new").fill({"deal-outcome": "won"})
    assert PageForm(form.press(client, "/debriefs/new", "add_reason"))["deal-winner"] == "us"


def test_a_reasons_competitor_list_starts_with_the_deals_competitors(client, rep):
    form = open_form(client, "/debriefs/new")
    page = client.get("/debriefs/new").text
    assert _options(page, "reasons-0-competitor") == ["", "Acme", "Globex", "Salesforce"]
    form.fill({**valid_form(), "deal-competitors": ["Salesforce"], "deal-winner": "Salesforce"})
    page = form.press(client, "/debriefs/new", "add_reason").text
    for i in (0, 1):
        assert _options(page, f"reasons-{i}-competitor") == ["", "Salesforce", "Acme", "Globex"]
    assert '<optgroup label="In this deal">' in page


def test_currency_is_a_choice_of_iso_codes_with_the_common_ones_first(client, rep):
    page = client.get("/debriefs/new").text
    codes = _options(page, "deal-currency")
    assert codes[:4] == ["USD", "EUR", "GBP", "CAD"]
    assert {"XOF", "KRW", "CHF"} <= set(codes) and len(codes) == len(set(codes)) > 150
    assert re.search(r'<option selected value="USD">|<option value="USD" selected>', page)
    response = client.post(
        "/debriefs/new", data={**valid_form(), "deal-currency": "CHF", "action": "submit"}
    )
    assert response.status_code == 302
    assert the_debrief().deal.currency == "CHF"


def test_a_stored_code_outside_the_list_is_shown_whole_and_not_saved_again(
    client, rep, make_debrief
):
    debrief = make_debrief(rep)
    debrief.deal.currency = "XYZ"  # as an import kept it
    db.session.commit()
    url = f"/debriefs/{debrief.id}/edit"
    form = open_form(client, url)
    assert form["deal-currency"] == "XYZ"
    before, counts = stored(debrief.id), row_counts()
    response = form.press(client, url, "submit")
    assert response.status_code == 422
    assert "not an ISO 4217" in PageForm(response).errors["deal-currency"]
    assert stored(debrief.id) == before and row_counts() == counts


def test_the_api_refuses_an_unknown_currency_with_a_field_error(api, users):
    from tests.conftest import debrief_payload

    counts = row_counts()
    for code, words in (("ABC", "'ABC' is not an ISO 4217"), ("EURO", "three letters")):
        response = api.post(
            users.rep, "/api/v1/debriefs", json=debrief_payload(deal={"currency": code})
        )
        assert response.status_code == 400
        assert words in response.json["fields"]["deal.currency"]
    assert row_counts()["debriefs"] == counts["debriefs"]
    response = api.post(
        users.rep, "/api/v1/debriefs", json=debrief_payload(deal={"currency": "jpy"})
    )
    assert response.status_code == 201 and response.json["deal"]["currency"] == "JPY"


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en-US,en;q=0.9", "mm/dd/yyyy"),
        ("en-GB,en;q=0.9", "dd/mm/yyyy"),
        ("de-DE,de;q=0.9", "dd.mm.yyyy"),
        ("sv-SE", "yyyy-mm-dd"),
    ],
)
def test_date_errors_use_the_format_the_date_picker_shows(client, rep, language, words):
    response = client.post(
        "/debriefs/new",
        data={**valid_form(), "deal-close_date": "30 Feb", "action": "submit"},
        headers={"Accept-Language": language},
    )
    assert response.status_code == 422
    assert words in PageForm(response).errors["deal-close_date"]


def test_a_date_in_an_error_is_written_as_the_picker_writes_it(client, rep):
    response = client.post(
        "/debriefs/new",
        data={**valid_form(), "deal-close_date": "1999-12-31", "action": "submit"},
        headers={"Accept-Language": "de-DE"},
    )
    assert "after 01.01.2000" in PageForm(response).errors["deal-close_date"]


def _autofocused(html: str) -> list[str]:
    """The ids of the controls the page puts the focus in."""
    controls = re.findall(r"<(?:select|textarea|input)\b[^>]*>", html)
    return [re.search(r'\bid="([^"]+)"', c).group(1) for c in controls if " autofocus" in c]


def _formaction(html: str, value: str) -> str:
    button = re.search(rf'<button[^>]*value="{re.escape(value)}"[^>]*>', html).group(0)
    return re.search(r'formaction="([^"]*)"', button).group(1)


def test_without_javascript_a_row_button_returns_to_its_row_with_the_focus_in_it(client, rep):
    form = open_form(client, "/debriefs/new?source=rep").fill(valid_form(reasons=1, quotes=1))
    page = client.get("/debriefs/new?source=rep").text
    # Each button posts to the same address, with the anchor of the row it leads to.
    assert _formaction(page, "add_reason") == "/debriefs/new?source=rep#reasons-1-category"
    assert _formaction(page, "add_quote") == "/debriefs/new?source=rep#quotes-1-text"

    response = form.press(client, "/debriefs/new?source=rep", "add_reason")
    page = response.text
    assert _autofocused(page) == ["reasons-1-category"]
    assert 'id="reasons-1"' in page
    assert _formaction(page, "add_reason").endswith("#reasons-2-category")
    assert _formaction(page, "up_reason:1").endswith("#reasons-0-category")
    assert _formaction(page, "remove_reason:1").endswith("#reasons-0-category")
    form = PageForm(response).fill(row("reasons", 1, REASONS[1]))
    page = form.press(client, "/debriefs/new", "up_reason:1").text
    assert _autofocused(page) == ["reasons-0-category"]
    form = PageForm(form.press(client, "/debriefs/new", "add_quote"))
    page = form.press(client, "/debriefs/new", "remove_quote:1").text
    assert _autofocused(page) == ["quotes-0-text"]


def test_the_confirmation_says_draft_saved_submitted_or_saved(client, rep):
    response = client.post("/debriefs/new", data={**valid_form(), "action": "save_draft"})
    assert "Draft saved." in client.get(response.headers["Location"]).text
    debrief = the_debrief()
    url = f"/debriefs/{debrief.id}/edit"
    response = open_form(client, url).press(client, url, "submit")
    assert "Debrief submitted." in client.get(response.headers["Location"]).text
    response = open_form(client, url).fill({"what_worked": "More."}).press(client, url, "submit")
    page = client.get(response.headers["Location"]).text
    assert "Changes saved." in page and "Debrief submitted." not in page


# ---------------------------------------------------------------- failed saves and the unsent copy

_REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse_saves BEFORE INSERT ON audit_log "
        "WHEN NEW.entity_type IN ('debrief', 'practice') "
        "BEGIN SELECT RAISE(ABORT, 'saves are refused in this test'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_saves() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'saves are refused in this test'; END $$",
        "CREATE TRIGGER refuse_saves BEFORE INSERT ON audit_log FOR EACH ROW "
        "WHEN (NEW.entity_type IN ('debrief', 'practice')) EXECUTE FUNCTION refuse_saves()",
    ],
}
_ALLOW = {
    "sqlite": ["DROP TRIGGER IF EXISTS refuse_saves"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS refuse_saves ON audit_log",
        "DROP FUNCTION IF EXISTS refuse_saves()",
    ],
}


@pytest.fixture
def refused_saves(app):
    """Saves fail in the database, as a real fault would: a trigger refuses the
    audit entry every debrief and practice save writes, the transaction rolls
    back and the server answers 500. Call `.allow()` to let saves through again."""
    from sqlalchemy import text

    def run(statements):
        for statement in statements[db.engine.dialect.name]:
            db.session.execute(text(statement))
        db.session.commit()

    class Refusal:
        def allow(self):
            run(_ALLOW)

    app.config["PROPAGATE_EXCEPTIONS"] = False  # the error page, as a person sees it
    run(_REFUSE)
    yield Refusal()
    run(_ALLOW)


def test_a_failed_save_says_it_was_not_saved_and_that_the_copy_is_kept(client, rep, refused_saves):
    counts = row_counts()
    data = {**valid_form(), "unsent_key": "kb-unsent:1:rep:new", "action": "submit"}
    response = client.post("/debriefs/new", data=data)
    assert response.status_code == 500
    page = " ".join(response.text.split())
    assert "What you sent was not saved." in page
    assert "A copy of what you typed is kept in this browser" in page
    assert "Nothing you saved was lost" not in page and "Nothing was changed" not in page
    assert 'href="/debriefs/new">Back to the form</a>' in page
    assert "kb_saved" not in response.headers.get("Set-Cookie", "")
    assert row_counts() == counts

    refused_saves.allow()
    response = client.post("/debriefs/new", data=data)
    assert response.status_code == 302
    # The server's word that the copy can go, read by kb.js on the next page.
    assert "kb_saved=kb-unsent:1:rep:new" in response.headers["Set-Cookie"]


def test_only_a_confirmed_save_clears_the_copy(client, auth, users):
    data = {**valid_form(), "unsent_key": "kb-unsent:1:rep:new", "action": "submit"}
    # Signed out (an expired session): the redirect to the sign-in page saved nothing.
    response = client.post("/debriefs/new", data=data)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "kb_saved" not in response.headers.get("Set-Cookie", "")
    auth.login(users.rep)
    # Refused (422) and a row button (200) save nothing either.
    for changes in ({"deal-amount": "abc"}, {"action": "add_reason"}):
        response = client.post("/debriefs/new", data={**data, **changes})
        assert response.status_code in (200, 422)
        assert "kb_saved" not in response.headers.get("Set-Cookie", "")
    assert row_counts()["debriefs"] == 0


def test_the_forms_name_their_copy_by_user_and_deal(client, rep, make_debrief):
    def key(url):
        return re.search(r'data-unsent-key="([^"]+)"', client.get(url).text).group(1)

    debrief = make_debrief(rep)
    assert key("/debriefs/new") == f"kb-unsent:{rep.id}:rep:new"
    assert key(f"/debriefs/{debrief.id}/edit") == f"kb-unsent:{rep.id}:rep:debrief-{debrief.id}"
    deal = _crm_deal(rep, outcome="won")
    assert key(f"/debriefs/new?deal={deal.id}") == f"kb-unsent:{rep.id}:rep:deal-{deal.id}"
    assert key("/practices/new") == f"kb-unsent:{rep.id}:practice:new"
