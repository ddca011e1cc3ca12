"""site.yml on the sandbox: converges, then changes nothing on a rerun."""

from __future__ import annotations

import requests
from conftest import APP1, CA_FILE, HOSTS, MON1, run_playbook


def test_site_first_run_succeeds(converged):
    assert set(converged.failed_per_host) == set(HOSTS)
    assert all(count == 0 for count in converged.failed_per_host.values())


def test_site_rerun_changes_nothing(converged):
    rerun = run_playbook("site.yml")
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    assert rerun.changed_per_host == dict.fromkeys(HOSTS, 0), rerun.changed_tasks()


def test_check_mode_predicts_no_change(converged):
    check = run_playbook("site.yml", "--check")
    assert check.returncode == 0, check.stdout[-4000:]
    assert check.changed_per_host == dict.fromkeys(HOSTS, 0), check.changed_tasks()


def prometheus_query(sandbox, query: str) -> list:
    address = sandbox["addresses"][MON1]
    response = requests.get(
        f"https://{address}:9090/api/v1/query",
        params={"query": query},
        auth=("admin", sandbox["secrets"]["prometheus_web_password"]),
        verify=str(CA_FILE),
        timeout=15,
    )
    response.raise_for_status()
    return response.json()["data"]["result"]


def test_every_node_exporter_up_over_https(sandbox, converged):
    series = prometheus_query(sandbox, 'up{job="node", scheme="https"} == 1')
    instances = sorted(s["metric"]["instance"] for s in series)
    assert instances == sorted(HOSTS)


def test_prometheus_rejects_anonymous_request(sandbox, converged):
    address = sandbox["addresses"][MON1]
    response = requests.get(
        f"https://{address}:9090/api/v1/query?query=up", verify=str(CA_FILE), timeout=15
    )
    assert response.status_code == 401


def test_node_exporter_rejects_plain_http(sandbox, converged):
    address = sandbox["addresses"][APP1]
    response = requests.get(f"http://{address}:9100/metrics", timeout=15)
    assert response.status_code == 400


def test_retention_in_effect(sandbox, converged):
    address = sandbox["addresses"][MON1]
    response = requests.get(
        f"https://{address}:9090/api/v1/status/runtimeinfo",
        auth=("admin", sandbox["secrets"]["prometheus_web_password"]),
        verify=str(CA_FILE),
        timeout=15,
    )
    # The sandbox inventory sets 7d and 1GB; Prometheus prints them as 1w, 1GiB.
    assert response.json()["data"]["storageRetention"] == "1w or 1GiB"
