"""Alerting provisioning: contact points, policies, mute timings and templates.

Every object records a provenance: ``api`` when created or changed through
this API, or ``""`` when the request carries ``X-Disable-Provenance``, so the
Grafana UI may still edit it.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from .auth import require_role
from .policies import normalise_tree
from .routing import ApiError, Context, Response, Router
from .store import generate_uid

REDACTED = "[REDACTED]"
DEFAULT_RECEIVER = "grafana-default-email"
SECURE_SETTINGS: dict[str, tuple[str, ...]] = {
    "alertmanager": ("basicAuthPassword",),
    "dingding": ("url",),
    "discord": ("url",),
    "googlechat": ("url",),
    "kafka": ("password",),
    "line": ("token",),
    "opsgenie": ("apiKey",),
    "pagerduty": ("integrationKey",),
    "pushover": ("userKey", "apiToken"),
    "sensugo": ("apikey",),
    "slack": ("url", "token"),
    "teams": (),
    "telegram": ("bottoken",),
    "threema": ("api_secret",),
    "victorops": ("url",),
    "webhook": ("password", "authorization_credentials"),
    "wecom": ("url", "secret"),
    "email": (),
}
"""Settings each integration type stores encrypted and returns redacted."""
REQUIRED_SETTINGS: dict[str, tuple[str, ...]] = {
    "email": ("addresses",),
    "webhook": ("url",),
    "discord": ("url",),
    "googlechat": ("url",),
    "teams": ("url",),
    "pagerduty": ("integrationKey",),
    "opsgenie": ("apiKey",),
    "telegram": ("bottoken", "chatid"),
}


def provenance(ctx: Context) -> str:
    return "" if ctx.header("X-Disable-Provenance") else "api"


def config(ctx: Context) -> dict[str, Any]:
    """Return the org's alerting configuration, creating Grafana's defaults once."""
    require_role(ctx, "Admin")
    state = ctx.store.alerting(ctx.org_id)
    if "contact_points" not in state:
        state["contact_points"] = [
            {
                "uid": generate_uid(),
                "name": DEFAULT_RECEIVER,
                "type": "email",
                "settings": {"addresses": "<example@email.com>"},
                "disableResolveMessage": False,
                "provenance": "",
            }
        ]
        state["policy"] = _default_policy()
        state["mute_timings"] = []
        state["templates"] = []
    return state


def _default_policy() -> dict[str, Any]:
    return {
        "receiver": DEFAULT_RECEIVER,
        "group_by": ["grafana_folder", "alertname"],
        "provenance": "",
    }


def fingerprint(value: Any) -> str:
    """Return a version string for optimistic locking, like Grafana's hash versions."""
    encoded = json.dumps(value, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def _redacted(point: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(point)
    for key in SECURE_SETTINGS.get(point["type"], ()):
        if result["settings"].get(key):
            result["settings"][key] = REDACTED
    return result


def _validate_point(body: dict[str, Any]) -> None:
    kind = body.get("type")
    if kind not in SECURE_SETTINGS:
        raise ApiError(400, f"invalid contact point type {kind!r}")
    if not str(body.get("name") or "").strip():
        raise ApiError(400, "contact point name is required")
    settings = body.get("settings")
    if not isinstance(settings, dict):
        raise ApiError(400, "contact point settings must be an object")
    for key in REQUIRED_SETTINGS.get(kind, ()):
        if not settings.get(key):
            raise ApiError(
                400,
                f"failed to validate integration {body['name']!r} of type {kind!r}: "
                f"could not find {key} in settings",
            )
    if kind == "slack" and not (settings.get("url") or settings.get("token")):
        raise ApiError(
            400, "failed to validate slack integration: token or url must be specified"
        )


def list_contact_points(ctx: Context) -> Response:
    state = config(ctx)
    name = ctx.arg("name")
    points = [
        _redacted(point)
        for point in state["contact_points"]
        if not name or point["name"] == name
    ]
    return Response(200, points)


def create_contact_point(ctx: Context) -> Response:
    state = config(ctx)
    body = ctx.json_object()
    _validate_point(body)
    uid = str(body.get("uid") or "") or generate_uid()
    if any(point["uid"] == uid for point in state["contact_points"]):
        raise ApiError(400, f"contact point with uid {uid!r} already exists")
    point = {
        "uid": uid,
        "name": str(body["name"]),
        "type": body["type"],
        "settings": body["settings"],
        "disableResolveMessage": bool(body.get("disableResolveMessage")),
        "provenance": provenance(ctx),
    }
    state["contact_points"].append(point)
    return Response(202, _redacted(point))


def update_contact_point(ctx: Context) -> Response:
    """Update a contact point.

    A secret sent as ``[REDACTED]`` keeps its stored value, and a secret left
    out is removed, as in Grafana. Grafana rejects the update with HTTP 500
    when the stored provenance is not ``""`` and differs from the request's.
    """
    state = config(ctx)
    body = ctx.json_object()
    point = next(
        (item for item in state["contact_points"] if item["uid"] == ctx.params["UID"]),
        None,
    )
    if point is None:
        raise ApiError(404, "contact point not found")
    settings = dict(body.get("settings") or {})
    if body.get("type") == point["type"]:
        for key in SECURE_SETTINGS.get(point["type"], ()):
            if settings.get(key) == REDACTED:
                settings[key] = point["settings"].get(key)
    _validate_point(dict(body, settings=settings))
    stored_provenance = point.get("provenance") or ""
    if stored_provenance not in ("", provenance(ctx)):
        raise ApiError(
            500,
            f"cannot change provenance from '{stored_provenance}' "
            f"to '{provenance(ctx)}'",
        )
    old_name = point["name"]
    point.update(
        name=str(body["name"]),
        type=body["type"],
        settings=settings,
        disableResolveMessage=bool(body.get("disableResolveMessage")),
        provenance=provenance(ctx),
    )
    if old_name != point["name"]:
        _rename_receiver(state["policy"], old_name, point["name"])
    return Response(202, {})


def _rename_receiver(route: dict[str, Any], old: str, new: str) -> None:
    if route.get("receiver") == old:
        route["receiver"] = new
    for child in route.get("routes") or []:
        _rename_receiver(child, old, new)


def _rename_interval(route: dict[str, Any], old: str, new: str) -> None:
    for key in ("mute_time_intervals", "active_time_intervals"):
        if route.get(key):
            route[key] = [new if name == old else name for name in route[key]]
    for child in route.get("routes") or []:
        _rename_interval(child, old, new)


def _receivers_in(route: dict[str, Any]) -> set[str]:
    names = {route["receiver"]} if route.get("receiver") else set()
    for child in route.get("routes") or []:
        names |= _receivers_in(child)
    return names


def _intervals_in(route: dict[str, Any]) -> set[str]:
    names = set(route.get("mute_time_intervals") or []) | set(
        route.get("active_time_intervals") or []
    )
    for child in route.get("routes") or []:
        names |= _intervals_in(child)
    return names


def delete_contact_point(ctx: Context) -> Response:
    state = config(ctx)
    point = next(
        (item for item in state["contact_points"] if item["uid"] == ctx.params["UID"]),
        None,
    )
    if point is None:
        return Response(202, {})
    siblings = [
        item for item in state["contact_points"] if item["name"] == point["name"]
    ]
    if len(siblings) == 1 and point["name"] in _receivers_in(state["policy"]):
        raise ApiError(
            409, f"contact point {point['name']!r} is used by a notification policy"
        )
    state["contact_points"].remove(point)
    return Response(202, {})


def get_policy(ctx: Context) -> Response:
    return Response(200, config(ctx)["policy"])


def put_policy(ctx: Context) -> Response:
    state = config(ctx)
    route = ctx.json_object()
    if not route.get("receiver"):
        raise ApiError(
            400,
            "invalid object specification: root route must specify a default receiver",
        )
    known = {point["name"] for point in state["contact_points"]}
    missing = sorted(_receivers_in(route) - known)
    if missing:
        raise ApiError(
            400, f"invalid object specification: receiver {missing[0]!r} does not exist"
        )
    intervals = {item["name"] for item in state["mute_timings"]}
    unknown = sorted(_intervals_in(route) - intervals)
    if unknown:
        raise ApiError(
            400,
            "invalid object specification: "
            f"time interval {unknown[0]!r} does not exist",
        )
    route = normalise_tree(route)
    route["provenance"] = provenance(ctx)
    state["policy"] = route
    return Response(202, {"message": "policies updated"})


def reset_policy(ctx: Context) -> Response:
    config(ctx)["policy"] = _default_policy()
    return Response(202, {"message": "policies resetted"})


def _timing_dto(timing: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": timing["name"],
        "time_intervals": timing["time_intervals"],
        "version": fingerprint(timing["time_intervals"]),
        "provenance": timing["provenance"],
    }


def _find_timing(state: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((item for item in state["mute_timings"] if item["name"] == name), None)


def _validate_timing(body: dict[str, Any]) -> list[Any]:
    if not str(body.get("name") or "").strip():
        raise ApiError(
            400, "invalid object specification: mute timing name is required"
        )
    intervals = body.get("time_intervals") or []
    if not isinstance(intervals, list):
        raise ApiError(
            400, "invalid object specification: time_intervals must be a list"
        )
    return intervals


def list_mute_timings(ctx: Context) -> Response:
    return Response(200, [_timing_dto(item) for item in config(ctx)["mute_timings"]])


def get_mute_timing(ctx: Context) -> Response:
    timing = _find_timing(config(ctx), ctx.params["name"])
    if timing is None:
        raise ApiError(404, "time interval not found")
    return Response(200, _timing_dto(timing))


def create_mute_timing(ctx: Context) -> Response:
    state = config(ctx)
    body = ctx.json_object()
    intervals = _validate_timing(body)
    if _find_timing(state, body["name"]) is not None:
        raise ApiError(
            400, f"a time interval with the name {body['name']!r} already exists"
        )
    timing = {
        "name": body["name"],
        "time_intervals": intervals,
        "provenance": provenance(ctx),
    }
    state["mute_timings"].append(timing)
    return Response(201, _timing_dto(timing))


def update_mute_timing(ctx: Context) -> Response:
    state = config(ctx)
    timing = _find_timing(state, ctx.params["name"])
    if timing is None:
        raise ApiError(404, "time interval not found")
    body = ctx.json_object()
    body.setdefault("name", timing["name"])
    intervals = _validate_timing(body)
    version = body.get("version")
    if version and version != fingerprint(timing["time_intervals"]):
        raise ApiError(
            409,
            "provided version does not match the current version of the time interval",
        )
    if body["name"] != timing["name"]:
        if _find_timing(state, body["name"]) is not None:
            raise ApiError(
                400, f"a time interval with the name {body['name']!r} already exists"
            )
        _rename_interval(state["policy"], timing["name"], body["name"])
    timing.update(
        name=body["name"], time_intervals=intervals, provenance=provenance(ctx)
    )
    return Response(202, _timing_dto(timing))


def delete_mute_timing(ctx: Context) -> Response:
    state = config(ctx)
    timing = _find_timing(state, ctx.params["name"])
    if timing is None:
        return Response(204)
    version = ctx.arg("version")
    if version and version != fingerprint(timing["time_intervals"]):
        raise ApiError(
            409,
            "provided version does not match the current version of the time interval",
        )
    if timing["name"] in _intervals_in(state["policy"]):
        raise ApiError(
            409, f"time interval {timing['name']!r} is used by a notification policy"
        )
    state["mute_timings"].remove(timing)
    return Response(204)


def _template_dto(template: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": template["name"],
        "template": template["template"],
        "version": fingerprint(template["template"]),
        "provenance": template["provenance"],
    }


def _find_template(state: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((item for item in state["templates"] if item["name"] == name), None)


def list_templates(ctx: Context) -> Response:
    return Response(200, [_template_dto(item) for item in config(ctx)["templates"]])


def get_template(ctx: Context) -> Response:
    template = _find_template(config(ctx), ctx.params["name"])
    if template is None:
        raise ApiError(404, "template not found")
    return Response(200, _template_dto(template))


def put_template(ctx: Context) -> Response:
    """Create or update a template; unbalanced ``{{``/``}}`` is a 400 parse error."""
    state = config(ctx)
    body = ctx.json_object()
    content = str(body.get("template") or "")
    if not content.strip():
        raise ApiError(400, "invalid template: template content is empty")
    if content.count("{{") != content.count("}}"):
        raise ApiError(400, "invalid template: unbalanced {{ and }} delimiters")
    template = _find_template(state, ctx.params["name"])
    version = body.get("version")
    if (
        template is not None
        and version
        and version != fingerprint(template["template"])
    ):
        raise ApiError(
            409, "provided version does not match the current version of the template"
        )
    if template is None:
        template = {"name": ctx.params["name"]}
        state["templates"].append(template)
    template.update(template=content, provenance=provenance(ctx))
    return Response(202, _template_dto(template))


def delete_template(ctx: Context) -> Response:
    state = config(ctx)
    template = _find_template(state, ctx.params["name"])
    if template is not None:
        version = ctx.arg("version")
        if version and version != fingerprint(template["template"]):
            raise ApiError(
                409,
                "provided version does not match the current version of the template",
            )
        state["templates"].remove(template)
    return Response(204)


def register(router: Router) -> None:
    base = "/api/v1/provisioning"
    router.add("GET", f"{base}/contact-points", list_contact_points)
    router.add("POST", f"{base}/contact-points", create_contact_point)
    router.add("PUT", f"{base}/contact-points/{{UID}}", update_contact_point)
    router.add("DELETE", f"{base}/contact-points/{{UID}}", delete_contact_point)
    router.add("GET", f"{base}/policies", get_policy)
    router.add("PUT", f"{base}/policies", put_policy)
    router.add("DELETE", f"{base}/policies", reset_policy)
    router.add("GET", f"{base}/mute-timings", list_mute_timings)
    router.add("POST", f"{base}/mute-timings", create_mute_timing)
    router.add("GET", f"{base}/mute-timings/{{name}}", get_mute_timing)
    router.add("PUT", f"{base}/mute-timings/{{name}}", update_mute_timing)
    router.add("DELETE", f"{base}/mute-timings/{{name}}", delete_mute_timing)
    router.add("GET", f"{base}/templates", list_templates)
    router.add("GET", f"{base}/templates/{{name}}", get_template)
    router.add("PUT", f"{base}/templates/{{name}}", put_template)
    router.add("DELETE", f"{base}/templates/{{name}}", delete_template)
