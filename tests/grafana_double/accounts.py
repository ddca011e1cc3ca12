"""Orgs, users and org roles: the model the routes and the CLI share."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from .routing import ApiError
from .store import Store, generate_uid, now_iso

ORG_ROLES = ("None", "Viewer", "Editor", "Admin")
ROLE_RANK = {"None": 0, "Viewer": 1, "Editor": 2, "Admin": 3}
MIN_PASSWORD_LENGTH = 4
"""Grafana rejects passwords shorter than 4 characters (``password is too short``)."""


def hash_password(password: str, salt: str) -> str:
    """Hash with PBKDF2-SHA256 at 10000 rounds, Grafana's scheme for user passwords."""
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 10000, 50)
    return digest.hex()


def set_password(user: dict[str, Any], password: str) -> None:
    user["salt"] = secrets.token_hex(5)
    user["password_hash"] = hash_password(password, user["salt"])


def check_password(user: dict[str, Any], password: str) -> bool:
    if not user.get("password_hash"):
        return False
    expected = hash_password(password, user["salt"])
    return hmac.compare_digest(expected, user["password_hash"])


def create_org(store: Store, name: str) -> dict[str, Any]:
    """Create an org; Grafana's org routes are outside the OpenAPI description."""
    if store.find("orgs", name=name):
        raise ApiError(409, "Organization name taken")
    org = {"id": store.next_id("org"), "name": name, "created": now_iso()}
    store.items("orgs").append(org)
    return org


def get_org(store: Store, org_id: int) -> dict[str, Any]:
    org = store.find("orgs", id=org_id)
    if org is None:
        raise ApiError(404, "Organization not found")
    return org


def find_user_by_login_or_email(store: Store, value: str) -> dict[str, Any] | None:
    """Find a user (not a service account) by login or email, case-insensitively."""
    value = value.lower()
    for user in store.items("users"):
        if user.get("is_service_account"):
            continue
        if user["login"].lower() == value or user["email"].lower() == value:
            return user
    return None


def get_user(store: Store, user_id: int) -> dict[str, Any]:
    user = store.find("users", id=user_id, is_service_account=False)
    if user is None:
        raise ApiError(404, "user not found")
    return user


def create_user(
    store: Store,
    *,
    login: str,
    email: str,
    name: str,
    password: str,
    org_id: int = 1,
    is_grafana_admin: bool = False,
    org_role: str = "Viewer",
    check_length: bool = True,
) -> dict[str, Any]:
    """Create a user and add it to ``org_id`` with ``org_role``.

    Grafana's defaults are ``auto_assign_org = true`` to org 1 and
    ``auto_assign_org_role = Viewer``, which the caller passes.
    """
    login = login or email
    email = email or login
    if not login:
        raise ApiError(400, "login or email is required")
    if find_user_by_login_or_email(store, login) or find_user_by_login_or_email(
        store, email
    ):
        raise ApiError(412, "User already exists")
    if check_length and len(password) < MIN_PASSWORD_LENGTH:
        raise ApiError(400, "password is too short")
    get_org(store, org_id)
    now = now_iso()
    user: dict[str, Any] = {
        "id": store.next_id("user"),
        "uid": generate_uid(),
        "login": login,
        "email": email,
        "name": name,
        "is_grafana_admin": is_grafana_admin,
        "is_service_account": False,
        "disabled": False,
        "theme": "",
        "org_id": org_id,
        "org_roles": {str(org_id): org_role},
        "created": now,
        "updated": now,
    }
    set_password(user, password)
    store.items("users").append(user)
    return user


def org_role(user: dict[str, Any], org_id: int) -> str | None:
    """Return the user's role in ``org_id``, or ``None`` when it is no member."""
    return user.get("org_roles", {}).get(str(org_id))


def org_members(store: Store, org_id: int) -> list[dict[str, Any]]:
    return [
        user
        for user in store.items("users")
        if not user.get("is_service_account") and org_role(user, org_id) is not None
    ]


def count_org_admins(store: Store, org_id: int) -> int:
    return sum(
        1 for user in org_members(store, org_id) if org_role(user, org_id) == "Admin"
    )


def validate_role(role: Any) -> str:
    if role not in ORG_ROLES:
        raise ApiError(400, f"invalid role {role!r}: use one of {', '.join(ORG_ROLES)}")
    return str(role)


def bootstrap(
    store: Store, admin_user: str, admin_password: str, create_admin: bool
) -> None:
    """Create org 1 and the initial admin, as Grafana does once for a new database.

    Grafana applies no length rule to ``admin_password`` here.
    """
    create_org(store, "Main Org.")
    if create_admin:
        create_user(
            store,
            login=admin_user,
            email="admin@localhost",
            name="",
            password=admin_password,
            is_grafana_admin=True,
            org_role="Admin",
            check_length=False,
        )
