"""GET /api/v1/openapi.json: an OpenAPI 3.1 description of every API route.

The paths come from the "api" blueprint's rules in the URL map, so a new route
appears here without being listed; OPERATIONS adds what a rule cannot say
(query parameters, the request body, the responses besides the defaults).
Request bodies are the JSON schemas of the pydantic models the API validates
with."""

import re
from copy import deepcopy
from typing import Any

from flask import current_app
from pydantic import BaseModel

from kb.api import MAX_PER_PAGE, PUBLIC_ENDPOINTS, bp
from kb.debriefs.schemas import DealIn, DebriefIn
from kb.models import DebriefSource, DebriefStatus, Outcome
from kb.practices.queries import SORTS as PRACTICE_SORTS
from kb.practices.schemas import CommentIn, EndorsementIn, PracticeIn
from kb.themes.schemas import ThemeIn
from kb.validation import MAX_ID

REF = "#/components/schemas/{model}"
_RULE_ARG = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
    }


ERROR_RESPONSES = {
    "400": _error("The request was refused; `fields` names each field to correct."),
    "401": _error("No valid bearer token or session."),
    "403": _error("The caller's role may not do this."),
    "404": _error("No such object, or not one the caller may see."),
    "409": _error("The request conflicts with what is stored."),
    "415": _error("The body was not sent as application/json."),
    "422": _error("The Idempotency-Key was sent before with a different request."),
    "503": _error(
        "The search could not run (the index is not built yet, or it failed); or a write "
        "was kept out by other writers (error `busy`): nothing of it was stored, send it "
        "again after the Retry-After seconds."
    ),
}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        param["description"] = description
    return param


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "A key of the client's choosing (a UUID per new request). A retry with "
    "the same key and the same body gets the first answer (status, body and Location, "
    "with `Idempotent-Replayed: true`) and stores nothing twice; the same key with another "
    "body is refused (422). A retry sent while the first request is still being answered "
    "waits for it and gets its answer; 409 means an answer could not be given (the first "
    "request was interrupted, or is still running after a minute), or, with error "
    "`write_conflict`, that the request collided with others writing the same records (or "
    "found the database busy) and nothing of it was stored: send it again with the same key. "
    "Keys are the caller's own and are forgotten after 24 hours.",
}
# Every creating POST: the errors a client sending the header may get.
IDEMPOTENT = {"parameters": [IDEMPOTENCY_KEY], "errors": ["400", "403", "409", "422", "503"]}


def _text(*names: str) -> list[dict[str, Any]]:
    return [_query(name, {"type": "string", "maxLength": 200}) for name in names]


def _enum(values) -> dict[str, Any]:
    return {"type": "string", "enum": [getattr(v, "value", v) for v in values]}


PAGING = [
    _query("page", {"type": "integer", "minimum": 1}, "Page number, from 1."),
    _query(
        "per_page",
        {"type": "integer", "minimum": 1},
        f"Items per page (at most {MAX_PER_PAGE} are returned).",
    ),
]
PERIOD = [
    _query("period", {"type": "string"}, "A period key such as 90d, 365d or a quarter."),
    _query("date_from", {"type": "string", "format": "date"}),
    _query("date_to", {"type": "string", "format": "date"}),
]
SEARCH_FILTERS = (
    "outcome",
    "competitor",
    "winner",
    "segment",
    "region",
    "industry",
    "product_line",
    "source",
    "category",
    "quarter",
    "status",
)
REPEATABLE = [
    {
        "name": name,
        "in": "query",
        "required": False,
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "items": {"type": "string", "maxLength": 200}},
    }
    for name in SEARCH_FILTERS
]
_FLAG = {"type": "string", "enum": ["0", "1"]}
_BOOLEAN_TEXT = {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no"]}


def _page_of(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": REF.format(model=item)}},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
            "pages": {"type": "integer"},
        },
        "required": ["items", "page", "per_page", "total", "pages"],
    }


def _ok(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema or {"type": "object"}}},
    }


def _ref(model: str) -> dict[str, Any]:
    return {"$ref": REF.format(model=model)}


