"""Dashboard routes: save, get, delete, versions and import."""

from __future__ import annotations

import copy
import re
from typing import Any

from . import access
from .auth import Identity
from .folders import actor_login, folder_url, get_folder, validate_uid
from .routing import ApiError, Context, Response, Router, bool_field, str_field
from .store import Store, generate_uid, now_iso, slugify


def dashboard_url(dashboard: dict[str, Any]) -> str:
    return f"/d/{dashboard['uid']}/{slugify(dashboard['title'])}"


def _identity(ctx: Context) -> Identity:
    assert ctx.identity is not None
    return ctx.identity


def viewable_dashboard(
    ctx: Context, uid: str, needed: int = access.VIEW
) -> dict[str, Any]:
    """Return the dashboard or raise 404, or 403 when the identity lacks ``needed``."""
    identity = _identity(ctx)
    dashboard = ctx.store.find("dashboards", org_id=identity.org_id, uid=uid)
    if dashboard is None:
        raise ApiError(404, "Dashboard not found", status="not-found")
    level = access.dashboard_level(ctx.store, identity, dashboard)
    access.require_level(level, needed, "Access denied to this dashboard")
    return dashboard


def _find_existing(
    store: Store, org_id: int, model: dict[str, Any]
) -> dict[str, Any] | None:
    """Find the dashboard a save targets, by ``id`` first and then by ``uid``."""
    dashboard_id = model.get("id")
    if dashboard_id:
        existing = store.find("dashboards", org_id=org_id, id=dashboard_id)
        if existing is None:
            raise ApiError(404, "Dashboard not found", status="not-found")
        uid = model.get("uid")
        if uid and uid != existing["uid"]:
            other = store.find("dashboards", org_id=org_id, uid=uid)
            if other is not None:
                raise ApiError(400, "Dashboard with the same uid already exists")
        return existing
    uid = model.get("uid")
    if uid:
        return store.find("dashboards", org_id=org_id, uid=uid)
    return None


def _same_title(
    store: Store, org_id: int, folder_uid: str, title: str
) -> dict[str, Any] | None:
    for other in store.filter("dashboards", org_id=org_id):
        same_folder = (other.get("folder_uid") or "") == folder_uid
        if same_folder and other["title"].lower() == title.lower():
            return other
    return None


def save_dashboard(
    ctx: Context, model: Any, folder_uid: str, overwrite: bool, message: str
) -> dict[str, Any]:
    """Save a dashboard with Grafana's version and title checks.

    Without ``overwrite``, saving over an existing dashboard needs the stored
    ``version`` (412 ``version-mismatch``), and another dashboard with the
    same title in the folder is a 412 ``name-exists``. With ``overwrite`` the
    save replaces the dashboard with the same uid, or else the one with the
    same title in the folder, which then takes that dashboard's uid.
    """
    identity = _identity(ctx)
    if not isinstance(model, dict):
        raise ApiError(400, "bad request data: dashboard must be an object")
    model = copy.deepcopy(model)
    title = str(model.get("title") or "").strip()
    if not title:
        raise ApiError(400, "Dashboard title cannot be empty", status="empty-name")
    if folder_uid:
        get_folder(ctx.store, identity.org_id, folder_uid)
    if model.get("uid"):
        validate_uid(str(model["uid"]))
    existing = _find_existing(ctx.store, identity.org_id, model)
    stale = existing is not None and model.get("version") != existing["version"]
    if stale and not overwrite:
        raise ApiError(
            412,
            "The dashboard has been changed by someone else",
            status="version-mismatch",
        )
    same_title = _same_title(ctx.store, identity.org_id, folder_uid, title)
    if same_title is not None and same_title is not existing:
        if not overwrite:
            raise ApiError(
                412,
                "A dashboard with the same name in the folder already exists",
                status="name-exists",
            )
        # Grafana then saves over the dashboard that has the title, taking its
        # id and uid, even when the request named another uid.
        existing = same_title
    _check_save_permission(ctx, existing, folder_uid)
    if existing is None:
        return _insert(ctx, model, title, folder_uid, message)
    return _store_version(
        ctx, existing, model, title=title, folder_uid=folder_uid, message=message
    )


def _check_save_permission(
    ctx: Context, existing: dict[str, Any] | None, folder_uid: str
) -> None:
    identity = _identity(ctx)
    if existing is not None:
        level = access.dashboard_level(ctx.store, identity, existing)
        access.require_level(level, access.EDIT, "Access denied to save dashboard")
        moved = (existing.get("folder_uid") or "") != folder_uid
        if not moved:
            return
    if not access.can_create_in(ctx.store, identity, folder_uid or None):
        raise ApiError(403, "Access denied to save dashboard")


