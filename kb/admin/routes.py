"""Administration pages for admins only: users and teams, the audit log, and
(in kb.admin.reference) competitors, the reason taxonomy and the lists."""

from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from kb import app_settings
from kb.admin import queries, service, wordlists
from kb.admin.forms import NewUserForm, PasswordForm, SettingsForm, TeamForm, UserProfileForm
from kb.auth import sessions
from kb.auth.service import revoke_token
from kb.extensions import db
from kb.models import ApiToken, AuditEntry, Competitor, ReasonCategory, Role, Team, User
from kb.validation import ValidationFailed, page_from_text

bp = Blueprint("admin", __name__, url_prefix="/admin")
wordlists.register(bp)
T = TypeVar("T")

# Where the audit log links an entry to, by entity type.
ENTITY_PAGES = {
    "user": ("admin.edit_user", "user_id"),
    "team": ("admin.team", "team_id"),
    "competitor": ("admin.competitor", "competitor_id"),
    "reason_category": ("admin.category", "category_id"),
    "choice": ("admin.choice", "choice_id"),
    "debrief": ("debriefs.show", "debrief_id"),
    "setting": ("admin.settings", None),  # one page for every setting
}


@bp.before_request
@login_required
def require_admin():
    if current_user.role != Role.ADMIN:
        abort(403)


def show_errors(form: FlaskForm, exc: ValidationFailed) -> None:
    """Put each service error on its field; flash those that belong to none."""
    for name, message in exc.errors.items():
        field = form._fields.get(name)
        if field is None:
            flash(message, "error")
        else:
            field.errors = [*field.errors, message]


def carry_out(form: FlaskForm, action: Callable[[], T]) -> tuple[bool, T | None]:
    """Validate a submitted form, then run `action` (the service call):
    (True, its result) when both pass; (False, None) with every error on
    the form, to show it again with what was typed."""
    if not form.validate_on_submit():
        return False, None
    try:
        return True, action()
    except ValidationFailed as exc:
        show_errors(form, exc)
        return False, None


def page_arg() -> int:
    return page_from_text(request.args.get("page"))


def get_or_404(model, object_id: int):
    found = db.session.get(model, object_id)
    if found is None:
        abort(404)
    return found


@bp.get("/")
def index():
    def count(model, *where) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    counts = {
        "users": count(User, User.active.is_(True)),
        "teams": count(Team),
        "competitors": count(Competitor),
        "categories": count(
            ReasonCategory,
            ReasonCategory.parent_id.is_not(None),
            ReasonCategory.active.is_(True),
        ),
        "audit": count(AuditEntry),
    }
    return render_template("admin/index.html", counts=counts)


# --- Users ---------------------------------------------------------------------


@bp.get("/users")
def users():
    return render_template("admin/users.html", page=queries.users_list(page_arg()))


def _team_id(form: UserProfileForm) -> int | None:
    return int(form.team.data) if (form.team.data or "").isdecimal() else None


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    form = NewUserForm()
    form.fill_choices(queries.team_choices())
    done, user = carry_out(
        form,
        lambda: service.create_user_account(
            current_user,
            email=form.email.data,
            password=form.password.data,
            role=form.role.data,
            name=form.name.data,
            team_id=_team_id(form),
            new_team=form.new_team.data,
        ),
    )
    if done:
        flash(f"{user.email} can now sign in as {user.role.value}.", "success")
        return redirect(url_for("admin.users"))
    status = 422 if form.is_submitted() else 200
    return render_template("admin/user_new.html", form=form), status


def _user_page(user: User, form=None, password_form=None, status: int = 200):
    if form is None:
        data = {"name": user.name, "role": user.role.value, "team": str(user.team_id or "")}
        form = UserProfileForm(formdata=None, data=data)
    form.fill_choices(queries.team_choices())
    return render_template(
        "admin/user_edit.html",
        user=user,
        form=form,
        password_form=password_form or PasswordForm(formdata=None),
        tokens=queries.tokens_of(user),
    ), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int):
    user = get_or_404(User, user_id)
    if request.method == "GET":
        return _user_page(user)
    form = UserProfileForm()
    form.fill_choices(queries.team_choices())
    done, changes = carry_out(
        form,
        lambda: service.update_user(
            current_user,
            user,
            name=form.name.data,
            role=form.role.data,
            team_id=_team_id(form),
            new_team=form.new_team.data,
        ),
    )
    if done:
        flash(
            f"Saved: {', '.join(changes)} changed." if changes else "Nothing to change.",
            "success" if changes else "info",
        )
        return redirect(url_for("admin.edit_user", user_id=user.id))
    return _user_page(user, form=form, status=422)


