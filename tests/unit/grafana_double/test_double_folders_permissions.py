"""Folders, nested folders, permissions and what Viewers and Editors may see."""

from __future__ import annotations

from collections.abc import Callable

from double_support import Api, expect, minimal_dashboard
from grafana_double import GrafanaDouble


def _folder(admin: Api, uid: str, title: str, parent: str = "") -> dict:
    body = {"uid": uid, "title": title}
    if parent:
        body["parentUid"] = parent
    return expect(admin.post("/api/folders", body), 200)


def _dashboard(admin: Api, uid: str, folder: str = "") -> None:
    body = {"dashboard": minimal_dashboard(uid.title(), uid=uid), "folderUid": folder}
    expect(admin.post("/api/dashboards/db", body), 200)


def _login(double: GrafanaDouble, login: str) -> Api:
    return Api(double.url, auth=(login, login * 2))


def test_new_folder_default_permissions(admin: Api) -> None:
    _folder(admin, "team-a", "Team A")
    entries = expect(admin.get("/api/folders/team-a/permissions"), 200)
    grants = {
        (entry.get("role") or entry["userLogin"], entry["permissionName"])
        for entry in entries
    }
    assert grants == {("admin", "Admin"), ("Editor", "Edit"), ("Viewer", "View")}


def test_nested_folder_inherits(admin: Api) -> None:
    _folder(admin, "parent", "Parent")
    child = _folder(admin, "child", "Child", parent="parent")
    entries = expect(admin.get("/api/folders/child/permissions"), 200)
    inherited = {entry.get("role") for entry in entries if entry["inherited"]}
    own = [entry for entry in entries if not entry["inherited"]]
    assert child["parentUid"] == "parent"
    assert [item["uid"] for item in child["parents"]] == ["parent"]
    assert inherited >= {"Editor", "Viewer"}
    assert [entry["userLogin"] for entry in own] == ["admin"]


def test_list_folders_by_parent(admin: Api) -> None:
    _folder(admin, "top", "Top")
    _folder(admin, "below", "Below", parent="top")
    roots = expect(admin.get("/api/folders"), 200)
    children = expect(admin.get("/api/folders", params={"parentUid": "top"}), 200)
    assert [item["uid"] for item in roots] == ["top"]
    assert [item["uid"] for item in children] == ["below"]


def test_folder_depth_limited(admin: Api) -> None:
    parent = ""
    for level in range(4):
        _folder(admin, f"level-{level}", f"Level {level}", parent=parent)
        parent = f"level-{level}"
    reply = admin.post(
        "/api/folders", {"uid": "too-deep", "title": "Deep", "parentUid": parent}
    )
    expect(reply, 400)


def test_folder_conflicts(admin: Api) -> None:
    _folder(admin, "dup", "Duplicate")
    expect(admin.post("/api/folders", {"uid": "dup", "title": "Other"}), 409)
    expect(admin.post("/api/folders", {"uid": "dup2", "title": "duplicate"}), 409)


def test_folder_update_version_mismatch(admin: Api) -> None:
    _folder(admin, "renamed", "Before")
    updated = expect(
        admin.put("/api/folders/renamed", {"title": "After", "version": 1}), 200
    )
    stale = admin.put("/api/folders/renamed", {"title": "Again", "version": 1})
    assert updated["version"] == 2
    assert updated["title"] == "After"
    assert expect(stale, 409)["status"] == "version-mismatch"


def test_folder_delete_removes_content(admin: Api) -> None:
    _folder(admin, "gone", "Gone")
    _folder(admin, "gone-child", "Gone child", parent="gone")
    _dashboard(admin, "inside", folder="gone-child")
    body = expect(admin.delete("/api/folders/gone"), 200)
    assert body["title"] == "Gone"
    expect(admin.get("/api/folders/gone-child"), 404)
    expect(admin.get("/api/dashboards/uid/inside"), 404)


def test_viewer_denied_restricted_folder(
    admin: Api, double: GrafanaDouble, make_user: Callable[..., int]
) -> None:
    make_user("viewer")
    _folder(admin, "secret", "Secret")
    _dashboard(admin, "hidden", folder="secret")
    expect(admin.post("/api/folders/secret/permissions", {"items": []}), 200)
    viewer = _login(double, "viewer")
    expect(viewer.get("/api/folders/secret"), 403)
    expect(viewer.get("/api/dashboards/uid/hidden"), 403)
    assert expect(viewer.get("/api/search"), 200) == []


