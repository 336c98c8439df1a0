"""Sign in, sign out, and the first admin of a new knowledge base."""

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user

from kb.auth import sessions
from kb.auth.forms import FirstAdminForm, LoginForm
from kb.auth.service import authenticate, create_user, user_count
from kb.auth.throttle import allow_login_attempt, make_throttle
from kb.extensions import db, login_manager
from kb.models import Role, User
from kb.validation import MAX_ID, ValidationFailed

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to continue."
login_manager.session_protection = "strong"


@bp.record_once
def _check_rate_limit_config(state) -> None:
    # A mistyped limit or storage URL stops the app at start, not at the first sign-in.
    make_throttle(state.app.config)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user of a session (see User.get_id), unless it has ended since:
    signed out, or the password changed."""
    user_id, version, key = (session_id.split(".") + ["", ""])[:3]
    if not (user_id.isdecimal() and version.isdecimal() and len(user_id + version) < 20):
        return None
    if int(user_id) > MAX_ID or len(key) > 64:
        return None
    if key:
        return sessions.load(int(user_id), int(version), key)
    # A session started before sign-ins were recorded.
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version):
        return None
    return user


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so a crafted link cannot bounce users elsewhere."""
    if target and target.startswith("/") and not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST" and not allow_login_attempt():
        abort(429)
    if user_count() == 0:
        return redirect(url_for("auth.setup"))
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            sessions.sign_in(user)
            return redirect(_safe_next(request.args.get("next")))
        # One message for both cases, so the form does not reveal who has an account.
        form.password.errors.append("Wrong e-mail or password.")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    # Ends this browser's session on the server: a copy of its cookie no
    # longer signs anyone in. The same person's other browsers stay signed in.
    sessions.end_this(current_user)
    db.session.commit()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """Create the first admin. Only while no user exists at all."""
    if user_count() > 0:
        return redirect(url_for("auth.login"))
    form = FirstAdminForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                form.email.data,
                form.password.data,
                Role.ADMIN,
                name=form.name.data,
                team=form.team.data or None,
            )
        except ValidationFailed as exc:
            for field, message in exc.errors.items():
                getattr(form, field).errors.append(message)
        else:
            sessions.sign_in(user)
            flash("Welcome. You are the admin of this knowledge base.", "success")
            return redirect(url_for("main.home"))
    return render_template("auth/setup.html", form=form)