@bp.post("/users/<int:user_id>/password")
def user_password(user_id: int):
    user = get_or_404(User, user_id)
    form = PasswordForm()
    done, _ = carry_out(form, lambda: service.set_password(current_user, user, form.password.data))
    if done:
        if user.id == current_user.id:
            # A new password ends every session of its user; the admin who set
            # their own stays signed in here, on a session of the new version.
            sessions.sign_in(user)
        flash(f"New password set for {user.email}.", "success")
        return redirect(url_for("admin.edit_user", user_id=user.id))
    return _user_page(user, password_form=form, status=422)


@bp.post("/users/<int:user_id>/active")
def user_active(user_id: int):
    user = get_or_404(User, user_id)
    active = request.form.get("active") == "1"
    try:
        changed = service.set_user_active(current_user, user, active)
    except ValidationFailed as exc:
        flash(exc.errors["active"], "error")
        return _user_page(user, status=422)
    if changed:
        flash(f"{user.email} is {'active again' if active else 'deactivated'}.", "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.post("/users/<int:user_id>/tokens/<int:token_id>/revoke")
def revoke_user_token(user_id: int, token_id: int):
    token = get_or_404(ApiToken, token_id)
    if token.user_id != user_id:
        abort(404)
    if revoke_token(current_user, token):
        flash(f"Token {token.prefix}… revoked.", "success")
    return redirect(url_for("admin.edit_user", user_id=user_id))


# --- Teams ---------------------------------------------------------------------


@bp.route("/teams", methods=["GET", "POST"])
def teams():
    form = TeamForm()
    done, team = carry_out(form, lambda: service.create_team(current_user, form.name.data))
    if done:
        flash(f"Team {team.name} created.", "success")
        return redirect(url_for("admin.teams"))
    status = 422 if form.is_submitted() else 200
    return render_template("admin/teams.html", teams=queries.teams_with_counts(), form=form), status


@bp.route("/teams/<int:team_id>", methods=["GET", "POST"])
def team(team_id: int):
    team = get_or_404(Team, team_id)
    form = TeamForm(data={"name": team.name})
    done, renamed = carry_out(form, lambda: service.rename_team(current_user, team, form.name.data))
    if done:
        flash("Team renamed." if renamed else "Nothing to change.", "success")
        return redirect(url_for("admin.team", team_id=team.id))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/team.html", team=team, form=form, members=queries.team_members(team)
    ), status


# --- Settings ------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    form = SettingsForm(data={s.key: app_settings.value_of(s) for s in app_settings.SETTINGS})
    done, changes = carry_out(
        form,
        lambda: app_settings.save(
            current_user, {s.key: form[s.key].data for s in app_settings.SETTINGS}
        ),
    )
    if done:
        flash("Settings saved." if changes else "Nothing to change.", "success")
        return redirect(url_for("admin.settings"))
    status = 422 if form.is_submitted() else 200
    fields = [(s, form[s.key]) for s in app_settings.SETTINGS]
    return render_template("admin/settings.html", form=form, fields=fields), status


# --- The audit log -------------------------------------------------------------


def _entity_url(entry: AuditEntry) -> str | None:
    if entry.entity_type not in ENTITY_PAGES or entry.action == "delete":
        return None
    endpoint, arg = ENTITY_PAGES[entry.entity_type]
    return url_for(endpoint, **({arg: entry.entity_id} if arg else {}))


@bp.get("/audit")
def audit():
    filters = {key: request.args.get(key, "") for key in ("entity_type", "user")}
    page = queries.audit_log(filters, page_arg())
    return render_template(
        "admin/audit.html",
        page=page,
        filters=filters,
        entity_types=queries.audit_entity_types(),
        people=queries.audit_users(),
        links={entry.id: _entity_url(entry) for entry in page.items},
    )


from kb.admin import reference  # noqa: E402,F401  (registers the reference-data pages)