# Per endpoint: summary, query parameters, request body (a components schema
# name), extra error statuses and the success responses.
OPERATIONS: dict[str, dict[str, Any]] = {
    "api.openapi_document": {
        "summary": "This OpenAPI document.",
        "responses": {"200": _ok("The OpenAPI document.")},
    },
    "api.list_debriefs": {
        "summary": "Debriefs the caller may read, newest first.",
        "parameters": [
            _query("outcome", _enum(Outcome)),
            _query("source", _enum(DebriefSource)),
            _query("status", _enum(DebriefStatus)),
            *_text("competitor", "segment", "author"),
            *PAGING,
        ],
        "errors": ["400"],
        "responses": {"200": _ok("A page of debriefs.", _page_of("DebriefOut"))},
    },
    "api.create_debrief": {
        "summary": "File a debrief.",
        "body": "DebriefIn",
        **IDEMPOTENT,
        "responses": {"201": _ok("The debrief filed.", _ref("DebriefOut"))},
    },
    "api.get_debrief": {
        "summary": "One debrief.",
        "responses": {"200": _ok("The debrief.", _ref("DebriefOut"))},
    },
    "api.patch_debrief": {
        "summary": "Change the fields sent; `deal` is merged field by field.",
        "body": "DebriefPatch",
        "errors": ["400", "403"],
        "responses": {"200": _ok("The debrief as changed.", _ref("DebriefOut"))},
    },
    "api.delete_debrief": {
        "summary": "Delete a debrief.",
        "errors": ["403"],
        "responses": {"204": {"description": "Deleted."}},
    },
    "api.list_deals": {
        "summary": "Deals the caller may see.",
        "parameters": [
            _query("owner", {"type": "string"}, "A user id, 'me' or an e-mail address."),
            _query("outcome", _enum(Outcome)),
            _query("has_debrief", _BOOLEAN_TEXT, "Only deals with (or without) a debrief."),
            _query("crm_id", {"type": "string", "maxLength": 64}),
            *PAGING,
        ],
        "errors": ["400"],
        "responses": {"200": _ok("A page of deals.", _page_of("DealOut"))},
    },
    "api.post_deal": {
        "summary": "Create the deal with this CRM id, or update it (fields left out keep "
        "their stored values).",
        "body": "DealPost",
        **IDEMPOTENT,
        "responses": {
            "200": _ok("The deal, updated.", _ref("DealOut")),
            "201": _ok("The deal, created.", _ref("DealOut")),
        },
    },
    "api.get_deal": {
        "summary": "One deal.",
        "responses": {"200": _ok("The deal.", _ref("DealOut"))},
    },
    "api.list_practices": {
        "summary": "The playbook: published practices and lessons.",
        "parameters": [
            *_text("q", "kind", "competitor", "segment", "outcome", "tag"),
            _query("author", {"type": "string"}, "A user id."),
            _query("sort", _enum(PRACTICE_SORTS)),
            _query("mine", _FLAG, "1: the caller's own, drafts included."),
            *PAGING,
        ],
        "errors": ["400"],
        "responses": {"200": _ok("A page of practices.", _page_of("PracticeOut"))},
    },
    "api.create_practice": {
        "summary": "Share a practice or lesson.",
        "body": "PracticeIn",
        **IDEMPOTENT,
        "responses": {"201": _ok("The practice shared.", _ref("PracticeOut"))},
    },
    "api.get_practice": {
        "summary": "One practice, with its comments.",
        "responses": {"200": _ok("The practice.", _ref("PracticeOut"))},
    },
    "api.patch_practice": {
        "summary": "Change the fields sent (the author or an admin).",
        "body": "PracticePatch",
        "errors": ["400", "403"],
        "responses": {"200": _ok("The practice as changed.", _ref("PracticeOut"))},
    },
    "api.delete_practice": {
        "summary": "Delete a practice (the author or an admin).",
        "errors": ["403"],
        "responses": {"204": {"description": "Deleted."}},
    },
    "api.feature_practice": {
        "summary": "Feature a practice (managers and admins).",
        "body": "Empty",
        "errors": ["400", "403"],
        "responses": {"200": _ok("The practice.", _ref("PracticeOut"))},
    },
    "api.unfeature_practice": {
        "summary": "Stop featuring a practice.",
        "errors": ["403"],
        "responses": {"200": _ok("The practice.", _ref("PracticeOut"))},
    },
    "api.endorse_practice": {
        "summary": "Endorse a practice as tried or helpful.",
        "body": "EndorsementIn",
        "errors": ["400", "403", "409"],
        "responses": {"201": _ok("The practice.", _ref("PracticeOut"))},
    },
    "api.unendorse_practice": {
        "summary": "Withdraw an endorsement.",
        "errors": ["403"],
        "responses": {"204": {"description": "Withdrawn."}},
    },
    "api.comment_on_practice": {
        "summary": "Comment on a published practice.",
        "body": "CommentIn",
        "errors": ["400", "403"],
        "responses": {"201": _ok("The comment, with the practice.")},
    },
    "api.search": {
        "summary": "Search debriefs, with the search page's parameters.",
        "parameters": [
            _query("q", {"type": "string", "maxLength": 500}),
            *REPEATABLE,
            _query("date_from", {"type": "string", "format": "date"}),
            _query("date_to", {"type": "string", "format": "date"}),
            _query("sort", _enum(["relevance", "newest", "amount"])),
            *PAGING,
            _query("facets", _FLAG, "0 to leave the facets out."),
            _query("highlight", _FLAG, "0 to leave the highlights out."),
        ],
        "errors": ["400"],
        "responses": {"200": _ok("The hits, facets and warnings.")},
    },
    "api.list_themes": {
        "summary": "Every theme; with figures=1, each with the overview's figures.",
        "parameters": [_query("figures", _BOOLEAN_TEXT), *PERIOD],
        "errors": ["400", "503"],
        "responses": {
            "200": _ok(
                "The themes.",
                {
                    "type": "object",
                    "properties": {"items": {"type": "array", "items": _ref("ThemeOut")}},
                    "required": ["items"],
                },
            )
        },
    },
    "api.create_theme": {
        "summary": "Define a theme (managers, marketing and admins).",
        "body": "ThemeIn",
        "errors": ["400", "403"],
        "responses": {"201": _ok("The theme.", _ref("ThemeOut"))},
    },
    "api.get_theme": {
        "summary": "A theme and the figures of its page.",
        "parameters": [*PERIOD, _query("by", _enum(["quarter", "month"]))],
        "errors": ["400", "503"],
        "responses": {"200": _ok("The theme with its figures.", _ref("ThemeOut"))},
    },
    "api.discover_themes": {
        "summary": "Words and phrases over-represented in a subset of debriefs.",
        "parameters": [
            _query("q", {"type": "string", "maxLength": 500}),
            *REPEATABLE,
            _query("date_from", {"type": "string", "format": "date"}),
            _query("date_to", {"type": "string", "format": "date"}),
            _query("background", _enum(["all", "previous"])),
            _query("min_support", {"type": "integer", "minimum": 1}),
        ],
        "errors": ["400", "503"],
        "responses": {"200": _ok("The findings.")},
    },
    "api.patch_theme": {
        "summary": "Change the fields sent.",
        "body": "ThemePatch",
        "errors": ["400", "403"],
        "responses": {"200": _ok("The theme as changed.", _ref("ThemeOut"))},
    },
    "api.delete_theme": {
        "summary": "Delete a theme.",
        "errors": ["403"],
        "responses": {"204": {"description": "Deleted."}},
    },
}

