"""Settings every signed-in user has: their own API tokens and sign-ins."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from kb.admin.forms import TokenForm
from kb.admin.queries import tokens_of
from kb.auth import sessions
from kb.auth.service import create_token, revoke_token
from kb.extensions import db
from kb.models import ApiToken

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.before_request
@login_required
def require_login():
    pass


@bp.route("/tokens", methods=["GET", "POST"])
def tokens():
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        # Rendered in this response only: the token is never stored, nor put
        # in the session cookie, so it cannot be shown again.
        new_token = create_token(current_user, (form.name.data or "").strip())
        form = TokenForm(formdata=None)
    page = render_template(
        "settings/tokens.html", form=form, tokens=tokens_of(current_user), new_token=new_token
    )
    status = 422 if form.errors else 200
    return page, status, {"Cache-Control": "no-store"}


@bp.post("/tokens/<int:token_id>/revoke")
def revoke(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    if revoke_token(current_user, token):
        flash(f"Token {token.prefix}… revoked: it no longer works.", "success")
    return redirect(url_for("settings.tokens"))


@bp.get("/sign-ins")
def sign_ins():
    rows = [(row, sessions.is_current(current_user, row)) for row in sessions.live(current_user)]
    return render_template("settings/sign_ins.html", sign_ins=rows)


@bp.post("/sign-ins/<key_hash>/end")
def end_sign_in(key_hash: str):
    if sessions.end_one(current_user, key_hash):
        flash("That browser is signed out.", "success")
    return redirect(url_for("settings.sign_ins"))


@bp.post("/sign-ins/end-others")
def end_other_sign_ins():
    sessions.end_all_others(current_user)
    flash("Every other browser is signed out; this one stays signed in.", "success")
    return redirect(url_for("settings.sign_ins"))
