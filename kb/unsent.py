"""The unsent copy the debrief and practice forms keep in the browser
(static/unsent.js), and the server's word that lets the browser drop it.

A form that keeps a copy posts the copy's key as `unsent_key`. A save that
went through commits and then redirects (post/redirect/get); a refused one
answers 422, a failed one 500, and an expired sign-in redirects without
committing anything. So a redirect answering such a POST, after a commit in
the same request, confirms the save: the `kb_saved` cookie names the key, and
kb.js on the next page removes the copy and the cookie.
"""

import re

from flask import Flask, Response, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

COOKIE = "kb_saved"
_KEY = re.compile(r"kb-unsent:[\w:-]{1,100}")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@event.listens_for(Session, "after_commit")
def _note_commit(session) -> None:
    if has_request_context():
        g.kb_committed = True


def committed() -> bool:
    """Whether this request has committed anything to the database."""
    return bool(g.get("kb_committed"))


def posted_key() -> str | None:
    """The key of the unsent copy the submitted form keeps, if any."""
    if request.method != "POST" or request.mimetype not in _FORM_TYPES:
        return None
    key = request.form.get("unsent_key", "")
    return key if _KEY.fullmatch(key) else None


def _confirm_saved(response: Response) -> Response:
    if response.status_code in (302, 303) and committed() and (key := posted_key()):
        response.set_cookie(
            COOKIE, key, max_age=600, samesite="Lax", secure=request.is_secure, httponly=False
        )
    return response


def register(app: Flask) -> None:
    app.after_request(_confirm_saved)
