"""Dashboard saving, versions, search and import."""

from __future__ import annotations

from double_support import Api, expect, minimal_dashboard
from grafana_double.contract import dashboard_errors


def _save(admin: Api, dashboard: dict, **fields: object) -> dict:
    return expect(
        admin.post("/api/dashboards/db", {"dashboard": dashboard, **fields}), 200
    )


def test_save_new_dashboard(admin: Api) -> None:
    saved = _save(admin, minimal_dashboard("Node overview", uid="node-overview"))
    assert saved["uid"] == "node-overview"
    assert saved["version"] == 1
    assert saved["status"] == "success"
    assert saved["url"] == "/d/node-overview/node-overview"


def test_get_dashboard_matches_schema(admin: Api) -> None:
    _save(admin, minimal_dashboard("Schema check", uid="schema-check"))
    body = expect(admin.get("/api/dashboards/uid/schema-check"), 200)
    assert dashboard_errors(body["dashboard"]) == []
    assert body["dashboard"]["version"] == 1
    assert body["meta"]["canSave"] is True
    assert body["meta"]["folderTitle"] == "General"


def test_save_stale_version_conflicts(admin: Api) -> None:
    _save(admin, minimal_dashboard("Versioned", uid="versioned"))
    _save(admin, minimal_dashboard("Versioned", uid="versioned", version=1))
    reply = admin.post(
        "/api/dashboards/db",
        {"dashboard": minimal_dashboard("Versioned", uid="versioned", version=1)},
    )
    body = expect(reply, 412)
    assert body["status"] == "version-mismatch"


def test_save_without_version_conflicts(admin: Api) -> None:
    _save(admin, minimal_dashboard("No version", uid="no-version"))
    reply = admin.post(
        "/api/dashboards/db",
        {"dashboard": minimal_dashboard("No version", uid="no-version")},
    )
    assert expect(reply, 412)["status"] == "version-mismatch"


def test_overwrite_ignores_version(admin: Api) -> None:
    _save(admin, minimal_dashboard("Overwrite", uid="overwrite"))
    saved = _save(
        admin,
        minimal_dashboard("Overwrite", uid="overwrite", version=7),
        overwrite=True,
    )
    assert saved["version"] == 2


def test_same_title_in_folder_conflicts(admin: Api) -> None:
    _save(admin, minimal_dashboard("Twin", uid="twin-a"))
    reply = admin.post(
        "/api/dashboards/db", {"dashboard": minimal_dashboard("twin", uid="twin-b")}
    )
    assert expect(reply, 412)["status"] == "name-exists"


def test_same_title_overwrite_takes_existing(admin: Api) -> None:
    _save(admin, minimal_dashboard("Twin", uid="twin-a"))
    saved = _save(admin, minimal_dashboard("Twin", uid="twin-b"), overwrite=True)
    assert saved["uid"] == "twin-a"
    assert saved["version"] == 2


def test_same_title_other_folder_allowed(admin: Api) -> None:
    expect(admin.post("/api/folders", {"uid": "ops", "title": "Ops"}), 200)
    _save(admin, minimal_dashboard("Shared title", uid="root-copy"))
    saved = _save(
        admin, minimal_dashboard("Shared title", uid="ops-copy"), folderUid="ops"
    )
    assert saved["folderUid"] == "ops"


def test_save_unknown_folder_rejected(admin: Api) -> None:
    reply = admin.post(
        "/api/dashboards/db",
        {"dashboard": minimal_dashboard("Lost"), "folderUid": "missing"},
    )
    expect(reply, 404)


def test_save_empty_title_rejected(admin: Api) -> None:
    reply = admin.post("/api/dashboards/db", {"dashboard": minimal_dashboard("")})
    expect(reply, 400)


def test_versions_keep_messages(admin: Api) -> None:
    _save(admin, minimal_dashboard("History", uid="history"), message="first")
    _save(
        admin, minimal_dashboard("History", uid="history", version=1), message="second"
    )
    versions = expect(admin.get("/api/dashboards/uid/history/versions"), 200)
    assert [item["version"] for item in versions] == [2, 1]
    assert [item["message"] for item in versions] == ["second", "first"]
    first = expect(admin.get("/api/dashboards/uid/history/versions/1"), 200)
    assert first["data"]["version"] == 1


def test_delete_dashboard(admin: Api) -> None:
    _save(admin, minimal_dashboard("Doomed", uid="doomed"))
    body = expect(admin.delete("/api/dashboards/uid/doomed"), 200)
    assert body["title"] == "Doomed"
    expect(admin.get("/api/dashboards/uid/doomed"), 404)


def test_search_pages_and_sorts(admin: Api) -> None:
    for index in range(5):
        _save(admin, minimal_dashboard(f"Page {index}", uid=f"page-{index}"))
    first = expect(
        admin.get("/api/search", params={"type": "dash-db", "limit": 2}), 200
    )
    third = expect(
        admin.get("/api/search", params={"type": "dash-db", "limit": 2, "page": 3}), 200
    )
    assert [hit["title"] for hit in first] == ["Page 0", "Page 1"]
    assert [hit["title"] for hit in third] == ["Page 4"]


def test_search_filters(admin: Api) -> None:
    expect(admin.post("/api/folders", {"uid": "infra", "title": "Infra"}), 200)
    _save(
        admin,
        minimal_dashboard("Disk usage", uid="disk", tags=["node"]),
        folderUid="infra",
    )
    _save(admin, minimal_dashboard("CPU usage", uid="cpu"))
    by_query = expect(admin.get("/api/search", params={"query": "disk"}), 200)
    by_folder = expect(admin.get("/api/search", params={"folderUIDs": "infra"}), 200)
    at_root = expect(
        admin.get("/api/search", params={"folderUIDs": "general", "type": "dash-db"}),
        200,
    )
    by_uid = expect(admin.get("/api/search", params={"dashboardUIDs": "cpu"}), 200)
    folders = expect(admin.get("/api/search", params={"type": "dash-folder"}), 200)
    by_tag = expect(admin.get("/api/search", params={"tag": "node"}), 200)
    assert [hit["uid"] for hit in by_query] == ["disk"]
    assert by_query[0]["folderUid"] == "infra"
    assert [hit["uid"] for hit in by_folder] == ["disk"]
    assert [hit["uid"] for hit in at_root] == ["cpu"]
    assert [hit["uid"] for hit in by_uid] == ["cpu"]
    assert [hit["uid"] for hit in folders] == ["infra"]
    assert [hit["uid"] for hit in by_tag] == ["disk"]


def test_import_substitutes_inputs(admin: Api) -> None:
    model = minimal_dashboard("Imported", uid="imported")
    model["__inputs"] = [
        {"name": "DS_PROM", "type": "datasource", "pluginId": "prometheus"}
    ]
    model["panels"] = [{"type": "timeseries", "datasource": {"uid": "${DS_PROM}"}}]
    body = {
        "dashboard": model,
        "overwrite": True,
        "inputs": [{"name": "DS_PROM", "type": "datasource", "value": "prom-uid"}],
    }
    result = expect(admin.post("/api/dashboards/import", body), 200)
    saved = expect(admin.get("/api/dashboards/uid/imported"), 200)
    assert result["imported"] is True
    assert saved["dashboard"]["panels"][0]["datasource"]["uid"] == "prom-uid"
    assert "__inputs" not in saved["dashboard"]


def test_import_missing_input_rejected(admin: Api) -> None:
    model = minimal_dashboard("Needs input")
    model["__inputs"] = [{"name": "DS_PROM", "type": "datasource"}]
    expect(admin.post("/api/dashboards/import", {"dashboard": model}), 400)
