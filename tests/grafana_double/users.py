"""User, org membership and signed-in user routes."""

from __future__ import annotations

from typing import Any

from . import accounts
from .auth import require_grafana_admin, require_role, unauthorized
from .permissions import avatar_url
from .routing import ApiError, Context, Response, Router, int_field, ok, str_field
from .store import Store, now_iso


def user_profile(user: dict[str, Any]) -> dict[str, Any]:
    """Build a ``UserProfileDTO``."""
    return {
        "id": user["id"],
        "uid": user["uid"],
        "email": user["email"],
        "name": user["name"],
        "login": user["login"],
        "theme": user.get("theme", ""),
        "orgId": user.get("org_id", 1),
        "isGrafanaAdmin": bool(user.get("is_grafana_admin")),
        "isDisabled": bool(user.get("disabled")),
        "isExternal": False,
        "isExternallySynced": False,
        "isGrafanaAdminExternallySynced": False,
        "isProvisioned": False,
        "authLabels": [],
        "updatedAt": user["updated"],
        "createdAt": user["created"],
        "avatarUrl": avatar_url(user["email"]),
    }


def org_user_dto(user: dict[str, Any], org_id: int) -> dict[str, Any]:
    """Build an ``OrgUserDTO``; the double does not track last-seen times."""
    return {
        "orgId": org_id,
        "userId": user["id"],
        "uid": user["uid"],
        "email": user["email"],
        "name": user["name"],
        "avatarUrl": avatar_url(user["email"]),
        "login": user["login"],
        "role": accounts.org_role(user, org_id),
        "lastSeenAt": user["updated"],
        "lastSeenAtAge": "10 years",
        "isDisabled": bool(user.get("disabled")),
        "authLabels": [],
        "isExternallySynced": False,
        "isProvisioned": False,
    }


def admin_create_user(ctx: Context) -> Response:
    require_grafana_admin(ctx)
    body = ctx.json_object()
    org_id = int_field(body, "orgId") or 1
    user = accounts.create_user(
        ctx.store,
        login=str_field(body, "login"),
        email=str_field(body, "email"),
        name=str_field(body, "name"),
        password=str_field(body, "password"),
        org_id=org_id,
    )
    return Response(
        200, {"id": user["id"], "uid": user["uid"], "message": "User created"}
    )


def admin_delete_user(ctx: Context) -> Response:
    require_grafana_admin(ctx)
    user = accounts.get_user(ctx.store, ctx.int_param("user_id"))
    delete_user(ctx.store, user)
    return ok("User deleted")


def delete_user(store: Store, user: dict[str, Any]) -> None:
    """Delete a user with its team memberships and managed permissions."""
    store.remove("users", user)
    for team in store.items("teams"):
        team["members"].pop(str(user["id"]), None)
    for kind in ("folders", "dashboards"):
        for item in store.items(kind):
            item["acl"] = [
                entry for entry in item["acl"] if entry.get("user_id") != user["id"]
            ]


def admin_update_password(ctx: Context) -> Response:
    require_grafana_admin(ctx)
    user = accounts.get_user(ctx.store, ctx.int_param("user_id"))
    password = str_field(ctx.json_object(), "password")
    if len(password) < accounts.MIN_PASSWORD_LENGTH:
        raise ApiError(400, "New password is too short")
    accounts.set_password(user, password)
    user["updated"] = now_iso()
    return ok("User password updated")


def admin_update_permissions(ctx: Context) -> Response:
    identity = require_grafana_admin(ctx)
    user = accounts.get_user(ctx.store, ctx.int_param("user_id"))
    is_admin = bool(ctx.json_object().get("isGrafanaAdmin"))
    if not is_admin and user["id"] == identity.user_id:
        raise ApiError(400, "You cannot remove Grafana admin permission from yourself")
    user["is_grafana_admin"] = is_admin
    return ok("User permissions updated")


def _signed_in_user(ctx: Context) -> dict[str, Any]:
    identity = ctx.identity
    assert identity is not None
    if identity.is_anonymous:
        raise unauthorized()
    user = ctx.store.find("users", id=identity.user_id)
    if user is None:
        raise ApiError(404, "user not found")
    return user


