# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Durations, rule uids and comparable views of Grafana alert rule groups.

The rule group module validates its options and compares them with the
group that Grafana returns through these helpers. Grafana adds fields to a
stored rule (``id``, ``orgID``, ``updated``, ``folderUID``, ``ruleGroup``,
``intervalMs`` and ``maxDataPoints`` in query models) and prints durations
in its own form, so both sides are reduced to the same view first.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Dict, List, Optional

from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_api import (
    GrafanaAPIError,
)

BASE_INTERVAL_SECONDS = 10
"""Grafana evaluates rule groups at multiples of this base interval."""
MAX_TITLE_LENGTH = 190
"""Maximum length of a rule title and a group name in Grafana's rule model."""
MAX_UID_LENGTH = 40
UID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]+$")
EXPRESSION_DATASOURCE_UID = "__expr__"
DEFAULT_QUERY_RANGE_SECONDS = 600
"""Relative time range of a data source query without one: the last 10 minutes."""
NO_DATA_STATES = ("NoData", "Alerting", "OK", "KeepLast")
EXEC_ERR_STATES = ("Error", "Alerting", "OK", "KeepLast")
PROVENANCE_NONE = ""
PROVENANCE_API = "api"
PROVENANCE_CONVERTED_PROMETHEUS = "converted_prometheus"

_DURATION = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
_UNIT_SECONDS = (("y", 31536000), ("w", 604800), ("d", 86400), ("h", 3600))
_UNIT_SECONDS += (("m", 60), ("s", 1))


def parse_duration(value: Any, option: str) -> int:
    """Return a Prometheus duration such as ``5m`` or ``1h30m`` in whole seconds.

    An integer counts as seconds. Raises ``GrafanaAPIError`` naming ``option``
    for any other text and for fractions of a second, which Grafana's rule
    model cannot store.
    """
    if isinstance(value, bool):
        raise GrafanaAPIError(f"{option} {value!r} is not a duration.")
    if isinstance(value, int):
        if value < 0:
            raise GrafanaAPIError(f"{option} {value!r} is negative.")
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    match = _DURATION.match(text)
    if not text or match is None:
        raise GrafanaAPIError(
            f"{option} {value!r} is not a valid duration. Use a Prometheus"
            " duration such as 30s, 5m or 1h30m."
        )
    parts = [int(number or 0) for number in match.groups()]
    milliseconds = parts.pop()
    if milliseconds % 1000:
        raise GrafanaAPIError(
            f"{option} {value!r} is not a whole number of seconds, which Grafana"
            " requires."
        )
    seconds = milliseconds // 1000
    for number, (_unit, size) in zip(parts, _UNIT_SECONDS):
        seconds += number * size
    return seconds


def format_duration(seconds: int) -> str:
    """Format seconds the way Prometheus and Grafana print durations (``1h30m``)."""
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in _UNIT_SECONDS:
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


def derive_rule_uid(folder_uid: str, group: str, title: str) -> str:
    """Return a stable Grafana rule uid for a rule without one.

    The uid is a slug of the title (at most 19 characters) and 20 hex digits
    of the SHA-256 of folder, group and title, so it stays within Grafana's
    40 characters and changes when the rule moves to another folder or group.
    """
    digest = hashlib.sha256(
        "\n".join((folder_uid, group, title)).encode("utf-8")
    ).hexdigest()
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:19].strip("-")
    if not slug:
        return digest[:MAX_UID_LENGTH]
    return f"{slug}-{digest[:20]}"


def valid_uid(uid: str) -> bool:
    return 0 < len(uid) <= MAX_UID_LENGTH and bool(UID_PATTERN.match(uid))


def can_change_provenance(stored: str, provenance: str) -> bool:
    """Return whether Grafana lets a group write change ``stored`` provenance.

    This is the rule Grafana applies when a rule group is replaced or
    deleted: the same provenance, a stored provenance of none, or a reset to
    none from ``api`` or ``converted_prometheus``.
    """
    if stored in (provenance, PROVENANCE_NONE):
        return True
    if provenance == PROVENANCE_NONE:
        return stored in (PROVENANCE_API, PROVENANCE_CONVERTED_PROMETHEUS)
    return False


