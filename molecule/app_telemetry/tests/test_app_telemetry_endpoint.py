"""The service's metrics are served over HTTPS with a password only."""

from __future__ import annotations

import pytest
import requests
from conftest import get, wait_for


@pytest.fixture
def url(address) -> str:
    return f"https://{address}:9465/metrics"


@pytest.fixture
def auth(host_vars) -> tuple[str, str]:
    return ("prometheus", host_vars["app_telemetry_web_password"])


@pytest.fixture
def metrics(url, ca_file, auth) -> str:
    # The load generator needs a moment after a restart to record requests.
    def fetch() -> str:
        response = get(url, verify=ca_file, auth=auth)
        assert response.status_code == 200
        text = response.text
        return text if "http_server_request_duration_seconds_bucket" in text else ""

    return wait_for(fetch) or get(url, verify=ca_file, auth=auth).text


def test_metrics_have_target_info(metrics):
    assert 'service_name="user_management"' in metrics
    assert 'deployment_environment_name="molecule"' in metrics


def test_metrics_stable_histogram_seconds(metrics):
    assert "http_server_request_duration_seconds_bucket{" in metrics
    assert 'http_route="/login"' in metrics


def test_metrics_without_older_histogram(metrics):
    # The drop-in selects the stable HTTP conventions only.
    assert "http_server_duration_milliseconds" not in metrics


def test_metrics_without_password_401(url, ca_file):
    assert get(url, verify=ca_file).status_code == 401


def test_metrics_wrong_password_401(url, ca_file):
    response = get(url, verify=ca_file, auth=("prometheus", "wrong"))
    assert response.status_code == 401


def test_other_path_404(address, ca_file, auth):
    response = get(f"https://{address}:9465/", verify=ca_file, auth=auth)
    assert response.status_code == 404


def test_plain_http_gets_no_data(url):
    response = get(url.replace("https://", "http://"))
    assert response.status_code == 400


def test_certificate_fails_without_private_ca(url):
    with pytest.raises(requests.exceptions.SSLError):
        get(url, verify=True)


def test_exporter_not_reachable_from_network(address):
    with pytest.raises(requests.exceptions.ConnectionError):
        get(f"http://{address}:9464/metrics", timeout=5)
