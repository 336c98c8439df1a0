"""JSON API v1: bearer-token or session authentication, JSON errors."""

from flask import Blueprint, g, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from kb.auth.service import user_for_token
from kb.extensions import csrf
from kb.validation import MAX_PAGE, ValidationFailed, whole_number

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Session-authenticated writes are safe without a CSRF token because every write
# must be sent as application/json, which a cross-site form cannot do, and the
# session cookie is SameSite=Lax.
csrf.exempt(bp)


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status, self.error, self.message, self.fields = status, error, message, fields


# Endpoints anyone may call without a token or a session.
PUBLIC_ENDPOINTS = {"api.openapi_document"}


@bp.before_request
def authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        user = user_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise ApiError(401, "unauthorized", "The bearer token is not valid.")
        g.api_user = user
    elif current_user.is_authenticated:
        g.api_user = current_user._get_current_object()
    else:
        raise ApiError(
            401, "unauthorized", "Send 'Authorization: Bearer <token>' or sign in first."
        )
    if request.method in ("POST", "PUT", "PATCH") and not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")


def api_user():
    return g.api_user


MAX_PER_PAGE = 100


def positive_int_arg(name: str, default: int) -> int:
    """A page or page-size query parameter: a whole number of 1 or more."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if (number := whole_number(raw)) is None:
        raise ApiError(400, "invalid_parameter", f"'{name}' must be a whole number of 1 or more.")
    if number > MAX_PAGE:
        raise ApiError(400, "invalid_parameter", f"'{name}' must be at most {MAX_PAGE}.")
    return number


# No request body the API reads nests deeper than a few levels; refusing deep
# ones early keeps every reader of the body (which recurse) well inside
# Python's recursion limit.
MAX_JSON_DEPTH = 32


def json_body() -> object:
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        body = _TOO_DEEP
    if body is _TOO_DEEP or _depth(body) > MAX_JSON_DEPTH:
        raise ApiError(
            400, "invalid_json", f"The body nests more than {MAX_JSON_DEPTH} levels deep."
        )
    if body is None:
        raise ApiError(400, "invalid_json", "The body is not valid JSON.")
    if fields := nul_fields(body):
        raise ApiError(
            400,
            "validation_failed",
            "Nothing was stored: correct the fields listed.",
            {path: "Remove the NUL character (\\u0000) from this text." for path in fields},
        )
    return body


_TOO_DEEP = object()


def _depth(value: object) -> int:
    """How deeply lists and objects nest in `value`, found without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_JSON_DEPTH:
                children = item.values() if isinstance(item, dict) else item
                stack.extend((child, level + 1) for child in children)
    return deepest


def nul_fields(value: object, path: str = "") -> list[str]:
    """Paths of the strings holding a NUL character, which no database text
    column can store (PostgreSQL refuses them outright)."""
    if isinstance(value, str):
        return [path or "__root__"] if "\x00" in value else []
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return []
    found = []
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            found.append(f"{path}.{key!r}".lstrip("."))
        found += nul_fields(item, f"{path}.{key}".lstrip("."))
    return found


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    body = {"error": exc.error, "message": exc.message}
    if exc.fields:
        body["fields"] = exc.fields
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
    return body, exc.status, headers


@bp.errorhandler(ValidationFailed)
def _validation_failed(exc: ValidationFailed):
    return {
        "error": "validation_failed",
        "message": "Nothing was stored: correct the fields listed.",
        "fields": exc.errors,
    }, 400


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return {"error": exc.name.lower().replace(" ", "_"), "message": exc.description}, exc.code


from kb.api import deals, debriefs, openapi, practices, search, themes  # noqa: E402,F401  (registers the routes)
