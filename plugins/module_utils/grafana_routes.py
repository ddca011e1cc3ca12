# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Validation, normalisation and comparison of Grafana notification policy routes.

Grafana returns a route's label matchers in up to four fields
(``object_matchers``, ``matchers``, ``match`` and ``match_re``) and its
timings as Prometheus durations in their shortest form. The helpers here
reduce a route to one comparable form, so that equal trees compare equal
however Grafana or a user wrote them. They also check the routes given to a
module before any request, and name the option that contains an invalid
value.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_api import (
    GrafanaAPIError,
)

Matcher = Tuple[str, str, str]

MATCH_OPERATORS = ("=", "!=", "=~", "!~")
MATCHER_TYPES = {0: "=", 1: "!=", 2: "=~", 3: "!~"}
"""Operators of Alertmanager's ``MatchType`` enum, used by ``matchers`` objects."""
DURATION_KEYS = ("group_wait", "group_interval", "repeat_interval")
INTERVAL_KEYS = ("mute_time_intervals", "active_time_intervals")
MATCHER_KEYS = ("object_matchers", "matchers", "match", "match_re")
ROUTE_KEYS = frozenset(("receiver", "group_by", "continue", "routes")).union(
    DURATION_KEYS, INTERVAL_KEYS, MATCHER_KEYS
)
SERVER_KEYS = ("provenance",)
"""Route fields that Grafana sets itself and ignores in a request."""
ROOT_DEFAULTS_MS = {
    "group_wait": 30 * 1000,
    "group_interval": 5 * 60 * 1000,
    "repeat_interval": 4 * 60 * 60 * 1000,
}
"""Alertmanager's defaults, which apply when the root route leaves a timing unset."""
DEFAULT_TREE: Dict[str, Any] = {
    "receiver": "grafana-default-email",
    "group_by": ["grafana_folder", "alertname"],
}
"""The tree of Grafana's default alerting configuration, restored by a reset."""

