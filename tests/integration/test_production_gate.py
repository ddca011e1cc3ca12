"""playbooks/10_deploy_production.yml on the second sandbox set.

The main sandbox is used as staging: its verification record opens the
gate. The second set (VIGIL_SANDBOX_SET=production, three hosts, batches of
one host) is used as production. The tests run in file order: rejected
rollouts first, on hosts that have never been deployed to, then a rollout
after a verification, then a rollout whose second batch fails.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import (
    NAME,
    REPO,
    SANDBOX,
    docker_exec,
    host_fingerprint,
    main_pid,
    run_playbook,
)

PRODUCTION = {"VIGIL_SANDBOX_SET": "production"}
PROD_MON1, PROD_APP1, PROD_APP2 = (
    f"{NAME}-prod-mon1",
    f"{NAME}-prod-app1",
    f"{NAME}-prod-app2",
)
PROD_HOSTS = (PROD_MON1, PROD_APP1, PROD_APP2)
RECORDS = REPO / ".cache" / "sandbox" / "verified"
STAGING_RECORD = RECORDS / "sandbox.json"
PRODUCTION_RECORD = RECORDS / "sandbox-production.json"
OVERRIDE_LOG = REPO / ".cache" / "sandbox-production" / "overrides.log"
BACKUP_DIR = "/var/backups/vigil-monitoring"
DEPLOY = "playbooks/10_deploy_production.yml"
# node_exporter's default collector set of the role, plus one collector:
# an unknown one on PROD_APP1 stops node_exporter from starting there, which
# the preflight does not catch, so the rollout fails in that host's batch.
COLLECTORS = (
    "['cpu', 'diskstats', 'filesystem', 'loadavg', 'meminfo', 'netdev',"
    " 'pressure', 'stat', 'time', 'uname', 'vmstat']"
)
BREAK_APP1 = {
    "node_exporter_collectors": (
        "{{ " + COLLECTORS + " + (['no_such_collector'] if inventory_hostname == '"
        f"{PROD_APP1}' else ['netstat']) }}}}"
    )
}


def deploy(*args: str, extra_vars: dict | None = None):
    return run_playbook(DEPLOY, *args, extra_vars=extra_vars, env=PRODUCTION)


def backups(host: str) -> list[str]:
    listing = docker_exec(host, "sh", "-c", f"ls {BACKUP_DIR} 2>/dev/null || true")
    return listing.split()


def fingerprints() -> dict[str, str]:
    return {host: host_fingerprint(host) for host in PROD_HOSTS}


def write_record(version: str) -> None:
    RECORDS.mkdir(parents=True, exist_ok=True)
    record = {
        "environment": "sandbox",
        "collection_version": version,
        "passed": True,
        "verified_at": "2026-01-01T00:00:00Z",
        "hosts": [],
    }
    STAGING_RECORD.write_text(json.dumps(record))


@pytest.fixture(scope="module")
def production(sandbox) -> dict[str, str]:
    """Create the production set anew; return the fingerprints of its hosts."""
    env = dict(os.environ, **PRODUCTION)
    subprocess.run([str(SANDBOX), "down"], cwd=REPO, check=True, env=env)
    subprocess.run([str(SANDBOX), "up"], cwd=REPO, check=True, env=env)
    return fingerprints()


def assert_hosts_untouched(before: dict[str, str]) -> None:
    assert fingerprints() == before
    assert all(backups(host) == [] for host in PROD_HOSTS)


def assert_nothing_changed(run, before: dict[str, str]) -> None:
    assert all(count == 0 for count in run.changed_per_host.values())
    assert_hosts_untouched(before)


def test_gate_rejects_missing_record(production):
    STAGING_RECORD.unlink(missing_ok=True)
    run = deploy()
    assert run.returncode != 0
    assert "Promotion gate: rejected the deployment" in run.stdout
    assert f"no verification record of sandbox exists at {RECORDS}" in run.stdout
    assert_nothing_changed(run, production)


def test_gate_rejects_other_version(production):
    write_record("0.0.0-other")
    run = deploy()
    assert run.returncode != 0
    assert "records version 0.0.0-other" in run.stdout
    assert_nothing_changed(run, production)


def test_gate_rejects_override_without_reason(production):
    run = deploy(extra_vars={"promotion_override": True})
    assert run.returncode != 0
    assert "promotion_override_reason is empty" in run.stdout
    assert not OVERRIDE_LOG.exists()
    assert_nothing_changed(run, production)


def test_override_with_reason_is_logged(production):
    # A port that the preflight rejects stops the run right after the gate,
    # so this shows the logged override without a rollout.
    run = deploy(
        extra_vars={
            "promotion_override": True,
            "promotion_override_reason": "hotfix for an expired certificate",
            "node_exporter_port": 99999,
        }
    )
    assert run.returncode != 0
    assert "WARNING: Promotion gate overridden" in run.stdout
    log = OVERRIDE_LOG.read_text()
    assert 'reason="hotfix for an expired certificate"' in log
    assert "skipped=sandbox" in log
    assert "node_exporter_port" in run.stdout
    # The preflight may issue the certificates on the controller: only the
    # hosts must be untouched.
    assert_hosts_untouched(production)


def test_deploy_passes_after_verify(production, converged):
    verify = run_playbook("playbooks/09_verify.yml")
    assert verify.returncode == 0, verify.stdout[-4000:]
    record = json.loads(STAGING_RECORD.read_text())
    assert record["passed"] is True
    assert record["collection_version"] != "0.0.0-other"

    run = deploy()
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr
    assert "Promotion gate: sandbox passed its verification" in run.stdout
    assert all(count == 0 for count in run.failed_per_host.values())
    # The verification of production ran to its end and recorded it.
    assert json.loads(PRODUCTION_RECORD.read_text())["hosts"] == sorted(PROD_HOSTS)
    for host in PROD_HOSTS:
        assert main_pid(host, "node_exporter") > 0


def test_failed_batch_stops_rollout(production):
    before = fingerprints()
    app2_pid = main_pid(PROD_APP2, "node_exporter")
    backups_before = {host: backups(host) for host in PROD_HOSTS}
    record_before = PRODUCTION_RECORD.read_text()

    run = deploy(extra_vars=BREAK_APP1)

    assert run.returncode != 0
    # Batch 1: PROD_MON1 took the change, after a backup of its configuration.
    assert run.changed_per_host[PROD_MON1] > 0
    assert run.failed_per_host[PROD_MON1] == 0
    assert len(backups(PROD_MON1)) == len(backups_before[PROD_MON1]) + 1
    # Batch 2: PROD_APP1 failed, so the rollout stopped there.
    assert run.failed_per_host[PROD_APP1] == 1
    # Batch 3 never started: PROD_APP2 is as it was, without a new backup.
    assert run.changed_per_host[PROD_APP2] == 0
    assert not any(host == PROD_APP2 for host, _ in run.changed_tasks())
    assert host_fingerprint(PROD_APP2) == before[PROD_APP2]
    assert main_pid(PROD_APP2, "node_exporter") == app2_pid
    assert backups(PROD_APP2) == backups_before[PROD_APP2]
    # The verification at the end did not run, so its record is unchanged.
    assert PRODUCTION_RECORD.read_text() == record_before
