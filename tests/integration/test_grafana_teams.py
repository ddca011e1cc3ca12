"""Team isolation through ansible-playbook, against the Grafana double.

Most tests run a double that serves HTTPS on 127.0.0.1 with a test CA, with
an inventory that has a development and an infrastructure team, users with
passwords for the team step to create, and one member who does not exist,
as a user of SSO would before signing in. The last test pushes dashboards
into the team folders of the sandbox's Grafana and runs the same checks.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml
from conftest import REPO, run_playbook, write_grafana_ini

sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "unit" / "grafana_double"))

from double_support import generate_tls
from grafana_double import GrafanaDouble, load_settings
from grafana_double.contract import check_exchanges

PLAYBOOK = REPO / "tests" / "integration" / "playbooks" / "grafana_teams.yml"
ADMIN_PASSWORD = "teams-grafana-admin"
USERS = [
    {"login": login, "email": f"{login}@example.org", "password": f"{login}-pass"}
    for login in ("devlead", "dev1", "dev2", "infralead", "infra1")
]
TEAMS = [
    {
        "name": "development",
        "admin": "devlead@example.org",
        "members": ["dev1", "dev2@example.org", "not.yet@example.org"],
        "folders": [
            {
                "uid": "development",
                "title": "Development",
                "viewer_teams": ["infrastructure"],
            }
        ],
    },
    {
        "name": "infrastructure",
        "admin": "infralead",
        "members": ["infra1"],
        "folder_permission": "Admin",
        "folders": [{"uid": "infrastructure", "title": "Infrastructure"}],
    },
]


class Teams:
    """The double, its inventory and the runs of the team playbook."""

    def __init__(self, double: GrafanaDouble, inventory: Path, ca_file: Path):
        self.double = double
        self.inventory = inventory
        self.ca_file = ca_file

    def run(self, *args: str, teams: list[dict] | None = None) -> dict:
        """Run the playbook and return the json callback's report."""
        command = ["ansible-playbook", "-i", str(self.inventory), str(PLAYBOOK)]
        if teams is not None:
            command += ["--extra-vars", json.dumps({"grafana_teams": teams})]
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
        done = subprocess.run(
            [*command, *args],
            check=False,
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
        return json.loads(done.stdout[done.stdout.find("{") :])

    def get(self, path: str, login: str) -> requests.Response:
        password = ADMIN_PASSWORD
        if login != "admin":
            password = f"{login}-pass"
        return requests.get(
            self.double.url + path,
            auth=(login, password),
            verify=str(self.ca_file),
            timeout=15,
        )


def changed(report: dict) -> int:
    return sum(stats["changed"] for stats in report["stats"].values())


def task_results(report: dict, name: str) -> list[dict]:
    """Return the per-item results of the task with this name."""
    found = []
    for play in report["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == name:
                for result in task["hosts"].values():
                    found += result.get("results", [result])
    return found


def task_warnings(report: dict, name: str) -> str:
    """Return the warnings of the task with this name, of the task and its items."""
    found = []
    for play in report["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] != name:
                continue
            for result in task["hosts"].values():
                found += result.get("warnings", [])
                for item in result.get("results", []):
                    found += item.get("warnings", [])
    return json.dumps(found)


@pytest.fixture(scope="module")
def teams(tmp_path_factory) -> Teams:
    home = tmp_path_factory.mktemp("grafana-teams")
    tls = generate_tls(home)
    ini = write_grafana_ini(home, tls.cert, tls.key, ADMIN_PASSWORD)
    double = GrafanaDouble(load_settings(ini, home)).start()
    port = int(double.url.rsplit(":", 1)[1])
    inventory = home / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    hosts = {"grafana": {"hosts": {"grafana-test": {"vigil_address": "127.0.0.1"}}}}
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": hosts}}))
    settings = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "grafana_http_port": port,
        "grafana_admin_password": ADMIN_PASSWORD,
        "pki_ca_file": str(tls.ca_cert),
        "grafana_local_users": USERS,
        "grafana_teams": TEAMS,
    }
    (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))
    yield Teams(double, inventory, tls.ca_cert)
    double.stop()


@pytest.fixture(scope="module")
def runs(teams: Teams) -> dict:
    first = teams.run()
    second = teams.run()
    check = teams.run("--check")
    return {"first": first, "second": second, "check": check}


def test_teams_first_run_changes(runs):
    # Tasks, not loop items: users, teams, folders and the two dashboards.
    assert changed(runs["first"]) == 5


def test_teams_second_run_unchanged(runs):
    assert changed(runs["second"]) == 0


def test_teams_check_mode_unchanged(runs):
    assert changed(runs["check"]) == 0


def test_unknown_member_reported(runs):
    task = "Create each team with exactly its members and its admin"
    results = task_results(runs["second"], task)
    development = next(r for r in results if r["item"]["name"] == "development")

    assert development["unknown_users"] == ["not.yet@example.org"]
    assert "not.yet@example.org" in task_warnings(runs["second"], task)
    assert development["members"] == ["dev1", "dev2"]
    assert development["admins"] == ["devlead"]


def test_development_user_denied_infrastructure(teams, runs):
    assert teams.get("/api/dashboards/uid/team-test-app", "dev1").status_code == 200
    assert teams.get("/api/folders/development", "dev1").status_code == 200
    assert teams.get("/api/folders/infrastructure", "dev1").status_code == 403
    assert teams.get("/api/dashboards/uid/team-test-vm", "dev1").status_code == 403


def test_infrastructure_user_opens_both(teams, runs):
    for uid in ("team-test-app", "team-test-vm"):
        reply = teams.get(f"/api/dashboards/uid/{uid}", "infra1")
        assert reply.status_code == 200, uid
        assert reply.json()["meta"]["canSave"] is (uid == "team-test-vm")


def test_dashboards_name_their_admin(teams, runs):
    expected = {"team-test-app": "devlead", "team-test-vm": "infralead"}
    for uid, admin in expected.items():
        entries = teams.get(f"/api/dashboards/uid/{uid}/permissions", admin).json()
        own = [(e["userLogin"], e["permission"]) for e in entries if not e["inherited"]]
        assert own == [(admin, 4)], uid


def test_team_folders_without_role_grants(teams, runs):
    for uid in ("development", "infrastructure"):
        entries = teams.get(f"/api/folders/{uid}/permissions", "admin").json()
        assert [e["role"] for e in entries if e.get("role")] == [], uid


def test_verify_ran_user_checks(runs):
    results = task_results(
        runs["second"], "Open the team folders and dashboards as each team's user"
    )
    logins = {r["item"]["login"] for r in results}

    assert len(results) == 10
    assert logins == {"dev1", "infra1", "devlead", "infralead"}
    assert all(not r.get("failed") for r in results)


def test_removed_member_leaves_team(teams, runs):
    smaller = copy.deepcopy(TEAMS)
    smaller[0]["members"].remove("dev2@example.org")

    removal = teams.run(teams=smaller)
    again = teams.run(teams=smaller)

    assert changed(removal) == 1
    assert changed(again) == 0
    reply = teams.get("/api/dashboards/uid/team-test-app", "dev2")
    assert reply.status_code == 403
    assert teams.get("/api/dashboards/uid/team-test-app", "dev1").status_code == 200


def test_team_requests_match_openapi(teams, runs):
    problems = check_exchanges(teams.double.records)
    assert problems == []


def test_sandbox_team_dashboards_checked(converged):
    playbook = str(PLAYBOOK.relative_to(REPO))

    first = run_playbook(playbook)
    second = run_playbook(playbook)

    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
    assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-2000:]
    assert sum(second.changed_per_host.values()) == 0
    results = task_results(
        second.report, "Open the team folders and dashboards as each team's user"
    )
    paths = {r["item"]["path"] for r in results}
    assert "/api/dashboards/uid/team-test-vm" in paths
    assert "/api/dashboards/uid/team-test-app/permissions" in paths