def _insert(
    ctx: Context, model: dict[str, Any], title: str, folder_uid: str, message: str
) -> dict[str, Any]:
    identity = _identity(ctx)
    uid = str(model.get("uid") or "") or generate_uid()
    if ctx.store.find("folders", org_id=identity.org_id, uid=uid):
        raise ApiError(400, "A folder with that uid already exists")
    now = now_iso()
    dashboard = {
        "id": ctx.store.next_id("dashboard"),
        "uid": uid,
        "org_id": identity.org_id,
        "folder_uid": folder_uid,
        "title": title,
        "version": 0,
        "created": now,
        "created_by": actor_login(ctx),
        "acl": access.default_acl(identity, at_root=not folder_uid),
        "versions": [],
    }
    ctx.store.items("dashboards").append(dashboard)
    return _store_version(
        ctx, dashboard, model, title=title, folder_uid=folder_uid, message=message
    )


def _store_version(
    ctx: Context,
    dashboard: dict[str, Any],
    model: dict[str, Any],
    *,
    title: str,
    folder_uid: str,
    message: str,
) -> dict[str, Any]:
    now = now_iso()
    version = dashboard["version"] + 1
    model.update(id=dashboard["id"], uid=dashboard["uid"], title=title, version=version)
    dashboard.update(
        folder_uid=folder_uid,
        title=title,
        version=version,
        data=model,
        tags=[str(tag) for tag in model.get("tags") or []],
        updated=now,
        updated_by=actor_login(ctx),
    )
    dashboard["versions"].append(
        {
            "id": ctx.store.next_id("dashboard_version"),
            "version": version,
            "parentVersion": version - 1,
            "restoredFrom": 0,
            "created": now,
            "createdBy": actor_login(ctx),
            "message": message,
            "data": copy.deepcopy(model),
        }
    )
    return dashboard


def post_dashboard(ctx: Context) -> Response:
    body = ctx.json_object()
    folder_uid = str_field(body, "folderUid")
    dashboard = save_dashboard(
        ctx,
        body.get("dashboard"),
        folder_uid,
        bool_field(body, "overwrite"),
        str_field(body, "message"),
    )
    result = {
        "id": dashboard["id"],
        "uid": dashboard["uid"],
        "url": dashboard_url(dashboard),
        "status": "success",
        "version": dashboard["version"],
        "slug": slugify(dashboard["title"]),
        "title": dashboard["title"],
    }
    if folder_uid:
        result["folderUid"] = folder_uid
    return Response(200, result)


def dashboard_meta(ctx: Context, dashboard: dict[str, Any]) -> dict[str, Any]:
    level = access.dashboard_level(ctx.store, _identity(ctx), dashboard)
    meta: dict[str, Any] = {
        "type": "db",
        "canSave": level >= access.EDIT,
        "canEdit": level >= access.EDIT,
        "canAdmin": level >= access.ADMIN,
        "canStar": not _identity(ctx).is_anonymous,
        "canDelete": level >= access.EDIT,
        "slug": slugify(dashboard["title"]),
        "url": dashboard_url(dashboard),
        "expires": "0001-01-01T00:00:00Z",
        "created": dashboard["created"],
        "updated": dashboard["updated"],
        "updatedBy": dashboard["updated_by"],
        "createdBy": dashboard["created_by"],
        "version": dashboard["version"],
        "hasAcl": False,
        "isFolder": False,
        "folderId": 0,
        "folderUid": "",
        "folderTitle": "General",
        "folderUrl": "",
        "provisioned": False,
        "provisionedExternalId": "",
        "annotationsPermissions": _annotation_permissions(level),
    }
    folder_uid = dashboard.get("folder_uid")
    if folder_uid:
        folder = ctx.store.find("folders", org_id=dashboard["org_id"], uid=folder_uid)
        if folder is not None:
            meta.update(
                folderId=folder["id"],
                folderUid=folder["uid"],
                folderTitle=folder["title"],
                folderUrl=folder_url(folder),
            )
    return meta


def _annotation_permissions(level: int) -> dict[str, Any]:
    can_edit = level >= access.EDIT
    actions = {"canAdd": can_edit, "canEdit": can_edit, "canDelete": can_edit}
    return {"dashboard": dict(actions), "organization": dict(actions)}


def get_dashboard(ctx: Context) -> Response:
    dashboard = viewable_dashboard(ctx, ctx.params["uid"])
    return Response(
        200, {"dashboard": dashboard["data"], "meta": dashboard_meta(ctx, dashboard)}
    )


