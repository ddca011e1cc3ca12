# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for grafana_dashboard, run as a subprocess against the Grafana double."""

from __future__ import annotations

import json
from typing import Any

import pytest


def assert_ok(result: dict[str, Any]) -> dict[str, Any]:
    assert not result.get("failed"), result.get("msg")
    return result


def requests_since(grafana, start: int) -> list[str]:
    return [
        f"{record['method']} {record['target']}" for record in grafana.records[start:]
    ]


@pytest.fixture
def dashboard(dashboard_model, unique):
    panels = [
        {
            "type": "timeseries",
            "title": "CPU",
            "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
        }
    ]
    return dashboard_model(f"{unique}-dash", f"Dashboard {unique}", panels=panels)


def exported(dashboard: dict[str, Any]) -> dict[str, Any]:
    """Return ``dashboard`` as Grafana's UI exports it for sharing externally."""
    model = json.loads(json.dumps(dashboard))
    model.update(id=17, version=9, iteration=1700000000000)
    model["__inputs"] = [
        {
            "name": "DS_PROM",
            "label": "Prometheus",
            "type": "datasource",
            "pluginId": "prometheus",
        }
    ]
    model["__requires"] = [{"type": "datasource", "id": "prometheus"}]
    model["panels"][0]["datasource"] = {"type": "prometheus", "uid": "${DS_PROM}"}
    model["panels"][0]["targets"] = [
        {"expr": 'up{instance="${instance}"}', "refId": "A"}
    ]
    return model


def test_dashboard_created_then_unchanged(run_module, grafana, dashboard):
    first = assert_ok(run_module("grafana_dashboard", {"dashboard": dashboard}))
    start = len(grafana.records)
    second = assert_ok(run_module("grafana_dashboard", {"dashboard": dashboard}))

    assert first["changed"] is True
    assert first["created"] is True
    assert first["version"] == 1
    assert second["changed"] is False
    assert second["version"] == 1
    uid = dashboard["uid"]
    assert requests_since(grafana, start) == [f"GET /api/dashboards/uid/{uid}"]


def test_check_mode_predicts_create(run_module, admin_api, dashboard):
    result = assert_ok(
        run_module("grafana_dashboard", {"dashboard": dashboard}, check_mode=True)
    )

    assert result["changed"] is True
    assert result["created"] is True
    status, _ = admin_api.call("GET", f"/api/dashboards/uid/{dashboard['uid']}")
    assert status == 404


def test_check_mode_predicts_update(run_module, admin_api, dashboard):
    assert_ok(run_module("grafana_dashboard", {"dashboard": dashboard}))

    changed = dict(dashboard, title="Renamed in check mode")
    result = assert_ok(
        run_module("grafana_dashboard", {"dashboard": changed}, check_mode=True)
    )

    assert result["changed"] is True
    stored = admin_api.ok("GET", f"/api/dashboards/uid/{dashboard['uid']}")
    assert stored["dashboard"]["title"] == dashboard["title"]
    assert stored["meta"]["version"] == 1


def test_title_change_keeps_uid_and_diffs(run_module, admin_api, dashboard):
    assert_ok(run_module("grafana_dashboard", {"dashboard": dashboard}))

    renamed = dict(dashboard, title="New title")
    result = assert_ok(
        run_module("grafana_dashboard", {"dashboard": renamed}, diff_mode=True)
    )

    assert result["changed"] is True
    assert result["uid"] == dashboard["uid"]
    before = json.loads(result["diff"]["before"])
    after = json.loads(result["diff"]["after"])
    assert before["dashboard"]["title"] == dashboard["title"]
    assert after["dashboard"]["title"] == "New title"
    assert "id" not in before["dashboard"]
    assert "version" not in before["dashboard"]
    assert result["diff"]["before_header"] == f"dashboard {dashboard['uid']}"
    stored = admin_api.ok("GET", f"/api/dashboards/uid/{dashboard['uid']}")
    assert stored["dashboard"]["title"] == "New title"
    assert stored["meta"]["version"] == 2


