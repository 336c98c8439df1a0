"""Response headers that make the browser refuse what the app never needs."""

from urllib.parse import urlencode

from flask import Flask, abort, redirect, request

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


# The search takes any text and reports the control characters it removed.
CLEANS_ITS_OWN_QUERY = {"api.search"}


def register_security_headers(app: Flask) -> None:
    @app.before_request
    def refuse_nul_characters():
        # No database text column can store NUL: a form or API call carrying
        # one is refused; a page's query string is cleaned and reloaded.
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data") and any(
            "\x00" in value for value in [*request.form.values(), *request.form.keys()]
        ):
            abort(400, "The form contains a NUL character.")
        if request.endpoint in CLEANS_ITS_OWN_QUERY:
            return None
        if any("\x00" in value for value in [*request.args.values(), *request.args.keys()]):
            if request.path.startswith("/api/"):
                abort(400, "The query string contains a NUL character.")
            cleaned = [
                (key.replace("\x00", ""), value.replace("\x00", ""))
                for key, value in request.args.items(multi=True)
            ]
            return redirect(f"{request.path}?{urlencode(cleaned)}")
        return None

    @app.after_request
    def add_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
