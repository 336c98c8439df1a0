"""The administration forms. They check what a browser can get wrong (a missing
or overlong value); the service checks the rest and its errors are put back
on the fields they belong to."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from kb.app_settings import MIN_WIN_RATE_SAMPLE
from kb.auth.service import MIN_PASSWORD_LENGTH
from kb.models import Role

ROLE_CHOICES = [
    SelectChoice(Role.REP.value, "Rep"),
    SelectChoice(Role.MANAGER.value, "Manager"),
    SelectChoice(Role.MARKETING.value, "Marketing"),
    SelectChoice(Role.ADMIN.value, "Admin"),
]
NO_TEAM = [SelectChoice("", "No team")]


def _name(label: str, max_length: int = 120, **kwargs) -> StringField:
    return StringField(label, validators=[DataRequired(), Length(max=max_length)], **kwargs)


def _new_password(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH, message=f"Use at least {MIN_PASSWORD_LENGTH} characters."
            ),
            Length(max=200),
        ],
        description=f"At least {MIN_PASSWORD_LENGTH} characters. Share it with the user "
        "through a safe channel.",
        render_kw={"autocomplete": "new-password"},
    )


class UserProfileForm(FlaskForm):
    """Name, role and team: what an admin changes about a user."""

    name = _name("Name")
    role = SelectField("Role", choices=ROLE_CHOICES)
    team = SelectField("Team", choices=NO_TEAM)
    new_team = StringField(
        "Or a new team",
        validators=[Optional(), Length(max=120)],
        description="Type a name to put the user on a team that does not exist yet.",
    )

    def fill_choices(self, teams: list[tuple[str, str]]) -> None:
        self.team.choices = NO_TEAM + [SelectChoice(value, label) for value, label in teams]


class NewUserForm(UserProfileForm):
    email = EmailField(
        "E-mail",
        validators=[
            DataRequired(),
            Email(
                check_deliverability=False,
                message="Enter a valid e-mail address, e.g. name@example.com.",
            ),
            Length(max=254),
        ],
    )
    name = StringField(
        "Name",
        validators=[Length(max=120)],
        description="Optional; the part of the e-mail before the @ is used otherwise.",
    )
    password = _new_password("Initial password")


class PasswordForm(FlaskForm):
    password = _new_password("New password")


class TeamForm(FlaskForm):
    name = _name("Team name")


class CompetitorForm(FlaskForm):
    name = _name("Competitor name", description="The name shown everywhere (e.g. Salesforce).")


class AliasForm(FlaskForm):
    alias = _name(
        "New alias",
        description="Another name people use (e.g. SFDC). It finds the competitor in "
        "forms, imports and the API, and in searches.",
    )


class CategoryForm(FlaskForm):
    name = _name("Name")


class ChoiceForm(FlaskForm):
    value = _name("Value", max_length=80)


class SettingsForm(FlaskForm):
    """A field per setting of kb.app_settings, named by its key; the service
    checks the values."""

    min_win_rate_sample = StringField(
        MIN_WIN_RATE_SAMPLE.label,
        validators=[Length(max=20)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )


class TokenForm(FlaskForm):
    name = StringField(
        "Token name",
        validators=[Length(max=120)],
        description="What the token is for, e.g. “CRM sync”.",
    )