def test_message_recorded_in_version(run_module, admin_api, dashboard):
    args = {"dashboard": dashboard, "commit_message": "Release 1.2"}
    assert_ok(run_module("grafana_dashboard", args))

    versions = admin_api.ok("GET", f"/api/dashboards/uid/{dashboard['uid']}/versions")

    assert versions[0]["message"].startswith("Release 1.2 [vigil.monitoring sha256:")


def test_export_with_inputs_idempotent(run_module, admin_api, dashboard):
    args = {"dashboard": exported(dashboard), "inputs": {"DS_PROM": "prom-uid"}}

    first = assert_ok(run_module("grafana_dashboard", args))
    second = assert_ok(run_module("grafana_dashboard", args))

    assert first["changed"] is True
    assert second["changed"] is False
    stored = admin_api.ok("GET", f"/api/dashboards/uid/{dashboard['uid']}")
    panel = stored["dashboard"]["panels"][0]
    assert panel["datasource"] == {"type": "prometheus", "uid": "prom-uid"}
    assert panel["targets"][0]["expr"] == 'up{instance="${instance}"}'
    assert "__inputs" not in stored["dashboard"]
    assert "iteration" not in stored["dashboard"]


def test_export_json_text_from_file(run_module, tmp_path, dashboard):
    path = tmp_path / "exported.json"
    path.write_text(json.dumps(exported(dashboard)))
    args = {"dashboard_file": str(path), "inputs": {"DS_PROM": "prom-uid"}}

    first = assert_ok(run_module("grafana_dashboard", args))
    as_text = {"dashboard": path.read_text(), "inputs": {"DS_PROM": "prom-uid"}}
    second = assert_ok(run_module("grafana_dashboard", as_text))

    assert first["changed"] is True
    assert second["changed"] is False


def test_unmapped_input_fails_naming_it(run_module, admin_api, dashboard):
    result = run_module("grafana_dashboard", {"dashboard": exported(dashboard)})

    assert result["failed"] is True
    assert "Unmapped dashboard input DS_PROM (prometheus)" in result["msg"]
    assert "inputs" in result["msg"]
    status, _ = admin_api.call("GET", f"/api/dashboards/uid/{dashboard['uid']}")
    assert status == 404


def test_unused_input_warns(run_module, dashboard):
    args = {"dashboard": dashboard, "inputs": {"DS_OTHER": "x"}}

    result = assert_ok(run_module("grafana_dashboard", args))

    assert "DS_OTHER" in json.dumps(result["warnings"])


def test_missing_uid_fails(run_module, dashboard):
    model = dict(dashboard)
    del model["uid"]

    result = run_module("grafana_dashboard", {"dashboard": model})

    assert result["failed"] is True
    assert "Missing dashboard uid" in result["msg"]


def test_uid_option_overrides_model(run_module, admin_api, dashboard, unique):
    args = {"dashboard": dashboard, "uid": f"{unique}-override"}

    result = assert_ok(run_module("grafana_dashboard", args))

    assert result["uid"] == f"{unique}-override"
    admin_api.ok("GET", f"/api/dashboards/uid/{unique}-override")


def test_panel_ids_from_ui_ignored(run_module, admin_api, dashboard):
    assert_ok(run_module("grafana_dashboard", {"dashboard": dashboard}))
    stored = admin_api.ok("GET", f"/api/dashboards/uid/{dashboard['uid']}")
    model = stored["dashboard"]
    model["panels"][0]["id"] = 4
    admin_api.ok("POST", "/api/dashboards/db", {"dashboard": model, "message": "UI"})

    result = assert_ok(
        run_module("grafana_dashboard", {"dashboard": dashboard, "on_ui_edit": "fail"})
    )

    assert result["changed"] is False


def ui_edit(admin_api, uid: str, title: str) -> None:
    stored = admin_api.ok("GET", f"/api/dashboards/uid/{uid}")
    model = dict(stored["dashboard"], title=title)
    body = {"dashboard": model, "message": "edited in the UI"}
    admin_api.ok("POST", "/api/dashboards/db", body)