def get_signed_in_user(ctx: Context) -> Response:
    user = _signed_in_user(ctx)
    profile = user_profile(user)
    profile["orgId"] = ctx.org_id
    return Response(200, profile)


def _apply_user_update(
    store: Store, user: dict[str, Any], body: dict[str, Any]
) -> None:
    for key in ("login", "email"):
        value = body.get(key)
        if not value or value == user[key]:
            continue
        other = accounts.find_user_by_login_or_email(store, str(value))
        if other is not None and other is not user:
            raise ApiError(409, "Update would result in user login conflict")
        user[key] = str(value)
    if "name" in body:
        user["name"] = str(body.get("name") or "")
    if "theme" in body:
        user["theme"] = str(body.get("theme") or "")
    user["updated"] = now_iso()


def update_signed_in_user(ctx: Context) -> Response:
    user = _signed_in_user(ctx)
    _apply_user_update(ctx.store, user, ctx.json_object())
    return ok("User updated")


def lookup_user(ctx: Context) -> Response:
    require_grafana_admin(ctx)
    value = ctx.arg("loginOrEmail")
    user = accounts.find_user_by_login_or_email(ctx.store, value) if value else None
    if user is None:
        raise ApiError(404, "user not found")
    return Response(200, user_profile(user))


def search_users(ctx: Context) -> Response:
    require_grafana_admin(ctx)
    query = ctx.arg("query").lower()
    per_page = max(ctx.int_arg("perpage", 1000), 1)
    page = max(ctx.int_arg("page", 1), 1)
    users = [
        user
        for user in ctx.store.items("users")
        if not user.get("is_service_account")
        and (
            not query
            or any(query in user[key].lower() for key in ("login", "email", "name"))
        )
    ]
    users.sort(key=lambda user: user["login"].lower())
    start = (page - 1) * per_page
    hits = [_search_hit(user) for user in users[start : start + per_page]]
    return Response(
        200,
        {"totalCount": len(users), "users": hits, "page": page, "perPage": per_page},
    )


def _search_hit(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": user["id"],
        "uid": user["uid"],
        "name": user["name"],
        "login": user["login"],
        "email": user["email"],
        "avatarUrl": avatar_url(user["email"]),
        "isAdmin": bool(user.get("is_grafana_admin")),
        "isDisabled": bool(user.get("disabled")),
        "lastSeenAt": user["updated"],
        "lastSeenAtAge": "10 years",
        "authLabels": [],
        "isProvisioned": False,
    }


def get_user_by_id(ctx: Context) -> Response:
    require_grafana_admin(ctx)
    return Response(
        200, user_profile(accounts.get_user(ctx.store, ctx.int_param("user_id")))
    )


def update_user(ctx: Context) -> Response:
    require_grafana_admin(ctx)
    user = accounts.get_user(ctx.store, ctx.int_param("user_id"))
    _apply_user_update(ctx.store, user, ctx.json_object())
    return ok("User updated")


def _list_org_users(ctx: Context, org_id: int) -> Response:
    query = ctx.arg("query").lower()
    limit = ctx.int_arg("limit", 0)
    users = [
        user
        for user in accounts.org_members(ctx.store, org_id)
        if not query
        or any(query in user[key].lower() for key in ("login", "email", "name"))
    ]
    users.sort(key=lambda user: user["login"].lower())
    if limit > 0:
        users = users[:limit]
    return Response(200, [org_user_dto(user, org_id) for user in users])


def _add_org_user(ctx: Context, org_id: int) -> Response:
    accounts.get_org(ctx.store, org_id)
    body = ctx.json_object()
    role = accounts.validate_role(body.get("role"))
    user = accounts.find_user_by_login_or_email(
        ctx.store, str(body.get("loginOrEmail") or "")
    )
    if user is None:
        raise ApiError(404, "User not found")
    if accounts.org_role(user, org_id) is not None:
        raise ApiError(409, "User is already member of this organization")
    user["org_roles"][str(org_id)] = role
    return ok("User added to organization", userId=user["id"])


def _update_org_user(ctx: Context, org_id: int) -> Response:
    user = _org_member(ctx, org_id)
    role = accounts.validate_role(ctx.json_object().get("role"))
    demoted = accounts.org_role(user, org_id) == "Admin" and role != "Admin"
    if demoted and accounts.count_org_admins(ctx.store, org_id) <= 1:
        raise ApiError(
            400, "Cannot change role so that there is no organization admin left"
        )
    user["org_roles"][str(org_id)] = role
    return ok("Organization user updated")


