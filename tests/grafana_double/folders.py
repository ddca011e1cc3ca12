"""Folder routes, nested folders included (``parentUid``)."""

from __future__ import annotations

import re
from typing import Any

from . import access
from .auth import Identity, forbidden
from .routing import (
    ApiError,
    Context,
    Response,
    Router,
    bool_field,
    int_field,
    str_field,
)
from .store import Store, generate_uid, now_iso, slugify

MAX_FOLDER_DEPTH = 4
"""Grafana's ``folder.MaxNestedFolderDepth``: at most 4 levels of folders."""
MAX_UID_LENGTH = 40
_UID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]+$")


def folder_url(folder: dict[str, Any]) -> str:
    return f"/dashboards/f/{folder['uid']}/{slugify(folder['title'])}"


def validate_uid(uid: str) -> None:
    """Apply Grafana's uid rules: at most 40 characters of ``[a-zA-Z0-9_-]``."""
    if len(uid) > MAX_UID_LENGTH:
        raise ApiError(400, "uid too long, max 40 characters")
    if not _UID_PATTERN.match(uid):
        raise ApiError(400, "uid contains illegal characters")


def get_folder(store: Store, org_id: int, uid: str) -> dict[str, Any]:
    folder = store.find("folders", org_id=org_id, uid=uid)
    if folder is None:
        raise ApiError(404, "Folder not found", status="not-found")
    return folder


def viewable_folder(
    ctx: Context, uid: str, needed: int = access.VIEW
) -> dict[str, Any]:
    """Return the folder or raise 404, or 403 when the identity lacks ``needed``."""
    identity = _identity(ctx)
    folder = get_folder(ctx.store, identity.org_id, uid)
    level = access.folder_level(ctx.store, identity, folder)
    access.require_level(level, needed, "Access denied")
    return folder


def _identity(ctx: Context) -> Identity:
    assert ctx.identity is not None
    return ctx.identity


def folder_dto(ctx: Context, folder: dict[str, Any]) -> dict[str, Any]:
    identity = _identity(ctx)
    level = access.folder_level(ctx.store, identity, folder)
    dto = {
        "id": folder["id"],
        "uid": folder["uid"],
        "orgId": folder["org_id"],
        "title": folder["title"],
        "url": folder_url(folder),
        "hasAcl": False,
        "canSave": level >= access.EDIT,
        "canEdit": level >= access.EDIT,
        "canAdmin": level >= access.ADMIN,
        "canDelete": level >= access.EDIT,
        "createdBy": folder["created_by"],
        "created": folder["created"],
        "updatedBy": folder["updated_by"],
        "updated": folder["updated"],
        "version": folder["version"],
    }
    if folder.get("parent_uid"):
        dto["parentUid"] = folder["parent_uid"]
        ancestors = access.folder_chain(
            ctx.store, folder["org_id"], folder["parent_uid"]
        )
        dto["parents"] = [_parent_dto(item) for item in reversed(ancestors)]
    return dto


def _parent_dto(folder: dict[str, Any]) -> dict[str, Any]:
    dto = {
        "id": folder["id"],
        "uid": folder["uid"],
        "orgId": folder["org_id"],
        "title": folder["title"],
        "url": folder_url(folder),
    }
    if folder.get("parent_uid"):
        dto["parentUid"] = folder["parent_uid"]
    return dto


def actor_login(ctx: Context) -> str:
    identity = _identity(ctx)
    return identity.login or "Anonymous"


def title_taken(
    store: Store, org_id: int, parent_uid: str, title: str, exclude_uid: str = ""
) -> bool:
    """Return whether a sibling folder already has this title (case-insensitive)."""
    for other in store.filter("folders", org_id=org_id):
        if other["uid"] == exclude_uid:
            continue
        same_parent = (other.get("parent_uid") or "") == (parent_uid or "")
        if same_parent and other["title"].lower() == title.lower():
            return True
    return False


def create_folder(ctx: Context) -> Response:
    identity = _identity(ctx)
    body = ctx.json_object()
    title = str_field(body, "title").strip()
    parent_uid = str_field(body, "parentUid")
    uid = str_field(body, "uid") or generate_uid()

    if not title:
        raise ApiError(400, "folder title cannot be empty")
    validate_uid(uid)
    if parent_uid:
        get_folder(ctx.store, identity.org_id, parent_uid)
        depth = len(access.folder_chain(ctx.store, identity.org_id, parent_uid))
        if depth >= MAX_FOLDER_DEPTH:
            raise ApiError(400, "failed to create folder: maximum folder depth reached")

    if not access.can_create_in(ctx.store, identity, parent_uid or None):
        raise forbidden()
    if ctx.store.find("folders", org_id=identity.org_id, uid=uid) or ctx.store.find(
        "dashboards", org_id=identity.org_id, uid=uid
    ):
        raise ApiError(409, "a folder with the same uid already exists")
    if title_taken(ctx.store, identity.org_id, parent_uid, title):
        raise ApiError(
            409, "a folder with the same name already exists in this location"
        )

    now = now_iso()
    folder = {
        "id": ctx.store.next_id("dashboard"),
        "uid": uid,
        "org_id": identity.org_id,
        "title": title,
        "description": str_field(body, "description"),
        "parent_uid": parent_uid,
        "version": 1,
        "created": now,
        "updated": now,
        "created_by": actor_login(ctx),
        "updated_by": actor_login(ctx),
        "acl": access.default_acl(identity, at_root=not parent_uid),
    }
    ctx.store.items("folders").append(folder)
    return Response(200, folder_dto(ctx, folder))


