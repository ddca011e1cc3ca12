"""Service account and service account token routes."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from . import accounts
from .auth import generate_token, hash_token, require_role
from .permissions import avatar_url
from .routing import ApiError, Context, Response, Router, ok, str_field
from .store import generate_uid, now_iso, slugify


def _token_count(ctx: Context, account: dict[str, Any]) -> int:
    return len(ctx.store.filter("tokens", service_account_id=account["id"]))


def account_dto(ctx: Context, account: dict[str, Any]) -> dict[str, Any]:
    org_id = int(next(iter(account["org_roles"])))
    return {
        "id": account["id"],
        "uid": account["uid"],
        "name": account["name"],
        "login": account["login"],
        "orgId": org_id,
        "isDisabled": bool(account.get("disabled")),
        "isExternal": False,
        "role": accounts.org_role(account, org_id),
        "tokens": _token_count(ctx, account),
        "avatarUrl": avatar_url(account["login"]),
    }


def _profile_dto(ctx: Context, account: dict[str, Any]) -> dict[str, Any]:
    dto = account_dto(ctx, account)
    dto.update(createdAt=account["created"], updatedAt=account["updated"], teams=[])
    return dto


def _get_account(ctx: Context) -> dict[str, Any]:
    require_role(ctx, "Admin")
    account = ctx.store.find(
        "users", id=ctx.int_param("serviceAccountId"), is_service_account=True
    )
    if account is None or accounts.org_role(account, ctx.org_id) is None:
        raise ApiError(404, "service account not found")
    return account


def create_account(ctx: Context) -> Response:
    require_role(ctx, "Admin")
    body = ctx.json_object()
    name = str_field(body, "name").strip()
    if not name:
        raise ApiError(400, "service account name is required")
    role = accounts.validate_role(body.get("role") or "Viewer")
    login = f"sa-{ctx.org_id}-{slugify(name)}"
    if ctx.store.find("users", login=login) or any(
        item["name"] == name and accounts.org_role(item, ctx.org_id) is not None
        for item in ctx.store.filter("users", is_service_account=True)
    ):
        raise ApiError(400, "service account already exists")
    now = now_iso()
    account = {
        "id": ctx.store.next_id("user"),
        "uid": generate_uid(),
        "login": login,
        "email": login,
        "name": name,
        "is_service_account": True,
        "is_grafana_admin": False,
        "disabled": bool(body.get("isDisabled")),
        "org_id": ctx.org_id,
        "org_roles": {str(ctx.org_id): role},
        "created": now,
        "updated": now,
    }
    ctx.store.items("users").append(account)
    return Response(201, account_dto(ctx, account))


def search_accounts(ctx: Context) -> Response:
    require_role(ctx, "Admin")
    query = ctx.arg("query").lower()
    per_page = max(ctx.int_arg("perpage", 1000), 1)
    page = max(ctx.int_arg("page", 1), 1)
    found = [
        item
        for item in ctx.store.filter("users", is_service_account=True)
        if accounts.org_role(item, ctx.org_id) is not None
        and (
            not query or query in item["name"].lower() or query in item["login"].lower()
        )
    ]
    if ctx.arg("Disabled").lower() == "true":
        found = [item for item in found if item.get("disabled")]
    found.sort(key=lambda item: item["name"].lower())
    start = (page - 1) * per_page
    return Response(
        200,
        {
            "totalCount": len(found),
            "serviceAccounts": [
                account_dto(ctx, item) for item in found[start : start + per_page]
            ],
            "page": page,
            "perPage": per_page,
        },
    )


def get_account(ctx: Context) -> Response:
    return Response(200, _profile_dto(ctx, _get_account(ctx)))


def update_account(ctx: Context) -> Response:
    account = _get_account(ctx)
    body = ctx.json_object() if ctx.raw_body else {}
    if body.get("name"):
        account["name"] = str(body["name"])
    if body.get("role"):
        account["org_roles"][str(ctx.org_id)] = accounts.validate_role(body["role"])
    if body.get("isDisabled") is not None:
        account["disabled"] = bool(body["isDisabled"])
    account["updated"] = now_iso()
    return Response(
        200,
        {
            "message": "Service account updated",
            "id": account["id"],
            "name": account["name"],
            "serviceaccount": _profile_dto(ctx, account),
        },
    )


def delete_account(ctx: Context) -> Response:
    account = _get_account(ctx)
    ctx.store.remove("users", account)
    for token in ctx.store.filter("tokens", service_account_id=account["id"]):
        ctx.store.remove("tokens", token)
    return ok("Service account deleted")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _token_dto(token: dict[str, Any]) -> dict[str, Any]:
    """Build a ``TokenDTO``; unset times are left out, as the schema has no nulls."""
    now = time.time()
    dto: dict[str, Any] = {
        "id": token["id"],
        "name": token["name"],
        "created": token["created"],
        "hasExpired": bool(token.get("expires")) and token["expires"] < now,
        "isRevoked": False,
        "secondsUntilExpiration": 0,
    }
    if token.get("expires"):
        dto["expiration"] = _iso(token["expires"])
        dto["secondsUntilExpiration"] = max(token["expires"] - now, 0)
    if token.get("last_used"):
        dto["lastUsedAt"] = _iso(token["last_used"])
    return dto


def list_tokens(ctx: Context) -> Response:
    account = _get_account(ctx)
    tokens = ctx.store.filter("tokens", service_account_id=account["id"])
    return Response(200, [_token_dto(token) for token in tokens])


def create_token(ctx: Context) -> Response:
    account = _get_account(ctx)
    body = ctx.json_object() if ctx.raw_body else {}
    name = str(body.get("name") or "").strip()
    if not name:
        raise ApiError(400, "token name is required")
    if ctx.store.find("tokens", service_account_id=account["id"], name=name):
        raise ApiError(
            409,
            "service account token with given name already exists in the organization",
        )
    seconds = int(body.get("secondsToLive") or 0)
    if seconds < 0:
        raise ApiError(400, "secondsToLive must not be negative")
    key = generate_token()
    token = {
        "id": ctx.store.next_id("token"),
        "service_account_id": account["id"],
        "org_id": ctx.org_id,
        "name": name,
        "hash": hash_token(key),
        "created": now_iso(),
        "expires": time.time() + seconds if seconds else None,
        "last_used": None,
    }
    ctx.store.items("tokens").append(token)
    return Response(200, {"id": token["id"], "name": name, "key": key})


def delete_token(ctx: Context) -> Response:
    account = _get_account(ctx)
    token = ctx.store.find(
        "tokens", service_account_id=account["id"], id=ctx.int_param("tokenId")
    )
    if token is None:
        raise ApiError(404, "service account token not found")
    ctx.store.remove("tokens", token)
    return ok("Service account token deleted")


def register(router: Router) -> None:
    router.add("POST", "/api/serviceaccounts", create_account)
    router.add("GET", "/api/serviceaccounts/search", search_accounts)
    router.add("GET", "/api/serviceaccounts/{serviceAccountId}", get_account)
    router.add("PATCH", "/api/serviceaccounts/{serviceAccountId}", update_account)
    router.add("DELETE", "/api/serviceaccounts/{serviceAccountId}", delete_account)
    router.add("GET", "/api/serviceaccounts/{serviceAccountId}/tokens", list_tokens)
    router.add("POST", "/api/serviceaccounts/{serviceAccountId}/tokens", create_token)
    router.add(
        "DELETE",
        "/api/serviceaccounts/{serviceAccountId}/tokens/{tokenId}",
        delete_token,
    )
