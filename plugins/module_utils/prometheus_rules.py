# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Validate, render and compare Prometheus rule files.

The functions here touch neither the file system nor promtool, so the module and
its tests share one definition of what a valid rule group is and of when two rule
files are equal.
"""

from __future__ import annotations

import re
import traceback
from typing import Any

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the target host
    HAS_YAML = False
    YAML_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_YAML = True
    YAML_IMPORT_ERROR = None

FILE_HEADER = (
    "# Managed by Ansible (vigil.monitoring.prometheus_rule).\n"
    "# Local changes are overwritten the next time the task runs.\n"
)

# Keys whose value is a Prometheus duration such as "5m" or "1h30m".
DURATION_KEYS = ("interval", "for", "keep_firing_for")

# Prometheus 2.42 duration syntax (common/model.ParseDuration): units from largest
# to smallest, each at most once, or the bare number 0.
_DURATION_RE = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
_DURATION_UNIT_MS = (
    365 * 24 * 3600 * 1000,
    7 * 24 * 3600 * 1000,
    24 * 3600 * 1000,
    3600 * 1000,
    60 * 1000,
    1000,
    1,
)


class PrometheusRuleError(Exception):
    """Failure that the module reports with ``fail_json``.

    ``details`` contains extra result keys, such as promtool's output.
    """

    def __init__(self, msg: str, **details: Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details


def parse_duration(text: str) -> int:
    """Return a Prometheus duration in milliseconds, or raise ValueError."""
    if text == "0":
        return 0
    match = _DURATION_RE.match(text)
    if not text or match is None:
        raise ValueError(text)
    return sum(
        int(amount) * unit_ms
        for amount, unit_ms in zip(match.groups(), _DURATION_UNIT_MS)
        if amount is not None
    )


def validate_duration(value: Any, where: str) -> str:
    """Return ``value`` as a string, or raise PrometheusRuleError naming ``where``."""
    text = str(value).strip()
    try:
        parse_duration(text)
    except ValueError:
        raise PrometheusRuleError(
            f"{where}: invalid duration {value!r}. Use a number followed by a unit"
            " (ms, s, m, h, d, w, y) such as 30s, 5m or 1h30m, with the units from"
            " largest to smallest."
        ) from None
    return text


def _rule_label(group_name: str, index: int, rule: dict[str, Any]) -> str:
    """Name a rule the way error messages refer to it, with a 1-based index."""
    label = f'group "{group_name}", rule {index}'
    if rule.get("record"):
        return f'{label} (record "{rule["record"]}")'
    if rule.get("alert"):
        return f'{label} (alert "{rule["alert"]}")'
    return label


def _string_map(value: Any, where: str) -> dict[str, str]:
    """Return labels or annotations as a sorted string-to-string dict.

    Numbers become strings, as Prometheus would read them. Booleans and nested
    values are rejected because their text form ("True" or "true") is ambiguous.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PrometheusRuleError(
            f"{where} must be a dict of names to strings, got {type(value).__name__}."
        )
    result = {}
    for key in sorted(value, key=str):
        item = value[key]
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise PrometheusRuleError(
                f"{where}.{key} has the value {item!r} of type"
                f" {type(item).__name__}. Quote it so that it is a string, for"
                f' example "{item}".'
            )
        result[str(key)] = str(item)
    return result


def _normalize_rule(group_name: str, index: int, rule: dict[str, Any]) -> dict:
    """Validate one rule and return it with keys in rendering order."""
    where = _rule_label(group_name, index, rule)
    record = rule.get("record")
    alert = rule.get("alert")
    if record and alert:
        raise PrometheusRuleError(
            f"{where} sets both record and alert. A rule is either a recording rule"
            " (record) or an alerting rule (alert): split it into two rules."
        )
    if not record and not alert:
        raise PrometheusRuleError(
            f"{where} sets neither record nor alert. Set record to the metric name the"
            " rule writes, or alert to the alert name."
        )
    expr = rule.get("expr")
    if expr is None or not str(expr).strip():
        raise PrometheusRuleError(
            f"{where} has no expr. Set expr to the PromQL expression to evaluate."
        )

    normalized: dict[str, Any] = {}
    if record:
        normalized["record"] = record
        for key in ("for", "keep_firing_for", "annotations"):
            if rule.get(key):
                raise PrometheusRuleError(
                    f"{where} sets {key}, which only alerting rules accept. Remove"
                    f" {key} or turn the rule into an alerting rule with alert."
                )
    else:
        normalized["alert"] = alert
    normalized["expr"] = str(expr).strip()
    for key in ("for", "keep_firing_for"):
        if rule.get(key) is not None:
            normalized[key] = validate_duration(rule[key], f"{where}, {key}")
    labels = _string_map(rule.get("labels"), f"{where}, labels")
    if labels:
        normalized["labels"] = labels
    annotations = _string_map(rule.get("annotations"), f"{where}, annotations")
    if annotations:
        normalized["annotations"] = annotations
    return normalized


