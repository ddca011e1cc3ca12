"""Authentication: basic auth, service account tokens and anonymous access."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from . import accounts
from .routing import ApiError, Context
from .store import Store

TOKEN_PREFIX = "glsa_"


@dataclass(frozen=True)
class Identity:
    """The signed-in user, service account or anonymous visitor of a request."""

    user_id: int
    login: str
    org_id: int
    org_role: str
    is_grafana_admin: bool = False
    is_service_account: bool = False
    is_anonymous: bool = False
    team_ids: frozenset[int] = field(default_factory=frozenset)

    def has_role(self, role: str) -> bool:
        """Return whether the org role is ``role`` or a role that includes it."""
        return accounts.ROLE_RANK[self.org_role] >= accounts.ROLE_RANK[role]


def unauthorized(
    message: str = "Unauthorized", message_id: str = "auth.unauthorized"
) -> ApiError:
    return ApiError(401, message, messageId=message_id, statusCode=401, traceID="")


def generate_token() -> str:
    """Return a token in Grafana's ``glsa_<32 chars>_<crc32 hex>`` format."""
    alphabet = string.ascii_letters + string.digits
    secret = "".join(secrets.choice(alphabet) for _ in range(32))
    checksum = format(zlib.crc32(f"{TOKEN_PREFIX}{secret}".encode()), "08x")
    return f"{TOKEN_PREFIX}{secret}_{checksum}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(ctx: Context) -> Identity:
    """Resolve the request's identity or raise 401 like Grafana's authn service."""
    header = ctx.header("Authorization")
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return _from_token(ctx.store, credentials.strip())
    if scheme == "basic":
        login, password = _decode_basic(credentials)
        if login == "api_key":
            return _from_token(ctx.store, password)
        return _from_password(ctx, login, password)
    if not header and ctx.settings.anonymous_enabled:
        return _anonymous(ctx)
    raise unauthorized()


def _decode_basic(credentials: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise unauthorized("Invalid Basic Auth Header") from None
    login, separator, password = decoded.partition(":")
    if not separator:
        raise unauthorized("Invalid Basic Auth Header")
    return login, password


def _from_password(ctx: Context, login: str, password: str) -> Identity:
    user = accounts.find_user_by_login_or_email(ctx.store, login)
    if user is None or not accounts.check_password(user, password):
        raise unauthorized("Invalid username or password", "password-auth.failed")
    if user.get("disabled"):
        raise unauthorized("user is disabled", "auth.disabled")
    return user_identity(ctx.store, user, _requested_org(ctx))


def _requested_org(ctx: Context) -> int | None:
    value = ctx.header("X-Grafana-Org-Id")
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"invalid X-Grafana-Org-Id header {value!r}") from None


def user_identity(store: Store, user: dict[str, Any], org_id: int | None) -> Identity:
    """Build the identity of ``user`` in ``org_id`` or in its current org."""
    if org_id is None:
        org_id = _current_org(user)
    role = accounts.org_role(user, org_id)
    if role is None:
        # NOTE: the status Grafana returns for an org the user is not in is not
        # confirmed; the double returns 401.
        raise unauthorized("user is not a member of the requested organization")
    return Identity(
        user_id=user["id"],
        login=user["login"],
        org_id=org_id,
        org_role=role,
        is_grafana_admin=bool(user.get("is_grafana_admin")),
        is_service_account=bool(user.get("is_service_account")),
        team_ids=team_ids_of(store, user["id"], org_id),
    )


def _current_org(user: dict[str, Any]) -> int:
    roles = user.get("org_roles", {})
    if str(user.get("org_id")) in roles:
        return int(user["org_id"])
    if roles:
        return min(int(key) for key in roles)
    return int(user.get("org_id", 1))


def team_ids_of(store: Store, user_id: int, org_id: int) -> frozenset[int]:
    return frozenset(
        team["id"]
        for team in store.filter("teams", org_id=org_id)
        if str(user_id) in team["members"]
    )


def _from_token(store: Store, token: str) -> Identity:
    if not token.startswith(TOKEN_PREFIX):
        raise unauthorized("Invalid API key", "api-key.invalid")
    digest = hash_token(token)
    record = next(
        (
            item
            for item in store.items("tokens")
            if hmac.compare_digest(item["hash"], digest)
        ),
        None,
    )
    if record is None:
        raise unauthorized("Invalid API key", "api-key.invalid")
    if record.get("expires") and record["expires"] < time.time():
        raise unauthorized("Expired API key", "api-key.expired")
    account = store.find("users", id=record["service_account_id"])
    if account is None or account.get("disabled"):
        raise unauthorized("Invalid API key", "api-key.invalid")
    record["last_used"] = time.time()
    # A token acts in its service account's org; X-Grafana-Org-Id is ignored.
    return user_identity(store, account, record["org_id"])


def _anonymous(ctx: Context) -> Identity:
    org = ctx.store.find("orgs", name=ctx.settings.anonymous_org_name)
    if org is None:
        raise unauthorized()
    return Identity(
        user_id=0,
        login="",
        org_id=org["id"],
        org_role=ctx.settings.anonymous_org_role,
        is_anonymous=True,
    )


def require_role(ctx: Context, role: str) -> Identity:
    """Raise 403 unless the org role includes ``role``."""
    identity = ctx.identity
    assert identity is not None
    if not identity.has_role(role):
        raise forbidden()
    return identity


def require_grafana_admin(ctx: Context) -> Identity:
    identity = ctx.identity
    assert identity is not None
    if not identity.is_grafana_admin:
        raise forbidden()
    return identity


def forbidden(
    message: str = "You'll need additional permissions to perform this action.",
) -> ApiError:
    return ApiError(403, message)
