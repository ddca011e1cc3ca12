"""The checks of the alerting playbooks, run on the controller only.

The inventory has one host with a local connection, in no group unless a
test adds one, so only the first play runs. Its tasks are assertions that
run on localhost. Every run is in check mode.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
RULES = REPO / "playbooks/08_alert_rules.yml"
CHANNELS = REPO / "playbooks/05_alerting_channels.yml"


def channel(name: str) -> dict:
    return {"contact_point": name, "integrations": [{"type": "email", "to": ["a@b.c"]}]}


def run_checks(
    tmp_path: Path,
    variables: dict,
    groups: dict | None = None,
    playbook: Path = RULES,
) -> subprocess.CompletedProcess:
    host = {"checked": {"ansible_connection": "local"}}
    children = {name: {"hosts": {"checked": None}} for name in groups or {}}
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": host, "children": children}}))
    extra = tmp_path / "vars.yml"
    extra.write_text(yaml.safe_dump(variables))
    command = ["ansible-playbook", "--check", "-i", str(inventory)]
    command += ["-e", f"@{extra}", str(playbook)]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")},
    )


def alerting_vars(service: dict) -> dict:
    return {
        "vigil_alerting_backends": ["grafana"],
        "vigil_slo_tiers": {1: {"objective": 0.999}},
        "vigil_services": [service],
        "vigil_alert_channels": {
            "infrastructure": channel("infrastructure"),
            "development": channel("development"),
        },
    }


def test_alert_checks_pass_valid_settings(tmp_path):
    service = {"name": "cms", "title": "CMS", "team": "development", "tier": 1}
    done = run_checks(tmp_path, alerting_vars(service))
    assert done.returncode == 0, done.stdout + done.stderr


def test_alert_checks_name_service_without_team(tmp_path):
    done = run_checks(tmp_path, alerting_vars({"name": "cms", "tier": 1}))
    assert done.returncode != 0
    assert "vigil_services[0].team (cms) is None" in done.stdout


def test_alert_rules_default_to_grafana(tmp_path):
    service = {"name": "cms", "title": "CMS", "team": "development", "tier": 1}
    variables = alerting_vars(service)
    del variables["vigil_alerting_backends"]
    # The CA file does not exist, so the Grafana task fails before any
    # request, after its loop has the rule groups.
    variables.update(
        vigil_address="127.0.0.1",
        grafana_http_port=1,
        grafana_admin_password="unused",
        pki_ca_file=str(tmp_path / "ca.crt"),
    )
    done = run_checks(tmp_path, variables, {"grafana": None})
    assert "alerts_development in folder development" in done.stdout


@pytest.mark.parametrize("backends", [["Grafana"], "grafana"])
@pytest.mark.parametrize("playbook", [RULES, CHANNELS])
def test_alerting_backends_rejected(tmp_path, backends, playbook):
    service = {"name": "cms", "title": "CMS", "team": "development", "tier": 1}
    variables = {**alerting_vars(service), "vigil_alerting_backends": backends}
    done = run_checks(tmp_path, variables, playbook=playbook)
    assert done.returncode != 0
    assert "use a list of grafana and/or alertmanager" in done.stdout
