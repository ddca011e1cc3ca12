# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for grafana_folder, run as a subprocess against the Grafana double."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any


def assert_ok(result: dict[str, Any]) -> dict[str, Any]:
    assert not result.get("failed"), result.get("msg")
    return result


def own_grants(admin_api, uid: str) -> set[tuple[str, str]]:
    acl = admin_api.ok("GET", f"/api/folders/{uid}/permissions")
    grants = set()
    for entry in acl:
        if entry["inherited"]:
            continue
        principal = entry.get("team") or entry.get("userLogin") or entry.get("role")
        grants.add((principal, entry["permissionName"]))
    return grants


def test_folder_created_then_unchanged(run_module, admin_api, unique):
    args = {"uid": f"{unique}-f", "title": f"Folder {unique}"}

    first = assert_ok(run_module("grafana_folder", args))
    second = assert_ok(run_module("grafana_folder", args))

    assert first["changed"] is True
    assert first["created"] is True
    assert second["changed"] is False
    assert (
        admin_api.ok("GET", f"/api/folders/{unique}-f")["title"] == f"Folder {unique}"
    )


def test_folder_check_mode_creates_nothing(run_module, admin_api, unique):
    args = {"uid": f"{unique}-f", "title": f"Folder {unique}"}

    result = assert_ok(run_module("grafana_folder", args, check_mode=True))

    assert result["changed"] is True
    status, _ = admin_api.call("GET", f"/api/folders/{unique}-f")
    assert status == 404


def test_folder_rename_keeps_uid(run_module, admin_api, unique):
    assert_ok(run_module("grafana_folder", {"uid": f"{unique}-f", "title": "Old"}))

    args = {"uid": f"{unique}-f", "title": f"New {unique}"}
    checked = assert_ok(run_module("grafana_folder", args, check_mode=True))
    renamed = assert_ok(run_module("grafana_folder", args, diff_mode=True))

    assert checked["changed"] is True
    assert renamed["changed"] is True
    assert json.loads(renamed["diff"]["before"])["title"] == "Old"
    assert json.loads(renamed["diff"]["after"])["title"] == f"New {unique}"
    stored = admin_api.ok("GET", f"/api/folders/{unique}-f")
    assert stored["title"] == f"New {unique}"
    assert stored["version"] == 2


def test_nested_folder_created(run_module, admin_api, unique):
    assert_ok(run_module("grafana_folder", {"uid": f"{unique}-p", "title": unique}))
    args = {"uid": f"{unique}-c", "title": "Child", "parent_uid": f"{unique}-p"}

    first = assert_ok(run_module("grafana_folder", args))
    second = assert_ok(run_module("grafana_folder", args))

    assert first["changed"] is True
    assert second["changed"] is False
    assert admin_api.ok("GET", f"/api/folders/{unique}-c")["parentUid"] == f"{unique}-p"


def test_folder_move_rejected(run_module, unique):
    assert_ok(run_module("grafana_folder", {"uid": f"{unique}-p", "title": unique}))
    assert_ok(run_module("grafana_folder", {"uid": f"{unique}-c", "title": "C"}))

    args = {"uid": f"{unique}-c", "title": "C", "parent_uid": f"{unique}-p"}
    result = run_module("grafana_folder", args)

    assert result["failed"] is True
    assert "Moving folders is not supported" in result["msg"]


def folder_visible_to(url: str, login: str, uid: str) -> bool:
    token = base64.b64encode(f"{login}:{login}-password".encode()).decode()
    request = urllib.request.Request(
        f"{url}/api/folders/{uid}", headers={"Authorization": f"Basic {token}"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10):
            return True
    except urllib.error.HTTPError as error:
        assert error.code == 403
        return False


def test_permissions_team_only(run_module, admin_api, make_user, grafana, unique):
    member = make_user(f"{unique}member")
    outsider = make_user(f"{unique}outsider")
    team_id = admin_api.ok("POST", "/api/teams", {"name": f"Team {unique}"})["teamId"]
    admin_api.ok(
        "POST", f"/api/teams/{team_id}/members", {"userId": _id(admin_api, member)}
    )
    args = {
        "uid": f"{unique}-f",
        "title": f"Private {unique}",
        "permissions": [
            {"team": f"Team {unique}", "permission": "Edit"},
            {"user": member, "permission": "Admin"},
        ],
    }

    first = assert_ok(run_module("grafana_folder", args))
    second = assert_ok(run_module("grafana_folder", args, diff_mode=True))

    assert first["changed"] is True
    assert second["changed"] is False
    assert own_grants(admin_api, f"{unique}-f") == {
        (f"Team {unique}", "Edit"),
        (member, "Admin"),
    }
    assert folder_visible_to(grafana.url, member, f"{unique}-f") is True
    assert folder_visible_to(grafana.url, outsider, f"{unique}-f") is False


def _id(admin_api, login: str) -> int:
    users = admin_api.ok("GET", "/api/org/users")
    return next(user["userId"] for user in users if user["login"] == login)


def test_default_role_grants_removed(run_module, admin_api, unique):
    assert_ok(run_module("grafana_folder", {"uid": f"{unique}-f", "title": unique}))
    assert ("Viewer", "View") in own_grants(admin_api, f"{unique}-f")

    args = {"uid": f"{unique}-f", "title": unique, "permissions": []}
    checked = assert_ok(run_module("grafana_folder", args, check_mode=True))
    result = assert_ok(run_module("grafana_folder", args, diff_mode=True))

    assert checked["changed"] is True
    assert result["changed"] is True
    before = json.loads(result["diff"]["before"])["permissions"]
    assert {"role": "Viewer", "permission": "View"} in before
    assert {"role": "Editor", "permission": "Edit"} in before
    assert json.loads(result["diff"]["after"])["permissions"] == []
    assert own_grants(admin_api, f"{unique}-f") == set()


def test_permissions_unknown_team_fails_first(run_module, admin_api, unique):
    args = {
        "uid": f"{unique}-f",
        "title": unique,
        "permissions": [{"team": "No such team", "permission": "View"}],
    }

    result = run_module("grafana_folder", args)

    assert result["failed"] is True
    assert "Unknown team 'No such team'" in result["msg"]
    status, _ = admin_api.call("GET", f"/api/folders/{unique}-f")
    assert status == 404


def test_permissions_duplicate_principal_fails(run_module, unique):
    args = {
        "uid": f"{unique}-f",
        "title": unique,
        "permissions": [
            {"role": "Viewer", "permission": "View"},
            {"role": "Viewer", "permission": "Edit"},
        ],
    }

    result = run_module("grafana_folder", args)

    assert result["failed"] is True
    assert "appears more than once" in result["msg"]


def test_folder_absent(run_module, admin_api, unique):
    assert_ok(run_module("grafana_folder", {"uid": f"{unique}-f", "title": unique}))
    args = {"uid": f"{unique}-f", "state": "absent"}

    checked = assert_ok(run_module("grafana_folder", args, check_mode=True))
    first = assert_ok(run_module("grafana_folder", args))
    second = assert_ok(run_module("grafana_folder", args))

    assert checked["changed"] is True
    assert first["changed"] is True
    assert second["changed"] is False
    status, _ = admin_api.call("GET", f"/api/folders/{unique}-f")
    assert status == 404


def test_folder_title_required(run_module, unique):
    result = run_module("grafana_folder", {"uid": f"{unique}-f"})

    assert result["failed"] is True
    assert "title" in result["msg"]
