"""A password change rewrites only the web configs and restarts nothing."""

from __future__ import annotations

import pytest
import requests
from conftest import APP2, CA_FILE, HOSTS, MON1, main_pid, run_playbook

# Tasks allowed to change when only passwords change: the web configs of both
# services, the password file Prometheus uses to scrape node_exporter, and
# Grafana's data source, which logs in to Prometheus, with its reload.
ROTATION_TASKS = {
    "Write the web config (TLS and basic auth)",
    "Write the scrape passwords",
    "Write the Prometheus data source provisioning file",
    "Reload the data source provisioning files",
}
NEW_PASSWORDS = {
    "prometheus_web_password": "rotated-prometheus-9f2c",
    "node_exporter_web_password": "rotated-node-exporter-4be1",
}


def task_names(changed: set[tuple[str, str]]) -> set[str]:
    return {name.split(" : ")[-1] for _, name in changed}


def status(url: str, auth: tuple[str, str]) -> int:
    return requests.get(url, auth=auth, verify=str(CA_FILE), timeout=15).status_code


@pytest.fixture(scope="module")
def rotation(sandbox, converged):
    """Rotate both passwords, and put the sandbox's own back afterwards."""
    services = [(host, "node_exporter") for host in HOSTS]
    services += [(MON1, "prometheus"), (MON1, "grafana-server")]
    pids = {key: main_pid(*key) for key in services}
    predicted = run_playbook("site.yml", "--check", extra_vars=NEW_PASSWORDS)
    applied = run_playbook("site.yml", extra_vars=NEW_PASSWORDS)
    after = {key: main_pid(*key) for key in pids}
    rerun = run_playbook("site.yml", extra_vars=NEW_PASSWORDS)
    yield {
        "pids_before": pids,
        "pids_after": after,
        "predicted": predicted,
        "applied": applied,
        "rerun": rerun,
    }
    restored = run_playbook("site.yml")
    assert restored.returncode == 0, restored.stdout[-4000:]


def test_rotation_run_succeeds(rotation):
    assert rotation["applied"].returncode == 0, rotation["applied"].stdout[-4000:]


def test_rotation_changes_only_web_config(rotation):
    changed = task_names(rotation["applied"].changed_tasks())
    assert changed, "the rotation changed nothing"
    assert changed <= ROTATION_TASKS


def test_rotation_check_mode_predicts_changes(rotation):
    assert rotation["predicted"].returncode == 0
    assert rotation["predicted"].changed_tasks() == rotation["applied"].changed_tasks()


def test_rotation_restarts_no_service(rotation):
    assert rotation["pids_after"] == rotation["pids_before"]


def test_rotation_rerun_changes_nothing(rotation):
    rerun = rotation["rerun"]
    assert rerun.returncode == 0
    assert rerun.changed_per_host == dict.fromkeys(HOSTS, 0), rerun.changed_tasks()


def test_rotation_new_password_works_old_fails(sandbox, rotation):
    prometheus = f"https://{sandbox['addresses'][MON1]}:9090/-/ready"
    node = f"https://{sandbox['addresses'][APP2]}:9100/metrics"
    old = sandbox["secrets"]
    assert (
        status(prometheus, ("admin", NEW_PASSWORDS["prometheus_web_password"])) == 200
    )
    assert status(prometheus, ("admin", old["prometheus_web_password"])) == 401
    new_node = NEW_PASSWORDS["node_exporter_web_password"]
    assert status(node, ("prometheus", new_node)) == 200
    assert status(node, ("prometheus", old["node_exporter_web_password"])) == 401


def test_rotation_keeps_grafana_datasource(sandbox, rotation):
    admin = ("admin", sandbox["secrets"]["grafana_admin_password"])
    health = requests.get(
        f"https://{sandbox['addresses'][MON1]}:3000"
        "/api/datasources/uid/prometheus/health",
        auth=admin,
        verify=str(CA_FILE),
        timeout=30,
    )
    assert health.status_code == 200, health.text
    assert health.json()["status"] == "OK"
