"""node_exporter serves host metrics over HTTPS with a password only."""

from __future__ import annotations

import pytest
import requests
from conftest import get


@pytest.fixture
def url(address) -> str:
    return f"https://{address}:9100/metrics"


@pytest.fixture
def auth(host_vars) -> tuple[str, str]:
    return ("prometheus", host_vars["node_exporter_web_password"])


@pytest.fixture
def metrics(url, ca_file, auth) -> str:
    response = get(url, verify=ca_file, auth=auth)
    assert response.status_code == 200
    return response.text


@pytest.mark.parametrize(
    "family",
    [
        "node_cpu_seconds_total",
        "node_memory_MemAvailable_bytes",
        "node_disk_read_bytes_total",
        "node_network_receive_bytes_total",
        "node_load1",
        "node_pressure_cpu_waiting_seconds_total",
    ],
)
def test_metrics_cover_vm(metrics, family):
    assert f"\n{family}" in metrics


def test_no_pseudo_filesystems(metrics):
    lines = [
        line for line in metrics.splitlines() if line.startswith("node_filesystem_")
    ]
    for fstype in ("tmpfs", "overlay", "squashfs", "proc", "sysfs"):
        assert f'fstype="{fstype}"' not in "\n".join(lines)


def test_only_chosen_collectors(metrics):
    assert "node_textfile_scrape_error" not in metrics
    assert 'collector="arp"' not in metrics


def test_metrics_without_password_401(url, ca_file):
    assert get(url, verify=ca_file).status_code == 401


def test_metrics_wrong_password_401(url, ca_file):
    assert get(url, verify=ca_file, auth=("prometheus", "wrong")).status_code == 401


def test_plain_http_gets_no_data(url):
    response = get(url.replace("https://", "http://"))
    assert response.status_code == 400


def test_certificate_fails_without_private_ca(url):
    with pytest.raises(requests.exceptions.SSLError):
        get(url, verify=True)
