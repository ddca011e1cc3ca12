"""The Grafana modules through ansible-playbook, against the Grafana double.

The double serves HTTPS on the controller's loopback with the certificate of
the sandbox's Prometheus host (which names 127.0.0.1), and its data source
health check reaches the sandbox's real Prometheus.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests
from conftest import CA_FILE, MON1, REPO, write_grafana_ini

sys.path.insert(0, str(REPO / "tests"))

from grafana_double import GrafanaDouble, load_settings
from grafana_double.contract import check_exchanges

PLAYBOOK = REPO / "tests" / "integration" / "playbooks" / "grafana_content.yml"
ADMIN_PASSWORD = "sandbox-grafana-admin"


@pytest.fixture(scope="module")
def grafana(tmp_path_factory, sandbox, converged):
    """Start the double over HTTPS and create the users the content names."""
    home = tmp_path_factory.mktemp("grafana")
    keys = CA_FILE.parent / "hosts"
    ini = write_grafana_ini(
        home, keys / (MON1 + ".crt"), keys / (MON1 + ".key"), ADMIN_PASSWORD
    )
    double = GrafanaDouble(load_settings(ini, home)).start()
    for login in ("dev1", "dev2"):
        response = requests.post(
            f"{double.url}/api/admin/users",
            json={
                "login": login,
                "email": f"{login}@example.org",
                "password": f"{login}-password",
            },
            auth=("admin", ADMIN_PASSWORD),
            verify=str(CA_FILE),
            timeout=15,
        )
        response.raise_for_status()
    yield double
    double.stop()


def run_content(grafana, sandbox, *args: str) -> dict:
    """Run the content playbook and return the json callback's report."""
    extra_vars = {
        "grafana_url": grafana.url,
        "grafana_admin_password": ADMIN_PASSWORD,
        "grafana_ca_path": str(CA_FILE),
        "prometheus_url": f"https://{sandbox['addresses'][MON1]}:9090",
        "prometheus_password": sandbox["secrets"]["prometheus_web_password"],
        # The modules run in the controller's Python, which has the collection.
        "ansible_python_interpreter": sys.executable,
    }
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    done = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            "localhost,",
            str(PLAYBOOK),
            "--extra-vars",
            json.dumps(extra_vars),
            *args,
        ],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return json.loads(done.stdout[done.stdout.find("{") :])


@pytest.fixture(scope="module")
def runs(grafana, sandbox) -> dict:
    first = run_content(grafana, sandbox)
    second = run_content(grafana, sandbox)
    check = run_content(grafana, sandbox, "--check", "--diff")
    return {"first": first, "second": second, "check": check}


def test_content_first_run_changes(runs):
    assert runs["first"]["stats"]["localhost"]["changed"] == 4


def test_content_second_run_unchanged(runs):
    assert runs["second"]["stats"]["localhost"]["changed"] == 0


def test_content_check_mode_unchanged(runs):
    assert runs["check"]["stats"]["localhost"]["changed"] == 0


def test_datasource_health_reaches_prometheus(grafana, runs):
    response = requests.get(
        f"{grafana.url}/api/datasources/uid/prometheus/health",
        auth=("admin", ADMIN_PASSWORD),
        verify=str(CA_FILE),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "OK"


def test_team_member_sees_own_folder(grafana, runs):
    response = requests.get(
        f"{grafana.url}/api/dashboards/uid/node-overview",
        auth=("dev2", "dev2-password"),
        verify=str(CA_FILE),
        timeout=15,
    )
    assert response.status_code == 200


def test_playbook_requests_match_openapi(grafana, runs):
    problems = check_exchanges(grafana.records)
    assert problems == []
