"""Team, team member and team preference routes.

Members are stored as ``{user id: permission}``, where permission 4 marks a
team admin (Grafana's team Admin permission) and 0 a plain member.
"""

from __future__ import annotations

from typing import Any

from . import accounts
from .auth import Identity, forbidden
from .permissions import avatar_url
from .preferences import preferences_dto, update_preferences
from .routing import ApiError, Context, Response, Router, ok, str_field
from .store import generate_uid

TEAM_ADMIN = 4
TEAM_MEMBER = 0


def _identity(ctx: Context) -> Identity:
    assert ctx.identity is not None
    return ctx.identity


def team_dto(team: dict[str, Any], identity: Identity | None = None) -> dict[str, Any]:
    permission = 0
    if identity is not None:
        permission = team["members"].get(str(identity.user_id), 0)
    return {
        "id": team["id"],
        "uid": team["uid"],
        "orgId": team["org_id"],
        "name": team["name"],
        "email": team["email"],
        "avatarUrl": avatar_url(team["email"] or team["name"]),
        "memberCount": len(team["members"]),
        "permission": permission,
        "isProvisioned": False,
        "externalUID": "",
    }


def get_team(ctx: Context) -> dict[str, Any]:
    team = ctx.store.find("teams", id=_team_id(ctx), org_id=ctx.org_id)
    if team is None:
        raise ApiError(404, "Team not found")
    return team


def _team_id(ctx: Context) -> int:
    try:
        return int(ctx.params["team_id"])
    except ValueError:
        raise ApiError(404, "Team not found") from None


def _can_read(identity: Identity, team: dict[str, Any]) -> bool:
    return identity.has_role("Admin") or str(identity.user_id) in team["members"]


def _require_team_admin(ctx: Context, team: dict[str, Any]) -> None:
    """Org Admins and the team's admins may change a team, as in Grafana."""
    identity = _identity(ctx)
    if identity.has_role("Admin"):
        return
    if team["members"].get(str(identity.user_id)) == TEAM_ADMIN:
        return
    raise forbidden()


def create_team(ctx: Context) -> Response:
    """Create a team; a user creator becomes its admin member, as in Grafana.

    Only org Admins may create teams, which is Grafana's default while
    ``[users] editors_can_admin`` is false.
    """
    identity = _identity(ctx)
    if not identity.has_role("Admin"):
        raise forbidden()
    body = ctx.json_object()
    name = str_field(body, "name").strip()
    if not name:
        raise ApiError(400, "team name is required")
    if ctx.store.find("teams", org_id=identity.org_id, name=name):
        raise ApiError(409, "Team name taken")
    team = {
        "id": ctx.store.next_id("team"),
        "uid": generate_uid(),
        "org_id": identity.org_id,
        "name": name,
        "email": str_field(body, "email"),
        "members": {},
        "preferences": {},
    }
    if not identity.is_service_account and identity.user_id:
        team["members"][str(identity.user_id)] = TEAM_ADMIN
    ctx.store.items("teams").append(team)
    return Response(
        200, {"message": "Team created", "teamId": team["id"], "uid": team["uid"]}
    )


def search_teams(ctx: Context) -> Response:
    identity = _identity(ctx)
    name = ctx.arg("name")
    query = ctx.arg("query").lower()
    per_page = max(ctx.int_arg("perpage", 1000), 1)
    page = max(ctx.int_arg("page", 1), 1)
    teams = [
        team
        for team in ctx.store.filter("teams", org_id=identity.org_id)
        if _can_read(identity, team)
        and (not name or team["name"] == name)
        and (not query or query in team["name"].lower())
    ]
    teams.sort(key=lambda team: team["name"].lower())
    start = (page - 1) * per_page
    return Response(
        200,
        {
            "totalCount": len(teams),
            "teams": [
                team_dto(team, identity) for team in teams[start : start + per_page]
            ],
            "page": page,
            "perPage": per_page,
        },
    )


def get_team_route(ctx: Context) -> Response:
    team = get_team(ctx)
    if not _can_read(_identity(ctx), team):
        raise forbidden()
    return Response(200, team_dto(team, _identity(ctx)))


def update_team(ctx: Context) -> Response:
    """Update a team; Grafana's command has no JSON tags, so keys match in any case."""
    team = get_team(ctx)
    _require_team_admin(ctx, team)
    body = {key.lower(): value for key, value in ctx.json_object().items()}
    name = str(body.get("name") or "").strip()
    if name and name != team["name"]:
        if ctx.store.find("teams", org_id=team["org_id"], name=name):
            raise ApiError(409, "Team name taken")
        team["name"] = name
    if "email" in body:
        team["email"] = str(body.get("email") or "")
    return ok("Team updated")


