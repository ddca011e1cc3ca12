"""Prometheus serves HTTPS only, with a password, and scrapes over TLS."""

from __future__ import annotations

import re

import pytest
import requests
from conftest import get, wait_for

UNITS = {"y": 31536000, "w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
SIZES = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
SIZES.update({"KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40})


def seconds(duration: str) -> int:
    """Convert a Prometheus duration without milliseconds to seconds."""
    return sum(int(n) * UNITS[u] for n, u in re.findall(r"(\d+)([ywdhms])", duration))


def size_bytes(size: str) -> int:
    """Convert a Prometheus size such as 512MB or 512MiB to bytes."""
    number, unit = re.fullmatch(r"(\d+)([A-Za-z]+)", size).groups()
    return int(number) * SIZES[unit]


@pytest.fixture
def base(address) -> str:
    return f"https://{address}:9090"


@pytest.fixture
def auth(host_vars) -> tuple[str, str]:
    return ("admin", host_vars["prometheus_web_password"])


def test_ready_with_password(base, ca_file, auth):
    response = get(f"{base}/-/ready", verify=ca_file, auth=auth)
    assert response.status_code == 200


def test_api_without_password_401(base, ca_file):
    response = get(f"{base}/api/v1/query", params={"query": "up"}, verify=ca_file)
    assert response.status_code == 401


def test_api_wrong_password_401(base, ca_file):
    response = get(f"{base}/api/v1/query", verify=ca_file, auth=("admin", "wrong"))
    assert response.status_code == 401


def test_plain_http_gets_no_data(base):
    response = get(base.replace("https://", "http://") + "/api/v1/query?query=up")
    assert response.status_code == 400
    assert "HTTPS" in response.text


def test_certificate_fails_without_private_ca(base):
    with pytest.raises(requests.exceptions.SSLError):
        get(f"{base}/-/ready", verify=True)


def test_retention_flags_in_effect(base, ca_file, auth, host_vars):
    flags = get(f"{base}/api/v1/status/flags", verify=ca_file, auth=auth).json()["data"]
    want_time = host_vars["prometheus_retention_time"]
    want_size = host_vars["prometheus_retention_size"]
    assert seconds(flags["storage.tsdb.retention.time"]) == seconds(want_time)
    assert size_bytes(flags["storage.tsdb.retention.size"]) == size_bytes(want_size)


def active_targets(base: str, ca_file: str, auth) -> list[dict]:
    response = get(f"{base}/api/v1/targets", verify=ca_file, auth=auth)
    return response.json()["data"]["activeTargets"]


def test_every_target_up_over_https(base, ca_file, auth):
    def all_up() -> bool:
        active = active_targets(base, ca_file, auth)
        return len(active) == 3 and all(t["health"] == "up" for t in active)

    wait_for(all_up)
    active = active_targets(base, ca_file, auth)
    summary = [(t["scrapeUrl"], t["health"], t["lastError"]) for t in active]
    assert len(active) == 3, summary
    assert all(t["health"] == "up" for t in active), summary
    assert all(t["scrapeUrl"].startswith("https://") for t in active), summary


def test_up_query_counts_https_targets(base, ca_file, auth):
    def up_series() -> list:
        params = {"query": 'up{scheme="https"} == 1'}
        response = get(f"{base}/api/v1/query", params=params, verify=ca_file, auth=auth)
        return response.json()["data"]["result"]

    wait_for(lambda: len(up_series()) == 3)
    assert len(up_series()) == 3


def test_alertmanager_listed_over_https(base, ca_file, auth):
    def active_urls() -> list[str]:
        response = get(f"{base}/api/v1/alertmanagers", verify=ca_file, auth=auth)
        active = response.json()["data"]["activeAlertmanagers"]
        return [entry["url"] for entry in active]

    urls = wait_for(active_urls)
    assert sorted(urls) == [
        "https://172.30.214.10:9093/api/v2/alerts",
        "https://172.30.214.11:9093/api/v2/alerts",
    ]
