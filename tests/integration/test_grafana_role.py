"""Grafana in the sandbox: TLS, refusals, the data source, the admin password.

The sandbox's Grafana is the HTTP API double, which the grafana role's archive
method installs where Grafana's server would run. Its data source health
check queries the sandbox's real Prometheus.
"""

from __future__ import annotations

import pytest
import requests
from conftest import CA_FILE, HOSTS, MON1, docker_exec, main_pid, run_playbook

PLAYBOOK = "playbooks/02_deploy_grafana.yml"
DATASOURCE_FILE = "/etc/grafana/provisioning/datasources/vigil-monitoring.yml"
NEW_ADMIN_PASSWORD = "rotated-grafana-admin-7d31"
ADMIN_TASKS = {
    "Write the admin password file",
    "Set the admin password with Grafana's CLI",
}


def task_names(changed: set[tuple[str, str]]) -> set[str]:
    return {name.split(" : ")[-1] for _, name in changed}


@pytest.fixture(scope="module")
def base(sandbox, converged) -> str:
    return f"https://{sandbox['addresses'][MON1]}:3000"


@pytest.fixture(scope="module")
def admin(sandbox) -> tuple[str, str]:
    return ("admin", sandbox["secrets"]["grafana_admin_password"])


def datasource_health(base: str, auth: tuple[str, str]) -> requests.Response:
    return requests.get(
        f"{base}/api/datasources/uid/prometheus/health",
        auth=auth,
        verify=str(CA_FILE),
        timeout=30,
    )


def test_health_over_https_with_the_ca(base):
    response = requests.get(f"{base}/api/health", verify=str(CA_FILE), timeout=15)
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_plain_http_gets_no_data(base):
    plain = base.replace("https://", "http://")
    try:
        response = requests.get(f"{plain}/api/health", timeout=15)
    except requests.ConnectionError:
        return
    assert response.status_code == 400


def test_anonymous_search_is_rejected(base):
    response = requests.get(f"{base}/api/search", verify=str(CA_FILE), timeout=15)
    assert response.status_code == 401


def test_datasource_reaches_prometheus(base, admin):
    response = datasource_health(base, admin)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "OK"


def test_datasource_query_returns_up_series(base, admin):
    response = requests.post(
        f"{base}/api/ds/query",
        auth=admin,
        verify=str(CA_FILE),
        timeout=30,
        json={
            "from": "now-5m",
            "to": "now",
            "queries": [
                {
                    "refId": "A",
                    "datasource": {"uid": "prometheus"},
                    "expr": 'up{job="node"}',
                    "instant": True,
                }
            ],
        },
    )
    assert response.status_code == 200, response.text
    frames = response.json()["results"]["A"]["frames"]
    assert len(frames) == len(HOSTS)


@pytest.fixture(scope="module")
def rotation(sandbox, converged):
    """Change the admin password, and put the sandbox's own back afterwards."""
    new = {"grafana_admin_password": NEW_ADMIN_PASSWORD}
    pid = main_pid(MON1, "grafana-server")
    predicted = run_playbook(PLAYBOOK, "--check", extra_vars=new)
    applied = run_playbook(PLAYBOOK, extra_vars=new)
    pid_after = main_pid(MON1, "grafana-server")
    rerun = run_playbook(PLAYBOOK, extra_vars=new)
    yield {
        "predicted": predicted,
        "applied": applied,
        "rerun": rerun,
        "pids": (pid, pid_after),
    }
    restored = run_playbook(PLAYBOOK)
    assert restored.returncode == 0, restored.stdout[-4000:]


def test_admin_password_set_through_cli(rotation):
    applied = rotation["applied"]
    assert applied.returncode == 0, applied.stdout[-4000:]
    assert task_names(applied.changed_tasks()) == ADMIN_TASKS


def test_admin_password_check_mode_predicts(rotation):
    predicted = rotation["predicted"]
    assert predicted.returncode == 0, predicted.stdout[-4000:]
    assert predicted.changed_tasks() == rotation["applied"].changed_tasks()


def test_admin_password_restarts_nothing(rotation):
    before, after = rotation["pids"]
    assert before == after


def test_admin_password_new_works_old_fails(base, admin, rotation):
    def status(auth: tuple[str, str]) -> int:
        return requests.get(
            f"{base}/api/user", auth=auth, verify=str(CA_FILE), timeout=15
        ).status_code

    assert status(("admin", NEW_ADMIN_PASSWORD)) == 200
    assert status(admin) == 401


def test_admin_password_rerun_changes_nothing(rotation):
    rerun = rotation["rerun"]
    assert rerun.returncode == 0
    assert rerun.changed_per_host == {MON1: 0}, rerun.changed_tasks()


def test_dead_datasource_url_rolls_back(sandbox, base, admin):
    before = docker_exec(MON1, "sha256sum", DATASOURCE_FILE)
    # Nothing listens on port 9 of the Prometheus host.
    url = f"https://{sandbox['addresses'][MON1]}:9"
    run = run_playbook(
        PLAYBOOK,
        extra_vars={
            "grafana_prometheus_url": url,
            "grafana_datasource_health_retries": 1,
            "grafana_datasource_health_delay": 1,
        },
    )
    assert run.returncode != 0
    assert "grafana_prometheus_url" in run.stdout
    assert url in run.stdout
    assert docker_exec(MON1, "sha256sum", DATASOURCE_FILE) == before
    listing = docker_exec(MON1, "ls", "/etc/grafana/provisioning/datasources")
    assert listing.split() == ["vigil-monitoring.yml"]
    health = datasource_health(base, admin)
    assert health.status_code == 200, health.text
    assert health.json()["status"] == "OK"
