"""Check recorded exchanges against Grafana's OpenAPI description.

``check_exchanges(records)`` takes records written by the double's recorder
(the in-memory ``GrafanaDouble.records`` or a ``GRAFANA_DOUBLE_RECORD``
JSON-lines file) and returns one message per problem:

* the method and path are not in Grafana's OpenAPI description;
* the double accepted (2xx) a request whose parameters or body the
  description rejects;
* the response status or body does not match the description, apart from
  the statuses listed in ``KNOWN_SPEC_GAPS``;
* a saved or returned dashboard fails the dashboard JSON schema.

The description and the schema are read from the folder named by the
``VIGIL_GRAFANA_OPENAPI_DIR`` environment variable.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import (
    RequestsOpenAPIRequest,
    RequestsOpenAPIResponse,
)
from openapi_core.templating.paths.exceptions import (
    OperationNotFound,
    PathNotFound,
    ServerNotFound,
)
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.templating.security.exceptions import SecurityNotFound
from openapi_core.validation.request.exceptions import SecurityValidationError

SPEC_DIR_ENV = "VIGIL_GRAFANA_OPENAPI_DIR"
DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "grafana-api"
"""Default: ``../shared/grafana-api`` next to the repository root."""
OPENAPI_FILE_NAMES = ("openapi3.json", "openapi3.subset.json")
DASHBOARD_SCHEMA_FILE = "dashboard.jsonschema.json"
PROXY_PREFIX = "/api/datasources/proxy/uid/"
_BASE_URL = "http://grafana.test"

KNOWN_SPEC_GAPS: dict[tuple[str, str, int], str] = {
    (
        "POST",
        "/api/org/users",
        404,
    ): "Grafana returns 404 when the login or email is unknown",
    (
        "POST",
        "/api/org/users",
        409,
    ): "Grafana returns 409 when the user is already a member",
    ("POST", "/api/orgs/{org_id}/users", 404): "as POST /api/org/users",
    ("POST", "/api/orgs/{org_id}/users", 409): "as POST /api/org/users",
    ("PATCH", "/api/org/users/{user_id}", 404): "Grafana returns 404 for a non-member",
    ("DELETE", "/api/org/users/{user_id}", 404): "Grafana returns 404 for a non-member",
    ("PATCH", "/api/orgs/{org_id}/users/{user_id}", 404): "as PATCH /api/org/users",
    ("DELETE", "/api/orgs/{org_id}/users/{user_id}", 404): "as DELETE /api/org/users",
    ("POST", "/api/folders", 404): "Grafana returns 404 when parentUid does not exist",
    ("POST", "/api/datasources", 400): "Grafana returns 400 for a missing name or type",
    (
        "PUT",
        "/api/datasources/uid/{uid}",
        400,
    ): "Grafana returns 400 for a missing name or type",
    (
        "PUT",
        "/api/datasources/uid/{uid}",
        404,
    ): "Grafana returns 404 for an unknown uid",
    (
        "GET",
        "/api/datasources/name/{name}",
        404,
    ): "Grafana returns 404 for an unknown name",
    (
        "GET",
        "/api/datasources/uid/{uid}/health",
        404,
    ): "Grafana returns 404 for an unknown uid",
    (
        "POST",
        "/api/ds/query",
        404,
    ): "Grafana returns 404 for an unknown data source uid",
    ("POST", "/api/ds/query", 400): (
        "with a failed query Grafana returns 400 and a QueryDataResponse body, "
        "not the ErrorResponseBody that the description names"
    ),
    ("POST", "/api/teams", 400): "Grafana returns 400 for an empty team name",
    (
        "POST",
        "/api/teams/{team_id}/members",
        400,
    ): "Grafana returns 400 for an existing member",
    ("PUT", "/api/teams/{team_id}/members/{user_id}", 400): (
        "400 for a team permission other than 0 (member) or 4 (admin)"
    ),
    ("POST", "/api/folders/{folder_uid}/permissions", 400): (
        "Grafana returns 400 for an invalid permission item"
    ),
    ("GET", "/api/dashboards/uid/{uid}/versions/{DashboardVersionID}", 400): (
        "400 for a version that is not a number"
    ),
    (
        "POST",
        "/api/v1/provisioning/alert-rules",
        409,
    ): "Grafana returns 409 for a duplicate title or uid",
    (
        "PUT",
        "/api/v1/provisioning/alert-rules/{UID}",
        404,
    ): "Grafana returns 404 for an unknown rule",
    (
        "PUT",
        "/api/v1/provisioning/alert-rules/{UID}",
        409,
    ): "Grafana returns 409 for a duplicate title",
    ("PUT", "/api/v1/provisioning/folder/{FolderUID}/rule-groups/{Group}", 409): (
        "Grafana returns 409 for a duplicate title or a provenance it may not change"
    ),
    ("DELETE", "/api/v1/provisioning/folder/{FolderUID}/rule-groups/{Group}", 409): (
        "Grafana returns 409 for a rule whose provenance it may not change"
    ),
    ("PUT", "/api/v1/provisioning/contact-points/{UID}", 404): (
        "Grafana returns 404 for an unknown contact point"
    ),
    ("PUT", "/api/v1/provisioning/contact-points/{UID}", 500): (
        "Grafana returns 500 when the update would change a provenance other "
        "than none, for example from 'api' to none with X-Disable-Provenance"
    ),
    ("DELETE", "/api/v1/provisioning/contact-points/{UID}", 409): (
        "Grafana returns 409 for a contact point a policy uses"
    ),
    ("PUT", "/api/v1/provisioning/mute-timings/{name}", 404): (
        "Grafana returns 404 for an unknown mute timing"
    ),
    (
        "GET",
        "/api/datasources/proxy/uid/{uid}/{datasource_proxy_route}",
        502,
    ): "Grafana returns 502 when the data source cannot be reached",
    (
        "POST",
        "/api/datasources/proxy/uid/{uid}/{datasource_proxy_route}",
        502,
    ): "Grafana returns 502 when the data source cannot be reached",
}
"""Statuses Grafana returns that its OpenAPI description does not list.

