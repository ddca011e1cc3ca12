"""Application metrics of the sample service, scraped and recorded by Prometheus.

The converged fixture already fails when playbooks/09_verify.yml finds a
dashboard panel without data or quantiles out of order. These tests name the
individual behaviours.
"""

from __future__ import annotations

import pytest
import requests
from conftest import APP1, CA_FILE, MON1

RULE_PREFIX = "service_route_quantile:http_server_request_duration_seconds"


def query(sandbox, expression: str) -> list:
    response = requests.get(
        f"https://{sandbox['addresses'][MON1]}:9090/api/v1/query",
        params={"query": expression},
        auth=("admin", sandbox["secrets"]["prometheus_web_password"]),
        verify=str(CA_FILE),
        timeout=15,
    )
    response.raise_for_status()
    return response.json()["data"]["result"]


def test_service_targets_have_catalogue_labels(sandbox, converged):
    series = query(sandbox, 'up{job="user_management", scheme="https"} == 1')
    assert len(series) == 2
    for sample in series:
        labels = sample["metric"]
        assert labels["service"] == "user_management"
        assert labels["team"] == "development"
        assert labels["tier"] == "1"
        assert labels["environment"] == "sandbox"


@pytest.mark.parametrize(
    "family",
    [
        "http_server_request_duration_seconds_bucket",
        "http_server_duration_milliseconds_bucket",
    ],
)
def test_both_histogram_names_scraped(sandbox, converged, family):
    assert query(sandbox, f'count({family}{{service="user_management"}})')


def test_login_p95_near_200ms(sandbox, converged):
    series = query(
        sandbox,
        f'{RULE_PREFIX}:histogram_quantile_rate5m{{http_route="/login",'
        ' quantile="0.95"}',
    )
    assert len(series) == 1
    assert 0.2 <= float(series[0]["value"][1]) <= 0.3


def test_error_ratio_of_login(sandbox, converged):
    # login fails with status 500 in 0.05% of the requests, so many 5-minute
    # windows contain no failure. The recording rule then gives 0, not no series.
    series = query(
        sandbox,
        'service_route:http_server_request_errors:ratio_rate5m{http_route="/login"}',
    )
    assert len(series) == 1
    assert 0.0 <= float(series[0]["value"][1]) < 0.01


def test_service_metrics_need_password(sandbox, converged):
    address = sandbox["addresses"][APP1]
    response = requests.get(
        f"https://{address}:9465/metrics", verify=str(CA_FILE), timeout=15
    )
    assert response.status_code == 401


def test_exporter_closed_to_network(sandbox, converged):
    address = sandbox["addresses"][APP1]
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://{address}:9464/metrics", timeout=5)