def _string_map(value: Any, option: str) -> Dict[str, str]:
    """Return labels or annotations with string values, as Grafana stores them."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise GrafanaAPIError(f"{option} must be a mapping of names to strings.")
    result = {}
    for key, item in value.items():
        if isinstance(item, (dict, list)) or item is None:
            raise GrafanaAPIError(
                f"{option}.{key} must be a string, not {type(item).__name__}."
            )
        text = str(item)
        if isinstance(item, bool):
            text = "true" if item else "false"
        result[str(key)] = text
    return result


def _time_range(given: Any, datasource_uid: str, option: str) -> Dict[str, int]:
    expression = datasource_uid == EXPRESSION_DATASOURCE_UID
    default_from = 0 if expression else DEFAULT_QUERY_RANGE_SECONDS
    if given is None:
        return {"from": default_from, "to": 0}
    if not isinstance(given, dict):
        raise GrafanaAPIError(f"{option} must be a mapping with from and to.")
    start = given.get("from")
    end = given.get("to")
    start_seconds = default_from if start is None else parse_duration(start, option)
    end_seconds = 0 if end is None else parse_duration(end, option)
    if end_seconds > start_seconds:
        raise GrafanaAPIError(
            f"{option}: from ({start_seconds}s ago) must be earlier than to"
            f" ({end_seconds}s ago)."
        )
    return {"from": start_seconds, "to": end_seconds}


def normalise_query(query: Dict[str, Any], option: str) -> Dict[str, Any]:
    """Return one AlertQuery in the form that the module sends to Grafana."""
    ref_id = str(query.get("refId") or "").strip()
    if not ref_id:
        raise GrafanaAPIError(f"{option}.refId is required.")
    datasource_uid = str(query.get("datasourceUid") or "").strip()
    if not datasource_uid:
        raise GrafanaAPIError(f"{option}.datasourceUid is required.")
    model = query.get("model")
    if not isinstance(model, dict):
        raise GrafanaAPIError(f"{option}.model must be a mapping.")
    model = dict(model)
    model_ref_id = model.setdefault("refId", ref_id)
    if model_ref_id != ref_id:
        raise GrafanaAPIError(
            f"{option}.model.refId {model_ref_id!r} differs from refId {ref_id!r}."
        )
    time_range = _time_range(
        query.get("relativeTimeRange"),
        datasource_uid,
        option + ".relativeTimeRange",
    )
    return {
        "refId": ref_id,
        "queryType": str(query.get("queryType") or ""),
        "relativeTimeRange": time_range,
        "datasourceUid": datasource_uid,
        "model": model,
    }


def normalise_rule(rule: Dict[str, Any], index: int) -> Dict[str, Any]:
    """Validate one item of the ``rules`` option and return the rule to send.

    The result has no ``uid`` unless the option sets one, and its durations
    are seconds, which ``rule_body`` formats.
    """
    title = str(rule.get("title") or "").strip()
    option = f"rules[{index}]"
    if not title or len(title) > MAX_TITLE_LENGTH:
        raise GrafanaAPIError(
            f"{option}.title must be 1 to {MAX_TITLE_LENGTH} characters."
        )
    option = f"rules[{index}] ({title!r})"
    uid = rule.get("uid")
    if uid is not None and not valid_uid(str(uid)):
        raise GrafanaAPIError(
            f"{option}.uid {uid!r} is invalid: use 1 to {MAX_UID_LENGTH} letters,"
            " digits, '-' or '_'."
        )

    data = rule.get("data") or []
    if not data:
        raise GrafanaAPIError(f"{option}.data must contain at least one query.")
    queries = [
        normalise_query(query, f"{option}.data[{number}]")
        for number, query in enumerate(data)
    ]
    ref_ids = [query["refId"] for query in queries]
    repeated = sorted({ref_id for ref_id in ref_ids if ref_ids.count(ref_id) > 1})
    if repeated:
        raise GrafanaAPIError(f"{option}.data repeats refId {', '.join(repeated)}.")
    condition = rule.get("condition")
    if condition not in ref_ids:
        raise GrafanaAPIError(
            f"{option}.condition {condition!r} is not a refId of its data"
            f" ({', '.join(ref_ids)})."
        )

    no_data_state = rule.get("no_data_state") or "NoData"
    if no_data_state not in NO_DATA_STATES:
        raise GrafanaAPIError(
            f"{option}.no_data_state {no_data_state!r} is unknown: use one of"
            f" {', '.join(NO_DATA_STATES)}."
        )
    exec_err_state = rule.get("exec_err_state") or "Error"
    if exec_err_state not in EXEC_ERR_STATES:
        raise GrafanaAPIError(
            f"{option}.exec_err_state {exec_err_state!r} is unknown: use one of"
            f" {', '.join(EXEC_ERR_STATES)}."
        )
    pending = rule.get("for")
    keep_firing = rule.get("keep_firing_for")
    return {
        "uid": None if uid is None else str(uid),
        "title": title,
        "condition": condition,
        "data": queries,
        "for": parse_duration("0s" if pending is None else pending, option + ".for"),
        "keep_firing_for": parse_duration(
            "0s" if keep_firing is None else keep_firing, option + ".keep_firing_for"
        ),
        "labels": _string_map(rule.get("labels"), option + ".labels"),
        "annotations": _string_map(rule.get("annotations"), option + ".annotations"),
        "noDataState": no_data_state,
        "execErrState": exec_err_state,
        "isPaused": bool(rule.get("is_paused")),
    }


def check_unique_titles(rules: List[Dict[str, Any]]) -> None:
    """Raise when two rules share a title, which Grafana rejects within a folder."""
    seen: Dict[str, int] = {}
    for index, rule in enumerate(rules):
        if rule["title"] in seen:
            raise GrafanaAPIError(
                f"rules[{index}].title {rule['title']!r} repeats the title of"
                f" rules[{seen[rule['title']]}]. Titles must be unique in a folder."
            )
        seen[rule["title"]] = index


def check_unique_uids(rules: List[Dict[str, Any]]) -> None:
    seen: Dict[str, int] = {}
    for index, rule in enumerate(rules):
        if rule["uid"] in seen:
            raise GrafanaAPIError(
                f"rules[{index}].uid {rule['uid']!r} is also the uid of"
                f" rules[{seen[rule['uid']]}]. Give each rule its own uid."
            )
        seen[rule["uid"]] = index


def rule_body(
    rule: Dict[str, Any], folder_uid: str, group: str, org_id: int
) -> Dict[str, Any]:
    """Return a normalised rule as a ProvisionedAlertRule of Grafana's API."""
    body = {key: value for key, value in rule.items() if key not in ("for",)}
    body.update(
        orgID=org_id,
        folderUID=folder_uid,
        ruleGroup=group,
        keep_firing_for=format_duration(rule["keep_firing_for"]),
    )
    body["for"] = format_duration(rule["for"])
    return body


