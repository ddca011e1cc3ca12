"""Data source routes and the ``datasources`` provisioning files."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import yaml

from . import prometheus
from .auth import require_grafana_admin, require_role
from .folders import validate_uid
from .routing import (
    ApiError,
    Context,
    Response,
    Router,
    bool_field,
    object_field,
    ok,
    str_field,
)
from .store import Store, generate_uid

log = logging.getLogger("grafana_double.datasources")

_TYPE_NAMES = {
    "prometheus": "Prometheus",
    "loki": "Loki",
    "alertmanager": "Alertmanager",
}
_ENV_PATTERN = re.compile(r"\$\$|\$__(env|file)\{([^}]*)\}|\$\{(\w+)\}|\$(\w+)")
_FIELDS = {
    "name": "name",
    "type": "type",
    "access": "access",
    "url": "url",
    "user": "user",
    "database": "database",
    "basicAuth": "basic_auth",
    "basicAuthUser": "basic_auth_user",
    "withCredentials": "with_credentials",
    "isDefault": "is_default",
    "jsonData": "json_data",
}
_DEFAULTS: dict[str, Any] = {
    "access": "proxy",
    "url": "",
    "user": "",
    "database": "",
    "basic_auth": False,
    "basic_auth_user": "",
    "with_credentials": False,
    "is_default": False,
    "json_data": {},
    "secure_json_data": {},
}


def type_logo_url(kind: str) -> str:
    return f"public/app/plugins/datasource/{kind}/img/{kind}_logo.svg"


def datasource_dto(source: dict[str, Any]) -> dict[str, Any]:
    """Build a ``DataSource``; secrets appear only as ``secureJsonFields`` flags."""
    return {
        "id": source["id"],
        "uid": source["uid"],
        "orgId": source["org_id"],
        "name": source["name"],
        "type": source["type"],
        "typeLogoUrl": type_logo_url(source["type"]),
        "access": source["access"],
        "url": source["url"],
        "user": source["user"],
        "database": source["database"],
        "basicAuth": source["basic_auth"],
        "basicAuthUser": source["basic_auth_user"],
        "withCredentials": source["with_credentials"],
        "isDefault": source["is_default"],
        "jsonData": source["json_data"],
        "secureJsonFields": {key: True for key in source["secure_json_data"]},
        "version": source["version"],
        "readOnly": source["read_only"],
    }


def list_item_dto(source: dict[str, Any]) -> dict[str, Any]:
    dto = datasource_dto(source)
    for key in ("basicAuthUser", "withCredentials", "secureJsonFields", "version"):
        dto.pop(key)
    dto["typeName"] = _TYPE_NAMES.get(source["type"], source["type"])
    return dto


def find_by_uid(store: Store, org_id: int, uid: str) -> dict[str, Any]:
    source = store.find("datasources", org_id=org_id, uid=uid)
    if source is None:
        raise ApiError(404, "Data source not found")
    return source


def apply_fields(source: dict[str, Any], body: dict[str, Any]) -> None:
    """Copy API or provisioning fields onto a record; secrets merge by key."""
    for api_key, key in _FIELDS.items():
        if api_key in body and body[api_key] is not None:
            source[key] = body[api_key]
    secure = body.get("secureJsonData")
    if isinstance(secure, dict):
        merged = dict(source.get("secure_json_data") or {})
        merged.update({key: str(value) for key, value in secure.items()})
        source["secure_json_data"] = merged


def new_datasource(store: Store, org_id: int, body: dict[str, Any]) -> dict[str, Any]:
    uid = str(body.get("uid") or "") or generate_uid()
    validate_uid(uid)
    if store.find("datasources", org_id=org_id, name=body.get("name")):
        raise ApiError(409, "data source with the same name already exists")
    if store.find("datasources", org_id=org_id, uid=uid):
        raise ApiError(409, "data source with the same uid already exists")
    source: dict[str, Any] = {
        "id": store.next_id("datasource"),
        "uid": uid,
        "org_id": org_id,
        "version": 1,
        "read_only": False,
        **{
            key: (dict(value) if isinstance(value, dict) else value)
            for key, value in _DEFAULTS.items()
        },
    }
    apply_fields(source, body)
    store.items("datasources").append(source)
    _single_default(store, source)
    return source


def _single_default(store: Store, source: dict[str, Any]) -> None:
    """Clear ``isDefault`` on the org's other data sources, as Grafana does."""
    if not source["is_default"]:
        return
    for other in store.filter("datasources", org_id=source["org_id"]):
        if other is not source:
            other["is_default"] = False


