"""Authentication, users, orgs, service accounts and the admin password rules."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
from double_support import ADMIN_PASSWORD, TESTS_DIR, Api, DoubleFactory, expect
from grafana_double import GrafanaDouble
from grafana_double.cli import create_org
from grafana_double.contract import check_exchanges


def test_health_needs_no_auth(double: GrafanaDouble) -> None:
    body = expect(Api(double.url).get("/api/health"), 200)
    assert body["database"] == "ok"


def test_missing_credentials_rejected(double: GrafanaDouble) -> None:
    expect(Api(double.url).get("/api/search"), 401)


def test_wrong_password_rejected(double: GrafanaDouble) -> None:
    body = expect(Api(double.url, auth=("admin", "wrong")).get("/api/user"), 401)
    assert body["message"] == "Invalid username or password"


def test_signed_in_user(admin: Api) -> None:
    body = expect(admin.get("/api/user"), 200)
    assert body["login"] == "admin"
    assert body["isGrafanaAdmin"] is True


@pytest.mark.no_contract_check
def test_unknown_route_not_found(admin: Api, double: GrafanaDouble) -> None:
    expect(admin.get("/api/frontend/settings"), 404)
    problems = check_exchanges(double.records)
    assert len(problems) == 1
    assert "not in Grafana's OpenAPI description" in problems[0]


def test_admin_password_only_at_creation(doubles: DoubleFactory) -> None:
    first = doubles.start()
    doubles.stop(first)
    changed = {"security": {"admin_password": "a-new-password"}}
    second = doubles.start(changed)
    expect(Api(second.url, auth=("admin", "a-new-password")).get("/api/user"), 401)
    expect(Api(second.url, auth=("admin", ADMIN_PASSWORD)).get("/api/user"), 200)


def test_state_survives_restart(doubles: DoubleFactory) -> None:
    first = doubles.start()
    api = Api(first.url, auth=("admin", ADMIN_PASSWORD))
    expect(api.post("/api/folders", {"uid": "kept", "title": "Kept"}), 200)
    doubles.stop(first)
    second = doubles.start()
    api = Api(second.url, auth=("admin", ADMIN_PASSWORD))
    expect(api.get("/api/folders/kept"), 200)


def test_disable_initial_admin_creation(doubles: DoubleFactory) -> None:
    double = doubles.start({"security": {"disable_initial_admin_creation": "true"}})
    expect(Api(double.url, auth=("admin", ADMIN_PASSWORD)).get("/api/user"), 401)


def test_reset_admin_password_module(doubles: DoubleFactory) -> None:
    double = doubles.start()
    ini = doubles.home / "grafana.ini"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "grafana_double",
            "reset-admin-password",
            "--config",
            str(ini),
            "--homepath",
            str(doubles.home),
            "changed-by-cli",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(TESTS_DIR)},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    expect(Api(double.url, auth=("admin", "changed-by-cli")).get("/api/user"), 200)
    expect(Api(double.url, auth=("admin", ADMIN_PASSWORD)).get("/api/user"), 401)


def test_reset_admin_password_server_script(doubles: DoubleFactory) -> None:
    double = doubles.start()
    ini = doubles.home / "grafana.ini"
    script = str(TESTS_DIR / "grafana_double" / "grafana-server")
    command = [sys.executable, script, "reset-admin-password", "--config", str(ini)]
    result = subprocess.run(
        [*command, "--homepath", str(doubles.home), "from-server-script"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    expect(Api(double.url, auth=("admin", "from-server-script")).get("/api/user"), 200)


def test_reset_admin_password_grafana_cli(doubles: DoubleFactory) -> None:
    double = doubles.start()
    doubles.stop(double)
    ini = doubles.home / "grafana.ini"
    script = str(TESTS_DIR / "grafana_double" / "grafana-cli")
    result = subprocess.run(
        [
            sys.executable,
            script,
            "--homepath",
            str(doubles.home),
            "--config",
            str(ini),
            "admin",
            "reset-admin-password",
            "from-grafana-cli",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    restarted = doubles.start()
    expect(Api(restarted.url, auth=("admin", "from-grafana-cli")).get("/api/user"), 200)


def test_create_and_lookup_user(admin: Api) -> None:
    body = {"login": "alice", "email": "alice@example.test", "password": "alicepw1"}
    created = expect(admin.post("/api/admin/users", body), 200)
    found = expect(
        admin.get("/api/users/lookup", params={"loginOrEmail": "alice@example.test"}),
        200,
    )
    search = expect(admin.get("/api/users/search", params={"query": "ali"}), 200)
    assert found["id"] == created["id"]
    assert [user["login"] for user in search["users"]] == ["alice"]
    expect(admin.post("/api/admin/users", body), 412)
    expect(admin.get("/api/users/lookup", params={"loginOrEmail": "nobody"}), 404)


def test_admin_sets_user_password(
    admin: Api, double: GrafanaDouble, make_user: Callable[..., int]
) -> None:
    user_id = make_user("bob")
    expect(admin.put(f"/api/admin/users/{user_id}/password", {"password": "x"}), 400)
    expect(
        admin.put(f"/api/admin/users/{user_id}/password", {"password": "bob-new-pw"}),
        200,
    )
    expect(Api(double.url, auth=("bob", "bob-new-pw")).get("/api/user"), 200)


def test_org_roles(
    admin: Api, double: GrafanaDouble, make_user: Callable[..., int]
) -> None:
    user_id = make_user("carol")
    members = expect(admin.get("/api/org/users"), 200)
    assert {member["login"]: member["role"] for member in members} == {
        "admin": "Admin",
        "carol": "Viewer",
    }
    carol = Api(double.url, auth=("carol", "carolcarol"))
    expect(carol.get("/api/org/users"), 403)
    expect(admin.patch(f"/api/org/users/{user_id}", {"role": "Admin"}), 200)
    expect(carol.get("/api/org/users"), 200)


def test_last_org_admin_kept(admin: Api) -> None:
    expect(admin.patch("/api/org/users/1", {"role": "Viewer"}), 400)
    expect(admin.delete("/api/org/users/1"), 400)


def test_orgs_separate_resources(
    doubles: DoubleFactory, make_user: Callable[..., int]
) -> None:
    double = doubles.running[0]
    ini = doubles.home / "grafana.ini"
    org_id = create_org(str(ini), str(doubles.home), "Second")
    admin = Api(double.url, auth=("admin", ADMIN_PASSWORD))
    expect(
        admin.post(
            f"/api/orgs/{org_id}/users", {"loginOrEmail": "admin", "role": "Admin"}
        ),
        200,
    )
    second = Api(double.url, auth=("admin", ADMIN_PASSWORD), org_id=org_id)
    expect(second.post("/api/folders", {"uid": "org-two", "title": "Org two"}), 200)
    expect(second.get("/api/folders/org-two"), 200)
    expect(admin.get("/api/folders/org-two"), 404)
    assert expect(second.get("/api/user"), 200)["orgId"] == org_id
    make_user("dave")
    outsider = Api(double.url, auth=("dave", "davedave"), org_id=org_id)
    expect(outsider.get("/api/search"), 401)


def test_service_account_token_auth(admin: Api, double: GrafanaDouble) -> None:
    account = expect(
        admin.post("/api/serviceaccounts", {"name": "ansible", "role": "Admin"}), 201
    )
    token = expect(
        admin.post(f"/api/serviceaccounts/{account['id']}/tokens", {"name": "ci"}), 200
    )
    assert token["key"].startswith("glsa_")
    bot = Api(double.url, token=token["key"])
    expect(bot.post("/api/folders", {"uid": "by-bot", "title": "By bot"}), 200)
    tokens = expect(admin.get(f"/api/serviceaccounts/{account['id']}/tokens"), 200)
    assert [item["name"] for item in tokens] == ["ci"]
    expect(
        admin.post(f"/api/serviceaccounts/{account['id']}/tokens", {"name": "ci"}), 409
    )
    expect(
        admin.delete(f"/api/serviceaccounts/{account['id']}/tokens/{token['id']}"), 200
    )
    expect(bot.get("/api/search"), 401)


def test_service_account_search_and_update(admin: Api) -> None:
    account = expect(admin.post("/api/serviceaccounts", {"name": "reader"}), 201)
    found = expect(
        admin.get("/api/serviceaccounts/search", params={"query": "read"}), 200
    )
    updated = expect(
        admin.patch(f"/api/serviceaccounts/{account['id']}", {"role": "Editor"}), 200
    )
    assert account["role"] == "Viewer"
    assert [item["name"] for item in found["serviceAccounts"]] == ["reader"]
    assert updated["serviceaccount"]["role"] == "Editor"
    expect(admin.delete(f"/api/serviceaccounts/{account['id']}"), 200)
    expect(admin.get(f"/api/serviceaccounts/{account['id']}"), 404)


def test_anonymous_viewer(doubles: DoubleFactory) -> None:
    double = doubles.start({"auth.anonymous": {"enabled": "true"}})
    anonymous = Api(double.url)
    expect(anonymous.get("/api/search"), 200)
    expect(anonymous.post("/api/folders", {"title": "Nope"}), 403)


def test_teams_and_members(
    admin: Api, double: GrafanaDouble, make_user: Callable[..., int]
) -> None:
    erin = make_user("erin")
    team = expect(
        admin.post("/api/teams", {"name": "SRE", "email": "sre@example.test"}), 200
    )
    team_id = team["teamId"]
    expect(admin.post("/api/teams", {"name": "SRE"}), 409)
    expect(admin.post(f"/api/teams/{team_id}/members", {"userId": erin}), 200)
    expect(admin.post(f"/api/teams/{team_id}/members", {"userId": erin}), 400)
    expect(admin.put(f"/api/teams/{team_id}/members/{erin}", {"permission": 4}), 200)
    members = expect(admin.get(f"/api/teams/{team_id}/members"), 200)
    assert {member["login"]: member["permission"] for member in members} == {
        "admin": 4,
        "erin": 4,
    }
    erin_api = Api(double.url, auth=("erin", "erinerin"))
    expect(erin_api.put(f"/api/teams/{team_id}", {"name": "SRE team"}), 200)
    found = expect(admin.get("/api/teams/search", params={"name": "SRE team"}), 200)
    assert found["totalCount"] == 1
    expect(
        admin.put(f"/api/teams/{team_id}/members", {"members": ["erin"], "admins": []}),
        200,
    )
    members = expect(admin.get(f"/api/teams/{team_id}/members"), 200)
    assert [(member["login"], member["permission"]) for member in members] == [
        ("erin", 0)
    ]
    expect(admin.delete(f"/api/teams/{team_id}"), 200)
    expect(admin.get(f"/api/teams/{team_id}"), 404)


def test_preferences(admin: Api) -> None:
    expect(admin.put("/api/org/preferences", {"theme": "dark", "timezone": "utc"}), 200)
    expect(admin.patch("/api/org/preferences", {"weekStart": "monday"}), 200)
    body = expect(admin.get("/api/org/preferences"), 200)
    assert (body["theme"], body["timezone"], body["weekStart"]) == (
        "dark",
        "utc",
        "monday",
    )
