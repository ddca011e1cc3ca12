"""The installed collection's site playbook on the converged sandbox.

The tarball is built and installed into a temporary collections path, and
`ansible-playbook vigil.monitoring.site` runs from there in check mode,
without the clone's ansible.cfg, which would put the clone on the path.
"""

from __future__ import annotations

import os
import subprocess

import yaml
from conftest import HOSTS, REPO, run_playbook

VERSION = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]


def test_installed_site_predicts_no_change(converged, tmp_path):
    built = subprocess.run(
        [
            "ansible-galaxy",
            "collection",
            "build",
            str(REPO),
            "--output-path",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    collections = tmp_path / "collections"
    env = {
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_CONFIG": str(tmp_path / "none.cfg"),
    }
    installed = subprocess.run(
        [
            "ansible-galaxy",
            "collection",
            "install",
            str(tmp_path / f"vigil-monitoring-{VERSION}.tar.gz"),
            "-p",
            str(collections),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, **env},
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    run = run_playbook("vigil.monitoring.site", "--check", env=env)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr
    assert run.changed_per_host == dict.fromkeys(HOSTS, 0), run.changed_tasks()
    # Every play came from the installed copy.
    installed_playbooks = str(
        collections / "ansible_collections/vigil/monitoring/playbooks"
    )
    plays = [play["play"]["path"] for play in run.report["plays"]]
    assert plays
    assert all(path.startswith(installed_playbooks) for path in plays)