def _validate_body(body: dict[str, Any]) -> None:
    """Check member types like Go's JSON binding, then the required fields."""
    for key in (
        "name",
        "type",
        "access",
        "url",
        "user",
        "database",
        "basicAuthUser",
        "uid",
    ):
        str_field(body, key)
    for key in ("basicAuth", "withCredentials", "isDefault"):
        bool_field(body, key)
    object_field(body, "jsonData")
    secure = object_field(body, "secureJsonData") or {}
    if not all(isinstance(value, str) for value in secure.values()):
        raise ApiError(400, "bad request data: secureJsonData values must be strings")
    if not str_field(body, "name").strip():
        raise ApiError(400, "Required field name is missing")
    if not str_field(body, "type").strip():
        raise ApiError(400, "Required field type is missing")


def add_datasource(ctx: Context) -> Response:
    require_role(ctx, "Admin")
    body = ctx.json_object()
    _validate_body(body)
    source = new_datasource(ctx.store, ctx.org_id, body)
    return Response(
        200,
        {
            "datasource": datasource_dto(source),
            "id": source["id"],
            "message": "Datasource added",
            "name": source["name"],
        },
    )


def list_datasources(ctx: Context) -> Response:
    require_role(ctx, "Admin")
    sources = sorted(
        ctx.store.filter("datasources", org_id=ctx.org_id),
        key=lambda source: source["name"].lower(),
    )
    return Response(200, [list_item_dto(source) for source in sources])


def get_by_uid(ctx: Context) -> Response:
    require_role(ctx, "Admin")
    return Response(
        200, datasource_dto(find_by_uid(ctx.store, ctx.org_id, ctx.params["uid"]))
    )


def get_by_name(ctx: Context) -> Response:
    require_role(ctx, "Admin")
    source = ctx.store.find("datasources", org_id=ctx.org_id, name=ctx.params["name"])
    if source is None:
        raise ApiError(404, "Data source not found")
    return Response(200, datasource_dto(source))


def update_by_uid(ctx: Context) -> Response:
    require_role(ctx, "Admin")
    source = find_by_uid(ctx.store, ctx.org_id, ctx.params["uid"])
    body = ctx.json_object()
    _validate_body(body)

    if source["read_only"]:
        raise ApiError(403, "Cannot update read-only data source")
    version = body.get("version")
    if version is not None and version < source["version"]:
        raise ApiError(
            409,
            "Datasource has already been updated by someone else. "
            "Please reload and try again",
        )
    other = ctx.store.find("datasources", org_id=ctx.org_id, name=body["name"])
    if other is not None and other is not source:
        raise ApiError(409, "data source with the same name already exists")

    body.pop("uid", None)
    # An update replaces jsonData as a whole, as Grafana's PUT does.
    apply_fields(source, body)
    source["version"] += 1
    _single_default(ctx.store, source)

    return Response(
        200,
        {
            "datasource": datasource_dto(source),
            "id": source["id"],
            "message": "Datasource updated",
            "name": source["name"],
        },
    )


def delete_by_uid(ctx: Context) -> Response:
    require_role(ctx, "Admin")
    source = find_by_uid(ctx.store, ctx.org_id, ctx.params["uid"])
    if source["read_only"]:
        raise ApiError(403, "Cannot delete read-only data source")
    ctx.store.remove("datasources", source)
    return ok("Data source deleted")


def delete_by_name(ctx: Context) -> Response:
    require_role(ctx, "Admin")
    source = ctx.store.find("datasources", org_id=ctx.org_id, name=ctx.params["name"])
    if source is None:
        raise ApiError(404, "Data source not found")
    if source["read_only"]:
        raise ApiError(403, "Cannot delete read-only data source")
    ctx.store.remove("datasources", source)
    return Response(200, {"id": source["id"], "message": "Data source deleted"})


