"""Practice pages: the playbook, "My practices", a practice with its
endorsements and comments, and writing, publishing, featuring or deleting one.

Templates get PracticeViews from presenters.present, never a Practice.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from kb.extensions import db
from kb.lookups import choice_values, competitor_names
from kb.models import Deal, Debrief, EndorsementKind, Practice, PracticeKind, PracticeStatus
from kb.practices import queries, service, traces
from kb.practices.forms import CommentForm, PracticeForm
from kb.practices.permissions import (
    can_create_practice,
    can_edit_practice,
    can_feature,
    can_link_deal,
    can_link_debrief,
    can_share_debrief,
    can_view_practice,
)
from kb.practices.presenters import present
from kb.practices.queries import SORTS, PlaybookParams
from kb.validation import ValidationFailed, id_from_text

bp = Blueprint("practices", __name__, url_prefix="/practices")

ENDORSEMENT_KINDS = "any(tried, helpful)"


@bp.before_request
@login_required
def require_login():
    pass


def _load(practice_id: int, for_edit: bool = False) -> Practice:
    practice = db.session.get(Practice, practice_id)
    # Someone else's draft does not exist for the viewer.
    if practice is None or not can_view_practice(current_user, practice):
        abort(404)
    if for_edit and not can_edit_practice(current_user, practice):
        abort(403)
    return practice


def _back(practice_id: int, anchor: str | None = None):
    return redirect(url_for("practices.show", practice_id=practice_id, _anchor=anchor))


@bp.get("/")
def index():
    params = PlaybookParams.from_args(request.args)
    return render_template(
        "practices/index.html",
        page=queries.find_practices(current_user, params),
        params=params,
        sorts=SORTS,
        competitors=competitor_names(),
        segments=choice_values("segment"),
        tags=queries.tag_choices(),
        authors=queries.author_choices(current_user),
    )


@bp.get("/mine")
def mine():
    params = PlaybookParams.from_args(request.args, mine=True)
    return render_template("practices/mine.html", page=queries.find_practices(current_user, params))


def _show_page(practice: Practice, comment_form: CommentForm | None = None):
    view = present(practice, current_user, comments=True)
    return render_template(
        "practices/show.html",
        p=view,
        comment_form=comment_form or CommentForm(formdata=None),
        endorsement_kinds=list(EndorsementKind),
        history=queries.history(practice.id) if view.can_edit else [],
    )


@bp.get("/<int:practice_id>")
def show(practice_id: int):
    return _show_page(_load(practice_id))


def _linked(form: PracticeForm, practice: Practice | None) -> tuple[Deal | None, Debrief | None]:
    """The deal and debrief the form links to, for the form's summary: only
    those the practice already has or the user may link."""
    ids = [form.deal_id.data, form.debrief_id.data]
    deal_id, debrief_id = (id_from_text(v) for v in ids)
    deal = db.session.get(Deal, deal_id) if deal_id else None
    debrief = db.session.get(Debrief, debrief_id) if debrief_id else None
    if deal is not None and not (
        (practice is not None and practice.deal_id == deal.id) or can_link_deal(current_user, deal)
    ):
        deal = None
    if debrief is not None and not (
        (practice is not None and practice.debrief_id == debrief.id)
        or can_link_debrief(current_user, debrief)
    ):
        debrief = None
    return deal, debrief


def _form_page(form: PracticeForm, practice: Practice | None, unplaced=(), status=200, traced=()):
    deal, debrief = _linked(form, practice)
    return render_template(
        "practices/form.html",
        form=form,
        p=present(practice, current_user) if practice is not None else None,
        deal=deal,
        debrief=debrief,
        unplaced=unplaced,
        traced=traced,
    ), status


def _take_out_traced(form: PracticeForm, practice: Practice | None):
    """The author chose to leave out the sentences that lead to their own
    debriefs rather than reword them: the form comes back without them,
    nothing saved, the debrief's link still shown to admins only."""
    author_id = practice.author_id if practice is not None else current_user.id
    texts = [form.title, form.situation, form.actions, form.result]
    found = traces.traced_sentences(author_id, [f.data or "" for f in texts])
    for field in texts:
        field.data = traces.without(field.data or "", found)
    form.anonymous.data = True
    flash(
        "The sentences found in your own debriefs were taken out; nothing is saved yet. "
        "Write what a peer needs in your own words, then publish.",
        "info",
    )
    return _form_page(form, practice)


