"""Fixtures that run the collection's playbooks against the local sandbox.

The sandbox is the one that ``scripts/sandbox.sh`` manages: three Debian
containers running systemd on a private Docker network. These tests replace
whatever sandbox exists, so do not run them against one you still need.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SANDBOX = REPO / "scripts" / "sandbox.sh"
INVENTORY = REPO / "inventories" / "sandbox"
CA_FILE = REPO / ".cache" / "sandbox" / "pki" / "ca.crt"
NAME = os.environ.get("VIGIL_SANDBOX_NAME", "vigil")
MON1, APP1, APP2 = f"{NAME}-mon1", f"{NAME}-app1", f"{NAME}-app2"
HOSTS = (MON1, APP1, APP2)
# Files whose content or mode a preflight failure must leave untouched.
WATCHED_DIRS = (
    "/etc/prometheus",
    "/etc/node_exporter",
    "/etc/grafana",
    "/etc/app-telemetry",
    "/etc/systemd/system",
)


# Modules that break the sandbox on purpose (errors, full disks) and first
# check that a healthy sandbox raised no alert: they run after all others.
RUN_LAST = ("test_alerting.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the tests of RUN_LAST to the end, keeping their order."""
    last = [item for item in items if item.path.name in RUN_LAST]
    if last:
        items[:] = [item for item in items if item.path.name not in RUN_LAST] + last


@dataclass
class PlaybookRun:
    """Outcome of one ansible-playbook run, parsed from the json callback."""

    returncode: int
    stdout: str
    stderr: str
    report: dict = field(default_factory=dict)

    @property
    def changed_per_host(self) -> dict[str, int]:
        return {h: s["changed"] for h, s in self.report.get("stats", {}).items()}

    @property
    def failed_per_host(self) -> dict[str, int]:
        return {
            h: s["failures"] + s["unreachable"]
            for h, s in self.report.get("stats", {}).items()
        }

    def changed_tasks(self) -> set[tuple[str, str]]:
        """Return (host, task name) for every task result that reported a change."""
        found = set()
        for play in self.report.get("plays", []):
            for task in play["tasks"]:
                for host, result in task["hosts"].items():
                    if result.get("changed"):
                        found.add((host, task["task"]["name"]))
        return found


def run_playbook(
    playbook: str = "site.yml",
    *args: str,
    extra_vars: dict | None = None,
    env: dict | None = None,
) -> PlaybookRun:
    """Run a playbook on the sandbox through scripts/sandbox.sh.

    ``env`` adds environment variables, such as VIGIL_SANDBOX_SET=production
    for the second set of hosts.
    """
    command = [str(SANDBOX), "playbook", playbook, *args]
    if extra_vars:
        command += ["--extra-vars", json.dumps(extra_vars)]
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", **(env or {}))
    done = subprocess.run(
        command,
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    start = done.stdout.find("{")
    report = json.loads(done.stdout[start:]) if start >= 0 else {}
    return PlaybookRun(done.returncode, done.stdout, done.stderr, report)


def docker_exec(host: str, *command: str) -> str:
    done = subprocess.run(
        ["docker", "exec", host, *command],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def host_fingerprint(host: str) -> str:
    """Hash the watched files (content, owner, mode) and the service PIDs."""
    listing = docker_exec(
        host,
        "sh",
        "-c",
        "find "
        + " ".join(WATCHED_DIRS)
        + " -xdev -type f -exec stat -c '%n %U %a' {} + -exec sha256sum {} + "
        "2>/dev/null | sort",
    )
    pids = docker_exec(
        host,
        "systemctl",
        "show",
        "-p",
        "MainPID",
        "prometheus",
        "node_exporter",
        "grafana-server",
    )
    return hashlib.sha256((listing + pids).encode()).hexdigest()


def main_pid(host: str, service: str) -> int:
    return int(
        docker_exec(host, "systemctl", "show", "-p", "MainPID", "--value", service)
    )


@pytest.fixture(scope="session")
def sandbox() -> dict:
    """Create the sandbox hosts and return their addresses and secrets."""
    debian = os.environ.get("VIGIL_SANDBOX_DEBIAN", "12")
    subprocess.run([str(SANDBOX), "up", "--debian", debian], cwd=REPO, check=True)
    # The sample User Management service, whose exporter site.yml turns on.
    sample = run_playbook("tests/sample_service/deploy.yml")
    assert sample.returncode == 0, sample.stdout[-6000:] + sample.stderr
    hosts = yaml.safe_load((INVENTORY / "hosts.yml").read_text())
    secrets = yaml.safe_load(
        (INVENTORY / "group_vars" / "all" / "secrets.yml").read_text()
    )
    children = hosts["all"]["children"]
    addresses = {}
    for group in ("prometheus", "app_user_management"):
        for name, variables in children[group]["hosts"].items():
            addresses[name] = variables["vigil_address"]
    return {"addresses": addresses, "secrets": secrets}


@pytest.fixture(scope="session")
def first_run(sandbox) -> PlaybookRun:
    """The first site.yml run on the sandbox."""
    return run_playbook("site.yml")


@pytest.fixture(scope="session")
def converged(first_run) -> PlaybookRun:
    """A converged sandbox: fails every dependent test when site.yml failed."""
    assert first_run.returncode == 0, first_run.stdout[-6000:] + first_run.stderr
    return first_run


def write_grafana_ini(home: Path, cert: Path, key: Path, admin_password: str) -> Path:
    """Write grafana.ini for a double that serves HTTPS on a free loopback port."""
    path = home / "grafana.ini"
    path.write_text(
        "\n".join(
            [
                "[server]",
                "protocol = https",
                "http_addr = 127.0.0.1",
                "http_port = 0",
                f"cert_file = {cert}",
                f"cert_key = {key}",
                "[security]",
                "admin_user = admin",
                f"admin_password = {admin_password}",
                "[paths]",
                f"data = {home / 'data'}",
                f"logs = {home / 'log'}",
                f"provisioning = {home / 'provisioning'}",
                "",
            ]
        )
    )
    return path
