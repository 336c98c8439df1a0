"""The practice form and the comment form. WTForms renders them, keeps what
was typed and checks CSRF; the values are validated by the same schema and
service as the API's, and their errors are put back on their fields."""

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)

GUIDE = {
    "title": "One line a peer would search for, e.g. “Bring security in before procurement”.",
    "situation": "The deal and the moment: who was involved, what was at stake, what made it hard.",
    "actions": "The specific things you did, in order, so a peer could repeat them.",
    "result": "What each action achieved, and how the deal ended.",
    "tags": "Comma-separated, e.g. pricing, security review (at most 10).",
    "anonymous": "Nobody but an admin will see that you wrote it: not your name, not the "
    "deal's name, not a link to your debrief. The deal's competitors, segment and outcome "
    "are still shown. Leave names of people and accounts out of the text, and write it in new "
    "words: a sentence copied from your own debriefs would find them in search, so it cannot "
    "be published anonymously.",
}


class PracticeForm(FlaskForm):
    kind = SelectField(
        "Kind",
        choices=[
            SelectChoice("practice", "Practice (what worked)"),
            SelectChoice("lesson", "Lesson (from a loss)"),
        ],
        validate_choice=False,
    )
    title = StringField("Title", description=GUIDE["title"], render_kw={"maxlength": 200})
    situation = TextAreaField("Situation", description=GUIDE["situation"])
    actions = TextAreaField("Actions taken", description=GUIDE["actions"])
    result = TextAreaField("Result", description=GUIDE["result"])
    tags = StringField("Tags", description=GUIDE["tags"])
    anonymous = BooleanField("Publish anonymously", description=GUIDE["anonymous"])
    deal_id = HiddenField()
    debrief_id = HiddenField()

    @classmethod
    def from_input(cls, data: dict[str, Any]) -> "PracticeForm":
        """A form showing stored or prefilled values (PracticeIn's shape)."""
        values = {**data, "tags": ", ".join(data.get("tags") or [])}
        for key in ("deal_id", "debrief_id"):
            values[key] = "" if values.get(key) is None else str(values[key])
        return cls(data=values)

    def to_payload(self) -> dict[str, Any]:
        return {
            "kind": self.kind.data or "",
            "title": self.title.data or "",
            # A text area left out of the post reads as None; it means empty.
            "situation": self.situation.data or "",
            "actions": self.actions.data or "",
            "result": self.result.data or "",
            "tags": self.tags.data or "",
            "anonymous": bool(self.anonymous.data),
            "deal_id": self.deal_id.data or None,
            "debrief_id": self.debrief_id.data or None,
        }

    def show_errors(self, errors: dict[str, str]) -> list[str]:
        """Put each error on its field ("tags.3" on tags); return the rest."""
        unplaced = []
        for path, message in errors.items():
            field = self._fields.get(path.split(".")[0])
            if field is None or isinstance(field, HiddenField) or field.name == "csrf_token":
                unplaced.append(message)
            elif message not in field.errors:
                field.errors = [*field.errors, message]
        return unplaced


class CommentForm(FlaskForm):
    body = TextAreaField("Add a comment", render_kw={"maxlength": 2000})
