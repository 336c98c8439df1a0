"""Sign in, sign out, and the first admin of a new knowledge base."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from kb.auth.forms import FirstAdminForm, LoginForm
from kb.auth.service import create_user, find_user, user_count
from kb.extensions import db, limiter, login_manager
from kb.models import Role, User
from kb.validation import ValidationFailed

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to continue."
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdecimal() else None


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so a crafted link cannot bounce users elsewhere."""
    if target and target.startswith("/") and not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("main.home")


def _login_limit() -> str:
    return current_app.config["KB_LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if user_count() == 0:
        return redirect(url_for("auth.setup"))
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = find_user(form.email.data)
        if user is not None and user.active and user.check_password(form.password.data):
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        # One message for both cases, so the form does not reveal who has an account.
        form.password.errors.append("Wrong e-mail or password.")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
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
            login_user(user)
            flash("Welcome. You are the admin of this knowledge base.", "success")
            return redirect(url_for("main.home"))
    return render_template("auth/setup.html", form=form)
