"""Debrief pages: the lists, a debrief, and filing or editing one."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from kb import search
from kb.debriefs import queries, service
from kb.debriefs.forms import GUIDE, DebriefForm, picker_format
from kb.extensions import db
from kb.lookups import choice_values, competitor_names
from kb.models import Deal, Debrief, DebriefSource, DebriefStatus, Role
from kb.permissions import (
    can_attach_to_deal,
    can_edit_deal,
    can_edit_debrief,
    can_file,
    can_view_debrief,
)
from kb.search import marks
from kb.validation import ValidationFailed, id_from_text, page_from_text

bp = Blueprint("debriefs", __name__, url_prefix="/debriefs")

SCOPES = {"all": "All debriefs", "mine": "My debriefs", "team": "My team's debriefs"}


@bp.before_request
@login_required
def require_login():
    pass


# One rule per URL shape, so that url_for("debriefs.index") builds /debriefs/
# (with a default on every rule, Werkzeug may build any of them).
@bp.get("/", defaults={"scope": "all"})
@bp.get("/<any(mine, team):scope>")
def index(scope: str):
    if scope == "team" and current_user.team_id is None:
        flash("You are not on a team yet; showing all debriefs.", "info")
        return redirect(url_for("debriefs.index"))
    filters = {key: request.args.get(key, "") for key in queries.LIST_FILTERS}
    sort = request.args.get("sort", "")
    sort = sort if sort in queries.SORTS else queries.DEFAULT_SORT
    stmt = queries.debrief_list(current_user, filters, scope, sort)
    page = queries.paginate(stmt, page_from_text(request.args.get("page")), 25)
    return render_template(
        "debriefs/index.html",
        page=page,
        scope=scope,
        title=SCOPES[scope],
        filters=filters,
        sort=sort,
        sorts={key: label for key, (label, _) in queries.SORTS.items()},
        competitors=competitor_names(),
        segments=choice_values("segment"),
    )


def _load(debrief_id: int, for_edit: bool = False) -> Debrief:
    debrief = db.session.get(Debrief, debrief_id)
    if debrief is None:
        abort(404)
    allowed = can_edit_debrief if for_edit else can_view_debrief
    if not allowed(current_user, debrief):
        abort(403)
    return debrief


@bp.get("/<int:debrief_id>")
def show(debrief_id: int):
    debrief = _load(debrief_id)
    # Opened from a results page: its words are marked, and a link goes back.
    back = marks.back_to_results(request.args.get("back"))
    return render_template(
        "debriefs/show.html",
        debrief=debrief,
        back=back,
        terms=marks.query_terms(back),
        mark=marks.mark,
        can_edit=can_edit_debrief(current_user, debrief),
        history=queries.history(debrief.id) if can_edit_debrief(current_user, debrief) else [],
        other_debriefs=[
            d
            for d in debrief.deal.debriefs
            if d.id != debrief.id and can_view_debrief(current_user, d)
        ],
        similar=search.more_like_this(current_user, debrief.id),
    )


def _edit_page(form, debrief, source, deal, deal_locked, unplaced=()):
    form.fill_choices(
        {r.category.slug for r in debrief.reasons} if debrief else set(),
        [c.name for c in deal.competitors] if deal_locked else None,
    )
    form.follow_outcome()
    return render_template(
        "debriefs/form.html",
        form=form,
        debrief=debrief,
        source=source,
        deal=deal,
        deal_locked=deal_locked,
        unplaced=unplaced,
        guide=GUIDE,
        history=queries.history(debrief.id) if debrief else [],
    )


def _handle(form: DebriefForm, debrief: Debrief | None, source: DebriefSource, deal: Deal | None):
    """The shared POST path of new and edit: row buttons, or save."""
    deal_locked = deal is not None and not can_edit_deal(current_user, deal)
    if not form.is_submitted():
        return _edit_page(form, debrief, source, deal, deal_locked)
    if not form.validate():  # only CSRF can fail here; the fields validate below
        abort(400)
    action = request.form.get("action", "save_draft")
    if form.change_rows(action):
        return _edit_page(form, debrief, source, deal, deal_locked)
    if action not in ("save_draft", "submit"):
        abort(400, "Unknown form action.")
    payload, paths = form.to_payload(deal.outcome.value if deal_locked else None)
    payload["source"] = source.value
    payload["status"] = "submitted" if action == "submit" else "draft"
    if debrief is not None and debrief.status == DebriefStatus.SUBMITTED and action != "submit":
        payload["status"] = "submitted"  # saving a submitted debrief keeps it submitted
    if deal_locked:
        payload["deal"] = None
    if deal is not None and debrief is None:
        payload["deal_id"] = deal.id
    was_submitted = debrief is not None and debrief.status == DebriefStatus.SUBMITTED
    try:
        data = service.parse(payload)
        debrief = service.save_debrief(current_user, data, debrief)
    except ValidationFailed as exc:
        date_format = picker_format(request.accept_languages.best)
        unplaced = form.show_errors(exc.errors, paths, date_format)
        flash("Nothing was saved yet: please correct the fields marked below.", "error")
        return _edit_page(form, debrief, source, deal, deal_locked, unplaced), 422
    flash(_saved_message(debrief, was_submitted), "success")
    return redirect(url_for("debriefs.show", debrief_id=debrief.id))


def _saved_message(debrief: Debrief, was_submitted: bool) -> str:
    """ "Submitted" only when this save submitted it; an edit is "saved"."""
    if debrief.status != DebriefStatus.SUBMITTED:
        return "Draft saved."
    return "Changes saved." if was_submitted else "Debrief submitted."


@bp.route("/new", methods=["GET", "POST"])
def new():
    source_arg = request.args.get("source", "")
    if source_arg in ("rep", "buyer"):
        source = DebriefSource(source_arg)
    else:
        source = DebriefSource.BUYER if current_user.role == Role.MARKETING else DebriefSource.REP
    if not can_file(current_user, source):
        abort(403)
    deal = None
    if (deal_id := id_from_text(request.args.get("deal"))) is not None:
        deal = db.session.get(Deal, deal_id)
        if deal is None:
            abort(404)
        if not can_attach_to_deal(current_user, deal, source):
            abort(403)
    form = DebriefForm()
    if deal is not None and not form.is_submitted():
        form = DebriefForm(data={"deal": service.deal_as_input(deal)})
    return _handle(form, None, source, deal)


@bp.route("/<int:debrief_id>/edit", methods=["GET", "POST"])
def edit(debrief_id: int):
    debrief = _load(debrief_id, for_edit=True)
    # On GET the form shows the stored debrief; on POST, what was typed.
    stored = service.as_input(debrief) if request.method == "GET" else None
    form = DebriefForm(data=stored)
    return _handle(form, debrief, debrief.source, debrief.deal)


@bp.post("/<int:debrief_id>/delete")
def delete(debrief_id: int):
    debrief = _load(debrief_id, for_edit=True)
    service.delete_debrief(current_user, debrief)
    flash("Debrief deleted. Its history stays in the audit log.", "success")
    return redirect(url_for("debriefs.index", scope="mine"))