def _remove_org_user(ctx: Context, org_id: int) -> Response:
    user = _org_member(ctx, org_id)
    if (
        accounts.org_role(user, org_id) == "Admin"
        and accounts.count_org_admins(ctx.store, org_id) <= 1
    ):
        raise ApiError(400, "Cannot remove last organization admin")
    del user["org_roles"][str(org_id)]
    for team in ctx.store.filter("teams", org_id=org_id):
        team["members"].pop(str(user["id"]), None)
    if not user["org_roles"]:
        # Grafana deletes a user who is left without any org.
        delete_user(ctx.store, user)
        return ok("User deleted")
    return ok("User removed from organization")


def _org_member(ctx: Context, org_id: int) -> dict[str, Any]:
    user = ctx.store.find(
        "users", id=ctx.int_param("user_id"), is_service_account=False
    )
    if user is None or accounts.org_role(user, org_id) is None:
        raise ApiError(404, "User not found")
    return user


def get_org_users(ctx: Context) -> Response:
    require_role(ctx, "Admin")
    return _list_org_users(ctx, ctx.org_id)


def lookup_org_users(ctx: Context) -> Response:
    require_role(ctx, "Editor")
    response = _list_org_users(ctx, ctx.org_id)
    response.body = [
        {
            "userId": item["userId"],
            "uid": item["uid"],
            "login": item["login"],
            "avatarUrl": item["avatarUrl"],
        }
        for item in response.body
    ]
    return response


def add_org_user(ctx: Context) -> Response:
    require_role(ctx, "Admin")
    return _add_org_user(ctx, ctx.org_id)


def update_org_user(ctx: Context) -> Response:
    require_role(ctx, "Admin")
    return _update_org_user(ctx, ctx.org_id)


def remove_org_user(ctx: Context) -> Response:
    require_role(ctx, "Admin")
    return _remove_org_user(ctx, ctx.org_id)


def _org_from_path(ctx: Context) -> int:
    require_grafana_admin(ctx)
    org_id = ctx.int_param("org_id")
    accounts.get_org(ctx.store, org_id)
    return org_id


def get_users_of_org(ctx: Context) -> Response:
    return _list_org_users(ctx, _org_from_path(ctx))


def add_user_to_org(ctx: Context) -> Response:
    return _add_org_user(ctx, _org_from_path(ctx))


def update_user_in_org(ctx: Context) -> Response:
    return _update_org_user(ctx, _org_from_path(ctx))


def remove_user_from_org(ctx: Context) -> Response:
    return _remove_org_user(ctx, _org_from_path(ctx))


def register(router: Router) -> None:
    router.add("POST", "/api/admin/users", admin_create_user)
    router.add("DELETE", "/api/admin/users/{user_id}", admin_delete_user)
    router.add("PUT", "/api/admin/users/{user_id}/password", admin_update_password)
    router.add(
        "PUT", "/api/admin/users/{user_id}/permissions", admin_update_permissions
    )
    router.add("GET", "/api/user", get_signed_in_user)
    router.add("PUT", "/api/user", update_signed_in_user)
    router.add("GET", "/api/users/lookup", lookup_user)
    router.add("GET", "/api/users/search", search_users)
    router.add("GET", "/api/users/{user_id}", get_user_by_id)
    router.add("PUT", "/api/users/{user_id}", update_user)
    router.add("GET", "/api/org/users", get_org_users)
    router.add("POST", "/api/org/users", add_org_user)
    router.add("GET", "/api/org/users/lookup", lookup_org_users)
    router.add("PATCH", "/api/org/users/{user_id}", update_org_user)
    router.add("DELETE", "/api/org/users/{user_id}", remove_org_user)
    router.add("GET", "/api/orgs/{org_id}/users", get_users_of_org)
    router.add("POST", "/api/orgs/{org_id}/users", add_user_to_org)
    router.add("PATCH", "/api/orgs/{org_id}/users/{user_id}", update_user_in_org)
    router.add("DELETE", "/api/orgs/{org_id}/users/{user_id}", remove_user_from_org)