def test_ui_edit_fail_mode_rejects(run_module, admin_api, dashboard):
    assert_ok(run_module("grafana_dashboard", {"dashboard": dashboard}))
    ui_edit(admin_api, dashboard["uid"], f"Edited {dashboard['uid']}")

    result = run_module(
        "grafana_dashboard", {"dashboard": dashboard, "on_ui_edit": "fail"}
    )

    assert result["failed"] is True
    assert "changed outside this module" in result["msg"]
    assert "version 2 saved by admin" in result["msg"]
    stored = admin_api.ok("GET", f"/api/dashboards/uid/{dashboard['uid']}")
    assert stored["dashboard"]["title"] == f"Edited {dashboard['uid']}"


def test_ui_edit_keep_mode_warns(run_module, admin_api, dashboard):
    assert_ok(run_module("grafana_dashboard", {"dashboard": dashboard}))
    ui_edit(admin_api, dashboard["uid"], f"Edited {dashboard['uid']}")

    result = assert_ok(
        run_module("grafana_dashboard", {"dashboard": dashboard, "on_ui_edit": "keep"})
    )

    assert result["changed"] is False
    assert "was kept" in json.dumps(result["warnings"])


def test_ui_edit_overwrite_mode_saves(run_module, admin_api, dashboard):
    assert_ok(run_module("grafana_dashboard", {"dashboard": dashboard}))
    ui_edit(admin_api, dashboard["uid"], f"Edited {dashboard['uid']}")

    result = assert_ok(run_module("grafana_dashboard", {"dashboard": dashboard}))

    assert result["changed"] is True
    stored = admin_api.ok("GET", f"/api/dashboards/uid/{dashboard['uid']}")
    assert stored["dashboard"]["title"] == dashboard["title"]


def test_playbook_change_allowed_in_fail_mode(run_module, dashboard):
    assert_ok(run_module("grafana_dashboard", {"dashboard": dashboard}))
    changed = dict(dashboard, tags=["new"])

    result = assert_ok(
        run_module("grafana_dashboard", {"dashboard": changed, "on_ui_edit": "fail"})
    )

    assert result["changed"] is True
    assert result["version"] == 2


def make_folder(admin_api, uid: str, title: str, parent: str = "") -> None:
    body = {"uid": uid, "title": title}
    if parent:
        body["parentUid"] = parent
    admin_api.ok("POST", "/api/folders", body)


def test_folder_uid_moves_dashboard(run_module, admin_api, dashboard, unique):
    make_folder(admin_api, f"{unique}-f", f"Folder {unique}")
    assert_ok(run_module("grafana_dashboard", {"dashboard": dashboard}))
    args = {"dashboard": dashboard, "folder_uid": f"{unique}-f"}

    moved = assert_ok(run_module("grafana_dashboard", args))
    again = assert_ok(run_module("grafana_dashboard", args))

    assert moved["changed"] is True
    assert moved["folder_uid"] == f"{unique}-f"
    assert again["changed"] is False
    stored = admin_api.ok("GET", f"/api/dashboards/uid/{dashboard['uid']}")
    assert stored["meta"]["folderUid"] == f"{unique}-f"


def test_folder_path_resolves_nested(run_module, admin_api, dashboard, unique):
    make_folder(admin_api, f"{unique}-top", f"Top {unique}")
    make_folder(admin_api, f"{unique}-sub", "Linux", parent=f"{unique}-top")
    args = {"dashboard": dashboard, "folder_path": [f"Top {unique}", "Linux"]}

    first = assert_ok(run_module("grafana_dashboard", args))
    second = assert_ok(run_module("grafana_dashboard", args))

    assert first["folder_uid"] == f"{unique}-sub"
    assert second["changed"] is False


def test_folder_path_missing_fails(run_module, dashboard, unique):
    args = {"dashboard": dashboard, "folder_path": [f"Nowhere {unique}"]}

    result = run_module("grafana_dashboard", args)

    assert result["failed"] is True
    assert f"Folder 'Nowhere {unique}' of folder_path not found" in result["msg"]