def _stored_model(desired: Optional[Dict[str, Any]], stored: Any) -> Any:
    """Return the keys of a stored query model that the desired model sets.

    Grafana adds ``intervalMs`` and ``maxDataPoints`` to every model, and the
    UI adds more, so only the keys the task sets take part.
    """
    if desired is None or not isinstance(stored, dict):
        return stored
    return {key: stored[key] for key in desired if key in stored}


def _stored_query(
    stored: Dict[str, Any], desired: Optional[Dict[str, Any]]
) -> Dict[str, Any]:
    time_range = stored.get("relativeTimeRange") or {}
    return {
        "refId": stored.get("refId"),
        "queryType": stored.get("queryType") or "",
        "datasourceUid": stored.get("datasourceUid"),
        "relativeTimeRange": {
            "from": int(time_range.get("from") or 0),
            "to": int(time_range.get("to") or 0),
        },
        "model": _stored_model(
            None if desired is None else desired.get("model"), stored.get("model")
        ),
    }


def _duration_or_text(value: Any) -> Any:
    try:
        return format_duration(parse_duration(value or "0s", "stored duration"))
    except GrafanaAPIError:
        return value


def stored_rule_view(
    stored: Dict[str, Any], desired: Optional[Dict[str, Any]]
) -> Dict[str, Any]:
    """Return a rule from Grafana in the view that ``desired_rule_view`` builds.

    ``desired`` is the view of the rule with the same uid, if the task has one.
    Only the query model keys that it sets are compared.
    """
    desired_queries = {}
    if desired is not None:
        desired_queries = {query["refId"]: query for query in desired["data"]}
    return {
        "uid": stored.get("uid"),
        "title": stored.get("title"),
        "condition": stored.get("condition"),
        "data": [
            _stored_query(query, desired_queries.get(query.get("refId")))
            for query in stored.get("data") or []
        ],
        "for": _duration_or_text(stored.get("for")),
        "keep_firing_for": _duration_or_text(stored.get("keep_firing_for")),
        "labels": dict(stored.get("labels") or {}),
        "annotations": dict(stored.get("annotations") or {}),
        "noDataState": stored.get("noDataState"),
        "execErrState": stored.get("execErrState"),
        "isPaused": bool(stored.get("isPaused")),
        "provenance": stored.get("provenance") or PROVENANCE_NONE,
    }


def desired_rule_view(rule: Dict[str, Any], provenance: str) -> Dict[str, Any]:
    """Return a normalised rule with durations as text, for comparison and diff."""
    view = dict(rule)
    view["for"] = format_duration(rule["for"])
    view["keep_firing_for"] = format_duration(rule["keep_firing_for"])
    view["provenance"] = provenance
    return view
