"""Error pages for people; the API blueprint answers its own errors in JSON.

After a form was sent, the page says whether the change was stored: a failed
save must not read as a safe one.
"""

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError

from kb import unsent


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _after_a_post(code: int, text: str) -> str:
    """What happened to what the user sent, told truthfully."""
    if unsent.committed():
        return "The error has been logged. Your change was saved, but the next page failed."
    if code == 500:
        text = "The error has been logged. What you sent was not saved."
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

    for code in messages:
        app.register_error_handler(code, handler)
    app.register_error_handler(CSRFError, handler)
    # The marker that clears a form's unsent copy once its save is confirmed.
    unsent.register(app)
