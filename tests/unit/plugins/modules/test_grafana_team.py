# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for grafana_team, run as a subprocess against the Grafana double."""

from __future__ import annotations

import json
from typing import Any

import pytest


def assert_ok(result: dict[str, Any]) -> dict[str, Any]:
    assert not result.get("failed"), result.get("msg")
    return result


def membership(admin_api, name: str) -> dict[str, int]:
    teams = admin_api.ok("GET", f"/api/teams/search?name={name.replace(' ', '%20')}")
    team_id = teams["teams"][0]["id"]
    members = admin_api.ok("GET", f"/api/teams/{team_id}/members")
    return {member["login"]: member["permission"] for member in members}


@pytest.fixture
def users(make_user, unique) -> list[str]:
    return [make_user(f"{unique}{name}") for name in ("ann", "bob", "cat")]


def test_team_created_exact_then_unchanged(run_module, admin_api, users, unique):
    ann, bob, _ = users
    args = {
        "name": f"Team {unique}",
        "email": f"{unique}@example.test",
        "admins": [ann],
        "members": [f"{bob}@example.test"],
    }

    first = assert_ok(run_module("grafana_team", args))
    second = assert_ok(run_module("grafana_team", args))

    assert first["changed"] is True
    assert first["created"] is True
    assert second["changed"] is False
    assert second["admins"] == [ann]
    assert second["members"] == [bob]
    # The admin user that created the team is not left behind as a member.
    assert membership(admin_api, f"Team {unique}") == {ann: 4, bob: 0}


def test_team_creator_kept_additive(run_module, admin_api, users, unique):
    args = {"name": f"Team {unique}", "members": [users[0]], "members_mode": "additive"}

    first = assert_ok(run_module("grafana_team", args))
    second = assert_ok(run_module("grafana_team", args))

    assert first["changed"] is True
    assert second["changed"] is False
    assert membership(admin_api, f"Team {unique}") == {"admin": 4, users[0]: 0}


def test_team_exact_removes_and_demotes(run_module, admin_api, users, unique):
    ann, bob, cat = users
    start = {"name": f"Team {unique}", "admins": [ann, bob], "members": [cat]}
    assert_ok(run_module("grafana_team", start))

    args = {"name": f"Team {unique}", "members": [ann, bob]}
    checked = assert_ok(run_module("grafana_team", args, check_mode=True))
    result = assert_ok(run_module("grafana_team", args, diff_mode=True))

    assert checked["changed"] is True
    assert result["changed"] is True
    before = json.loads(result["diff"]["before"])
    after = json.loads(result["diff"]["after"])
    assert before["admins"] == sorted([ann, bob])
    assert before["members"] == [cat]
    assert after["admins"] == []
    assert after["members"] == sorted([ann, bob])
    assert membership(admin_api, f"Team {unique}") == {ann: 0, bob: 0}


def test_team_additive_keeps_others(run_module, admin_api, users, unique):
    ann, bob, cat = users
    assert_ok(run_module("grafana_team", {"name": f"Team {unique}", "admins": [ann]}))

    args = {
        "name": f"Team {unique}",
        "members": [ann, bob],
        "admins": [cat],
        "members_mode": "additive",
    }
    first = assert_ok(run_module("grafana_team", args))
    second = assert_ok(run_module("grafana_team", args))

    assert first["changed"] is True
    assert second["changed"] is False
    assert membership(admin_api, f"Team {unique}") == {ann: 4, bob: 0, cat: 4}


def test_team_check_mode_creates_nothing(run_module, admin_api, users, unique):
    args = {"name": f"Team {unique}", "members": users}

    result = assert_ok(run_module("grafana_team", args, check_mode=True))

    assert result["changed"] is True
    assert result["members"] == sorted(users)
    found = admin_api.ok("GET", f"/api/teams/search?name=Team%20{unique}")
    assert found["teams"] == []


def test_team_unknown_user_fails_first(run_module, admin_api, users, unique):
    args = {"name": f"Team {unique}", "members": [users[0], "ghost@example.test"]}

    result = run_module("grafana_team", args)

    assert result["failed"] is True
    assert "Unknown user 'ghost@example.test'" in result["msg"]
    assert "Nothing was changed" in result["msg"]
    found = admin_api.ok("GET", f"/api/teams/search?name=Team%20{unique}")
    assert found["teams"] == []


def test_team_email_updated(run_module, admin_api, unique):
    assert_ok(
        run_module("grafana_team", {"name": f"Team {unique}", "email": "a@x.test"})
    )

    args = {"name": f"Team {unique}", "email": "b@x.test"}
    first = assert_ok(run_module("grafana_team", args))
    second = assert_ok(run_module("grafana_team", args))

    assert first["changed"] is True
    assert second["changed"] is False
    found = admin_api.ok("GET", f"/api/teams/search?name=Team%20{unique}")
    assert found["teams"][0]["email"] == "b@x.test"


def test_team_absent(run_module, admin_api, unique):
    assert_ok(run_module("grafana_team", {"name": f"Team {unique}"}))
    args = {"name": f"Team {unique}", "state": "absent"}

    first = assert_ok(run_module("grafana_team", args))
    second = assert_ok(run_module("grafana_team", args))

    assert first["changed"] is True
    assert second["changed"] is False
    found = admin_api.ok("GET", f"/api/teams/search?name=Team%20{unique}")
    assert found["teams"] == []


def test_team_unknown_user_warned(run_module, admin_api, users, unique):
    ann, bob, _ = users
    args = {
        "name": f"Team {unique}",
        "admins": [ann],
        "members": [bob, "ghost@example.test"],
        "unknown_users": "warn",
    }

    first = assert_ok(run_module("grafana_team", args))
    second = assert_ok(run_module("grafana_team", args))

    assert first["changed"] is True
    assert first["unknown_users"] == ["ghost@example.test"]
    assert len(first["warnings"]) == 1
    assert "'ghost@example.test'" in str(first["warnings"][0])
    assert second["changed"] is False
    assert second["unknown_users"] == ["ghost@example.test"]
    assert len(second["warnings"]) == 1
    assert membership(admin_api, f"Team {unique}") == {ann: 4, bob: 0}


def test_team_unknown_user_added_later(run_module, admin_api, make_user, users, unique):
    late = f"{unique}late"
    args = {
        "name": f"Team {unique}",
        "members": [users[0], f"{late}@example.test"],
        "unknown_users": "warn",
    }
    assert_ok(run_module("grafana_team", args))
    make_user(late)

    result = assert_ok(run_module("grafana_team", args))

    assert result["changed"] is True
    assert result["unknown_users"] == []
    assert "warnings" not in result
    assert membership(admin_api, f"Team {unique}") == {users[0]: 0, late: 0}
