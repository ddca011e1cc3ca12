"""The filters that turn grafana_teams into folders, permissions and checks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

REPO = Path(__file__).resolve().parents[4]
_spec = importlib.util.spec_from_file_location(
    "grafana_teams_filters", REPO / "plugins" / "filter" / "grafana_teams.py"
)
teams_filters = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(teams_filters)

USERS = [
    {"login": "dev1", "email": "dev1@example.org", "password": "p1"},
    {"login": "devlead", "email": "devlead@example.org", "password": "p2"},
    {"login": "infra1", "email": "infra1@example.org", "password": "p3"},
]


def sample_teams() -> list[dict]:
    return [
        {
            "name": "development",
            "admin": "devlead@example.org",
            "members": ["dev1", "sso.only@example.org"],
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
            "members": ["infra1@example.org"],
            "folder_permission": "Admin",
            "folders": [{"uid": "infrastructure", "title": "Infrastructure"}],
        },
    ]


def test_team_folders_permissions():
    folders = {f["uid"]: f for f in teams_filters.grafana_team_folders(sample_teams())}

    assert folders["development"]["permissions"] == [
        {"team": "development", "permission": "Edit"},
        {"user": "devlead@example.org", "permission": "Admin"},
        {"team": "infrastructure", "permission": "View"},
    ]
    assert folders["infrastructure"]["permissions"] == [
        {"team": "infrastructure", "permission": "Admin"},
        {"user": "infralead", "permission": "Admin"},
    ]
    assert folders["infrastructure"]["team"] == "infrastructure"


def test_team_folders_grant_no_roles():
    for folder in teams_filters.grafana_team_folders(sample_teams()):
        assert all("role" not in item for item in folder["permissions"])


def test_team_folders_empty_inventory():
    assert teams_filters.grafana_team_folders(None) == []
    assert teams_filters.grafana_team_folders([]) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t[0].pop("admin"), "team 'development' has no admin"),
        (lambda t: t[0].update(members="dev1"), "members must be a list"),
        (lambda t: t[1].update(folder_permission="View"), "use Edit or Admin"),
        (lambda t: t[1].update(name="development"), "appears more than once"),
        (
            lambda t: t[0]["folders"][0].update(viewer_teams=["ops"]),
            "names 'ops', which is not a team",
        ),
        (
            lambda t: t[0]["folders"][0].update(viewer_teams=["development"]),
            "names its own team",
        ),
        (
            lambda t: t[1]["folders"].append({"uid": "development", "title": "X"}),
            "folder development is listed more than once",
        ),
        (lambda t: t[1]["folders"].append({"uid": "x"}), "needs a uid and a title"),
    ],
)
def test_team_folders_reject_bad_inventory(change, message):
    teams = sample_teams()
    change(teams)

    with pytest.raises(AnsibleFilterError) as raised:
        teams_filters.grafana_team_folders(teams)

    assert message in str(raised.value)
    assert "invalid grafana_teams" in str(raised.value)


def test_dashboard_permissions_name_admin():
    teams = sample_teams()

    infrastructure = teams_filters.grafana_dashboard_permissions(
        teams, "infrastructure"
    )
    development = teams_filters.grafana_dashboard_permissions(teams, "development")

    assert infrastructure == [{"user": "infralead", "permission": "Admin"}]
    assert development == [{"user": "devlead@example.org", "permission": "Admin"}]


def test_dashboard_permissions_unknown_folder():
    with pytest.raises(AnsibleFilterError) as raised:
        teams_filters.grafana_dashboard_permissions(sample_teams(), "general")

    assert "'general' is not a team folder" in str(raised.value)
    assert "development, infrastructure" in str(raised.value)


def test_team_checker_prefers_members():
    teams = sample_teams()

    assert teams_filters.grafana_team_checker(teams[0], USERS) == "dev1"
    assert teams_filters.grafana_team_checker(teams[1], USERS) == "infra1"
    assert teams_filters.grafana_team_checker(teams[1], []) == ""


def test_access_checks_per_team():
    dashboards = [
        {"uid": "app", "folderUid": "development", "type": "dash-db"},
        {"uid": "vm", "folderUid": "infrastructure", "type": "dash-db"},
        {"uid": "root", "type": "dash-db"},
    ]

    checks = teams_filters.grafana_team_access_checks(sample_teams(), dashboards, USERS)

    table = {(c["login"], c["path"]): c["status"] for c in checks}
    assert table == {
        ("dev1", "/api/folders/development"): 200,
        ("dev1", "/api/dashboards/uid/app"): 200,
        ("dev1", "/api/folders/infrastructure"): 403,
        ("dev1", "/api/dashboards/uid/vm"): 403,
        ("infra1", "/api/folders/development"): 200,
        ("infra1", "/api/dashboards/uid/app"): 200,
        ("infra1", "/api/folders/infrastructure"): 200,
        ("infra1", "/api/dashboards/uid/vm"): 200,
        ("devlead", "/api/dashboards/uid/app/permissions"): 200,
    }
    assert len(checks) == len(table)


def test_own_admins_skip_inherited_and_teams():
    entries = [
        {"userId": 3, "userLogin": "Lead", "userEmail": "lead@x", "permission": 4},
        {"userId": 4, "userLogin": "old", "permission": 4, "inherited": True},
        {"userId": 5, "userLogin": "viewer", "permission": 1},
        {"teamId": 2, "team": "ops", "permission": 4},
    ]

    assert teams_filters.grafana_own_admins(entries) == ["lead", "lead@x"]


def test_membership_problems_found():
    team = sample_teams()[0]
    org_users = [
        {"userId": 2, "login": "dev1", "email": "dev1@example.org"},
        {"userId": 3, "login": "devlead", "email": "devlead@example.org"},
        {"userId": 9, "login": "gone", "email": "gone@example.org"},
    ]
    members = [
        {"userId": 3, "login": "devlead", "permission": 0},
        {"userId": 9, "login": "gone", "permission": 0},
    ]

    problems = teams_filters.grafana_team_membership_problems(team, members, org_users)

    assert problems == [
        "team 'development' has member 'gone', whom grafana_teams does not list",
        "team 'development' lacks member 'dev1'",
        "team 'development': 'devlead@example.org' is not a team admin",
    ]


def test_membership_matches_inventory():
    team = sample_teams()[0]
    org_users = [
        {"userId": 2, "login": "dev1", "email": "dev1@example.org"},
        {"userId": 3, "login": "devlead", "email": "devlead@example.org"},
    ]
    members = [
        {"userId": 2, "login": "dev1", "permission": 0},
        {"userId": 3, "login": "devlead", "permission": 4},
    ]

    assert (
        teams_filters.grafana_team_membership_problems(team, members, org_users) == []
    )