def normalize_groups(groups: list[dict[str, Any]] | None) -> list[dict]:
    """Validate rule groups and return them with keys in rendering order.

    Raises PrometheusRuleError naming the group or rule and the fix. Group and
    rule indexes in messages start at 1, as in promtool's messages.
    """
    seen_names: dict[str, int] = {}
    result = []
    for group_index, group in enumerate(groups or [], start=1):
        if not isinstance(group, dict):
            raise PrometheusRuleError(
                f"groups[{group_index}] is a {type(group).__name__}, not a dict."
                " Give each group as a dict with name and rules."
            )
        name = group.get("name")
        if name is None or not str(name).strip():
            raise PrometheusRuleError(
                f"groups[{group_index}] has no name. Set name to a name that is"
                " unique within the rule file."
            )
        name = str(name)
        if name in seen_names:
            raise PrometheusRuleError(
                f"groups[{seen_names[name]}] and groups[{group_index}] are both named"
                f' "{name}". Prometheus requires unique group names within a rule'
                " file: rename one of them or merge their rules."
            )
        seen_names[name] = group_index

        normalized: dict[str, Any] = {"name": name}
        if group.get("interval") is not None:
            normalized["interval"] = validate_duration(
                group["interval"], f'group "{name}", interval'
            )
        limit = group.get("limit")
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                raise PrometheusRuleError(
                    f'group "{name}": invalid limit {limit!r}. Set limit to a whole'
                    " number of series or alerts, or 0 for no limit."
                )
            if limit:
                normalized["limit"] = limit
        rules = group.get("rules")
        if rules is None:
            raise PrometheusRuleError(
                f'group "{name}" has no rules. Set rules to a list of recording or'
                " alerting rules (an empty list is allowed)."
            )
        normalized["rules"] = [
            _normalize_rule(name, rule_index, rule)
            for rule_index, rule in enumerate(rules, start=1)
        ]
        result.append(normalized)
    return result


if HAS_YAML:

    class _RuleFileDumper(yaml.SafeDumper):
        """SafeDumper that writes multi-line strings as literal blocks."""

    def _represent_str(dumper: Any, value: str) -> Any:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _RuleFileDumper.add_representer(str, _represent_str)


def render_rule_file(groups: list[dict]) -> str:
    """Render normalized groups as rule file text.

    Key order follows ``normalize_groups``, so the same input gives the same bytes.
    """
    body = yaml.dump(
        {"groups": groups},
        Dumper=_RuleFileDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 16,
        indent=2,
    )
    return FILE_HEADER + body


def render_test_file(
    rule_file: str,
    tests: list[dict[str, Any]],
    evaluation_interval: str | None,
) -> str:
    """Render a promtool unit test file that runs ``tests`` against ``rule_file``."""
    document: dict[str, Any] = {"rule_files": [rule_file]}
    if evaluation_interval is not None:
        document["evaluation_interval"] = evaluation_interval
    document["tests"] = tests
    return yaml.dump(
        document,
        Dumper=_RuleFileDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 16,
    )


def _comparable_rule_value(key: str, value: Any) -> Any:
    if key in DURATION_KEYS and isinstance(value, str):
        try:
            return parse_duration(value.strip())
        except ValueError:
            return value
    if key == "expr" and isinstance(value, str):
        return value.strip()
    if key in ("labels", "annotations") and isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return value


def _comparable_mapping(mapping: dict) -> dict:
    """Drop empty and zero values, which Prometheus treats as unset."""
    result = {}
    for key, raw in mapping.items():
        if key == "rules":
            continue
        value = _comparable_rule_value(key, raw)
        if value in (None, {}, 0):
            continue
        result[key] = value
    return result


def comparable_form(text: str | None) -> Any:
    """Return a value that is equal for two rule files with the same meaning.

    Comments, key order, quoting, block style, surrounding whitespace in expr and
    duration spelling ("60s" and "1m") do not matter. The order of groups and of
    rules does. Text that is not a rule file compares by its raw content.
    """
    if text is None:
        return None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return ("unparsed", text)
    if not isinstance(document, dict) or not isinstance(document.get("groups"), list):
        return ("unparsed", text)
    groups = []
    for group in document["groups"]:
        if not isinstance(group, dict) or not isinstance(group.get("rules", []), list):
            return ("unparsed", text)
        comparable_group = _comparable_mapping(group)
        rules = []
        for rule in group.get("rules") or []:
            if not isinstance(rule, dict):
                return ("unparsed", text)
            rules.append(_comparable_mapping(rule))
        comparable_group["rules"] = rules
        groups.append(comparable_group)
    other_keys = {k: v for k, v in document.items() if k != "groups"}
    return {"groups": groups, "other": other_keys}
