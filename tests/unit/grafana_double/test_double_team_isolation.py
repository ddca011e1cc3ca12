"""Team folders with authoritative permissions, as Viewer-role users see them.

Two teams own a folder each. The development folder grants the development
team Edit and the infrastructure team View; the infrastructure folder grants
only its team. Grafana's grants to the Viewer and Editor roles are removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from double_support import Api, expect, minimal_dashboard
from grafana_double import GrafanaDouble


@dataclass
class Teams:
    """The ids and clients of the scenario's users."""

    ids: dict[str, int]
    team_ids: dict[str, int]
    double: GrafanaDouble

    def as_user(self, login: str) -> Api:
        return Api(self.double.url, auth=(login, login * 2))


def _team(admin: Api, name: str, user_ids: list[int]) -> int:
    team_id = expect(admin.post("/api/teams", {"name": name}), 200)["teamId"]
    for user_id in user_ids:
        body = {"userId": user_id}
        expect(admin.post(f"/api/teams/{team_id}/members", body), 200)
    # The creating admin became a team admin; team folders do not need it.
    expect(admin.delete(f"/api/teams/{team_id}/members/1"), 200)
    return team_id


def _team_folder(admin: Api, uid: str, items: list[dict]) -> None:
    expect(admin.post("/api/folders", {"uid": uid, "title": uid.title()}), 200)
    expect(admin.post(f"/api/folders/{uid}/permissions", {"items": items}), 200)
    dashboard = minimal_dashboard(f"{uid} board", uid=f"{uid}-board")
    body = {"dashboard": dashboard, "folderUid": uid}
    expect(admin.post("/api/dashboards/db", body), 200)


@pytest.fixture
def teams(admin: Api, double: GrafanaDouble, make_user: Callable[..., int]) -> Teams:
    ids = {login: make_user(login) for login in ("dev", "devlead", "infra", "outsider")}
    ids["editor"] = make_user("editor", role="Editor")
    team_ids = {
        "development": _team(admin, "development", [ids["dev"], ids["devlead"]]),
        "infrastructure": _team(admin, "infrastructure", [ids["infra"]]),
    }
    _team_folder(
        admin,
        "development",
        [
            {"teamId": team_ids["development"], "permission": 2},
            {"userId": ids["devlead"], "permission": 4},
            {"teamId": team_ids["infrastructure"], "permission": 1},
        ],
    )
    _team_folder(
        admin,
        "infrastructure",
        [{"teamId": team_ids["infrastructure"], "permission": 2}],
    )
    items = [{"userId": ids["devlead"], "permission": 4}]
    expect(
        admin.post(
            "/api/dashboards/uid/development-board/permissions", {"items": items}
        ),
        200,
    )
    return Teams(ids, team_ids, double)


def test_team_folders_drop_role_grants(admin: Api, teams: Teams) -> None:
    for uid in ("development", "infrastructure"):
        entries = expect(admin.get(f"/api/folders/{uid}/permissions"), 200)
        assert [entry for entry in entries if entry.get("role")] == []


def test_development_viewer_denied_infrastructure(teams: Teams) -> None:
    dev = teams.as_user("dev")

    expect(dev.get("/api/folders/development"), 200)
    expect(dev.get("/api/dashboards/uid/development-board"), 200)
    expect(dev.get("/api/folders/infrastructure"), 403)
    expect(dev.get("/api/dashboards/uid/infrastructure-board"), 403)
    hits = expect(dev.get("/api/search"), 200)
    assert sorted(hit["uid"] for hit in hits) == ["development", "development-board"]


def test_infrastructure_viewer_sees_both(teams: Teams) -> None:
    infra = teams.as_user("infra")

    for uid in ("development", "infrastructure"):
        expect(infra.get(f"/api/folders/{uid}"), 200)
        expect(infra.get(f"/api/dashboards/uid/{uid}-board"), 200)
    folders = expect(infra.get("/api/folders"), 200)
    assert sorted(folder["uid"] for folder in folders) == [
        "development",
        "infrastructure",
    ]