Keys are (method, route template, status); for these the checker accepts the
status and skips body validation. A 401 is accepted on every route, because
Grafana's authentication layer returns it before any route runs.

NOTE: the statuses follow Grafana's source and documentation as read for this
double; they have not all been confirmed against a running Grafana 12.2.
"""


class SpecNotFoundError(FileNotFoundError):
    """Grafana's OpenAPI description or the dashboard schema is missing."""


def spec_dir() -> Path:
    configured = os.environ.get(SPEC_DIR_ENV)
    return Path(configured) if configured else DEFAULT_SPEC_DIR


def _spec_file(directory: Path) -> Path:
    for name in OPENAPI_FILE_NAMES:
        if (directory / name).is_file():
            return directory / name
    raise SpecNotFoundError(
        f"Grafana's OpenAPI description not found in {directory}: set "
        f"{SPEC_DIR_ENV} to the folder holding {' or '.join(OPENAPI_FILE_NAMES)} "
        f"and {DASHBOARD_SCHEMA_FILE}"
    )


@lru_cache(maxsize=4)
def load_spec_dict(directory: str | None = None) -> dict[str, Any]:
    """Load Grafana's OpenAPI description as a dict."""
    path = _spec_file(Path(directory) if directory else spec_dir())
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=4)
def load_openapi(directory: str | None = None) -> OpenAPI:
    return OpenAPI.from_dict(load_spec_dict(directory))


