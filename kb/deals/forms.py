"""The import forms: the upload, and the mapping of the file's columns."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectChoice, SelectField

from kb.deals.crm_formats import FORMAT_CHOICES, TARGETS

DRY_RUN_LABEL = "Dry run: preview and check every row, store nothing"
FORMATS = [SelectChoice(value, label) for value, label in FORMAT_CHOICES]
DATE_ORDERS = [
    SelectChoice("auto", "Detect from the file"),
    SelectChoice("mdy", "Month first (MM/DD/YYYY)"),
    SelectChoice("dmy", "Day first (DD/MM/YYYY)"),
]


class UploadForm(FlaskForm):
    file = FileField(
        "CSV export",
        validators=[FileRequired("Choose the CSV file exported from your CRM.")],
        render_kw={"accept": ".csv,.txt,text/csv"},
    )
    format = SelectField("Format", choices=FORMATS, default="auto")
    dry_run = BooleanField(DRY_RUN_LABEL, default=True)


class MappingForm(FlaskForm):
    format = SelectField("Format", choices=FORMATS[1:])
    date_order = SelectField(
        "Dates like 03/05/2026",
        choices=DATE_ORDERS,
        default="auto",
        description="Dates with the year first or a month name read the same either way.",
    )
    dry_run = BooleanField(DRY_RUN_LABEL)
    # The fields a column maps to; the debrief import has its own.
    targets = TARGETS

    def mapping(self) -> dict[str, int]:
        """Target field -> column index, from the selects."""
        return {
            t.key: int(self[f"map_{t.key}"].data)
            for t in self.targets
            if (self[f"map_{t.key}"].data or "").isdecimal()
        }

    def show_mapping(self, mapping: dict[str, int]) -> None:
        for t in self.targets:
            self[f"map_{t.key}"].data = str(mapping[t.key]) if t.key in mapping else ""

    @property
    def map_fields(self) -> list:
        return [self[f"map_{t.key}"] for t in self.targets]

    def check_mapping(self) -> bool:
        """Every required field mapped, and each column used once."""
        ok = True
        users: dict[str, str] = {}
        for t in self.targets:
            select = self[f"map_{t.key}"]
            if not select.data:
                if t.required:
                    message = f"Choose the column with the {t.label.lower()}."
                    select.errors = [*select.errors, message]
                    ok = False
                continue
            if select.data in users:
                message = f"This column is already used for {users[select.data]}."
                select.errors = [*select.errors, message]
                ok = False
            users[select.data] = t.label
        return ok


def mapping_form(
    headers: list[str], targets=TARGETS, base: type[MappingForm] = MappingForm, **kwargs
) -> MappingForm:
    """A MappingForm with a select per target field listing the file's columns."""
    names = [h if headers.count(h) == 1 else f"{h} (column {i + 1})" for i, h in enumerate(headers)]
    choices = [SelectChoice("", "— not in this file —")]
    choices += [SelectChoice(str(i), name) for i, name in enumerate(names)]

    class FileMappingForm(base):
        pass

    FileMappingForm.targets = targets
    for t in targets:
        label = f"{t.label} (required)" if t.required else t.label
        setattr(
            FileMappingForm,
            f"map_{t.key}",
            SelectField(label, choices=choices, default="", description=t.help),
        )
    return FileMappingForm(**kwargs)
