"""Error pages for people; the API blueprint answers its own errors in JSON."""

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_error_pages(app: Flask) -> None:
    messages = {
        400: ("Bad request", "The request could not be understood."),
        403: ("Not allowed", "Your role does not give access to this page."),
        404: ("Not found", "There is nothing at this address."),
        405: ("Method not allowed", "This address does not accept that kind of request."),
        429: ("Too many attempts", "Too many attempts in a short time. Wait a minute and retry."),
        500: ("Something went wrong", "The error has been logged. Nothing you saved was lost."),
    }

    def handler(error):
        code = getattr(error, "code", 500) or 500
        title, text = messages.get(code, messages[500])
        if isinstance(error, CSRFError):
            title, text = "Form expired", "The form's security token was missing or expired. "
            text += "Go back, reload the page and submit again."
        if _wants_json():
            return {"error": title.lower().replace(" ", "_"), "message": text}, code
        return render_template("error.html", title=title, text=text, code=code), code

    for code in messages:
        app.register_error_handler(code, handler)
    app.register_error_handler(CSRFError, handler)
