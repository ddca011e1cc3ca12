"""``GET /api/search`` over folders and dashboards the identity may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import access
from .auth import Identity
from .dashboards import dashboard_url
from .folders import folder_url
from .routing import ApiError, Context, Response, Router
from .store import Store, slugify

DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000
"""Grafana caps ``limit`` at 5000 and defaults it to 1000."""
GENERAL_FOLDER_UID = "general"


def _folder_hit(store: Store, folder: dict[str, Any]) -> dict[str, Any]:
    hit = {
        "id": folder["id"],
        "uid": folder["uid"],
        "orgId": folder["org_id"],
        "title": folder["title"],
        "uri": f"db/{slugify(folder['title'])}",
        "url": folder_url(folder),
        "slug": "",
        "type": "dash-folder",
        "tags": [],
        "isStarred": False,
        "sortMeta": 0,
        "isDeleted": False,
    }
    _add_parent(store, hit, folder["org_id"], folder.get("parent_uid"))
    return hit


def _dashboard_hit(store: Store, dashboard: dict[str, Any]) -> dict[str, Any]:
    hit = {
        "id": dashboard["id"],
        "uid": dashboard["uid"],
        "orgId": dashboard["org_id"],
        "title": dashboard["title"],
        "uri": f"db/{slugify(dashboard['title'])}",
        "url": dashboard_url(dashboard),
        "slug": "",
        "type": "dash-db",
        "tags": list(dashboard.get("tags") or []),
        "isStarred": False,
        "sortMeta": 0,
        "isDeleted": False,
    }
    _add_parent(store, hit, dashboard["org_id"], dashboard.get("folder_uid"))
    return hit


def _add_parent(
    store: Store, hit: dict[str, Any], org_id: int, parent_uid: str | None
) -> None:
    if not parent_uid:
        return
    parent = store.find("folders", org_id=org_id, uid=parent_uid)
    if parent is None:
        return
    hit.update(
        folderId=parent["id"],
        folderUid=parent["uid"],
        folderTitle=parent["title"],
        folderUrl=folder_url(parent),
    )


def _parent_filter(ctx: Context) -> set[str] | None:
    """Return the requested parent folder uids; ``general`` is the root ("")."""
    uids = ctx.query.get("folderUIDs")
    if not uids:
        return None
    return {"" if uid == GENERAL_FOLDER_UID else uid for uid in uids}


@dataclass
class _Filters:
    """The query parameters of a search request."""

    kind: str
    parents: set[str] | None
    dashboard_uids: set[str]
    dashboard_ids: set[int]
    query: str
    tags: set[str]

    @classmethod
    def from_request(cls, ctx: Context) -> _Filters:
        try:
            ids = {int(value) for value in ctx.query.get("dashboardIds") or []}
        except ValueError:
            raise ApiError(400, "invalid dashboardIds: use integers") from None
        return cls(
            kind=ctx.arg("type"),
            parents=_parent_filter(ctx),
            dashboard_uids=set(ctx.query.get("dashboardUIDs") or []),
            dashboard_ids=ids,
            query=ctx.arg("query").lower(),
            tags=set(ctx.query.get("tag") or []),
        )

    def wants_folders(self) -> bool:
        """Dashboard uid, id and tag filters match dashboards only."""
        narrowed = self.dashboard_uids or self.dashboard_ids or self.tags
        return self.kind in ("", "dash-folder") and not narrowed

    def match_folder(self, folder: dict[str, Any]) -> bool:
        if (
            self.parents is not None
            and (folder.get("parent_uid") or "") not in self.parents
        ):
            return False
        return not self.query or self.query in folder["title"].lower()

    def match_dashboard(self, dashboard: dict[str, Any]) -> bool:
        if (
            self.parents is not None
            and (dashboard.get("folder_uid") or "") not in self.parents
        ):
            return False
        if self.dashboard_uids and dashboard["uid"] not in self.dashboard_uids:
            return False
        if self.dashboard_ids and dashboard["id"] not in self.dashboard_ids:
            return False
        if self.query and self.query not in dashboard["title"].lower():
            return False
        return self.tags.issubset(set(dashboard.get("tags") or []))


def _candidates(ctx: Context, identity: Identity, needed: int) -> list[dict[str, Any]]:
    store = ctx.store
    filters = _Filters.from_request(ctx)
    hits: list[dict[str, Any]] = []
    if filters.wants_folders():
        for folder in store.filter("folders", org_id=identity.org_id):
            visible = access.folder_level(store, identity, folder) >= needed
            if visible and filters.match_folder(folder):
                hits.append(_folder_hit(store, folder))
    if filters.kind in ("", "dash-db"):
        for dashboard in store.filter("dashboards", org_id=identity.org_id):
            visible = access.dashboard_level(store, identity, dashboard) >= needed
            if visible and filters.match_dashboard(dashboard):
                hits.append(_dashboard_hit(store, dashboard))
    return hits


def search(ctx: Context) -> Response:
    identity = ctx.identity
    assert identity is not None
    kind = ctx.arg("type")
    if kind not in ("", "dash-folder", "dash-db"):
        raise ApiError(400, f"invalid type {kind!r}: use dash-folder or dash-db")
    if ctx.arg("starred").lower() == "true":
        return Response(200, [])
    needed = access.EDIT if ctx.arg("permission") == "Edit" else access.VIEW
    limit = min(max(ctx.int_arg("limit", DEFAULT_LIMIT), 1), MAX_LIMIT)
    page = max(ctx.int_arg("page", 1), 1)
    hits = _candidates(ctx, identity, needed)
    # NOTE: hits sort by title only; Grafana's order of folders relative to
    # dashboards with the same sort key is not modelled.
    descending = ctx.arg("sort") == "alpha-desc"
    hits.sort(key=lambda hit: hit["title"].lower(), reverse=descending)
    start = (page - 1) * limit
    return Response(200, hits[start : start + limit])


def register(router: Router) -> None:
    router.add("GET", "/api/search", search)
