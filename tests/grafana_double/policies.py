"""Checks and normalisation that Grafana applies to a notification policy tree.

Grafana decodes each route's timings into Prometheus durations and stores
them, so ``GET /api/v1/provisioning/policies`` returns each timing in the
shortest form that Prometheus prints (``60s`` comes back as ``1m``).
Invalid durations, zero ``group_interval`` or ``repeat_interval``, unknown
matcher operators, repeated or mixed ``group_by`` labels and matchers on
the root route are rejected with HTTP 400, as Alertmanager's route
validation does.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .routing import ApiError

TIMINGS = ("group_wait", "group_interval", "repeat_interval")
NONZERO_TIMINGS = ("group_interval", "repeat_interval")
OPERATORS = ("=", "!=", "=~", "!~")
UNITS_MS = (
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
)
DURATION = re.compile(
    r"(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?"
    r"(?:([0-9]+)s)?(?:([0-9]+)ms)?"
)


def duration_ms(text: Any) -> int:
    """Parse a Prometheus duration into milliseconds, raising 400 when invalid."""
    if text == "0":
        return 0
    found = DURATION.fullmatch(text) if isinstance(text, str) and text else None
    if found is None:
        raise ApiError(
            400,
            f"invalid object specification: not a valid duration string: {text!r}",
        )
    return sum(
        int(amount) * unit_ms
        for (_, unit_ms), amount in zip(UNITS_MS, found.groups())
        if amount is not None
    )


def duration_text(milliseconds: int) -> str:
    """Print a duration the way Prometheus' ``model.Duration.String`` does."""
    if milliseconds == 0:
        return "0s"
    text = ""
    for unit, unit_ms in UNITS_MS:
        if unit in ("y", "w") and milliseconds % unit_ms:
            continue
        if milliseconds >= unit_ms:
            text += f"{milliseconds // unit_ms}{unit}"
            milliseconds %= unit_ms
    return text


def normalise_tree(root: dict[str, Any]) -> dict[str, Any]:
    """Return a checked copy of a policy tree with durations in their short form."""
    if root.get("object_matchers") or root.get("matchers") or root.get("match"):
        raise ApiError(
            400, "invalid object specification: root route must not have any matchers"
        )
    tree = copy.deepcopy(root)
    _normalise_route(tree)
    return tree


def _normalise_route(route: dict[str, Any]) -> None:
    for key in TIMINGS:
        if route.get(key) is None:
            continue
        milliseconds = duration_ms(route[key])
        if milliseconds == 0 and key in NONZERO_TIMINGS:
            raise ApiError(400, f"invalid object specification: {key} cannot be zero")
        route[key] = duration_text(milliseconds)
    for matcher in route.get("object_matchers") or []:
        if len(matcher) != 3 or matcher[1] not in OPERATORS:
            raise ApiError(
                400, f"invalid object specification: bad matcher format: {matcher!r}"
            )
    labels = route.get("group_by") or []
    if len(set(labels)) != len(labels):
        raise ApiError(
            400, "invalid object specification: duplicated label in group_by"
        )
    if "..." in labels and len(labels) > 1:
        raise ApiError(
            400,
            "invalid object specification: cannot have wildcard group_by (`...`)"
            " and other labels at the same time",
        )
    for child in route.get("routes") or []:
        _normalise_route(child)