def delete_dashboard(ctx: Context) -> Response:
    dashboard = viewable_dashboard(ctx, ctx.params["uid"], access.EDIT)
    ctx.store.remove("dashboards", dashboard)
    title = dashboard["title"]
    return Response(
        200,
        {
            "uid": dashboard["uid"],
            "title": title,
            "message": f"Dashboard {title} deleted",
        },
    )


def _version_dto(
    dashboard: dict[str, Any], version: dict[str, Any], with_data: bool
) -> dict[str, Any]:
    dto = {
        "id": version["id"],
        "dashboardId": dashboard["id"],
        "uid": dashboard["uid"],
        "parentVersion": version["parentVersion"],
        "restoredFrom": version["restoredFrom"],
        "version": version["version"],
        "created": version["created"],
        "createdBy": version["createdBy"],
        "message": version["message"],
    }
    if with_data:
        dto["data"] = version["data"]
    return dto


def list_versions(ctx: Context) -> Response:
    dashboard = viewable_dashboard(ctx, ctx.params["uid"], access.EDIT)
    limit = ctx.int_arg("limit", 0)
    start = ctx.int_arg("start", 0)
    versions = sorted(dashboard["versions"], key=lambda item: -item["version"])
    versions = versions[start:]
    if limit > 0:
        versions = versions[:limit]
    return Response(200, [_version_dto(dashboard, item, False) for item in versions])


def get_version(ctx: Context) -> Response:
    """Return one version; the path parameter is the dashboard version number."""
    dashboard = viewable_dashboard(ctx, ctx.params["uid"], access.EDIT)
    number = ctx.int_param("DashboardVersionID")
    for version in dashboard["versions"]:
        if version["version"] == number:
            return Response(200, _version_dto(dashboard, version, True))
    raise ApiError(404, f"Dashboard version {number} not found for dashboard")


def _substitute_inputs(model: Any, inputs: dict[str, str]) -> Any:
    """Replace ``${NAME}`` of each import input in every string of the model."""
    if isinstance(model, dict):
        return {key: _substitute_inputs(value, inputs) for key, value in model.items()}
    if isinstance(model, list):
        return [_substitute_inputs(value, inputs) for value in model]
    if isinstance(model, str):
        return re.sub(
            r"\$\{([^}]+)\}", lambda m: inputs.get(m.group(1), m.group(0)), model
        )
    return model


def import_dashboard(ctx: Context) -> Response:
    body = ctx.json_object()
    model = body.get("dashboard")
    if not isinstance(model, dict):
        raise ApiError(400, "bad request data: dashboard must be an object")

    inputs = {
        str(item.get("name")): str(item.get("value") or "")
        for item in body.get("inputs") or []
        if isinstance(item, dict)
    }
    for declared in model.get("__inputs") or []:
        name = declared.get("name")
        if name and name not in inputs:
            raise ApiError(400, f"Dashboard input missing: {name}")

    model = _substitute_inputs(model, inputs)
    model.pop("__inputs", None)
    model.pop("__requires", None)
    model.pop("id", None)

    folder_uid = str_field(body, "folderUid")
    overwrite = bool_field(body, "overwrite")
    dashboard = save_dashboard(ctx, model, folder_uid, overwrite, "")

    folder = ctx.store.find("folders", org_id=ctx.org_id, uid=folder_uid)
    return Response(
        200,
        {
            "uid": dashboard["uid"],
            "pluginId": str(body.get("pluginId") or ""),
            "title": dashboard["title"],
            "imported": True,
            "importedUri": f"db/{slugify(dashboard['title'])}",
            "importedUrl": dashboard_url(dashboard),
            "slug": slugify(dashboard["title"]),
            "dashboardId": dashboard["id"],
            "folderId": folder["id"] if folder else 0,
            "folderUid": folder_uid,
            "importedRevision": 0,
            "revision": 0,
            "description": "",
            "path": str(body.get("path") or ""),
            "removed": False,
        },
    )


def register(router: Router) -> None:
    router.add("POST", "/api/dashboards/db", post_dashboard)
    router.add("POST", "/api/dashboards/import", import_dashboard)
    router.add("GET", "/api/dashboards/uid/{uid}", get_dashboard)
    router.add("DELETE", "/api/dashboards/uid/{uid}", delete_dashboard)
    router.add("GET", "/api/dashboards/uid/{uid}/versions", list_versions)
    router.add(
        "GET", "/api/dashboards/uid/{uid}/versions/{DashboardVersionID}", get_version
    )