def _handle(form: PracticeForm, practice: Practice | None):
    """The shared POST path of new and edit."""
    if not form.is_submitted():
        traced = service.traced_sentences(practice.author_id, practice) if practice else []
        return _form_page(form, practice, traced=traced)
    if not form.validate():  # only CSRF can fail here; the fields validate below
        abort(400)
    action = request.form.get("action", "save_draft")
    if action == "take_out_traced":
        return _take_out_traced(form, practice)
    payload = form.to_payload()
    if action == "publish":
        payload["status"] = PracticeStatus.PUBLISHED.value
    elif action == "save" and practice is not None:
        payload["status"] = practice.status.value
    else:
        payload["status"] = PracticeStatus.DRAFT.value
    try:
        saved = service.save_practice(current_user, service.parse(payload), practice)
    except service.NotAllowed:
        abort(403)
    except ValidationFailed as exc:
        if isinstance(exc, service.TracedToAuthor):
            flash("Not published: the practice would not be anonymous. See below.", "error")
            return _form_page(form, practice, status=422, traced=exc.sentences)
        unplaced = form.show_errors(exc.errors)
        flash("Nothing was saved yet: please correct the fields marked below.", "error")
        return _form_page(form, practice, unplaced, 422)
    published = saved.status == PracticeStatus.PUBLISHED
    flash("Published to the playbook." if published else "Draft saved.", "success")
    if not published and (found := service.traced_sentences(saved.author_id, saved)):
        # Warned now, at sharing, not first when publishing is refused.
        flash(traces.message(found) + " It cannot be published anonymously as it is.", "error")
    return _back(saved.id)


@bp.route("/new", methods=["GET", "POST"])
def new():
    if not can_create_practice(current_user):
        abort(403)
    form = PracticeForm()
    if not form.is_submitted():
        kind = request.args.get("kind", "")
        kind = PracticeKind(kind) if kind in {k.value for k in PracticeKind} else None
        if (debrief_id := id_from_text(request.args.get("from_debrief"))) is not None:
            debrief = db.session.get(Debrief, debrief_id)
            if debrief is None:
                abort(404)
            if not can_share_debrief(current_user, debrief):
                abort(403)
            form = PracticeForm.from_input(service.practice_from_debrief(debrief, kind))
        elif kind is not None:
            form = PracticeForm(data={"kind": kind.value})
    return _handle(form, None)


@bp.route("/<int:practice_id>/edit", methods=["GET", "POST"])
def edit(practice_id: int):
    practice = _load(practice_id, for_edit=True)
    # On GET the form shows the stored practice; on POST, what was typed.
    if request.method == "GET":
        form = PracticeForm.from_input(service.as_input(practice))
    else:
        form = PracticeForm()
    return _handle(form, practice)


@bp.post("/<int:practice_id>/delete")
def delete(practice_id: int):
    practice = _load(practice_id, for_edit=True)
    service.delete_practice(current_user, practice)
    flash("Practice deleted.", "success")
    return redirect(url_for("practices.mine"))


@bp.post("/<int:practice_id>/<any(publish, unpublish):action>")
def change_status(practice_id: int, action: str):
    practice = _load(practice_id, for_edit=True)
    if action == "publish":
        try:
            service.publish(current_user, practice)
        except service.TracedToAuthor as exc:
            flash("Not published: " + exc.errors["anonymous"], "error")
            return redirect(url_for("practices.edit", practice_id=practice_id))
        flash("Published to the playbook.", "success")
    else:
        service.unpublish(current_user, practice)
        flash("Unpublished: it is a draft again, visible only to you.", "success")
    return _back(practice_id)


@bp.post("/<int:practice_id>/<any(feature, unfeature):action>")
def change_featured(practice_id: int, action: str):
    practice = _load(practice_id)
    if not can_feature(current_user):
        abort(403)
    try:
        service.set_featured(current_user, practice, action == "feature")
    except ValidationFailed as exc:
        flash(" ".join(exc.errors.values()), "error")
        return _back(practice_id)
    flash("Featured in the playbook." if action == "feature" else "No longer featured.", "success")
    return _back(practice_id)


@bp.post(f"/<int:practice_id>/endorse/<{ENDORSEMENT_KINDS}:kind>")
def endorse(practice_id: int, kind: str):
    practice = _load(practice_id)
    try:
        service.endorse(current_user, practice, EndorsementKind(kind))
    except service.NotAllowed:
        abort(403)
    except ValidationFailed as exc:
        flash(" ".join(exc.errors.values()), "error")
        return _back(practice_id, "endorsements")
    flash(f"Endorsed: “{EndorsementKind(kind).label}”.", "success")
    return _back(practice_id, "endorsements")


@bp.post(f"/<int:practice_id>/unendorse/<{ENDORSEMENT_KINDS}:kind>")
def unendorse(practice_id: int, kind: str):
    practice = _load(practice_id)
    if service.unendorse(current_user, practice, EndorsementKind(kind)):
        flash("Endorsement taken back.", "success")
    return _back(practice_id, "endorsements")


@bp.post("/<int:practice_id>/comments")
def comment(practice_id: int):
    practice = _load(practice_id)
    form = CommentForm()
    if not form.validate():
        abort(400)
    try:
        service.add_comment(
            current_user, practice, service.parse_comment({"body": form.body.data or ""})
        )
    except service.NotAllowed:
        abort(403)
    except ValidationFailed as exc:
        form.body.errors = list(exc.errors.values())
        flash("Your comment was not posted yet: see below.", "error")
        return _show_page(practice, form), 422
    flash("Comment posted.", "success")
    return _back(practice_id, "comments")
