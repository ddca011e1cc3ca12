"""Alert rule provisioning: single rules and rule groups."""

from __future__ import annotations

import copy
import re
from typing import Any

from .alerting import config, provenance
from .routing import ApiError, Context, Response, Router
from .store import generate_uid, now_iso

DEFAULT_INTERVAL_SECONDS = 60
"""Grafana's ``[unified_alerting] min_interval`` default of 10s is the base interval."""
BASE_INTERVAL_SECONDS = 10
MAX_TITLE_LENGTH = 190
EXPRESSION_DATASOURCE_UIDS = ("__expr__", "-100")
NO_DATA_STATES = ("Alerting", "NoData", "OK", "KeepLast")
EXEC_ERR_STATES = ("OK", "Alerting", "Error", "KeepLast")
"""States of Grafana's rule model; the OpenAPI description omits ``KeepLast``."""
MODEL_DEFAULTS = {"intervalMs": 1000, "maxDataPoints": 43200}
"""Fields Grafana adds to each query model that lacks them when it saves a rule."""
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNITS = {"y": 31536000, "w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> int:
    """Parse a Prometheus duration such as ``5m`` or ``1h30m`` into seconds."""
    text = str(text).strip()
    if text in ("", "0"):
        return 0
    position = 0
    seconds = 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        number, unit = int(match.group(1)), match.group(2)
        seconds += number / 1000 if unit == "ms" else number * _UNITS[unit]
        position = match.end()
    if position != len(text):
        raise ApiError(
            400, f"invalid duration {text!r}: use a Prometheus duration such as 5m"
        )
    return int(seconds)


def format_duration(seconds: int) -> str:
    """Format seconds the way Prometheus' ``model.Duration`` prints them."""
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS.items():
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


def _validate_rule(ctx: Context, body: dict[str, Any]) -> None:
    """Apply Grafana's checks on title, folder, group, condition and data sources."""
    title = str(body.get("title") or "").strip()
    if not title or len(title) > MAX_TITLE_LENGTH:
        raise ApiError(
            400, f"invalid alert rule: title must be 1 to {MAX_TITLE_LENGTH} characters"
        )

    group = str(body.get("ruleGroup") or "").strip()
    if not group or len(group) > MAX_TITLE_LENGTH:
        raise ApiError(400, "invalid alert rule: ruleGroup is required")
    folder_uid = body.get("folderUID")
    if (
        not folder_uid
        or ctx.store.find("folders", org_id=ctx.org_id, uid=folder_uid) is None
    ):
        raise ApiError(400, f"invalid alert rule: folder {folder_uid!r} does not exist")

    _validate_queries(ctx, body)
    if body.get("noDataState") not in NO_DATA_STATES:
        raise ApiError(
            400,
            "invalid alert rule: noDataState must be one of "
            + ", ".join(NO_DATA_STATES),
        )
    if body.get("execErrState") not in EXEC_ERR_STATES:
        raise ApiError(
            400,
            "invalid alert rule: execErrState must be one of "
            + ", ".join(EXEC_ERR_STATES),
        )
    parse_duration(body.get("for", "0s"))


def _validate_queries(ctx: Context, body: dict[str, Any]) -> None:
    """Check that each query has a refId and a known data source, and the condition."""
    data = body.get("data")
    if not isinstance(data, list) or not data:
        raise ApiError(400, "invalid alert rule: data must contain at least one query")
    ref_ids = set()
    for query in data:
        if not isinstance(query, dict) or not query.get("refId"):
            raise ApiError(400, "invalid alert rule: every query needs a refId")
        ref_ids.add(query["refId"])
        uid = query.get("datasourceUid")
        known = ctx.store.find("datasources", org_id=ctx.org_id, uid=uid)
        if uid not in EXPRESSION_DATASOURCE_UIDS and known is None:
            raise ApiError(400, f"invalid alert rule: data source {uid!r} not found")
    if body.get("condition") not in ref_ids:
        raise ApiError(
            400,
            f"invalid alert rule: condition {body.get('condition')!r} "
            "is not a refId of the data",
        )


def _rule_from_body(
    ctx: Context, body: dict[str, Any], existing: dict[str, Any] | None, interval: int
) -> dict[str, Any]:
    rule = (
        copy.deepcopy(existing)
        if existing
        else {
            "id": ctx.store.next_id("alert_rule"),
            "uid": str(body.get("uid") or "") or generate_uid(),
        }
    )
    rule.update(
        org_id=ctx.org_id,
        orgID=ctx.org_id,
        folderUID=body["folderUID"],
        ruleGroup=body["ruleGroup"],
        title=str(body["title"]).strip(),
        condition=body["condition"],
        data=_saved_queries(body["data"]),
        noDataState=body["noDataState"],
        execErrState=body["execErrState"],
        annotations=body.get("annotations") or {},
        labels=body.get("labels") or {},
        isPaused=bool(body.get("isPaused")),
        provenance=provenance(ctx),
        updated=now_iso(),
        interval_seconds=interval,
    )
    rule["for"] = format_duration(parse_duration(body.get("for", "0s")))
    rule["keep_firing_for"] = format_duration(
        parse_duration(body.get("keep_firing_for", "0s"))
    )
    for key in ("notification_settings", "record", "missingSeriesEvalsToResolve"):
        if body.get(key) is not None:
            rule[key] = body[key]
        else:
            rule.pop(key, None)
    return rule


def _saved_queries(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the queries with the model fields Grafana adds on save."""
    saved = copy.deepcopy(data)
    for query in saved:
        model = query.setdefault("model", {})
        if isinstance(model, dict):
            for key, value in MODEL_DEFAULTS.items():
                if not model.get(key):
                    model[key] = value
    return saved


def can_update_provenance(stored: str, requested: str) -> bool:
    """Return whether Grafana's provenance rule allows replacing or deleting a group.

    The same provenance, a stored provenance of none, or a reset to none from
    ``api`` or ``converted_prometheus`` is allowed. Anything else, such as a
    write to a rule provisioned from a file, is rejected.
    """
    if stored in (requested, ""):
        return True
    return requested == "" and stored in ("api", "converted_prometheus")


def _check_group_provenance(
    ctx: Context, rules: list[dict[str, Any]], operation: str
) -> None:
    requested = provenance(ctx)
    for rule in rules:
        stored = rule.get("provenance") or ""
        if not can_update_provenance(stored, requested):
            raise ApiError(
                409,
                f"cannot {operation} with provided provenance '{requested}', "
                f"needs '{stored}'",
            )


def rule_dto(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in rule.items()
        if key not in ("org_id", "interval_seconds")
    }


def _check_title_unique(ctx: Context, rule: dict[str, Any], ignore: set[str]) -> None:
    for other in ctx.store.filter(
        "alert_rules", org_id=ctx.org_id, folderUID=rule["folderUID"]
    ):
        if (
            other["uid"] != rule["uid"]
            and other["uid"] not in ignore
            and other["title"] == rule["title"]
        ):
            raise ApiError(
                409,
                "a conflicting alert rule is found: rule title under the same "
                "organisation and folder should be unique",
            )


def _group_interval(ctx: Context, folder_uid: str, group: str) -> int:
    rules = ctx.store.filter(
        "alert_rules", org_id=ctx.org_id, folderUID=folder_uid, ruleGroup=group
    )
    return rules[0]["interval_seconds"] if rules else DEFAULT_INTERVAL_SECONDS


def _get_rule(ctx: Context) -> dict[str, Any] | None:
    return ctx.store.find("alert_rules", org_id=ctx.org_id, uid=ctx.params["UID"])


def list_rules(ctx: Context) -> Response:
    config(ctx)
    return Response(
        200,
        [rule_dto(rule) for rule in ctx.store.filter("alert_rules", org_id=ctx.org_id)],
    )


def get_rule(ctx: Context) -> Response:
    config(ctx)
    rule = _get_rule(ctx)
    if rule is None:
        raise ApiError(404, "alert rule not found")
    return Response(200, rule_dto(rule))


def create_rule(ctx: Context) -> Response:
    config(ctx)
    body = ctx.json_object()
    _validate_rule(ctx, body)
    if body.get("uid") and ctx.store.find(
        "alert_rules", org_id=ctx.org_id, uid=body["uid"]
    ):
        raise ApiError(409, f"an alert rule with uid {body['uid']!r} already exists")
    interval = _group_interval(ctx, body["folderUID"], body["ruleGroup"])
    rule = _rule_from_body(ctx, body, None, interval)
    _check_title_unique(ctx, rule, set())
    ctx.store.items("alert_rules").append(rule)
    return Response(201, rule_dto(rule))


def update_rule(ctx: Context) -> Response:
    config(ctx)
    existing = _get_rule(ctx)
    if existing is None:
        raise ApiError(404, "alert rule not found")
    body = ctx.json_object()
    _validate_rule(ctx, body)
    interval = _group_interval(ctx, body["folderUID"], body["ruleGroup"])
    rule = _rule_from_body(ctx, body, existing, interval)
    _check_title_unique(ctx, rule, set())
    existing.clear()
    existing.update(rule)
    return Response(200, rule_dto(existing))


def delete_rule(ctx: Context) -> Response:
    config(ctx)
    rule = _get_rule(ctx)
    if rule is not None:
        ctx.store.remove("alert_rules", rule)
    return Response(204)


def _group_rules(ctx: Context) -> list[dict[str, Any]]:
    return ctx.store.filter(
        "alert_rules",
        org_id=ctx.org_id,
        folderUID=ctx.params["FolderUID"],
        ruleGroup=ctx.params["Group"],
    )


def _group_dto(ctx: Context, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "title": ctx.params["Group"],
        "folderUid": ctx.params["FolderUID"],
        "interval": rules[0]["interval_seconds"] if rules else DEFAULT_INTERVAL_SECONDS,
        "rules": [rule_dto(rule) for rule in rules],
    }


def get_group(ctx: Context) -> Response:
    config(ctx)
    rules = _group_rules(ctx)
    if not rules:
        raise ApiError(404, "rule group not found")
    return Response(200, _group_dto(ctx, rules))


def put_group(ctx: Context) -> Response:
    """Replace a rule group: create new rules, update listed ones, delete the rest."""
    config(ctx)
    body = ctx.json_object()
    interval = body.get("interval")
    if (
        not isinstance(interval, int)
        or interval <= 0
        or interval % BASE_INTERVAL_SECONDS
    ):
        raise ApiError(
            400,
            "invalid rule group: interval must be a positive multiple of the "
            f"base interval {BASE_INTERVAL_SECONDS}s",
        )

    folder_uid, group = ctx.params["FolderUID"], ctx.params["Group"]
    if ctx.store.find("folders", org_id=ctx.org_id, uid=folder_uid) is None:
        raise ApiError(400, f"invalid rule group: folder {folder_uid!r} does not exist")

    new_rules = []
    for submitted in body.get("rules") or []:
        item = dict(submitted, folderUID=folder_uid, ruleGroup=group)
        _validate_rule(ctx, item)
        existing = (
            ctx.store.find("alert_rules", org_id=ctx.org_id, uid=item.get("uid"))
            if item.get("uid")
            else None
        )
        new_rules.append(_rule_from_body(ctx, item, existing, interval))

    uids = {rule["uid"] for rule in new_rules}
    titles = [rule["title"] for rule in new_rules]
    if len(set(titles)) != len(titles):
        raise ApiError(
            400, "invalid rule group: rule titles must be unique in a folder"
        )

    old = _group_rules(ctx)
    for rule in new_rules:
        _check_title_unique(ctx, rule, {item["uid"] for item in old})
    moved = [item for item in ctx.store.items("alert_rules") if item["uid"] in uids]
    _check_group_provenance(
        ctx, [item for item in old if item["uid"] not in uids], "delete"
    )
    _check_group_provenance(ctx, moved, "update")
    for rule in old + moved:
        ctx.store.remove("alert_rules", rule)
    ctx.store.items("alert_rules").extend(new_rules)
    return Response(200, _group_dto(ctx, new_rules))


def delete_group(ctx: Context) -> Response:
    config(ctx)
    rules = _group_rules(ctx)
    if not rules:
        raise ApiError(404, "rule group not found")
    _check_group_provenance(ctx, rules, "delete")
    for rule in rules:
        ctx.store.remove("alert_rules", rule)
    return Response(204)


def register(router: Router) -> None:
    base = "/api/v1/provisioning"
    router.add("GET", f"{base}/alert-rules", list_rules)
    router.add("POST", f"{base}/alert-rules", create_rule)
    router.add("GET", f"{base}/alert-rules/{{UID}}", get_rule)
    router.add("PUT", f"{base}/alert-rules/{{UID}}", update_rule)
    router.add("DELETE", f"{base}/alert-rules/{{UID}}", delete_rule)
    group = f"{base}/folder/{{FolderUID}}/rule-groups/{{Group}}"
    router.add("GET", group, get_group)
    router.add("PUT", group, put_group)
    router.add("DELETE", group, delete_group)
