"""Folder and dashboard permission routes (the legacy ACL API)."""

from __future__ import annotations

import hashlib
from typing import Any

from . import access, accounts
from .dashboards import dashboard_url, viewable_dashboard
from .folders import folder_url, viewable_folder
from .routing import ApiError, Context, Response, Router, int_field, ok, str_field
from .store import Store, now_iso, slugify


def _entry_dto(
    store: Store, entry: dict[str, Any], resource: dict[str, Any], is_folder: bool
) -> dict[str, Any]:
    """Build a ``DashboardACLInfoDTO`` for one entry of ``resource``."""
    dto: dict[str, Any] = {
        "created": entry["created"],
        "updated": entry["updated"],
        "userId": 0,
        "userUid": "",
        "userLogin": "",
        "userEmail": "",
        "userAvatarUrl": "",
        "teamId": 0,
        "teamUid": "",
        "teamEmail": "",
        "teamAvatarUrl": "",
        "team": "",
        "permission": entry["permission"],
        "permissionName": access.PERMISSION_NAMES.get(entry["permission"], ""),
        "uid": resource["uid"],
        "title": resource["title"],
        "slug": slugify(resource["title"]),
        "isFolder": is_folder,
        "url": folder_url(resource) if is_folder else dashboard_url(resource),
        "inherited": False,
    }
    if is_folder:
        dto.update(folderId=resource["id"], folderUid=resource["uid"], dashboardId=0)
    else:
        dto.update(
            dashboardId=resource["id"],
            folderUid=resource.get("folder_uid") or "",
            folderId=_folder_id(store, resource),
        )
    _describe_principal(store, entry, dto)
    return dto


def _folder_id(store: Store, dashboard: dict[str, Any]) -> int:
    folder = store.find(
        "folders", org_id=dashboard["org_id"], uid=dashboard.get("folder_uid")
    )
    return folder["id"] if folder else 0


def _describe_principal(
    store: Store, entry: dict[str, Any], dto: dict[str, Any]
) -> None:
    if entry.get("user_id"):
        user = store.find("users", id=entry["user_id"]) or {}
        dto.update(
            userId=entry["user_id"],
            userUid=user.get("uid", ""),
            userLogin=user.get("login", ""),
            userEmail=user.get("email", ""),
            userAvatarUrl=avatar_url(user.get("email", "")),
        )
    elif entry.get("team_id"):
        team = store.find("teams", id=entry["team_id"]) or {}
        dto.update(
            teamId=entry["team_id"],
            teamUid=team.get("uid", ""),
            team=team.get("name", ""),
            teamEmail=team.get("email", ""),
            teamAvatarUrl=avatar_url(team.get("email", "") or team.get("name", "")),
        )
    elif entry.get("role"):
        dto["role"] = entry["role"]


def avatar_url(seed: str) -> str:
    """Return the gravatar-style path Grafana builds for an email or name."""
    return "/avatar/" + hashlib.md5(seed.strip().lower().encode()).hexdigest()


def _inherited(
    store: Store, org_id: int, folder_uid: str | None
) -> list[dict[str, Any]]:
    dtos = []
    for folder in access.folder_chain(store, org_id, folder_uid):
        for entry in folder["acl"]:
            dto = _entry_dto(store, entry, folder, is_folder=True)
            dto["inherited"] = True
            dtos.append(dto)
    return dtos


def get_folder_permissions(ctx: Context) -> Response:
    folder = viewable_folder(ctx, ctx.params["folder_uid"], access.ADMIN)
    dtos = _inherited(ctx.store, folder["org_id"], folder.get("parent_uid"))
    dtos += [_entry_dto(ctx.store, entry, folder, True) for entry in folder["acl"]]
    return Response(200, dtos)


def get_dashboard_permissions(ctx: Context) -> Response:
    dashboard = viewable_dashboard(ctx, ctx.params["uid"], access.ADMIN)
    dtos = _inherited(ctx.store, dashboard["org_id"], dashboard.get("folder_uid"))
    dtos += [
        _entry_dto(ctx.store, entry, dashboard, False) for entry in dashboard["acl"]
    ]
    return Response(200, dtos)


def parse_acl_items(ctx: Context) -> list[dict[str, Any]]:
    """Validate an ``UpdateDashboardACLCommand`` and return the new entries.

    Each item names exactly one user, team or role (Viewer or Editor), and a
    permission of 1 (View), 2 (Edit) or 4 (Admin). Users must be members of
    the org, and teams must belong to it.
    """
    body = ctx.json_object()
    items = body.get("items")
    if not isinstance(items, list):
        raise ApiError(400, "bad request data: items must be a list")
    now = now_iso()
    entries = []
    seen = set()
    for item in items:
        entry = _parse_acl_item(ctx, item, now)
        key = (entry["user_id"], entry["team_id"], entry["role"])
        if key in seen:
            raise ApiError(
                400, "Duplicate permission in request: each principal may appear once"
            )
        seen.add(key)
        entries.append(entry)
    return entries


def _parse_acl_item(ctx: Context, item: Any, now: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ApiError(400, "bad request data: each item must be an object")
    permission = item.get("permission")
    if permission not in access.PERMISSION_NAMES:
        raise ApiError(400, f"invalid permission {permission!r}: use 1, 2 or 4")
    user_id = int_field(item, "userId") or 0
    team_id = int_field(item, "teamId") or 0
    role = str_field(item, "role") or None
    if sum(1 for value in (user_id, team_id, role) if value) != 1:
        raise ApiError(
            400, "each permission item needs exactly one of userId, teamId or role"
        )
    # Grafana's permission API takes the Viewer and Editor roles only, because
    # org Admins always have Admin on every folder and dashboard.
    if role is not None and role not in ("Viewer", "Editor"):
        raise ApiError(400, f"invalid role {role!r}: use Viewer or Editor")
    if user_id:
        user = ctx.store.find("users", id=user_id)
        if user is None or accounts.org_role(user, ctx.org_id) is None:
            raise ApiError(400, f"user {user_id} is not a member of this organization")
    if team_id and ctx.store.find("teams", id=team_id, org_id=ctx.org_id) is None:
        raise ApiError(400, f"team {team_id} not found")
    return access.acl_entry(permission, now, user_id or None, team_id or None, role)


def update_folder_permissions(ctx: Context) -> Response:
    folder = viewable_folder(ctx, ctx.params["folder_uid"], access.ADMIN)
    folder["acl"] = parse_acl_items(ctx)
    return ok("Folder permissions updated")


def update_dashboard_permissions(ctx: Context) -> Response:
    dashboard = viewable_dashboard(ctx, ctx.params["uid"], access.ADMIN)
    dashboard["acl"] = parse_acl_items(ctx)
    return ok("Dashboard permissions updated")


def register(router: Router) -> None:
    router.add("GET", "/api/folders/{folder_uid}/permissions", get_folder_permissions)
    router.add(
        "POST", "/api/folders/{folder_uid}/permissions", update_folder_permissions
    )
    router.add(
        "GET", "/api/dashboards/uid/{uid}/permissions", get_dashboard_permissions
    )
    router.add(
        "POST", "/api/dashboards/uid/{uid}/permissions", update_dashboard_permissions
    )
