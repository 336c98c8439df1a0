"""Deal pages: importing closed deals from a CRM export, and debrief coverage."""

from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kb.deals import coverage, crm_import, debrief_import, service, uploads
from kb.deals.crm_formats import FORMAT_CHOICES, FORMATS, detect_format, suggest_mapping
from kb.deals.forms import MappingForm, UploadForm, mapping_form
from kb.extensions import db
from kb.models import Role, Team

bp = Blueprint("deals", __name__)

IMPORTERS = (Role.ADMIN, Role.MANAGER)
SAMPLE_ROWS = 3


@bp.before_request
@login_required
def require_login():
    pass


def _require_importer() -> None:
    if current_user.role not in IMPORTERS:
        abort(403)


def _size(limit: int) -> str:
    return f"{limit / 1024 / 1024:g} MB" if limit >= 1024 * 1024 else f"{limit / 1024:g} KB"


@bp.route("/deals/import", methods=["GET", "POST"])
def import_upload():
    _require_importer()
    form = UploadForm()
    limit = uploads.max_bytes()
    page = {"form": form, "max_size": _size(limit)}
    if not form.validate_on_submit():
        return render_template("deals/import.html", **page), 422 if form.errors else 200
    file = form.file.data
    try:
        data = uploads.read_limited(file.stream, limit)
        crm_import.read_table(data)
    except uploads.TooLarge:
        form.file.errors.append(
            f"The file is larger than {_size(limit)}: split it into smaller files."
        )
    except crm_import.FileError as exc:
        form.file.errors.append(str(exc))
    else:
        upload = uploads.save(data, file.filename or "", current_user)
        return redirect(
            url_for(
                "deals.import_mapping",
                token=upload.token,
                format=form.format.data,
                dry_run="1" if form.dry_run.data else "0",
            )
        )
    return render_template("deals/import.html", **page), 422


def _load(token: str) -> tuple[uploads.Upload, crm_import.Table]:
    upload = uploads.load(token, current_user)
    if upload is None:
        abort(404)
    try:
        return upload, crm_import.read_table(upload.data)
    except (OSError, crm_import.FileError):
        abort(404)


def _mapping_page(upload, table, form, detected=None, status=200):
    return (
        render_template(
            "deals/import_mapping.html",
            upload=upload,
            table=table,
            form=form,
            detected=detected,
            sample=table.rows[:SAMPLE_ROWS],
            format_choices=FORMAT_CHOICES[1:],
        ),
        status,
    )


@bp.get("/deals/import/<token>")
def import_mapping(token: str):
    _require_importer()
    upload, table = _load(token)
    requested = request.args.get("format", "auto")
    crm = FORMATS[requested] if requested in FORMATS else detect_format(table.headers)
    form = mapping_form(table.headers, data={"format": crm.key})
    form.dry_run.data = request.args.get("dry_run", "1") != "0"
    form.show_mapping(suggest_mapping(table.headers, crm))
    return _mapping_page(upload, table, form, detected=crm if requested == "auto" else None)


@bp.post("/deals/import/<token>")
def import_run(token: str):
    _require_importer()
    upload, table = _load(token)
    form = mapping_form(table.headers)
    if not form.validate():
        return _mapping_page(upload, table, form, status=422)
    if not form.check_mapping():
        flash("Map a column to every required field; nothing was imported.", "error")
        return _mapping_page(upload, table, form, status=422)
    parsed = crm_import.parse_rows(table, form.mapping(), form.date_order.data)
    try:
        report = service.import_rows(
            current_user, parsed, dry_run=form.dry_run.data, source=upload.filename
        )
    except IntegrityError:
        current_app.logger.exception("Deal import %s failed", token)
        flash(
            "Nothing was imported: the same deals were changed at the same moment by someone "
            "else. Run the import again.",
            "error",
        )
        return _mapping_page(upload, table, form, status=409)
    if report.failed:
        upload.save_errors(crm_import.error_report(table, report.failed, table.delimiter))
    if not report.dry_run:
        counts = report.counts
        flash(
            f"Import finished: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged, {counts['skipped']} skipped, "
            f"{counts['errors']} with errors.",
            "success" if not report.failed else "info",
        )
    return render_template(
        "deals/import_result.html",
        upload=upload,
        table=table,
        form=form,
        parsed=parsed,
        report=report,
    )


@bp.get("/deals/import/<token>/errors.csv")
def import_errors(token: str):
    _require_importer()
    upload = uploads.load(token, current_user)
    if upload is None or not upload.errors_path.exists():
        abort(404)
    stem = upload.filename.rsplit(".", 1)[0] or "import"
    return send_file(
        upload.errors_path,
        mimetype="text/csv",
        as_attachment=True,
        download_name=f"{stem}-errors.csv",
    )


