"""Error pages for people; the API blueprint answers its own errors in JSON.

After a form was sent, the page says whether the change was stored: a failed
save must not read as a safe one.
"""

import sys

from flask import Flask, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import InternalServerError

from kb import unsent
from kb.extensions import db
from kb.write_conflicts import write_conflict

# How long a client is asked to wait before sending again after a write conflict.
RETRY_AFTER_SECONDS = 2


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _after_a_post(code: int, text: str) -> str:
    """What happened to what the user sent, told truthfully."""
    if unsent.committed():
        return "The error has been logged. Your change was saved, but the next page failed."
    if code == 500:
        text = "The error has been logged. What you sent was not saved."
    # Other codes (a busy database's 503) already say what happened to it.
    if unsent.posted_key():
        text += (
            " A copy of what you typed is kept in this browser: open the form again"
            " and choose “Restore”."
        )
    return text


def register_error_pages(app: Flask) -> None:
    messages = {
        400: ("Bad request", "The request could not be understood."),
        403: ("Not allowed", "Your role does not give access to this page."),
        404: ("Not found", "There is nothing at this address."),
        405: ("Method not allowed", "This address does not accept that kind of request."),
        429: ("Too many attempts", "Too many attempts in a short time. Wait a minute and retry."),
        500: ("Something went wrong", "The error has been logged. Nothing was changed."),
        503: (
            "Busy",
            "The database was busy with other changes and nothing was saved. Send it again.",
        ),
    }

    def handler(error):
        code = getattr(error, "code", 500) or 500
        title, text = messages.get(code, messages[500])
        if isinstance(error, CSRFError):
            title, text = "Form expired", "The form's security token was missing or expired. "
            text += "Nothing was saved: reload the form and send it again."
        if _wants_json():
            return {"error": title.lower().replace(" ", "_"), "message": text}, code
        form_url = None
        if request.method == "POST":
            text = _after_a_post(code, text)
            form_url = request.full_path.rstrip("?") if unsent.posted_key() else None
        return render_template(
            "error.html", title=title, text=text, code=code, form_url=form_url
        ), code

    def database_error(error: OperationalError):
        # Another writer in the way (a deadlock PostgreSQL broke, SQLite locked
        # past its busy timeout) is worth sending again: 503 with Retry-After.
        # Anything else stays an error of ours, logged as such.
        db.session.rollback()  # the page's own queries need a usable session
        if not write_conflict(error) or unsent.committed():
            current_app.log_exception(sys.exc_info())
            return handler(InternalServerError(original_exception=error))
        current_app.logger.warning("write conflict, answered 503: %s", error.orig)
        response = current_app.make_response(handler(_Busy()))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    for code in messages:
        app.register_error_handler(code, handler)
    app.register_error_handler(OperationalError, database_error)
    app.register_error_handler(CSRFError, handler)
    # The marker that clears a form's unsent copy once its save is confirmed.
    unsent.register(app)


class _Busy(Exception):
    code = 503
