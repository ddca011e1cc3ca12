"""Alertmanager serves HTTPS only, with a password, and routes by team."""

from __future__ import annotations

import uuid

import pytest
import requests
from conftest import get, wait_for


@pytest.fixture
def base(address) -> str:
    return f"https://{address}:9093"


@pytest.fixture
def auth(host_vars) -> tuple[str, str]:
    return ("admin", host_vars["alertmanager_web_password"])


def test_health_with_password_200(base, ca_file, auth):
    response = get(f"{base}/-/healthy", verify=ca_file, auth=auth)
    assert response.status_code == 200


def test_api_without_password_401(base, ca_file):
    response = get(f"{base}/api/v2/status", verify=ca_file)
    assert response.status_code == 401


def test_api_wrong_password_401(base, ca_file):
    response = get(f"{base}/api/v2/status", verify=ca_file, auth=("admin", "wrong"))
    assert response.status_code == 401


def test_plain_http_gets_no_data(base):
    response = get(base.replace("https://", "http://") + "/api/v2/status")
    assert response.status_code == 400
    assert "HTTPS" in response.text


def test_certificate_fails_without_private_ca(base):
    with pytest.raises(requests.exceptions.SSLError):
        get(f"{base}/-/healthy", verify=True)


def test_cluster_disabled(base, ca_file, auth):
    status = get(f"{base}/api/v2/status", verify=ca_file, auth=auth).json()
    assert status["cluster"]["status"] == "disabled"


def receivers_of(base: str, ca_file: str, auth, alertname: str) -> list[str]:
    """Return the receivers of the alert groups that hold ``alertname``."""
    response = get(f"{base}/api/v2/alerts/groups", verify=ca_file, auth=auth)
    response.raise_for_status()
    return sorted(
        group["receiver"]["name"]
        for group in response.json()
        if any(alert["labels"]["alertname"] == alertname for alert in group["alerts"])
    )


def post_alert(base: str, ca_file: str, auth, labels: dict) -> None:
    response = requests.post(
        f"{base}/api/v2/alerts",
        json=[{"labels": labels, "annotations": {"summary": "molecule verify"}}],
        verify=ca_file,
        auth=auth,
        timeout=15,
    )
    assert response.status_code == 200, response.text


def test_development_alert_routed_to_development(base, ca_file, auth):
    alertname = f"VerifyRouting{uuid.uuid4().hex[:8]}"
    labels = {"alertname": alertname, "team": "development", "service": "verify"}
    post_alert(base, ca_file, auth, labels)

    receivers = wait_for(lambda: receivers_of(base, ca_file, auth, alertname))
    assert "development" in receivers
    assert "infrastructure" not in receivers
    assert receivers == ["development"]


def test_alert_of_unknown_team_goes_to_null(base, ca_file, auth):
    alertname = f"VerifyUnrouted{uuid.uuid4().hex[:8]}"
    post_alert(base, ca_file, auth, {"alertname": alertname, "team": "nobody"})

    receivers = wait_for(lambda: receivers_of(base, ca_file, auth, alertname))
    assert receivers == ["null"]
