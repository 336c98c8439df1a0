"""GET /api/v1/openapi.json: a valid OpenAPI document covering every API
route, and a short property-based run of the API against it."""

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode

from kb.auth.service import create_token
from kb.themes import service as themes
from tests.test_api_themes import theme_payload
from tests.test_practices import make_practice  # noqa: F401

OPENAPI_URL = "/api/v1/openapi.json"


def _document(client) -> dict:
    response = client.get(OPENAPI_URL)
    assert response.status_code == 200
    assert response.is_json
    return response.get_json()


def test_document_is_public_and_valid_openapi(client):
    document = _document(client)
    validate(document)
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": "/"}]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_api_route_is_documented(app, client):
    paths = _document(client)["paths"]
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]
    assert len(rules) > 10
    for rule in rules:
        path = re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in paths, rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = paths[path][method.lower()]
            assert operation["responses"], f"{method} {path}"
            for name in rule.arguments:
                assert any(
                    p["name"] == name and p["in"] == "path" for p in operation["parameters"]
                ), f"{method} {path}: {name}"


def test_request_bodies_come_from_the_input_models(client):
    document = _document(client)
    schemas = document["components"]["schemas"]
    body = document["paths"]["/api/v1/debriefs"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DebriefIn"
    }
    assert {"DebriefIn", "DealIn", "PracticeIn", "ThemeIn", "DealPost"} <= set(schemas)
    # Nested models are components, not inline $defs.
    assert "$defs" not in schemas["DebriefIn"]
    assert {"$ref": "#/components/schemas/DealIn"} in schemas["DebriefIn"]["properties"]["deal"][
        "anyOf"
    ]
    assert "crm_id" in schemas["DealPost"]["required"]
    error = document["paths"]["/api/v1/debriefs"]["post"]["responses"]["400"]
    assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert set(schemas["Error"]["properties"]) == {"error", "message", "fields"}


def test_other_routes_still_need_a_token(client):
    response = client.get("/api/v1/debriefs")
    assert response.status_code == 401


# Examples per operation and generation mode: enough to reach the validation
# paths of every operation while keeping the run to a few seconds.
EXAMPLES = 12


@pytest.fixture
def stored(users, make_debrief, make_practice) -> dict[str, int]:  # noqa: F811
    """One object of each kind, for generated requests to find by id."""
    debrief = make_debrief(users.rep)
    practice = make_practice(users.rep)
    theme = themes.save_theme(users.manager, themes.parse(theme_payload()))
    return {
        "debrief_id": debrief.id,
        "deal_id": debrief.deal_id,
        "practice_id": practice.id,
        "theme_id": theme.id,
    }


@pytest.mark.parametrize("mode", list(GenerationMode), ids=str)
def test_api_has_no_server_errors(app, users, stored, mode):
    """Requests generated from the document, fitting it (positive) or not
    (negative), to every operation as an admin: none may end in a 5xx, save
    the 503 by design while the search index is not built. Half the cases use
    the ids of stored objects, so that they get past the 404."""
    headers = {"Authorization": f"Bearer {create_token(users.admin)}"}
    api_schema = schemathesis.openapi.from_wsgi(OPENAPI_URL, app)
    server_errors: list[str] = []

    def call(case) -> None:
        response = case.call(headers=headers)
        if response.status_code == 503 and "index_unavailable" in response.text:
            return
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except AssertionError:
            server_errors.append(
                f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"
                f" -> {response.status_code} {response.text[:200]}"
            )

    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    # Deletions last, so that the other operations still find the stored objects.
    operations.sort(key=lambda operation: operation.method.upper() == "DELETE")
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        known = {name: value for name, value in stored.items() if name in names}
        strategy = operation.as_strategy(generation_mode=mode)
        if known:
            strategy = strategy | operation.as_strategy(generation_mode=mode, path_parameters=known)
        run = settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )(given(case=strategy)(call))
        run()
    assert not server_errors, "\n".join(server_errors)
