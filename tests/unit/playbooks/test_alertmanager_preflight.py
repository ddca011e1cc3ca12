"""The preflight checks of the alertmanager role, run on the controller only.

The playbook runs the role's preflight.yml in check mode on a local host.
The checks under test are assertions that fail before any task reads the
host.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = [
    {
        "name": "Run the Alertmanager preflight checks",
        "hosts": "all",
        "gather_facts": False,
        "tasks": [
            {
                "name": "Run the preflight checks",
                "ansible.builtin.include_role": {
                    "name": "vigil.monitoring.alertmanager",
                    "tasks_from": "preflight.yml",
                },
            }
        ],
    }
]


def run_preflight(tmp_path: Path, variables: dict) -> subprocess.CompletedProcess:
    host = {"checked": {"ansible_connection": "local"}}
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": host}}))
    extra = tmp_path / "vars.yml"
    extra.write_text(yaml.safe_dump(variables))
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(yaml.safe_dump(PLAYBOOK, sort_keys=False))
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


@pytest.mark.parametrize("retention", ["5d", "1w", "0s", "five days"])
def test_alertmanager_retention_rejected(tmp_path, retention):
    done = run_preflight(tmp_path, {"alertmanager_data_retention": retention})
    assert done.returncode != 0
    assert f"alertmanager_data_retention is '{retention}'" in done.stdout


@pytest.mark.parametrize("retention", ["120h", "1h30m", "90s"])
def test_alertmanager_retention_accepted(tmp_path, retention):
    done = run_preflight(tmp_path, {"alertmanager_data_retention": retention})
    assert "alertmanager_data_retention is" not in done.stdout
    assert "TASK [vigil.monitoring.alertmanager : Check the web users" in done.stdout
