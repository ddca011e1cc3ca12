"""The contract checker, and the double's routes against the OpenAPI description."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from double_support import ADMIN_PASSWORD, Api, DoubleFactory, expect, minimal_dashboard
from grafana_double import GrafanaDouble, load_settings
from grafana_double.contract import (
    SPEC_DIR_ENV,
    SpecNotFoundError,
    check_exchanges,
    load_spec_dict,
    spec_operations,
)
from grafana_double.recording import RECORD_ENV, load_records
from grafana_double.routing import Context, Response
from grafana_double.server import build_router

ENTERPRISE_ONLY = {
    ("GET", "/api/access-control/teams/{teamId}/roles"),
    ("POST", "/api/access-control/teams/{teamId}/roles"),
    ("PUT", "/api/access-control/teams/{teamId}/roles"),
    ("DELETE", "/api/access-control/teams/{teamId}/roles/{roleUID}"),
    ("GET", "/api/access-control/users/{userId}/roles"),
    ("POST", "/api/access-control/users/{userId}/roles"),
    ("PUT", "/api/access-control/users/{userId}/roles"),
    ("DELETE", "/api/access-control/users/{userId}/roles/{roleUID}"),
    ("POST", "/api/admin/provisioning/access-control/reload"),
}


def _served() -> set[tuple[str, str]]:
    return {
        (route.method, "/api" + route.spec_template) for route in build_router().routes
    }


def test_served_routes_in_spec() -> None:
    assert _served() - spec_operations() == set()


def test_unserved_routes_enterprise_only() -> None:
    assert spec_operations() - _served() == ENTERPRISE_ONLY


def test_checker_passes_real_traffic(admin: Api, double: GrafanaDouble) -> None:
    expect(admin.post("/api/folders", {"uid": "f", "title": "F"}), 200)
    body = {"dashboard": minimal_dashboard("D", uid="d"), "folderUid": "f"}
    expect(admin.post("/api/dashboards/db", body), 200)
    expect(admin.get("/api/dashboards/uid/d"), 200)
    assert len(double.records) == 3
    assert check_exchanges(double.records) == []


@pytest.mark.no_contract_check
def test_checker_reports_extra_route(admin: Api, double: GrafanaDouble) -> None:
    double.router.add("GET", "/api/extra", lambda ctx: Response(200, {"ok": True}))
    expect(admin.get("/api/extra"), 200)
    problems = check_exchanges(double.records)
    assert len(problems) == 1
    assert "GET /api/extra" in problems[0]
    assert "not in Grafana's OpenAPI description" in problems[0]


def _replace_handler(
    double: GrafanaDouble, method: str, template: str, handler
) -> None:
    for route in double.router.routes:
        if route.method == method and route.template == template:
            route.handler = handler
            return
    raise AssertionError(f"route {method} {template} not found")


@pytest.mark.no_contract_check
def test_checker_reports_response_shape(admin: Api, double: GrafanaDouble) -> None:
    def incomplete(ctx: Context) -> Response:
        return Response(200, {"message": "deleted"})

    _replace_handler(double, "DELETE", "/api/dashboards/uid/{uid}", incomplete)
    expect(admin.delete("/api/dashboards/uid/any"), 200)
    problems = check_exchanges(double.records)
    assert len(problems) == 1
    assert "response does not match" in problems[0]
    assert "'uid' is a required property" in problems[0]


@pytest.mark.no_contract_check
def test_checker_reports_undocumented_status(admin: Api, double: GrafanaDouble) -> None:
    _replace_handler(
        double, "GET", "/api/search", lambda ctx: Response(418, {"message": "x"})
    )
    expect(admin.get("/api/search"), 418)
    problems = check_exchanges(double.records)
    assert problems == [
        "GET /api/search -> 418: status not in Grafana's OpenAPI description"
    ]


@pytest.mark.no_contract_check
def test_checker_reports_accepted_invalid_body(
    admin: Api, double: GrafanaDouble
) -> None:
    def lenient(ctx: Context) -> Response:
        return Response(200, {"uid": "x", "title": "x"})

    _replace_handler(double, "POST", "/api/folders", lenient)
    expect(admin.post("/api/folders", {"title": ["not", "a", "string"]}), 200)
    problems = check_exchanges(double.records)
    assert len(problems) == 1
    assert "request accepted but invalid" in problems[0]
    assert "title" in problems[0]


def test_checker_accepts_rejected_invalid_body(
    admin: Api, double: GrafanaDouble
) -> None:
    expect(admin.post("/api/folders", {"title": ["not", "a", "string"]}), 400)
    assert check_exchanges(double.records) == []


@pytest.mark.no_contract_check
def test_checker_reports_invalid_dashboard(admin: Api, double: GrafanaDouble) -> None:
    expect(admin.post("/api/dashboards/db", {"dashboard": {"title": "Bare"}}), 200)
    problems = check_exchanges(double.records)
    assert problems
    assert all("fails the dashboard schema" in problem for problem in problems)
    assert any("schemaVersion" in problem for problem in problems)


def test_record_file_from_env(
    doubles: DoubleFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_file = tmp_path / "exchanges.jsonl"
    monkeypatch.setenv(RECORD_ENV, str(record_file))
    settings_path = doubles.ini()
    double = GrafanaDouble(load_settings(settings_path, doubles.home)).start()
    try:
        api = Api(double.url, auth=("admin", ADMIN_PASSWORD))
        expect(api.get("/api/health"), 200)
        expect(api.get("/api/search"), 200)
    finally:
        double.stop()
    records = load_records(record_file)
    assert [record["target"] for record in records] == ["/api/health", "/api/search"]
    assert records[1]["request_headers"]["authorization"] == "Basic <redacted>"
    assert check_exchanges(records) == []


def test_missing_spec_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SPEC_DIR_ENV, str(tmp_path))
    with pytest.raises(SpecNotFoundError, match=SPEC_DIR_ENV):
        load_spec_dict(str(tmp_path))


def test_record_json_serialisable(admin: Api, double: GrafanaDouble) -> None:
    expect(admin.get("/api/health"), 200)
    assert json.loads(json.dumps(double.records)) == double.records