def test_folder_path_ambiguous_fails(run_module, admin_api, grafana, dashboard, unique):
    make_folder(admin_api, f"{unique}-a", f"Twin {unique}")
    make_folder(admin_api, f"{unique}-b", f"Other {unique}")
    # Grafana rejects duplicate sibling titles now, but folders created by
    # older versions can still share one, so the state is edited directly.
    with grafana.store.lock:
        folder = grafana.store.find("folders", org_id=1, uid=f"{unique}-b")
        folder["title"] = f"Twin {unique}"
        grafana.store.save()

    result = run_module(
        "grafana_dashboard", {"dashboard": dashboard, "folder_path": [f"Twin {unique}"]}
    )

    assert result["failed"] is True
    assert f"Ambiguous folder_path 'Twin {unique}'" in result["msg"]
    assert f"{unique}-a" in result["msg"]
    assert f"{unique}-b" in result["msg"]


def test_permissions_named_admin(run_module, admin_api, make_user, dashboard, unique):
    owner = make_user(f"{unique}owner")
    args = {
        "dashboard": dashboard,
        "permissions": [
            {"user": f"{owner}@example.test", "permission": "Admin"},
            {"role": "Viewer", "permission": "View"},
        ],
    }

    first = assert_ok(run_module("grafana_dashboard", args))
    second = assert_ok(run_module("grafana_dashboard", args, diff_mode=True))

    assert first["changed"] is True
    assert second["changed"] is False
    assert {"user": owner, "permission": "Admin"} in second["permissions"]
    acl = admin_api.ok("GET", f"/api/dashboards/uid/{dashboard['uid']}/permissions")
    own = {(e.get("userLogin"), e.get("role"), e["permissionName"]) for e in acl}
    assert own == {(owner, None, "Admin"), ("", "Viewer", "View")}


def test_permissions_unknown_user_fails(run_module, admin_api, dashboard):
    args = {
        "dashboard": dashboard,
        "permissions": [{"user": "nobody-here", "permission": "Admin"}],
    }

    result = run_module("grafana_dashboard", args)

    assert result["failed"] is True
    assert "Unknown user 'nobody-here'" in result["msg"]
    status, _ = admin_api.call("GET", f"/api/dashboards/uid/{dashboard['uid']}")
    assert status == 404


def test_absent_deletes_then_unchanged(run_module, admin_api, dashboard):
    assert_ok(run_module("grafana_dashboard", {"dashboard": dashboard}))
    args = {"uid": dashboard["uid"], "state": "absent"}

    first = assert_ok(run_module("grafana_dashboard", args, diff_mode=True))
    second = assert_ok(run_module("grafana_dashboard", args))

    assert first["changed"] is True
    assert first["diff"]["after"] == ""
    assert second["changed"] is False
    status, _ = admin_api.call("GET", f"/api/dashboards/uid/{dashboard['uid']}")
    assert status == 404


def test_bad_token_fails_without_secret(run_module, dashboard):
    token = "glsa_notavalidtoken_0123456789abcdef"
    args = {"url": run_module.url, "token": token, "dashboard": dashboard}

    result = run_module("grafana_dashboard", args, auth=False)

    assert result["failed"] is True
    assert result["status"] == 401
    assert "GET /api/dashboards/uid/" in result["msg"]
    assert "HTTP 401" in result["msg"]
    assert token not in json.dumps(result)


def test_service_account_token_works(run_module, service_account_token, dashboard):
    args = {
        "url": run_module.url,
        "token": service_account_token,
        "dashboard": dashboard,
        "org_id": 1,
    }

    first = assert_ok(run_module("grafana_dashboard", args, auth=False))
    second = assert_ok(run_module("grafana_dashboard", args, auth=False))

    assert first["changed"] is True
    assert second["changed"] is False


def test_title_clash_fails_not_overwrites(
    run_module, admin_api, dashboard_model, unique
):
    first = dashboard_model(f"{unique}-one", f"Same {unique}")
    second = dashboard_model(f"{unique}-two", f"Same {unique}")
    assert_ok(run_module("grafana_dashboard", {"dashboard": first}))

    result = run_module("grafana_dashboard", {"dashboard": second})

    assert result["failed"] is True
    assert "HTTP 412" in result["msg"]
    stored = admin_api.ok("GET", f"/api/dashboards/uid/{unique}-one")
    assert stored["dashboard"]["uid"] == f"{unique}-one"