def test_view_grant_cannot_save(teams: Teams) -> None:
    infra = teams.as_user("infra")
    board = expect(infra.get("/api/dashboards/uid/development-board"), 200)
    body = {"dashboard": board["dashboard"], "folderUid": "development"}

    expect(infra.post("/api/dashboards/db", body), 403)
    assert board["meta"]["canSave"] is False
    assert board["meta"]["canAdmin"] is False


def test_edit_grant_saves_in_own_folder_only(teams: Teams) -> None:
    dev = teams.as_user("dev")
    new = minimal_dashboard("Dev scratch")

    expect(
        dev.post("/api/dashboards/db", {"dashboard": new, "folderUid": "development"}),
        200,
    )
    expect(
        dev.post(
            "/api/dashboards/db", {"dashboard": new, "folderUid": "infrastructure"}
        ),
        403,
    )
    expect(dev.post("/api/dashboards/db", {"dashboard": new, "folderUid": ""}), 403)
    expect(dev.get("/api/folders/development/permissions"), 403)


def test_outsider_and_editor_see_nothing(teams: Teams) -> None:
    for login in ("outsider", "editor"):
        user = teams.as_user(login)
        expect(user.get("/api/folders/development"), 403)
        expect(user.get("/api/dashboards/uid/infrastructure-board"), 403)
        assert expect(user.get("/api/search"), 200) == []


def test_named_admin_reads_dashboard_permissions(teams: Teams) -> None:
    devlead = teams.as_user("devlead")
    dev = teams.as_user("dev")

    entries = expect(
        devlead.get("/api/dashboards/uid/development-board/permissions"), 200
    )
    expect(dev.get("/api/dashboards/uid/development-board/permissions"), 403)
    own = [entry for entry in entries if not entry["inherited"]]
    assert [(entry["userLogin"], entry["permission"]) for entry in own] == [
        ("devlead", 4)
    ]


def test_removed_member_loses_access(admin: Api, teams: Teams) -> None:
    dev = teams.as_user("dev")
    expect(dev.get("/api/dashboards/uid/development-board"), 200)
    team_id = teams.team_ids["development"]

    expect(admin.delete(f"/api/teams/{team_id}/members/{teams.ids['dev']}"), 200)

    expect(dev.get("/api/dashboards/uid/development-board"), 403)
    expect(dev.get(f"/api/teams/{team_id}"), 403)
    assert expect(dev.get("/api/search"), 200) == []


def test_bulk_membership_replaces_members(admin: Api, teams: Teams) -> None:
    team_id = teams.team_ids["development"]
    body = {"members": ["outsider@example.test"], "admins": ["devlead"]}

    expect(admin.put(f"/api/teams/{team_id}/members", body), 200)

    members = expect(admin.get(f"/api/teams/{team_id}/members"), 200)
    assert {(m["login"], m["permission"]) for m in members} == {
        ("outsider", 0),
        ("devlead", 4),
    }
    expect(teams.as_user("dev").get("/api/folders/development"), 403)
    expect(teams.as_user("outsider").get("/api/folders/development"), 200)


def test_team_admin_viewer_manages_team(teams: Teams) -> None:
    infra = teams.as_user("infra")
    team_id = teams.team_ids["development"]
    devlead = teams.as_user("devlead")
    expect(
        Api(teams.double.url, auth=("admin", "s3cret-admin")).put(
            f"/api/teams/{team_id}/members/{teams.ids['devlead']}", {"permission": 4}
        ),
        200,
    )

    expect(
        devlead.post(
            f"/api/teams/{team_id}/members", {"userId": teams.ids["outsider"]}
        ),
        200,
    )
    expect(
        infra.post(f"/api/teams/{team_id}/members", {"userId": teams.ids["infra"]}), 403
    )