MODELS: tuple[type[BaseModel], ...] = (
    DebriefIn,
    DealIn,
    PracticeIn,
    EndorsementIn,
    CommentIn,
    ThemeIn,
)


def _model_schemas() -> dict[str, Any]:
    """The pydantic models' JSON schemas, their nested models hoisted into
    components, plus the patch and deal-post variants derived from them."""
    schemas: dict[str, Any] = {}
    for model in MODELS:
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    for name in ("DebriefIn", "PracticeIn", "ThemeIn"):
        patch = deepcopy(schemas[name])
        patch.pop("required", None)
        patch["title"] = name.removesuffix("In") + "Patch"
        patch["description"] = "Any of the fields; those left out keep their stored values."
        schemas[patch["title"]] = patch
    post = deepcopy(schemas["DealIn"])
    post["title"] = "DealPost"
    post["properties"]["crm_id"] = {"type": "string", "minLength": 1, "maxLength": 64}
    post["properties"]["owner_email"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    post["properties"]["owner_name"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    post["required"] = sorted({"crm_id", *post.get("required", [])})
    post["description"] = (
        "A deal as the CRM knows it; on an update only crm_id is required. "
        "owner_email (or owner_name) picks the owner."
    )
    schemas["DealPost"] = post
    return schemas


_COUNT = {"type": "integer", "minimum": 0}
# The deals mentioning a theme, as its figures give them (the overview's,
# its page's, and per competitor, segment and before/after window).
THEME_DEALS = {
    "type": "object",
    "description": "Deals with a debrief mentioning the theme, by outcome. `win_rate` is "
    "won ÷ (won + lost), null without decided deals, and null where the theme's own filters "
    "fix the outcome (an outcome, or who won): a theme of won deals only would be won 100% "
    "of the time. `win_rate_withheld` then says why in plain words; otherwise it is null.",
    "properties": {
        "won": _COUNT,
        "lost": _COUNT,
        "no_decision": _COUNT,
        "win_rate": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        "win_rate_withheld": {
            "type": ["string", "null"],
            "examples": ["this theme counts won deals only"],
        },
    },
    "required": ["won", "lost", "no_decision", "win_rate", "win_rate_withheld"],
}


def _components() -> dict[str, Any]:
    loose = {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}
    theme_out = deepcopy(loose)
    theme_out["properties"]["figures"] = {
        "type": "object",
        "description": "With figures=1 (the list) or on a theme's own route: its figures "
        "for the period.",
        "properties": {"deals_mentioning": _ref("ThemeDeals")},
    }
    return {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API token; a signed-in browser session also works.",
            }
        },
        "schemas": {
            "Error": {
                "type": "object",
                "properties": {
                    "error": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                },
                "required": ["error", "message"],
            },
            "Empty": {"type": "object", "additionalProperties": False},
            **{name: loose for name in ("DebriefOut", "DealOut", "PracticeOut")},
            "ThemeOut": theme_out,
            "ThemeDeals": THEME_DEALS,
            **_model_schemas(),
        },
    }


