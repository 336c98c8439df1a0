"""The home page, and the site icon at the address browsers ask for."""

from datetime import date

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kb.auth.service import user_count
from kb.deals.coverage import todos_for
from kb.extensions import db
from kb.models import Deal, Debrief, DebriefStatus, Role
from kb.permissions import visible_debriefs
from kb.practices.queries import featured_for

bp = Blueprint("main", __name__)


@bp.get("/favicon.ico")
def favicon():
    # Pages name their icon; browsers and tools that do not read pages ask here.
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.setup" if user_count() == 0 else "auth.login"))
    drafts = list(
        db.session.scalars(
            select(Debrief)
            .where(Debrief.author_id == current_user.id, Debrief.status == DebriefStatus.DRAFT)
            .options(selectinload(Debrief.deal))
            .order_by(Debrief.updated_at.desc())
            .limit(10)
        )
    )
    recent = list(
        db.session.scalars(
            select(Debrief)
            .join(Debrief.deal)
            .where(visible_debriefs(current_user), Debrief.status == DebriefStatus.SUBMITTED)
            .options(selectinload(Debrief.deal).selectinload(Deal.competitors))
            .order_by(Debrief.submitted_at.desc().nulls_last(), Debrief.id.desc())
            .limit(10)
        )
    )
    todo_count, todos = todos_for(
        current_user, date.today(), current_app.config["KB_DEBRIEF_OVERDUE_DAYS"]
    )
    featured_practices = None
    if current_user.role == Role.REP:
        featured_practices = featured_for(
            current_user, date.today(), [waiting.deal.id for waiting in todos]
        )
    return render_template(
        "home.html",
        drafts=drafts,
        recent=recent,
        todos=todos,
        todo_count=todo_count,
        featured_practices=featured_practices,
    )
