# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for grafana_datasource, run as a subprocess against the Grafana double."""

from __future__ import annotations

import json
from typing import Any

CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"


def assert_ok(result: dict[str, Any]) -> dict[str, Any]:
    assert not result.get("failed"), result.get("msg")
    return result


def prometheus_args(unique: str, **extra: Any) -> dict[str, Any]:
    args = {
        "name": f"Prometheus {unique}",
        "uid": f"{unique}-prom",
        "datasource_url": "https://prometheus.example.test:9090",
        "basic_auth_user": "grafana",
        "basic_auth_password": "scrape-secret",
        "tls_ca_cert": CA_PEM,
        "scrape_interval": "15s",
        "http_method": "POST",
    }
    args.update(extra)
    return args


def test_prometheus_created_then_unchanged(run_module, admin_api, unique):
    args = prometheus_args(unique)

    first = assert_ok(run_module("grafana_datasource", args))
    second = assert_ok(run_module("grafana_datasource", args))

    assert first["changed"] is True
    assert first["created"] is True
    assert first["uid"] == f"{unique}-prom"
    assert second["changed"] is False
    assert second["secure_json_fields"] == ["basicAuthPassword", "tlsCACert"]
    stored = admin_api.ok("GET", f"/api/datasources/uid/{unique}-prom")
    assert stored["basicAuth"] is True
    assert stored["jsonData"] == {
        "timeInterval": "15s",
        "httpMethod": "POST",
        "tlsAuthWithCACert": True,
    }
    assert "scrape-secret" not in json.dumps(first)


def test_datasource_check_mode_creates_nothing(run_module, admin_api, unique):
    result = assert_ok(
        run_module("grafana_datasource", prometheus_args(unique), check_mode=True)
    )

    assert result["changed"] is True
    status, _ = admin_api.call("GET", f"/api/datasources/uid/{unique}-prom")
    assert status == 404


def test_datasource_url_change_diff(run_module, admin_api, unique):
    assert_ok(run_module("grafana_datasource", prometheus_args(unique)))
    args = prometheus_args(unique, datasource_url="http://other.example.test:9090")

    checked = assert_ok(run_module("grafana_datasource", args, check_mode=True))
    result = assert_ok(run_module("grafana_datasource", args, diff_mode=True))

    assert checked["changed"] is True
    assert result["changed"] is True
    before = json.loads(result["diff"]["before"])
    after = json.loads(result["diff"]["after"])
    assert before["url"] == "https://prometheus.example.test:9090"
    assert after["url"] == "http://other.example.test:9090"
    assert after["secureJsonFields"] == ["basicAuthPassword", "tlsCACert"]
    assert "scrape-secret" not in json.dumps(result)
    stored = admin_api.ok("GET", f"/api/datasources/uid/{unique}-prom")
    assert stored["url"] == "http://other.example.test:9090"
    assert stored["secureJsonFields"] == {"basicAuthPassword": True, "tlsCACert": True}


def test_secret_always_reports_change(run_module, unique):
    args = prometheus_args(unique, secure_json_data_update="always")
    assert_ok(run_module("grafana_datasource", args))

    result = assert_ok(run_module("grafana_datasource", args))

    assert result["changed"] is True


def test_new_secret_key_sent_on_create_mode(run_module, admin_api, unique):
    assert_ok(run_module("grafana_datasource", prometheus_args(unique)))
    args = prometheus_args(
        unique,
        json_data={"httpHeaderName1": "X-Scope-OrgID"},
        secure_json_data={"httpHeaderValue1": "tenant-a"},
    )

    first = assert_ok(run_module("grafana_datasource", args))
    second = assert_ok(run_module("grafana_datasource", args))

    assert first["changed"] is True
    assert second["changed"] is False
    stored = admin_api.ok("GET", f"/api/datasources/uid/{unique}-prom")
    assert stored["secureJsonFields"]["httpHeaderValue1"] is True
    assert stored["jsonData"]["httpHeaderName1"] == "X-Scope-OrgID"


def test_generic_type_by_name(run_module, admin_api, unique):
    args = {
        "name": f"Loki {unique}",
        "type": "loki",
        "datasource_url": "http://loki.example.test:3100",
        "json_data": {"maxLines": 500},
    }

    first = assert_ok(run_module("grafana_datasource", args))
    second = assert_ok(run_module("grafana_datasource", args))

    assert first["changed"] is True
    assert second["changed"] is False
    assert second["uid"] == first["uid"]
    stored = admin_api.ok("GET", f"/api/datasources/uid/{first['uid']}")
    assert stored["jsonData"] == {"maxLines": 500}


def test_default_flag_managed(run_module, admin_api, unique):
    args = prometheus_args(unique, is_default=True)

    first = assert_ok(run_module("grafana_datasource", args))
    unset = assert_ok(run_module("grafana_datasource", prometheus_args(unique)))

    assert first["changed"] is True
    assert unset["changed"] is False
    stored = admin_api.ok("GET", f"/api/datasources/uid/{unique}-prom")
    assert stored["isDefault"] is True


def test_datasource_absent(run_module, admin_api, unique):
    assert_ok(run_module("grafana_datasource", prometheus_args(unique)))
    args = {"name": f"Prometheus {unique}", "state": "absent"}

    first = assert_ok(run_module("grafana_datasource", args))
    second = assert_ok(run_module("grafana_datasource", args))

    assert first["changed"] is True
    assert second["changed"] is False
    status, _ = admin_api.call("GET", f"/api/datasources/uid/{unique}-prom")
    assert status == 404


def test_client_cert_requires_key(run_module, unique):
    args = prometheus_args(unique, tls_client_cert=CA_PEM)

    result = run_module("grafana_datasource", args)

    assert result["failed"] is True
    assert "tls_client_cert" in result["msg"]
    assert "tls_client_key" in result["msg"]