def _path_and_parameters(rule: str) -> tuple[str, list[dict[str, Any]]]:
    parameters = []

    def replace(match: re.Match) -> str:
        converter, args, name = match["converter"], match["args"], match["name"]
        if converter == "int":
            schema: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        elif converter == "any":
            schema = {"type": "string", "enum": [a.strip(" '\"") for a in args.split(",")]}
        else:
            schema = {"type": "string"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _RULE_ARG.sub(replace, rule), parameters


def _operation(endpoint: str, path: str, path_params: list) -> dict[str, Any]:
    spec = OPERATIONS.get(endpoint, {})
    view = current_app.view_functions[endpoint]
    summary = spec.get("summary") or (view.__doc__ or endpoint).strip().splitlines()[0]
    operation: dict[str, Any] = {
        "operationId": endpoint.removeprefix("api."),
        "summary": summary,
        "tags": [path.removeprefix(bp.url_prefix).strip("/").split("/")[0].split(".")[0]],
    }
    parameters = path_params + spec.get("parameters", [])
    if parameters:
        operation["parameters"] = parameters
    statuses = set(spec.get("errors", []))
    if "body" in spec:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(spec["body"])}},
        }
        statuses |= {"400", "415"}
    if endpoint in PUBLIC_ENDPOINTS:
        operation["security"] = []
    else:
        statuses.add("401")
    if path_params:
        statuses.add("404")
    responses = dict(spec.get("responses") or {"200": _ok("Done.")})
    responses.update({status: ERROR_RESPONSES[status] for status in sorted(statuses)})
    operation["responses"] = responses
    return operation


def build_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in current_app.url_map.iter_rules():
        if rule.endpoint.partition(".")[0] != bp.name:
            continue
        path, path_params = _path_and_parameters(rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            item = paths.setdefault(path, {})
            item[method.lower()] = _operation(rule.endpoint, path, path_params)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Win/loss knowledge base API",
            "version": "1",
            "description": "Debriefs, deals, practices, search and themes as JSON. "
            "Every error is {error, message, fields?}.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": dict(sorted(paths.items())),
        "components": _components(),
    }


@bp.get("/openapi.json")
def openapi_document():
    return build_document()