def _expand(value: Any) -> Any:
    """Expand ``$VAR``, ``${VAR}``, ``$__env{}`` and ``$__file{}``; ``$$`` is ``$``."""
    if isinstance(value, dict):
        return {key: _expand(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand(item) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        if match.group(1) == "file":
            return Path(match.group(2)).read_text(encoding="utf-8").strip()
        name = match.group(2) or match.group(3) or match.group(4)
        return os.environ.get(name, "")

    return _ENV_PATTERN.sub(replace, value)


def read_provisioning(
    directory: Path,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Read ``*.yaml``/``*.yml`` files; return (data sources, deletions)."""
    sources: list[dict[str, Any]] = []
    deletions: list[dict[str, Any]] = []
    if not directory.is_dir():
        return sources, deletions
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    for path in files:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(document, dict):
            raise ValueError(
                f"invalid data source provisioning file {path}: not a mapping"
            )
        document = _expand(document)
        sources.extend(document.get("datasources") or [])
        deletions.extend(document.get("deleteDatasources") or [])
    _check_defaults(sources)
    return sources, deletions


def _check_defaults(sources: list[dict[str, Any]]) -> None:
    orgs_with_default: set[int] = set()
    for source in sources:
        if not source.get("name"):
            raise ValueError(
                "invalid data source provisioning: every data source needs a name"
            )
        org_id = int(source.get("orgId") or 1)
        if source.get("isDefault"):
            if org_id in orgs_with_default:
                raise ValueError(
                    "datasource.yaml config is invalid. Only one datasource per "
                    "organization can be marked as default"
                )
            orgs_with_default.add(org_id)


def provision_datasources(store: Store, directory: Path) -> None:
    """Apply provisioning: delete the listed sources, then upsert each by name."""
    sources, deletions = read_provisioning(directory)
    for item in deletions:
        existing = store.find(
            "datasources", org_id=int(item.get("orgId") or 1), name=item.get("name")
        )
        if existing is not None:
            store.remove("datasources", existing)
            log.info("deleted provisioned data source %s", existing["name"])
    for item in sources:
        _provision_one(store, item)


def _provision_one(store: Store, item: dict[str, Any]) -> None:
    org_id = int(item.get("orgId") or 1)
    if store.find("orgs", id=org_id) is None:
        raise ValueError(f"data source {item['name']}: organization {org_id} not found")
    body = dict(item)
    existing = store.find("datasources", org_id=org_id, name=item["name"])
    if existing is None:
        existing = new_datasource(store, org_id, body)
    else:
        body.pop("uid", None)
        existing["json_data"] = {}
        existing["secure_json_data"] = {}
        apply_fields(existing, body)
        existing["version"] += 1
        if item.get("uid"):
            existing["uid"] = item["uid"]
    existing["read_only"] = not bool(item.get("editable", False))
    _single_default(store, existing)
    log.info("provisioned data source %s (uid %s)", existing["name"], existing["uid"])


def reload_provisioning(ctx: Context) -> Response:
    require_grafana_admin(ctx)
    try:
        provision_datasources(ctx.store, ctx.settings.provisioning_path / "datasources")
    except (OSError, ValueError, yaml.YAMLError) as error:
        log.error("data source provisioning failed: %s", error)
        raise ApiError(500, f"Failed to reload datasources config: {error}") from None
    return ok("Datasources config reloaded")


def reload_noop(message: str) -> Any:
    """Return a handler for reload routes of content the double does not provision."""

    def handler(ctx: Context) -> Response:
        require_grafana_admin(ctx)
        return ok(message)

    return handler


def register(router: Router) -> None:
    router.add("GET", "/api/datasources", list_datasources)
    router.add("POST", "/api/datasources", add_datasource)
    router.add("GET", "/api/datasources/uid/{uid}", get_by_uid)
    router.add("PUT", "/api/datasources/uid/{uid}", update_by_uid)
    router.add("DELETE", "/api/datasources/uid/{uid}", delete_by_uid)
    router.add("GET", "/api/datasources/name/{name}", get_by_name)
    router.add("DELETE", "/api/datasources/name/{name}", delete_by_name)
    router.add("GET", "/api/datasources/uid/{uid}/health", prometheus.health_route)
    router.add("POST", "/api/ds/query", prometheus.query_route)
    for method in ("GET", "POST", "DELETE"):
        router.add(
            method,
            "/api/datasources/proxy/uid/{uid}/{datasource_proxy_route*}",
            prometheus.proxy_route,
        )
    router.add(
        "POST", "/api/admin/provisioning/datasources/reload", reload_provisioning
    )
    router.add(
        "POST",
        "/api/admin/provisioning/dashboards/reload",
        reload_noop("Dashboards config reloaded"),
    )
    router.add(
        "POST",
        "/api/admin/provisioning/plugins/reload",
        reload_noop("Plugins config reloaded"),
    )
