"""Org and team preferences."""

from __future__ import annotations

from typing import Any

from .auth import require_role
from .routing import ApiError, Context, Response, Router, ok

THEMES = ("", "light", "dark", "system")
_STRING_KEYS = (
    "homeDashboardUID",
    "timezone",
    "weekStart",
    "language",
    "regionalFormat",
)


def preferences_dto(preferences: dict[str, Any]) -> dict[str, Any]:
    """Build a ``PreferencesSpec``; unset keys are empty, as Grafana returns them."""
    dto: dict[str, Any] = {"theme": preferences.get("theme", "")}
    for key in _STRING_KEYS:
        dto[key] = preferences.get(key, "")
    dto["queryHistory"] = {
        "homeTab": preferences.get("queryHistory", {}).get("homeTab", "")
    }
    dto["navbar"] = {
        "bookmarkUrls": preferences.get("navbar", {}).get("bookmarkUrls", [])
    }
    return dto


def update_preferences(current: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Apply ``body`` over ``current``; PUT passes ``{}`` so it replaces everything."""
    result = dict(current)
    theme = body.get("theme")
    if theme is not None:
        if theme not in THEMES:
            raise ApiError(400, f"Invalid theme {theme!r}: use light, dark or system")
        result["theme"] = theme
    for key in _STRING_KEYS:
        if body.get(key) is not None:
            result[key] = str(body[key])
    for key in ("queryHistory", "navbar"):
        if isinstance(body.get(key), dict):
            result[key] = body[key]
    return result


def _org_preferences(ctx: Context) -> dict[str, Any]:
    org = ctx.store.find("orgs", id=ctx.org_id)
    assert org is not None
    return org.setdefault("preferences", {})


def get_org_preferences(ctx: Context) -> Response:
    require_role(ctx, "Admin")
    return Response(200, preferences_dto(_org_preferences(ctx)))


def put_org_preferences(ctx: Context) -> Response:
    require_role(ctx, "Admin")
    org = ctx.store.find("orgs", id=ctx.org_id)
    assert org is not None
    org["preferences"] = update_preferences({}, ctx.json_object())
    return ok("Preferences updated")


def patch_org_preferences(ctx: Context) -> Response:
    require_role(ctx, "Admin")
    org = ctx.store.find("orgs", id=ctx.org_id)
    assert org is not None
    org["preferences"] = update_preferences(_org_preferences(ctx), ctx.json_object())
    return ok("Preferences updated")


def register(router: Router) -> None:
    router.add("GET", "/api/org/preferences", get_org_preferences)
    router.add("PUT", "/api/org/preferences", put_org_preferences)
    router.add("PATCH", "/api/org/preferences", patch_org_preferences)
