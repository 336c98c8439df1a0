"""Administration pages for the reference data debriefs are tagged with:
competitors and their aliases, the reason taxonomy, and the lists of
segments, regions, industries and product lines."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kb.admin import queries, service
from kb.admin.forms import AliasForm, CategoryForm, ChoiceForm, CompetitorForm
from kb.admin.routes import bp, carry_out, get_or_404
from kb.models import Choice, Competitor, CompetitorAlias, ReasonCategory
from kb.models.lookups import CHOICE_KINDS
from kb.validation import ValidationFailed


def _queued(count: int | None) -> str:
    if not count:
        return ""
    return f" {count} debrief{'' if count == 1 else 's'} will be reindexed."


# --- Competitors ---------------------------------------------------------------


@bp.route("/competitors", methods=["GET", "POST"])
def competitors():
    form = CompetitorForm()
    done, competitor = carry_out(
        form, lambda: service.create_competitor(current_user, form.name.data)
    )
    if done:
        flash(f"{competitor.name} added.", "success")
        return redirect(url_for("admin.competitor", competitor_id=competitor.id))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/competitors.html", competitors=queries.competitors_with_counts(), form=form
    ), status


def _competitor_page(competitor: Competitor, form=None, alias_form=None, status: int = 200):
    return render_template(
        "admin/competitor.html",
        competitor=competitor,
        form=form or CompetitorForm(formdata=None, data={"name": competitor.name}),
        alias_form=alias_form or AliasForm(formdata=None),
        deals=queries.competitor_deal_count(competitor),
    ), status


@bp.route("/competitors/<int:competitor_id>", methods=["GET", "POST"])
def competitor(competitor_id: int):
    competitor = get_or_404(Competitor, competitor_id)
    if request.method == "GET":
        return _competitor_page(competitor)
    form = CompetitorForm()
    done, queued = carry_out(
        form, lambda: service.rename_competitor(current_user, competitor, form.name.data)
    )
    if done:
        if queued is None:
            flash("Nothing to change.", "info")
        else:
            flash(f"Renamed to {competitor.name}.{_queued(queued)}", "success")
        return redirect(url_for("admin.competitor", competitor_id=competitor.id))
    return _competitor_page(competitor, form=form, status=422)


@bp.post("/competitors/<int:competitor_id>/aliases")
def add_alias(competitor_id: int):
    competitor = get_or_404(Competitor, competitor_id)
    form = AliasForm()
    done, alias = carry_out(
        form, lambda: service.add_alias(current_user, competitor, form.alias.data)
    )
    if done:
        flash(f"'{alias.alias}' now finds {competitor.name}.", "success")
        return redirect(url_for("admin.competitor", competitor_id=competitor.id))
    return _competitor_page(competitor, alias_form=form, status=422)


@bp.post("/competitors/<int:competitor_id>/aliases/<int:alias_id>/remove")
def remove_alias(competitor_id: int, alias_id: int):
    alias = get_or_404(CompetitorAlias, alias_id)
    if alias.competitor_id != competitor_id:
        abort(404)
    name = alias.alias
    service.remove_alias(current_user, alias)
    flash(f"Alias '{name}' removed.", "success")
    return redirect(url_for("admin.competitor", competitor_id=competitor_id))


# --- The reason taxonomy --------------------------------------------------------


@bp.route("/taxonomy", methods=["GET", "POST"])
def taxonomy():
    form = CategoryForm()
    form.name.label.text = "Group name"
    done, group = carry_out(form, lambda: service.add_group(current_user, form.name.data))
    if done:
        flash(f"Group {group.name} added; now add its categories.", "success")
        return redirect(url_for("admin.category", category_id=group.id))
    groups, usage = queries.taxonomy()
    status = 422 if form.is_submitted() else 200
    return render_template("admin/taxonomy.html", groups=groups, usage=usage, form=form), status


def _category_page(category: ReasonCategory, form=None, new_form=None, status: int = 200):
    groups, usage = queries.taxonomy()
    if form is None:
        form = CategoryForm(formdata=None, data={"name": category.name})
    if new_form is None:
        new_form = CategoryForm(formdata=None, prefix="new")
    new_form.name.label.text = "New category"
    return render_template(
        "admin/category.html", category=category, form=form, new_form=new_form, usage=usage
    ), status


@bp.route("/taxonomy/<int:category_id>", methods=["GET", "POST"])
def category(category_id: int):
    category = get_or_404(ReasonCategory, category_id)
    if request.method == "GET":
        return _category_page(category)
    form = CategoryForm()
    done, queued = carry_out(
        form, lambda: service.rename_category(current_user, category, form.name.data)
    )
    if done:
        if queued is None:
            flash("Nothing to change.", "info")
        else:
            flash(f"Renamed; the slug {category.slug} stays.{_queued(queued)}", "success")
        return redirect(url_for("admin.category", category_id=category.id))
    return _category_page(category, form=form, status=422)


@bp.post("/taxonomy/<int:category_id>/categories")
def add_category(category_id: int):
    group = get_or_404(ReasonCategory, category_id)
    if group.parent_id is not None:
        abort(404)
    form = CategoryForm(prefix="new")
    done, created = carry_out(
        form, lambda: service.add_category(current_user, group, form.name.data)
    )
    if done:
        flash(f"{created.label} added (slug {created.slug}).", "success")
        return redirect(url_for("admin.category", category_id=group.id))
    return _category_page(group, new_form=form, status=422)


@bp.post("/taxonomy/<int:category_id>/active")
def category_active(category_id: int):
    category = get_or_404(ReasonCategory, category_id)
    active = request.form.get("active") == "1"
    try:
        changed = service.set_category_active(current_user, category, active)
    except ValidationFailed as exc:
        flash(exc.errors["active"], "error")
        return _category_page(category, status=422)
    if changed and active:
        flash(f"{category.label} is offered again for new reasons.", "success")
    elif changed:
        flash(f"{category.label} is no longer offered; debriefs that have it keep it.", "success")
    return redirect(url_for("admin.category", category_id=category.id))


# --- Segments, regions, industries and product lines -----------------------------


def _lists_page(forms=None, status: int = 200):
    forms = forms or {}
    for kind in CHOICE_KINDS:
        if kind not in forms:
            forms[kind] = ChoiceForm(formdata=None, prefix=kind)
        forms[kind].value.label.text = f"New {kind.replace('_', ' ')}"
    return render_template(
        "admin/lists.html",
        lists=queries.choices_with_counts(),
        labels=queries.CHOICE_LABELS,
        forms=forms,
    ), status


@bp.get("/lists")
def lists():
    return _lists_page()


@bp.post("/lists/<kind>")
def add_choice(kind: str):
    if kind not in CHOICE_KINDS:
        abort(404)
    form = ChoiceForm(prefix=kind)
    done, choice = carry_out(form, lambda: service.add_choice(current_user, kind, form.value.data))
    if done:
        flash(f"'{choice.value}' added to {queries.CHOICE_LABELS[kind].lower()}.", "success")
        return redirect(url_for("admin.lists", _anchor=kind))
    return _lists_page({kind: form}, status=422)


def _choice_page(choice: Choice, form=None, status: int = 200):
    return render_template(
        "admin/choice.html",
        choice=choice,
        form=form or ChoiceForm(formdata=None, data={"value": choice.value}),
        label=queries.CHOICE_LABELS[choice.kind],
        deals=queries.choice_usage(choice.kind, choice.value),
    ), status


@bp.route("/lists/<int:choice_id>", methods=["GET", "POST"])
def choice(choice_id: int):
    choice = get_or_404(Choice, choice_id)
    if request.method == "GET":
        return _choice_page(choice)
    form = ChoiceForm()
    done, deals = carry_out(
        form, lambda: service.rename_choice(current_user, choice, form.value.data)
    )
    if done:
        if deals is None:
            flash("Nothing to change.", "info")
        else:
            flash(
                f"Renamed to '{choice.value}'; {deals} deal{'' if deals == 1 else 's'} updated.",
                "success",
            )
        return redirect(url_for("admin.choice", choice_id=choice.id))
    return _choice_page(choice, form=form, status=422)


@bp.post("/lists/<int:choice_id>/remove")
def remove_choice(choice_id: int):
    choice = get_or_404(Choice, choice_id)
    kind, value = choice.kind, choice.value
    try:
        service.remove_choice(current_user, choice)
    except ValidationFailed as exc:
        flash(exc.errors["value"], "error")
        return _choice_page(choice, status=422)
    flash(f"'{value}' removed from {queries.CHOICE_LABELS[kind].lower()}.", "success")
    return redirect(url_for("admin.lists", _anchor=kind))