def delete_team(ctx: Context) -> Response:
    team = get_team(ctx)
    _require_team_admin(ctx, team)
    ctx.store.remove("teams", team)
    for kind in ("folders", "dashboards"):
        for item in ctx.store.items(kind):
            item["acl"] = [
                entry for entry in item["acl"] if entry.get("team_id") != team["id"]
            ]
    return ok("Team deleted")


def _member_dto(
    ctx: Context, team: dict[str, Any], user_id: str, permission: int
) -> dict[str, Any]:
    user = ctx.store.find("users", id=int(user_id)) or {}
    return {
        "orgId": team["org_id"],
        "teamId": team["id"],
        "teamUID": team["uid"],
        "userId": int(user_id),
        "userUID": user.get("uid", ""),
        "auth_module": "",
        "email": user.get("email", ""),
        "name": user.get("name", ""),
        "login": user.get("login", ""),
        "avatarUrl": avatar_url(user.get("email", "")),
        "labels": [],
        "permission": permission,
    }


def list_members(ctx: Context) -> Response:
    team = get_team(ctx)
    if not _can_read(_identity(ctx), team):
        raise forbidden()
    members = [
        _member_dto(ctx, team, user_id, permission)
        for user_id, permission in team["members"].items()
    ]
    members.sort(key=lambda member: member["login"].lower())
    return Response(200, members)


def _org_user(ctx: Context, user_id: int) -> dict[str, Any]:
    user = ctx.store.find("users", id=user_id)
    if user is None or accounts.org_role(user, ctx.org_id) is None:
        raise ApiError(404, "User not found")
    return user


def add_member(ctx: Context) -> Response:
    team = get_team(ctx)
    _require_team_admin(ctx, team)
    user_id = ctx.json_object().get("userId")
    if not isinstance(user_id, int):
        raise ApiError(400, "bad request data: userId must be an integer")
    _org_user(ctx, user_id)
    if str(user_id) in team["members"]:
        raise ApiError(400, "User is already added to this team")
    team["members"][str(user_id)] = TEAM_MEMBER
    return ok("Member added to Team")


def update_member(ctx: Context) -> Response:
    team = get_team(ctx)
    _require_team_admin(ctx, team)
    user_id = ctx.params["user_id"]
    if user_id not in team["members"]:
        raise ApiError(404, "Team member not found")
    permission = ctx.json_object().get("permission", 0)
    if permission not in (TEAM_MEMBER, TEAM_ADMIN):
        raise ApiError(400, f"invalid team permission {permission!r}: use 0 or 4")
    team["members"][user_id] = permission
    return ok("Team member updated")


def remove_member(ctx: Context) -> Response:
    team = get_team(ctx)
    _require_team_admin(ctx, team)
    if team["members"].pop(ctx.params["user_id"], None) is None:
        raise ApiError(404, "Team member not found")
    return ok("Team Member removed")


def set_members(ctx: Context) -> Response:
    """Replace all members; ``admins`` and ``members`` list logins or emails."""
    team = get_team(ctx)
    _require_team_admin(ctx, team)
    body = ctx.json_object()
    members: dict[str, int] = {}
    for key, permission in (("members", TEAM_MEMBER), ("admins", TEAM_ADMIN)):
        for login in body.get(key) or []:
            user = accounts.find_user_by_login_or_email(ctx.store, str(login))
            if user is None or accounts.org_role(user, ctx.org_id) is None:
                raise ApiError(404, f"User not found: {login}")
            members[str(user["id"])] = permission
    team["members"] = members
    return ok("Team memberships have been updated")


def get_team_preferences(ctx: Context) -> Response:
    team = get_team(ctx)
    return Response(200, preferences_dto(team["preferences"]))


def put_team_preferences(ctx: Context) -> Response:
    team = get_team(ctx)
    _require_team_admin(ctx, team)
    team["preferences"] = update_preferences({}, ctx.json_object())
    return ok("Preferences updated")


def register(router: Router) -> None:
    router.add("POST", "/api/teams", create_team)
    router.add("GET", "/api/teams/search", search_teams)
    router.add("GET", "/api/teams/{team_id}", get_team_route)
    router.add("PUT", "/api/teams/{team_id}", update_team)
    router.add("DELETE", "/api/teams/{team_id}", delete_team)
    router.add("GET", "/api/teams/{team_id}/members", list_members)
    router.add("POST", "/api/teams/{team_id}/members", add_member)
    router.add("PUT", "/api/teams/{team_id}/members", set_members)
    router.add("PUT", "/api/teams/{team_id}/members/{user_id}", update_member)
    router.add("DELETE", "/api/teams/{team_id}/members/{user_id}", remove_member)
    router.add("GET", "/api/teams/{team_id}/preferences", get_team_preferences)
    router.add("PUT", "/api/teams/{team_id}/preferences", put_team_preferences)