def test_viewer_sees_default_folder(
    admin: Api, double: GrafanaDouble, make_user: Callable[..., int]
) -> None:
    make_user("viewer")
    _folder(admin, "open", "Open")
    _dashboard(admin, "visible", folder="open")
    viewer = _login(double, "viewer")
    body = expect(viewer.get("/api/dashboards/uid/visible"), 200)
    hits = expect(viewer.get("/api/search"), 200)
    assert body["meta"]["canSave"] is False
    assert {hit["uid"] for hit in hits} == {"open", "visible"}


def test_viewer_granted_through_team(
    admin: Api, double: GrafanaDouble, make_user: Callable[..., int]
) -> None:
    viewer_id = make_user("viewer")
    _folder(admin, "team-only", "Team only")
    _dashboard(admin, "team-dash", folder="team-only")
    team = expect(admin.post("/api/teams", {"name": "Operators"}), 200)
    expect(
        admin.post(f"/api/teams/{team['teamId']}/members", {"userId": viewer_id}), 200
    )
    items = [{"teamId": team["teamId"], "permission": 1}]
    expect(admin.post("/api/folders/team-only/permissions", {"items": items}), 200)
    viewer = _login(double, "viewer")
    expect(viewer.get("/api/dashboards/uid/team-dash"), 200)
    hits = expect(viewer.get("/api/search", params={"type": "dash-db"}), 200)
    assert [hit["uid"] for hit in hits] == ["team-dash"]


def test_viewer_granted_directly_on_dashboard(
    admin: Api, double: GrafanaDouble, make_user: Callable[..., int]
) -> None:
    viewer_id = make_user("viewer")
    _folder(admin, "closed", "Closed")
    _dashboard(admin, "one", folder="closed")
    _dashboard(admin, "two", folder="closed")
    expect(admin.post("/api/folders/closed/permissions", {"items": []}), 200)
    items = [{"userId": viewer_id, "permission": 1}]
    expect(admin.post("/api/dashboards/uid/one/permissions", {"items": items}), 200)
    viewer = _login(double, "viewer")
    expect(viewer.get("/api/dashboards/uid/one"), 200)
    expect(viewer.get("/api/dashboards/uid/two"), 403)
    expect(viewer.get("/api/folders/closed"), 403)
    entries = expect(admin.get("/api/dashboards/uid/one/permissions"), 200)
    assert [entry["userId"] for entry in entries] == [viewer_id]


def test_editor_role_permission(
    admin: Api, double: GrafanaDouble, make_user: Callable[..., int]
) -> None:
    make_user("editor", role="Editor")
    make_user("viewer")
    _folder(admin, "shared", "Shared")
    editor = _login(double, "editor")
    viewer = _login(double, "viewer")
    body = {"dashboard": minimal_dashboard("By editor"), "folderUid": "shared"}
    expect(editor.post("/api/dashboards/db", body), 200)
    expect(viewer.post("/api/dashboards/db", body | {"overwrite": True}), 403)
    expect(viewer.post("/api/folders", {"title": "Viewer folder"}), 403)
    expect(editor.post("/api/folders", {"title": "Editor folder"}), 200)
    expect(editor.get("/api/folders/shared/permissions"), 403)


def test_permission_items_validated(admin: Api) -> None:
    _folder(admin, "checked", "Checked")
    bad_level = {"items": [{"role": "Viewer", "permission": 3}]}
    two_principals = {"items": [{"role": "Viewer", "userId": 1, "permission": 1}]}
    unknown_team = {"items": [{"teamId": 99, "permission": 1}]}
    admin_role = {"items": [{"role": "Admin", "permission": 4}]}
    expect(admin.post("/api/folders/checked/permissions", admin_role), 400)
    expect(admin.post("/api/folders/checked/permissions", bad_level), 400)
    expect(admin.post("/api/folders/checked/permissions", two_principals), 400)
    expect(admin.post("/api/folders/checked/permissions", unknown_team), 400)