def list_folders(ctx: Context) -> Response:
    identity = _identity(ctx)
    parent_uid = ctx.arg("parentUid")
    needed = access.EDIT if ctx.arg("permission") == "Edit" else access.VIEW
    limit = ctx.int_arg("limit", 1000)
    page = max(ctx.int_arg("page", 1), 1)
    children = [
        folder
        for folder in ctx.store.filter("folders", org_id=identity.org_id)
        if (folder.get("parent_uid") or "") == parent_uid
        and access.folder_level(ctx.store, identity, folder) >= needed
    ]
    children.sort(key=lambda folder: folder["title"].lower())
    start = (page - 1) * limit
    hits = []
    for folder in children[start : start + limit]:
        hit = {"id": folder["id"], "uid": folder["uid"], "title": folder["title"]}
        if folder.get("parent_uid"):
            hit["parentUid"] = folder["parent_uid"]
        hits.append(hit)
    return Response(200, hits)


def get_folder_route(ctx: Context) -> Response:
    folder = viewable_folder(ctx, ctx.params["folder_uid"])
    return Response(200, folder_dto(ctx, folder))


def update_folder(ctx: Context) -> Response:
    folder = viewable_folder(ctx, ctx.params["folder_uid"], access.EDIT)
    body = ctx.json_object()
    overwrite = bool_field(body, "overwrite")
    version = int_field(body, "version")
    if not overwrite and version is not None and version != folder["version"]:
        raise ApiError(
            409,
            "the folder has been changed by someone else",
            status="version-mismatch",
        )
    if body.get("title") is not None:
        title = str_field(body, "title").strip()
        if not title:
            raise ApiError(400, "folder title cannot be empty")
        parent_uid = folder.get("parent_uid") or ""
        if title_taken(ctx.store, folder["org_id"], parent_uid, title, folder["uid"]):
            raise ApiError(
                409, "a folder with the same name already exists in this location"
            )
        folder["title"] = title
    if "description" in body:
        folder["description"] = str_field(body, "description")
    folder["version"] += 1
    folder["updated"] = now_iso()
    folder["updated_by"] = actor_login(ctx)
    return Response(200, folder_dto(ctx, folder))


def descendants(store: Store, folder: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the folder and all folders below it."""
    result = [folder]
    index = 0
    while index < len(result):
        current = result[index]
        result.extend(
            store.filter("folders", org_id=folder["org_id"], parent_uid=current["uid"])
        )
        index += 1
    return result


def delete_folder(ctx: Context) -> Response:
    folder = viewable_folder(ctx, ctx.params["folder_uid"], access.EDIT)
    subtree = descendants(ctx.store, folder)
    uids = {item["uid"] for item in subtree}
    rules = [
        rule
        for rule in ctx.store.filter("alert_rules", org_id=folder["org_id"])
        if rule["folderUID"] in uids
    ]
    if rules and ctx.arg("forceDeleteRules").lower() != "true":
        raise ApiError(
            400,
            "folder cannot be deleted: folder contains alert rules; "
            "set forceDeleteRules=true to delete them",
        )
    for rule in rules:
        ctx.store.remove("alert_rules", rule)
    for dashboard in list(ctx.store.filter("dashboards", org_id=folder["org_id"])):
        if dashboard.get("folder_uid") in uids:
            ctx.store.remove("dashboards", dashboard)
    for item in subtree:
        ctx.store.remove("folders", item)
    return Response(
        200,
        {
            "id": folder["id"],
            "title": folder["title"],
            "message": f"Folder {folder['title']} deleted",
        },
    )


def register(router: Router) -> None:
    router.add("GET", "/api/folders", list_folders)
    router.add("POST", "/api/folders", create_folder)
    router.add("GET", "/api/folders/{folder_uid}", get_folder_route)
    router.add("PUT", "/api/folders/{folder_uid}", update_folder)
    router.add("DELETE", "/api/folders/{folder_uid}", delete_folder)
