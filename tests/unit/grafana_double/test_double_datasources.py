"""Data sources: CRUD, provisioning, health, queries and the proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from double_fake_prometheus import PASSWORD, USER, FakePrometheus
from double_support import ADMIN_PASSWORD, Api, DoubleFactory, TlsFiles, expect
from grafana_double import GrafanaDouble


@pytest.fixture
def prometheus(tls_files: TlsFiles) -> Iterator[FakePrometheus]:
    server = FakePrometheus(tls_files).start()
    yield server
    server.stop()


def _prometheus_body(url: str, tls: TlsFiles, password: str = PASSWORD) -> dict:
    return {
        "name": "Prometheus",
        "uid": "prom",
        "type": "prometheus",
        "access": "proxy",
        "url": url,
        "basicAuth": True,
        "basicAuthUser": USER,
        "isDefault": True,
        "jsonData": {"tlsAuthWithCACert": True, "httpMethod": "POST"},
        "secureJsonData": {"basicAuthPassword": password, "tlsCACert": tls.ca_pem},
    }


def test_add_hides_secrets(admin: Api, tls_files: TlsFiles) -> None:
    body = _prometheus_body("https://127.0.0.1:9", tls_files)
    created = expect(admin.post("/api/datasources", body), 200)
    fetched = expect(admin.get("/api/datasources/uid/prom"), 200)
    assert created["datasource"]["secureJsonFields"] == {
        "basicAuthPassword": True,
        "tlsCACert": True,
    }
    assert "secureJsonData" not in fetched
    assert fetched["basicAuthUser"] == USER


def test_datasource_crud(admin: Api) -> None:
    body = {
        "name": "Loki",
        "type": "loki",
        "url": "http://127.0.0.1:9",
        "access": "proxy",
    }
    created = expect(admin.post("/api/datasources", body), 200)
    uid = created["datasource"]["uid"]
    expect(admin.post("/api/datasources", body), 409)
    by_name = expect(admin.get("/api/datasources/name/Loki"), 200)
    updated = expect(
        admin.put(f"/api/datasources/uid/{uid}", body | {"url": "http://127.0.0.1:8"}),
        200,
    )
    listed = expect(admin.get("/api/datasources"), 200)
    assert by_name["uid"] == uid
    assert updated["datasource"]["version"] == 2
    assert [item["name"] for item in listed] == ["Loki"]
    expect(admin.delete(f"/api/datasources/uid/{uid}"), 200)
    expect(admin.get(f"/api/datasources/uid/{uid}"), 404)


def test_single_default_datasource(admin: Api) -> None:
    first = {
        "name": "A",
        "type": "prometheus",
        "url": "http://127.0.0.1:9",
        "isDefault": True,
    }
    second = first | {"name": "B"}
    expect(admin.post("/api/datasources", first), 200)
    expect(admin.post("/api/datasources", second), 200)
    listed = expect(admin.get("/api/datasources"), 200)
    assert {item["name"]: item["isDefault"] for item in listed} == {
        "A": False,
        "B": True,
    }


def test_viewer_cannot_read_datasources(
    admin: Api, double: GrafanaDouble, make_user
) -> None:
    make_user("viewer")
    expect(
        Api(double.url, auth=("viewer", "viewerviewer")).get("/api/datasources"), 403
    )


def test_health_ok_over_tls(
    admin: Api, prometheus: FakePrometheus, tls_files: TlsFiles
) -> None:
    expect(
        admin.post("/api/datasources", _prometheus_body(prometheus.url, tls_files)), 200
    )
    body = expect(admin.get("/api/datasources/uid/prom/health"), 200)
    assert body == {
        "status": "OK",
        "message": "Successfully queried the Prometheus API.",
    }
    assert prometheus.requests_seen[-1]["params"]["query"] == "1+1"


def test_health_error_wrong_password(
    admin: Api, prometheus: FakePrometheus, tls_files: TlsFiles
) -> None:
    body = _prometheus_body(prometheus.url, tls_files, password="wrong")
    expect(admin.post("/api/datasources", body), 200)
    result = expect(admin.get("/api/datasources/uid/prom/health"), 400)
    assert result["status"] == "ERROR"
    assert "401" in result["message"]


def test_health_error_untrusted_certificate(
    admin: Api, prometheus: FakePrometheus, tls_files: TlsFiles
) -> None:
    body = _prometheus_body(prometheus.url, tls_files)
    body["jsonData"] = {}
    expect(admin.post("/api/datasources", body), 200)
    result = expect(admin.get("/api/datasources/uid/prom/health"), 400)
    assert result["status"] == "ERROR"
    assert "CERTIFICATE_VERIFY_FAILED" in result["message"]


def test_query_range_frames(
    admin: Api, prometheus: FakePrometheus, tls_files: TlsFiles
) -> None:
    expect(
        admin.post("/api/datasources", _prometheus_body(prometheus.url, tls_files)), 200
    )
    query = {
        "refId": "A",
        "datasource": {"uid": "prom", "type": "prometheus"},
        "expr": "up",
        "range": True,
        "intervalMs": 15000,
    }
    body = expect(
        admin.post(
            "/api/ds/query", {"from": "now-5m", "to": "now", "queries": [query]}
        ),
        200,
    )
    frame = body["results"]["A"]["frames"][0]
    assert frame["data"]["values"] == [[1700000000000, 1700000015000], [1.0, 0.0]]
    assert frame["schema"]["fields"][1]["labels"] == {"job": "node"}
    assert prometheus.requests_seen[-1]["path"] == "/api/v1/query_range"


def test_query_instant_frames(
    admin: Api, prometheus: FakePrometheus, tls_files: TlsFiles
) -> None:
    expect(
        admin.post("/api/datasources", _prometheus_body(prometheus.url, tls_files)), 200
    )
    query = {"refId": "B", "datasource": {"uid": "prom"}, "expr": "up", "instant": True}
    body = expect(
        admin.post(
            "/api/ds/query", {"from": "now-5m", "to": "now", "queries": [query]}
        ),
        200,
    )
    frame = body["results"]["B"]["frames"][0]
    assert frame["schema"]["meta"]["custom"]["resultType"] == "vector"
    assert frame["data"]["values"][1] == [1.0]


def test_query_failure_reported(
    admin: Api, prometheus: FakePrometheus, tls_files: TlsFiles
) -> None:
    body = _prometheus_body(prometheus.url, tls_files, password="wrong")
    expect(admin.post("/api/datasources", body), 200)
    query = {"refId": "A", "datasource": {"uid": "prom"}, "expr": "up"}
    result = expect(
        admin.post(
            "/api/ds/query", {"from": "now-5m", "to": "now", "queries": [query]}
        ),
        400,
    )
    assert "401" in result["results"]["A"]["error"]


def test_proxy_forwards_with_auth(
    admin: Api, prometheus: FakePrometheus, tls_files: TlsFiles
) -> None:
    expect(
        admin.post("/api/datasources", _prometheus_body(prometheus.url, tls_files)), 200
    )
    body = expect(
        admin.get(
            "/api/datasources/proxy/uid/prom/api/v1/query", params={"query": "up"}
        ),
        200,
    )
    assert body["status"] == "success"
    assert prometheus.requests_seen[-1] == {
        "method": "GET",
        "path": "/api/v1/query",
        "params": {"query": "up"},
    }


def _write_provisioning(home: Path, document: dict) -> None:
    folder = home / "provisioning" / "datasources"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prometheus.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")


def test_provisioned_at_start(
    doubles: DoubleFactory,
    prometheus: FakePrometheus,
    tls_files: TlsFiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROM_PASSWORD", PASSWORD)
    document = {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "uid": "prom",
                "type": "prometheus",
                "url": prometheus.url,
                "basicAuth": True,
                "basicAuthUser": USER,
                "isDefault": True,
                "jsonData": {"tlsAuthWithCACert": True},
                "secureJsonData": {
                    "basicAuthPassword": "${PROM_PASSWORD}",
                    "tlsCACert": f"$__file{{{tls_files.ca_cert}}}",
                },
            }
        ],
    }
    _write_provisioning(doubles.home, document)
    double = doubles.start()
    admin = Api(double.url, auth=("admin", ADMIN_PASSWORD))
    source = expect(admin.get("/api/datasources/uid/prom"), 200)
    health = expect(admin.get("/api/datasources/uid/prom/health"), 200)
    assert source["readOnly"] is True
    assert health["status"] == "OK"
    expect(admin.delete("/api/datasources/uid/prom"), 403)


def test_provisioning_reload(doubles: DoubleFactory) -> None:
    double = doubles.start()
    admin = Api(double.url, auth=("admin", ADMIN_PASSWORD))
    expect(
        admin.post(
            "/api/datasources",
            {"name": "Old", "type": "loki", "url": "http://127.0.0.1:9"},
        ),
        200,
    )
    document = {
        "apiVersion": 1,
        "deleteDatasources": [{"name": "Old", "orgId": 1}],
        "datasources": [
            {
                "name": "New",
                "type": "prometheus",
                "url": "http://127.0.0.1:9",
                "editable": True,
            }
        ],
    }
    _write_provisioning(doubles.home, document)
    expect(admin.post("/api/admin/provisioning/datasources/reload"), 200)
    names = [item["name"] for item in expect(admin.get("/api/datasources"), 200)]
    assert names == ["New"]
    assert expect(admin.get("/api/datasources/name/New"), 200)["readOnly"] is False


def test_provisioning_two_defaults_rejected(doubles: DoubleFactory) -> None:
    double = doubles.start()
    admin = Api(double.url, auth=("admin", ADMIN_PASSWORD))
    source = {"type": "prometheus", "url": "http://127.0.0.1:9", "isDefault": True}
    document = {
        "apiVersion": 1,
        "datasources": [source | {"name": "A"}, source | {"name": "B"}],
    }
    _write_provisioning(doubles.home, document)
    expect(admin.post("/api/admin/provisioning/datasources/reload"), 500)