_DURATION_UNITS_MS = (
    ("y", 365 * 24 * 60 * 60 * 1000),
    ("w", 7 * 24 * 60 * 60 * 1000),
    ("d", 24 * 60 * 60 * 1000),
    ("h", 60 * 60 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
)
_DURATION = re.compile(
    r"(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?"
    r"(?:([0-9]+)s)?(?:([0-9]+)ms)?"
)
_MATCHER_TEXT = re.compile(
    r'^\s*("(?:[^"\\]|\\.)*"|[^\s=!~"]+)\s*(=~|!~|!=|=)\s*(.*?)\s*$', re.DOTALL
)


def parse_duration(text: str) -> Optional[int]:
    """Return a Prometheus duration such as ``1h30m`` in milliseconds.

    Returns ``None`` for text that is not a duration. Units must appear from
    the largest (``y``) to the smallest (``ms``), each at most once, and
    ``0`` is the only value without a unit, as in ``model.ParseDuration``
    of prometheus/common. Negative durations are invalid here.
    """
    if text == "0":
        return 0
    found = _DURATION.fullmatch(text)
    if not text or found is None:
        return None
    total = 0
    for unit, amount in zip(_DURATION_UNITS_MS, found.groups()):
        if amount is not None:
            total += int(amount) * unit[1]
    return total


def format_duration(milliseconds: int) -> str:
    """Return the shortest form of a duration, as Prometheus and Grafana print it.

    Years and weeks appear only when they divide the duration exactly, so
    90 days print as ``90d`` and not as ``12w6d``.
    """
    if milliseconds == 0:
        return "0s"
    text = ""
    remaining = milliseconds
    for unit, unit_ms in _DURATION_UNITS_MS:
        if unit in ("y", "w") and remaining % unit_ms:
            continue
        amount = remaining // unit_ms
        if amount:
            text += f"{amount}{unit}"
            remaining -= amount * unit_ms
    return text


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        body = text[1:-1]
        return re.sub(r"\\(.)", lambda found: {"n": "\n"}.get(found[1], found[1]), body)
    return text


def parse_matcher_text(text: str) -> Optional[Matcher]:
    """Return a matcher from Alertmanager's text form, such as ``team="dev"``."""
    found = _MATCHER_TEXT.match(text)
    if found is None:
        return None
    name, operator, value = found.groups()
    return _unquote(name), operator, _unquote(value)


def route_matchers(route: Dict[str, Any]) -> List[Matcher]:
    """Return the sorted label matchers of a route from all four matcher fields.

    An unreadable entry raises ``ValueError`` with the field name and the entry.
    """
    found = set()
    for entry in route.get("object_matchers") or []:
        if not isinstance(entry, (list, tuple)) or len(entry) != 3:
            raise ValueError("object_matchers", entry)
        found.add((str(entry[0]), str(entry[1]), _scalar_text(entry[2])))
    for entry in route.get("matchers") or []:
        if isinstance(entry, str):
            matcher = parse_matcher_text(entry)
        elif isinstance(entry, dict):
            operator = entry.get("Type", 0)
            operator = MATCHER_TYPES.get(operator, operator)
            matcher = (str(entry.get("Name")), str(operator), str(entry.get("Value")))
        else:
            matcher = None
        if matcher is None:
            raise ValueError("matchers", entry)
        found.add(matcher)
    for name, value in (route.get("match") or {}).items():
        found.add((str(name), "=", _scalar_text(value)))
    for name, value in (route.get("match_re") or {}).items():
        found.add((str(name), "=~", _scalar_text(value)))
    return sorted(found)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def owns(route: Dict[str, Any], match: Dict[str, str]) -> bool:
    """Return whether a route has an equality matcher for every label of ``match``."""
    try:
        matchers = set(route_matchers(route))
    except ValueError:
        return False
    return all((name, "=", value) in matchers for name, value in match.items())


def comparable(route: Dict[str, Any], root: bool = False) -> Dict[str, Any]:
    """Return a route tree reduced to the fields and forms that change routing.

    Empty lists equal missing keys, ``continue: false`` equals a missing
    ``continue``, durations become milliseconds, and the order of matchers,
    ``group_by`` labels and time interval names is ignored, because
    Alertmanager treats each of them as a set. The root gets Alertmanager's
    default timings where it sets none. Child routes keep their order.
    """
    try:
        matchers = route_matchers(route)
    except ValueError:
        matchers = [("<unreadable>", "", repr(route.get("matchers")))]
    reduced: Dict[str, Any] = {
        "receiver": route.get("receiver") or "",
        "matchers": [list(matcher) for matcher in matchers],
        "group_by": sorted(set(route.get("group_by") or [])),
        "continue": bool(route.get("continue")),
    }
    for key in INTERVAL_KEYS:
        reduced[key] = sorted(set(route.get(key) or []))
    for key in DURATION_KEYS:
        value = route.get(key)
        milliseconds = parse_duration(value) if isinstance(value, str) else None
        if milliseconds is None and value:
            reduced[key] = str(value)
        else:
            reduced[key] = milliseconds
        if root and reduced[key] is None:
            reduced[key] = ROOT_DEFAULTS_MS[key]
    reduced["routes"] = [comparable(child) for child in route.get("routes") or []]
    return reduced


def without_server_fields(route: Dict[str, Any]) -> Dict[str, Any]:
    """Return a copy of a route tree without the fields Grafana sets itself."""
    cleaned = {
        key: copy.deepcopy(value)
        for key, value in route.items()
        if key not in SERVER_KEYS and key != "routes"
    }
    if "routes" in route:
        cleaned["routes"] = [
            without_server_fields(child) for child in route.get("routes") or []
        ]
    return cleaned


def removed_routes(
    before: Dict[str, Any], after: Dict[str, Any], path: str = ""
) -> List[Dict[str, Any]]:
    """Return the routes of ``before`` that have no counterpart in ``after``.

    Routes at the same level pair up by their set of matchers, in order, so
    a route whose receiver or timings change counts as kept, and a route
    whose matchers change counts as removed. Each entry has the route's
    ``path`` in ``before``, such as ``routes[1].routes[0]``, and the
    ``route`` as Grafana returned it. A removed route's children are not
    listed separately.
    """
    old_children = before.get("routes") or []
    new_children = list(after.get("routes") or [])
    available = [_matcher_key(child) for child in new_children]
    removed = []
    for index, child in enumerate(old_children):
        child_path = f"{path}routes[{index}]"
        key = _matcher_key(child)
        if key in available:
            position = available.index(key)
            available[position] = None
            removed += removed_routes(child, new_children[position], child_path + ".")
        else:
            removed.append({"path": child_path, "route": without_server_fields(child)})
    return removed


def _matcher_key(route: Dict[str, Any]) -> Any:
    try:
        return route_matchers(route)
    except ValueError:
        return repr(route)


def describe_route(route: Dict[str, Any]) -> str:
    """Return one line naming a route's matchers and receiver, for diff output."""
    try:
        matchers = route_matchers(route)
        labels = ", ".join(
            f'{name}{operator}"{value}"' for name, operator, value in matchers
        )
    except ValueError:
        labels = "unreadable matchers"
    receiver = route.get("receiver") or "the parent's receiver"
    return "{" + labels + "} to " + receiver


class RouteChecker:
    """Checks routes from module options and builds the form to send to Grafana.

    Every error raises ``GrafanaAPIError`` naming the option path, such as
    ``routes[0].group_wait``, and the value.
    """

    def __init__(self) -> None:
        self.receivers: Dict[str, str] = {}
        """Receiver names used, each with the option path of its first use."""
        self.intervals: Dict[str, str] = {}
        """Time interval names used, each with the option path of its first use."""

    def route(self, route: Any, path: str, root: bool = False) -> Dict[str, Any]:
        """Return ``route`` with matchers as ``object_matchers`` and short durations."""
        if not isinstance(route, dict):
            raise _invalid(path, route, "It must be a dictionary of route fields")
        unknown = sorted(set(route) - ROUTE_KEYS - set(SERVER_KEYS))
        if unknown:
            raise GrafanaAPIError(
                f"Option {path}.{unknown[0]} is not a route field. Route fields"
                f" are {', '.join(sorted(ROUTE_KEYS))}."
            )
        result: Dict[str, Any] = {}
        self._receiver(route, path, root, result)

        matchers = self._matchers(route, path)
        if matchers and root:
            raise _invalid(
                f"{path}.object_matchers",
                route.get("object_matchers") or matchers,
                "The root route matches every alert, so it takes no matchers",
            )
        if matchers:
            result["object_matchers"] = [list(matcher) for matcher in matchers]

        group_by = self._group_by(route.get("group_by"), f"{path}.group_by")
        if group_by:
            result["group_by"] = group_by
        for key in DURATION_KEYS:
            if route.get(key) is not None:
                result[key] = self._duration(route[key], f"{path}.{key}")
        self._continue(route, path, result)

        for key in INTERVAL_KEYS:
            names = self._names(route.get(key), f"{path}.{key}")
            for name in names:
                self.intervals.setdefault(name, f"{path}.{key}")
            if names:
                result[key] = names

        children = route.get("routes")
        if children is not None and not isinstance(children, list):
            raise _invalid(f"{path}.routes", children, "It must be a list of routes")
        if children:
            result["routes"] = [
                self.route(child, f"{path}.routes[{index}]")
                for index, child in enumerate(children)
            ]
        return result

    def _receiver(
        self, route: Dict[str, Any], path: str, root: bool, result: Dict[str, Any]
    ) -> None:
        receiver = route.get("receiver")
        if receiver is None and root:
            raise _invalid(
                f"{path}.receiver",
                None,
                "The root route requires a receiver, its default contact point",
            )
        if receiver is None:
            return
        if not isinstance(receiver, str) or not receiver:
            raise _invalid(
                f"{path}.receiver", receiver, "It must be a contact point name"
            )
        result["receiver"] = receiver
        self.receivers.setdefault(receiver, f"{path}.receiver")

    @staticmethod
    def _continue(route: Dict[str, Any], path: str, result: Dict[str, Any]) -> None:
        value = route.get("continue")
        if value is None:
            return
        if not isinstance(value, bool):
            raise _invalid(f"{path}.continue", value, "It must be a boolean")
        if value:
            result["continue"] = True

    @staticmethod
    def _matchers(route: Dict[str, Any], path: str) -> List[Matcher]:
        for key in MATCHER_KEYS:
            value = route.get(key)
            expected = dict if key in ("match", "match_re") else list
            if value is not None and not isinstance(value, expected):
                kind = "dictionary" if expected is dict else "list"
                raise _invalid(f"{path}.{key}", value, f"It must be a {kind}")
        try:
            matchers = route_matchers(route)
        except ValueError as error:
            field, entry = error.args
            raise _invalid(
                f"{path}.{field}",
                entry,
                "It is not a matcher. Write a matcher as [label, operator, value]"
                ' or as the text label="value"',
            ) from None
        for name, operator, value in matchers:
            if operator not in MATCH_OPERATORS:
                raise _invalid(
                    f"{path}.object_matchers",
                    [name, operator, value],
                    "The operator is unknown. Use one of " + ", ".join(MATCH_OPERATORS),
                )
            if not name:
                raise _invalid(
                    f"{path}.object_matchers",
                    [name, operator, value],
                    "The label name is missing",
                )
        return matchers

    @staticmethod
    def _group_by(value: Any, path: str) -> List[str]:
        labels = RouteChecker._names(value, path)
        if len(set(labels)) != len(labels):
            raise _invalid(path, value, "It lists a label more than once")
        if "..." in labels and len(labels) > 1:
            raise _invalid(
                path,
                value,
                "'...' groups by all labels and cannot be combined with labels",
            )
        return labels

    @staticmethod
    def _names(value: Any, path: str) -> List[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(
            isinstance(item, str) and item for item in value
        ):
            raise _invalid(path, value, "It must be a list of non-empty names")
        return list(value)

    @staticmethod
    def _duration(value: Any, path: str) -> str:
        milliseconds = parse_duration(value) if isinstance(value, str) else None
        if milliseconds is None:
            raise _invalid(
                path,
                value,
                "It is not a Prometheus duration. Write numbers with units"
                " (ms, s, m, h, d, w, y), units from largest to smallest,"
                " such as 30s, 5m or 1h30m",
            )
        if milliseconds == 0 and not path.endswith("group_wait"):
            raise _invalid(
                path, value, "Grafana rejects a zero interval. Use a longer duration"
            )
        return format_duration(milliseconds)


def _invalid(path: str, value: Any, problem: str) -> GrafanaAPIError:
    return GrafanaAPIError(f"Option {path} has the invalid value {value!r}. {problem}.")