@bp.get("/coverage")
def coverage_page():
    scope = coverage.scope_for(current_user)
    if scope is None and current_user.role != Role.MANAGER:
        abort(403)
    if scope is None:
        return render_template("deals/coverage.html", scope=None)
    teams = []
    if current_user.role == Role.ADMIN:
        teams = list(db.session.execute(select(Team.id, Team.name).order_by(Team.name)))
        team_arg = request.args.get("team", "")
        if team_arg.isdecimal() and int(team_arg) in {t.id for t in teams}:
            scope = coverage.Scope(team_id=int(team_arg))
    granularity = request.args.get("by", "month")
    if granularity not in coverage.GRANULARITIES:
        granularity = "month"
    today = date.today()
    periods = coverage.recent_periods(granularity, today)
    period_arg = request.args.get("period", "")
    selected = coverage.parse_period(period_arg)
    if selected is not None:
        start, end = selected.start, selected.end
    elif period_arg == "all":
        start = end = None
    else:
        start, end = periods[0].start, periods[-1].end
    days = current_app.config["KB_DEBRIEF_OVERDUE_DAYS"]
    overdue_count, overdue = coverage.overdue(scope, today, days)
    return render_template(
        "deals/coverage.html",
        scope=scope,
        teams=teams,
        granularity=granularity,
        periods=periods,
        period_arg=period_arg,
        selected=selected,
        total=coverage.total(scope, today, start, end),
        reps=coverage.by_rep(scope, today, start, end),
        by_team=coverage.by_team(scope, today, start, end),
        trend=coverage.by_period(scope, today, periods, granularity),
        overdue=overdue,
        overdue_count=overdue_count,
        overdue_days=days,
    )


# Debrief history: past win/loss notes from a spreadsheet, through the same
# stored uploads, mapping form and error download as the deal import.


class DebriefUploadForm(UploadForm):
    format = None  # one layout: the mapping step matches columns by their names
    file = FileField(
        "Spreadsheet (CSV or XLSX)",
        validators=[FileRequired("Choose the CSV or XLSX file of past win/loss notes.")],
        render_kw={"accept": ".csv,.txt,.xlsx,text/csv"},
    )


class DebriefMappingForm(MappingForm):
    format = None


def _debrief_mapping_form(headers, **kwargs):
    return mapping_form(headers, debrief_import.TARGETS, DebriefMappingForm, **kwargs)


def _load_history(token: str) -> tuple[uploads.Upload, crm_import.Table]:
    upload = uploads.load(token, current_user)
    if upload is None:
        abort(404)
    try:
        return upload, debrief_import.read_file(upload.data)
    except (OSError, crm_import.FileError):
        abort(404)


def _debrief_mapping_page(upload, table, form, status=200):
    page = render_template(
        "deals/import_debriefs_mapping.html",
        upload=upload,
        table=table,
        form=form,
        sample=table.rows[:SAMPLE_ROWS],
    )
    return page, status


@bp.route("/deals/import-debriefs", methods=["GET", "POST"])
def import_debriefs_upload():
    _require_importer()
    form = DebriefUploadForm()
    limit = uploads.max_bytes()
    page = {"form": form, "max_size": _size(limit)}
    if not form.validate_on_submit():
        status = 422 if form.errors else 200
        return render_template("deals/import_debriefs.html", **page), status
    file = form.file.data
    try:
        data = uploads.read_limited(file.stream, limit)
        debrief_import.read_file(data)
    except uploads.TooLarge:
        form.file.errors.append(
            f"The file is larger than {_size(limit)}: split it into smaller files."
        )
    except crm_import.FileError as exc:
        form.file.errors.append(str(exc))
    else:
        upload = uploads.save(data, file.filename or "", current_user)
        dry_run = "1" if form.dry_run.data else "0"
        return redirect(
            url_for("deals.import_debriefs_mapping", token=upload.token, dry_run=dry_run)
        )
    return render_template("deals/import_debriefs.html", **page), 422


@bp.get("/deals/import-debriefs/<token>")
def import_debriefs_mapping(token: str):
    _require_importer()
    upload, table = _load_history(token)
    form = _debrief_mapping_form(table.headers)
    form.dry_run.data = request.args.get("dry_run", "1") != "0"
    form.show_mapping(debrief_import.suggest_mapping(table.headers))
    return _debrief_mapping_page(upload, table, form)


@bp.post("/deals/import-debriefs/<token>")
def import_debriefs_run(token: str):
    _require_importer()
    upload, table = _load_history(token)
    form = _debrief_mapping_form(table.headers)
    if not form.validate():
        return _debrief_mapping_page(upload, table, form, status=422)
    if not form.check_mapping():
        flash("Map a column to every required field; nothing was imported.", "error")
        return _debrief_mapping_page(upload, table, form, status=422)
    try:
        report = debrief_import.import_debriefs(
            current_user,
            table,
            form.mapping(),
            form.date_order.data,
            dry_run=form.dry_run.data,
            source=upload.filename,
        )
    except IntegrityError:
        current_app.logger.exception("Debrief import %s failed", token)
        flash(
            "Nothing was imported: the same file was imported at the same moment by someone "
            "else. Run the import again.",
            "error",
        )
        return _debrief_mapping_page(upload, table, form, status=409)
    if report.failed:
        upload.save_errors(crm_import.error_report(table, report.failed))
    return render_template(
        "deals/import_debriefs_result.html", upload=upload, form=form, report=report
    )
