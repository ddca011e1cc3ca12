"""Folder and dashboard permission evaluation, modelled on Grafana's RBAC.

A user's permission on a dashboard is the highest level granted by the
dashboard's own entries or by the entries of its folder and every ancestor
folder. An entry matches by user id, by team membership, or by basic role,
and basic roles include the lower ones (Admin ⊇ Editor ⊇ Viewer). Org Admins
get Admin on everything in their org.
"""

from __future__ import annotations

from typing import Any

from .auth import Identity
from .routing import ApiError
from .store import Store, now_iso

VIEW, EDIT, ADMIN = 1, 2, 4
PERMISSION_NAMES = {VIEW: "View", EDIT: "Edit", ADMIN: "Admin"}


def entry_matches(entry: dict[str, Any], identity: Identity) -> bool:
    if entry.get("user_id"):
        return entry["user_id"] == identity.user_id and identity.user_id != 0
    if entry.get("team_id"):
        return entry["team_id"] in identity.team_ids
    if entry.get("role"):
        return identity.has_role(entry["role"])
    return False


def acl_level(entries: list[dict[str, Any]], identity: Identity) -> int:
    levels = [
        entry["permission"] for entry in entries if entry_matches(entry, identity)
    ]
    return max(levels, default=0)


def folder_chain(
    store: Store, org_id: int, folder_uid: str | None
) -> list[dict[str, Any]]:
    """Return the folder and its ancestors, nearest first."""
    chain = []
    seen: set[str] = set()
    while folder_uid and folder_uid not in seen:
        seen.add(folder_uid)
        folder = store.find("folders", org_id=org_id, uid=folder_uid)
        if folder is None:
            break
        chain.append(folder)
        folder_uid = folder.get("parent_uid") or None
    return chain


def folder_level(store: Store, identity: Identity, folder: dict[str, Any]) -> int:
    if identity.has_role("Admin"):
        return ADMIN
    chain = folder_chain(store, folder["org_id"], folder["uid"])
    return max((acl_level(item["acl"], identity) for item in chain), default=0)


def dashboard_level(store: Store, identity: Identity, dashboard: dict[str, Any]) -> int:
    if identity.has_role("Admin"):
        return ADMIN
    level = acl_level(dashboard["acl"], identity)
    for folder in folder_chain(store, dashboard["org_id"], dashboard.get("folder_uid")):
        level = max(level, acl_level(folder["acl"], identity))
    return level


def can_create_in(store: Store, identity: Identity, folder_uid: str | None) -> bool:
    """Return whether the identity may create dashboards or folders in a folder.

    Creating at the root needs the Editor role, which grants
    ``dashboards:create`` and ``folders:create`` on the General folder.
    Inside a folder it needs Edit on that folder.
    """
    if not folder_uid:
        return identity.has_role("Editor")
    folder = store.find("folders", org_id=identity.org_id, uid=folder_uid)
    if folder is None:
        return False
    return folder_level(store, identity, folder) >= EDIT


def default_acl(identity: Identity, at_root: bool) -> list[dict[str, Any]]:
    """Return the managed permissions Grafana gives a new folder or dashboard.

    The creator (a user or service account) gets Admin. At the root the
    Editor role also gets Edit and the Viewer role View. Nested folders and
    dashboards in a folder inherit those from their folder instead.
    """
    now = now_iso()
    entries = []
    if identity.user_id and not identity.is_anonymous:
        entries.append(acl_entry(permission=ADMIN, now=now, user_id=identity.user_id))
    if at_root:
        entries.append(acl_entry(permission=EDIT, now=now, role="Editor"))
        entries.append(acl_entry(permission=VIEW, now=now, role="Viewer"))
    return entries


def acl_entry(
    permission: int,
    now: str,
    user_id: int | None = None,
    team_id: int | None = None,
    role: str | None = None,
) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "team_id": team_id,
        "role": role,
        "permission": permission,
        "created": now,
        "updated": now,
    }


def require_level(level: int, needed: int, message: str) -> None:
    if level < needed:
        raise ApiError(403, message)
