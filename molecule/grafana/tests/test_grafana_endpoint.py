"""Grafana serves HTTPS only, rejects anonymous users and reaches Prometheus."""

from __future__ import annotations

import pytest
import requests
from conftest import get, wait_for


@pytest.fixture
def base(address) -> str:
    return f"https://{address}:3000"


@pytest.fixture
def admin(host_vars) -> tuple[str, str]:
    return ("admin", host_vars["grafana_admin_password"])


def test_health_over_https(base, ca_file):
    response = get(f"{base}/api/health", verify=ca_file)
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_certificate_fails_without_private_ca(base):
    with pytest.raises(requests.exceptions.SSLError):
        get(f"{base}/api/health", verify=True)


def test_plain_http_rejected(base):
    url = base.replace("https://", "http://") + "/api/health"
    try:
        response = get(url)
    except requests.exceptions.ConnectionError:
        return
    assert response.status_code == 400


def test_anonymous_search_401(base, ca_file):
    response = get(f"{base}/api/search", verify=ca_file)
    assert response.status_code == 401


def test_wrong_admin_password_401(base, ca_file):
    response = get(f"{base}/api/user", verify=ca_file, auth=("admin", "wrong-password"))
    assert response.status_code == 401


def test_admin_password_from_inventory(base, ca_file, admin):
    response = get(f"{base}/api/user", verify=ca_file, auth=admin)
    assert response.status_code == 200
    assert response.json()["isGrafanaAdmin"] is True


def test_datasource_provisioned(base, ca_file, admin):
    response = get(f"{base}/api/datasources/uid/prometheus", verify=ca_file, auth=admin)
    assert response.status_code == 200
    source = response.json()
    assert source["type"] == "prometheus"
    assert source["url"] == "https://172.30.216.10:9090"
    assert source["basicAuth"] is True
    assert source["readOnly"] is True
    assert source["jsonData"]["tlsAuthWithCACert"] is True
    assert source["secureJsonFields"]["tlsCACert"] is True
    assert source["secureJsonFields"]["basicAuthPassword"] is True


def test_datasource_health_ok(base, ca_file, admin):
    url = f"{base}/api/datasources/uid/prometheus/health"

    def healthy():
        response = get(url, verify=ca_file, auth=admin)
        return response if response.status_code == 200 else None

    wait_for(healthy, timeout=30)
    response = get(url, verify=ca_file, auth=admin)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "OK", response.text


def test_query_through_datasource(base, ca_file, admin):
    body = {
        "from": "now-5m",
        "to": "now",
        "queries": [
            {
                "refId": "A",
                "datasource": {"type": "prometheus", "uid": "prometheus"},
                "expr": 'up{job="prometheus"}',
                "instant": True,
            }
        ],
    }
    response = requests.post(
        f"{base}/api/ds/query", json=body, verify=ca_file, auth=admin, timeout=15
    )
    assert response.status_code == 200, response.text
    frames = response.json()["results"]["A"]["frames"]
    assert len(frames) == 1, frames
    assert frames[0]["data"]["values"][1] == [1.0]