@lru_cache(maxsize=4)
def dashboard_validator(directory: str | None = None) -> jsonschema.protocols.Validator:
    path = (Path(directory) if directory else spec_dir()) / DASHBOARD_SCHEMA_FILE
    if not path.is_file():
        raise SpecNotFoundError(
            f"dashboard JSON schema {path} not found: set {SPEC_DIR_ENV} to the "
            f"folder holding {DASHBOARD_SCHEMA_FILE}"
        )
    schema = json.loads(path.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    return validator_class(schema)


def spec_operations(directory: str | None = None) -> set[tuple[str, str]]:
    """Return every (METHOD, /api/path template) in the description."""
    spec = load_spec_dict(directory)
    base = spec.get("servers", [{"url": ""}])[0]["url"].rstrip("/")
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    return {
        (method.upper(), base + path)
        for path, item in spec["paths"].items()
        for method in item
        if method in methods
    }


def _pointer(path: Any) -> str:
    return "/".join(str(part) for part in path) or "<root>"


def dashboard_errors(dashboard: Any, directory: str | None = None) -> list[str]:
    """Validate a dashboard model; return one message per schema error."""
    validator = dashboard_validator(directory)
    return [
        f"{_pointer(error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(dashboard)
    ]


def _spec_target(target: str) -> str:
    """Encode a proxy route's slashes, since the description has it as one segment."""
    path, separator, query = target.partition("?")
    if path.startswith(PROXY_PREFIX):
        uid, _, route = path[len(PROXY_PREFIX) :].partition("/")
        path = PROXY_PREFIX + uid + "/" + quote(route, safe="")
    return path + separator + query


def _openapi_request(record: dict[str, Any]) -> RequestsOpenAPIRequest:
    headers = {key.title(): value for key, value in record["request_headers"].items()}
    body = record.get("request_body") or None
    request = requests.Request(
        record["method"],
        _BASE_URL + _spec_target(record["target"]),
        headers=headers,
        data=body,
    )
    return RequestsOpenAPIRequest(request)


def _openapi_response(record: dict[str, Any]) -> RequestsOpenAPIResponse:
    response = requests.Response()
    response.status_code = record["status"]
    response._content = record.get("response_body", "").encode()
    for key, value in record.get("response_headers", {}).items():
        response.headers[key] = value
    return RequestsOpenAPIResponse(response)


def _cause(error: Exception) -> str:
    cause = error.__cause__
    details = getattr(cause, "schema_errors", None)
    if details:
        return "; ".join(
            f"{_pointer(item.absolute_path)}: {item.message}" for item in details
        )
    return repr(cause) if cause else repr(error)


def _template(
    record: dict[str, Any], openapi_request: RequestsOpenAPIRequest, api: OpenAPI
) -> str:
    if record.get("route"):
        return str(record["route"]).replace("*}", "}")
    return openapi_request.path


def check_exchange(record: dict[str, Any], directory: str | None = None) -> list[str]:
    """Check one record; see the module docstring for what counts as a problem."""
    api = load_openapi(directory)
    label = f"{record['method']} {record['target']} -> {record['status']}"
    request = _openapi_request(record)
    request_result = api.unmarshal_request(request)
    problems: list[str] = []
    for error in request_result.errors:
        if isinstance(error, (PathNotFound, OperationNotFound, ServerNotFound)):
            return [
                f"{label}: method and path are not in Grafana's OpenAPI description"
            ]
        if isinstance(error, SecurityValidationError) and _unauthenticated_ok(
            record, error
        ):
            continue
        if 200 <= record["status"] < 300:
            problems.append(f"{label}: request accepted but invalid: {_cause(error)}")
    template = _template(record, request, api)
    gap = KNOWN_SPEC_GAPS.get((record["method"], template, record["status"]))
    if gap is None and record["status"] != 401:
        response_result = api.unmarshal_response(request, _openapi_response(record))
        for error in response_result.errors:
            if isinstance(error, ResponseNotFound):
                problems.append(f"{label}: status not in Grafana's OpenAPI description")
            else:
                problems.append(f"{label}: response does not match: {_cause(error)}")
    problems.extend(_dashboard_problems(record, template, label, directory))
    return problems


def _unauthenticated_ok(record: dict[str, Any], error: Exception) -> bool:
    """Accept a request without credentials.

    The description requires basic auth or a token everywhere, but Grafana
    serves ``/api/health`` and, with ``[auth.anonymous] enabled``, every
    route without them. Otherwise the double itself returns 401.
    """
    return isinstance(error.__cause__, SecurityNotFound)


def _dashboard_problems(
    record: dict[str, Any], template: str, label: str, directory: str | None
) -> list[str]:
    models = []
    if (
        record["method"] == "POST"
        and template == "/api/dashboards/db"
        and record["status"] == 200
    ):
        models.append(
            ("request dashboard", _json(record.get("request_body")).get("dashboard"))
        )
    if (
        record["method"] == "GET"
        and template == "/api/dashboards/uid/{uid}"
        and record["status"] == 200
    ):
        models.append(
            ("response dashboard", _json(record.get("response_body")).get("dashboard"))
        )
    problems = []
    for name, model in models:
        for message in dashboard_errors(model, directory):
            problems.append(f"{label}: {name} fails the dashboard schema: {message}")
    return problems


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def check_exchanges(
    records: list[dict[str, Any]], directory: str | None = None
) -> list[str]:
    """Check recorded exchanges; return every problem found, empty when all match."""
    problems: list[str] = []
    for record in records:
        problems.extend(check_exchange(record, directory))
    return problems
