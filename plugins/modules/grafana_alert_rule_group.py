#!/usr/bin/python
# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible modules keep the shebang but are not executable files, and they
# import after DOCUMENTATION, EXAMPLES and RETURN.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: grafana_alert_rule_group
short_description: Create, replace or delete a Grafana-managed alert rule group
version_added: 0.2.0
description:
  - Manages one alert rule group of Grafana Alerting through the alerting
    provisioning API, addressed by its folder (O(folder_uid)) and name
    (O(name)).
  - The group is authoritative over its rules. Rules in the group that
    O(rules) does not list are deleted, and the module returns them in
    RV(removed_rules).
  - Only the fields that the task sets are compared. Fields that Grafana adds
    to a stored rule, such as C(id), C(orgID), C(updated) and the
    C(intervalMs) and C(maxDataPoints) of query models, never count as a
    change. A rerun with the same options sends no write request.
author:
  - vigil.monitoring maintainers (!UNKNOWN)
extends_documentation_fragment:
  - vigil.monitoring.grafana
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction
      without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs
      changing in check_mode), when in diff mode.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  folder_uid:
    description:
      - Uid of the folder that contains the group. The folder must exist.
    type: str
    required: true
  name:
    description:
      - Name (title) of the rule group, 1 to 190 characters.
    type: str
    required: true
  interval:
    description:
      - How often Grafana evaluates the rules of the group, as a Prometheus
        duration such as V(1m), or as seconds.
      - Grafana requires a positive multiple of 10 seconds.
    type: str
    default: 1m
  rules:
    description:
      - The complete list of rules of the group, in evaluation order.
      - Required when O(state=present), and must not be empty. To delete a
        group, use O(state=absent).
    type: list
    elements: dict
    suboptions:
      uid:
        description:
          - Uid of the rule, 1 to 40 letters, digits, C(-) or C(_).
          - When unset, a rule of the group with the same title keeps its
            uid. A new rule gets a uid derived from O(folder_uid), O(name)
            and O(rules[].title), which stays the same on every run.
        type: str
      title:
        description:
          - Title of the rule, unique among the rules of the folder.
        type: str
        required: true
      condition:
        description:
          - The C(refId) of the query or expression in O(rules[].data) whose
            result decides whether the rule fires.
        type: str
        required: true
      data:
        description:
          - Queries and expressions of the rule, as Grafana's C(AlertQuery)
            objects.
        type: list
        elements: dict
        required: true
        suboptions:
          refId:
            description:
              - Name of the query, such as V(A). Expressions refer to it
                as C($A).
            type: str
            required: true
            aliases: [ref_id]
          queryType:
            description:
              - Query type for data sources that distinguish several.
            type: str
            default: ""
            aliases: [query_type]
          relativeTimeRange:
            description:
              - Time range of the query, relative to the evaluation time.
              - When unset, a data source query covers the last 10 minutes
                (V(from=600), V(to=0)) and an expression V(from=0), V(to=0).
            type: dict
            aliases: [relative_time_range]
            suboptions:
              from:
                description:
                  - Start of the range, as seconds or a Prometheus duration
                    before the evaluation time.
                type: raw
              to:
                description:
                  - End of the range, as seconds or a Prometheus duration
                    before the evaluation time.
                type: raw
          datasourceUid:
            description:
              - Uid of the data source, or V(__expr__) for a server-side
                expression (math, reduce, threshold, resample, classic
                condition).
            type: str
            required: true
            aliases: [datasource_uid]
          model:
            description:
              - The query as the data source or the expression engine reads
                it, such as C(expr) and C(instant) for Prometheus, or C(type)
                and C(expression) for a math expression.
              - C(refId) is added when missing.
              - Only the keys set here are compared with the stored model.
                Removing a key from this option therefore does not remove it
                from Grafana.
            type: dict
            required: true
      for:
        description:
          - How long the condition must hold before the rule fires, as a
            Prometheus duration.
        type: str
        default: 0s
      keep_firing_for:
        description:
          - How long the rule keeps firing after the condition stops
            holding, as a Prometheus duration.
        type: str
        default: 0s
      labels:
        description:
          - Labels added to the alerts of the rule. Notification policies
            route alerts by these labels.
        type: dict
        default: {}
      annotations:
        description:
          - Annotations of the alerts, such as C(summary),
            C(description) and C(runbook_url).
        type: dict
        default: {}
      no_data_state:
        description:
          - State of the rule when the queries return no data.
          - V(KeepLast) needs a Grafana version whose rule model has it.
            Grafana's OpenAPI description for the 12.2 development line does
            not list it.
        type: str
        choices: [NoData, Alerting, OK, KeepLast]
        default: NoData
      exec_err_state:
        description:
          - State of the rule when the evaluation fails or times out.
          - V(KeepLast) has the same version limits as in
            O(rules[].no_data_state).
        type: str
        choices: [Error, Alerting, OK, KeepLast]
        default: Error
      is_paused:
        description:
          - Whether Grafana stops evaluating the rule.
        type: bool
        default: false
  pending_folder:
    description:
      - The folder O(folder_uid) is created by an earlier task of the same
        run. In check mode a missing folder then counts as an empty one,
        because that task only predicted it, so a check run against a
        Grafana without the folder predicts the group instead of failing.
        A real run always requires the folder.
    type: bool
    default: false
  disable_provenance:
    description:
      - Send C(X-Disable-Provenance) with every write, so that the rules stay
        editable in Grafana's UI. Without it, Grafana marks the rules as
        provisioned through the API, and the UI does not let users edit them.
      - A change of this option changes the rules' provenance, which
        counts as a change.
    type: bool
    default: false
  state:
    description:
      - V(present) creates or replaces the group. V(absent) deletes it with
        all its rules.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Grafana rejects writes to rules provisioned from files (provenance
    C(file)). The module fails before any write and names the rule.
  - Rule titles are unique in a folder, so a rule of the same title in
    another group of the folder makes Grafana reject the group.
  - A rule whose uid is in another group moves into this group.
  - A rule without O(rules[].uid) whose title changes gets a new uid, so
    Grafana deletes the old rule with its state and creates a new one. Set
    O(rules[].uid) to keep a rule across title changes.
  - Rule fields that the module does not manage, such as
    C(notification_settings), are not compared. Grafana clears them when the
    module replaces the group because another field changed.
seealso:
  - module: vigil.monitoring.grafana_folder
  - name: Grafana alerting provisioning HTTP API
    description: Routes and fields that the module uses.
    link: https://grafana.com/docs/grafana/latest/developers/http_api/alerting_provisioning/
"""

EXAMPLES = r"""
- name: Alert when a Prometheus alert expression returns series
  vigil.monitoring.grafana_alert_rule_group:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    folder_uid: infrastructure
    name: infrastructure
    interval: 1m
    disable_provenance: true
    rules:
      - title: HostMemoryLow
        condition: B
        data:
          - refId: A
            datasourceUid: prometheus
            relativeTimeRange: {from: 600, to: 0}
            model:
              expr: node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < 0.1
              instant: true
          - refId: B
            datasourceUid: __expr__
            model:
              type: math
              expression: is_number($A)
        for: 10m
        no_data_state: OK
        exec_err_state: Error
        labels:
          team: infrastructure
          severity: page
        annotations:
          summary: "{{ '{{' }} $labels.instance {{ '}}' }} has less than 10% memory"
  delegate_to: localhost

- name: Delete a rule group and its rules
  vigil.monitoring.grafana_alert_rule_group:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    folder_uid: infrastructure
    name: legacy
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
changed:
  description: Whether the module created, replaced or deleted the group, or
    would in check mode.
  returned: always
  type: bool
  sample: true
folder_uid:
  description: Uid of the folder of the group.
  returned: always
  type: str
  sample: infrastructure
name:
  description: Name of the group.
  returned: always
  type: str
  sample: infrastructure
interval:
  description: Evaluation interval of the group in seconds.
  returned: when O(state=present)
  type: int
  sample: 60
created:
  description: Whether the group did not exist before.
  returned: when O(state=present)
  type: bool
  sample: false
rules:
  description: Uid and title of each rule of the group after the run, in
    order.
  returned: when O(state=present)
  type: list
  elements: dict
  sample:
    - uid: hostmemorylow-3f1c2a9b0d4e5f607182
      title: HostMemoryLow
removed_rules:
  description: Uid and title of each rule that the run deleted, or would
    delete in check mode.
  returned: always
  type: list
  elements: dict
  sample:
    - uid: hostcpubusy-0a1b2c3d4e5f60718293
      title: HostCpuBusy
diff:
  description: The group before and after as JSON text, with durations in
    Prometheus form and only the compared fields.
  returned: in diff mode
  type: dict
  sample:
    before: "{\n  \"interval\": \"1m\",\n  \"rules\": []\n}\n"
    after: "{\n  \"interval\": \"2m\",\n  \"rules\": []\n}\n"
    before_header: rule group infrastructure/infrastructure
    after_header: rule group infrastructure/infrastructure
"""

from typing import Any, Dict, List, Optional

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_api import (
    GrafanaAPIError,
    GrafanaClient,
    grafana_module_kwargs,
    path_segment,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_diff import (
    make_diff,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_rules import (
    BASE_INTERVAL_SECONDS,
    MAX_TITLE_LENGTH,
    PROVENANCE_API,
    PROVENANCE_NONE,
    can_change_provenance,
    check_unique_titles,
    check_unique_uids,
    derive_rule_uid,
    desired_rule_view,
    format_duration,
    normalise_rule,
    parse_duration,
    rule_body,
    stored_rule_view,
)

QUERY_OPTIONS: Dict[str, Any] = {
    "refId": {"type": "str", "required": True, "aliases": ["ref_id"]},
    "queryType": {"type": "str", "default": "", "aliases": ["query_type"]},
    "relativeTimeRange": {
        "type": "dict",
        "aliases": ["relative_time_range"],
        "options": {"from": {"type": "raw"}, "to": {"type": "raw"}},
    },
    "datasourceUid": {"type": "str", "required": True, "aliases": ["datasource_uid"]},
    "model": {"type": "dict", "required": True},
}
RULE_OPTIONS: Dict[str, Any] = {
    "uid": {"type": "str"},
    "title": {"type": "str", "required": True},
    "condition": {"type": "str", "required": True},
    "data": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": QUERY_OPTIONS,
    },
    "for": {"type": "str", "default": "0s"},
    "keep_firing_for": {"type": "str", "default": "0s"},
    "labels": {"type": "dict", "default": {}},
    "annotations": {"type": "dict", "default": {}},
    "no_data_state": {
        "type": "str",
        "choices": ["NoData", "Alerting", "OK", "KeepLast"],
        "default": "NoData",
    },
    "exec_err_state": {
        "type": "str",
        "choices": ["Error", "Alerting", "OK", "KeepLast"],
        "default": "Error",
    },
    "is_paused": {"type": "bool", "default": False},
}
MODULE_OPTIONS: Dict[str, Any] = {
    "folder_uid": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "interval": {"type": "str", "default": "1m"},
    "rules": {"type": "list", "elements": "dict", "options": RULE_OPTIONS},
    "pending_folder": {"type": "bool", "default": False},
    "disable_provenance": {"type": "bool", "default": False},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
}
REQUIRED_IF = [["state", "present", ["rules"]]]


class DesiredGroup:
    """The group that the options describe, validated before any request."""

    def __init__(self, params: Dict[str, Any]) -> None:
        self.folder_uid = str(params["folder_uid"]).strip()
        self.name = str(params["name"]).strip()
        if not self.folder_uid:
            raise GrafanaAPIError("folder_uid must not be empty.")
        if not self.name or len(self.name) > MAX_TITLE_LENGTH:
            raise GrafanaAPIError(
                f"name must be 1 to {MAX_TITLE_LENGTH} characters, got"
                f" {len(self.name)}."
            )
        self.provenance = (
            PROVENANCE_NONE if params["disable_provenance"] else PROVENANCE_API
        )
        self.interval = 0
        self.rules: List[Dict[str, Any]] = []
        if params["state"] == "present":
            self.interval = self._interval(params["interval"])
            self.rules = self._rules(params.get("rules") or [])

    @staticmethod
    def _interval(value: Any) -> int:
        seconds = parse_duration(value, "interval")
        if seconds <= 0 or seconds % BASE_INTERVAL_SECONDS:
            raise GrafanaAPIError(
                f"interval {value!r} is invalid: Grafana requires a positive"
                f" multiple of {BASE_INTERVAL_SECONDS}s, such as 1m."
            )
        return seconds

    @staticmethod
    def _rules(items: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        if not items:
            raise GrafanaAPIError(
                "rules is empty, but a rule group needs at least one rule. Use"
                " state=absent to delete the group."
            )
        rules = [normalise_rule(item, index) for index, item in enumerate(items)]
        check_unique_titles(rules)
        return rules

    def assign_uids(self, stored_rules: List[Dict[str, Any]]) -> None:
        """Give every rule without a uid the stored uid of its title, or a new one."""
        stored_by_title = {rule.get("title"): rule.get("uid") for rule in stored_rules}
        for rule in self.rules:
            if rule["uid"] is None:
                rule["uid"] = stored_by_title.get(rule["title"]) or derive_rule_uid(
                    self.folder_uid, self.name, rule["title"]
                )
        check_unique_uids(self.rules)


class RuleGroupRun:
    """One run of the module: reads, compares, and writes when needed."""

    def __init__(
        self,
        client: GrafanaClient,
        params: Dict[str, Any],
        check_mode: bool,
        diff_mode: bool,
    ) -> None:
        self.client = client
        self.params = params
        self.check_mode = check_mode
        self.diff_mode = diff_mode
        self.desired = DesiredGroup(params)
        self.path = (
            f"/api/v1/provisioning/folder/{path_segment(self.desired.folder_uid)}"
            f"/rule-groups/{path_segment(self.desired.name)}"
        )
        self.result: Dict[str, Any] = {
            "changed": False,
            "folder_uid": self.desired.folder_uid,
            "name": self.desired.name,
            "removed_rules": [],
        }

    # States

    def absent(self) -> Dict[str, Any]:
        stored = self.client.get(self.path, missing_ok=True)
        stored_rules = [] if stored is None else list(stored.get("rules") or [])
        if stored_rules:
            self._check_provenance(stored_rules, "delete")
            self.result["changed"] = True
            self.result["removed_rules"] = _rule_names(stored_rules)
            if not self.check_mode:
                self._write("DELETE")
        self._diff(self._stored_view(stored, {}), None)
        return self.result

    def present(self) -> Dict[str, Any]:
        if not (self.check_mode and self.params["pending_folder"]):
            self._require_folder()
        stored = self.client.get(self.path, missing_ok=True)
        stored_rules = [] if stored is None else list(stored.get("rules") or [])
        self.desired.assign_uids(stored_rules)

        after = self._desired_view()
        desired_by_uid = {rule["uid"]: rule for rule in after["rules"]}
        before = self._stored_view(stored, desired_by_uid)
        removed = [
            rule for rule in stored_rules if rule.get("uid") not in desired_by_uid
        ]
        self.result.update(
            interval=self.desired.interval,
            created=not stored_rules,
            rules=_rule_names(after["rules"]),
            removed_rules=_rule_names(removed),
        )
        if before != after:
            self._check_provenance(stored_rules, "update")
            self.result["changed"] = True
            if not self.check_mode:
                self._write("PUT", self._body(stored_rules))
        self._diff(before, after)
        return self.result

    # Reading and comparing

    def _require_folder(self) -> None:
        folder_path = f"/api/folders/{path_segment(self.desired.folder_uid)}"
        if self.client.get(folder_path, missing_ok=True) is None:
            raise GrafanaAPIError(
                f"folder_uid {self.desired.folder_uid!r} does not exist in this"
                " organization. Create the folder first, for example with"
                " vigil.monitoring.grafana_folder."
            )

    def _desired_view(self) -> Dict[str, Any]:
        return {
            "folderUid": self.desired.folder_uid,
            "title": self.desired.name,
            "interval": format_duration(self.desired.interval),
            "rules": [
                desired_rule_view(rule, self.desired.provenance)
                for rule in self.desired.rules
            ],
        }

    def _stored_view(
        self, stored: Optional[Dict[str, Any]], desired_by_uid: Dict[str, Any]
    ) -> Optional[Dict[str, Any]]:
        if not stored or not stored.get("rules"):
            return None
        return {
            "folderUid": self.desired.folder_uid,
            "title": self.desired.name,
            "interval": format_duration(int(stored.get("interval") or 0)),
            "rules": [
                stored_rule_view(rule, desired_by_uid.get(rule.get("uid")))
                for rule in stored["rules"]
            ],
        }

    def _check_provenance(
        self, stored_rules: List[Dict[str, Any]], operation: str
    ) -> None:
        """Fail before the write when Grafana would reject the rules' provenance.

        A replaced group updates the rules it keeps and deletes the others, so
        every stored rule of the group is checked.
        """
        for rule in stored_rules:
            stored = rule.get("provenance") or PROVENANCE_NONE
            if not can_change_provenance(stored, self.desired.provenance):
                raise GrafanaAPIError(
                    self._provenance_message(rule.get("title"), stored, operation)
                )

    def _provenance_message(self, title: Any, stored: str, operation: str) -> str:
        requested = self.desired.provenance or "none"
        text = (
            f"Cannot {operation} rule group {self.desired.name!r} in folder"
            f" {self.desired.folder_uid!r}: rule {title!r} has provenance"
            f" {stored or 'none'!r}, and with disable_provenance="
            f"{str(self.params['disable_provenance']).lower()} the write has"
            f" provenance {requested!r}, which Grafana rejects."
        )
        if can_change_provenance(stored, PROVENANCE_NONE):
            return text + " Set disable_provenance: true to take the rules over."
        return text + (
            " Rules provisioned from files change only through those files:"
            " edit them in Grafana's provisioning directory, or manage another"
            " group name with this module."
        )

    # Writing

    def _body(self, stored_rules: List[Dict[str, Any]]) -> Dict[str, Any]:
        org_id = self._org_id(stored_rules)
        return {
            "title": self.desired.name,
            "folderUid": self.desired.folder_uid,
            "interval": self.desired.interval,
            "rules": [
                rule_body(rule, self.desired.folder_uid, self.desired.name, org_id)
                for rule in self.desired.rules
            ],
        }

    def _org_id(self, stored_rules: List[Dict[str, Any]]) -> int:
        # Grafana stores the rules in the organization of the request. The API
        # description lists orgID as required, so the body has the best known one.
        if self.params.get("org_id") is not None:
            return int(self.params["org_id"])
        for rule in stored_rules:
            if rule.get("orgID"):
                return int(rule["orgID"])
        return 1

    def _write(self, method: str, body: Any = None) -> None:
        headers = {}
        if self.params["disable_provenance"]:
            headers["X-Disable-Provenance"] = "true"
        try:
            self.client.request(method, self.path, body=body, headers=headers)
        except GrafanaAPIError as error:
            # Reached when the rules changed after the read, or when a Grafana
            # version applies a stricter rule than can_change_provenance.
            if error.status is not None and "provenance" in error.grafana_message:
                setting = str(self.params["disable_provenance"]).lower()
                raise GrafanaAPIError(
                    f"{error} Grafana rejected the provenance of the write, made"
                    f" with disable_provenance={setting}. Set disable_provenance"
                    " to match how the rules were written before, or change"
                    " rules provisioned from files through those files.",
                    error.method,
                    error.path,
                    error.status,
                    error.grafana_message,
                ) from None
            raise

    def _diff(self, before: Any, after: Any) -> None:
        if self.diff_mode:
            header = f"rule group {self.desired.folder_uid}/{self.desired.name}"
            self.result["diff"] = make_diff(before, after, header)


def _rule_names(rules: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [{"uid": rule.get("uid"), "title": rule.get("title")} for rule in rules]


def run(
    params: Dict[str, Any],
    check_mode: bool = False,
    diff_mode: bool = False,
    client: Optional[GrafanaClient] = None,
) -> Dict[str, Any]:
    """Apply the module's parameters and return its result."""
    work = RuleGroupRun(client or GrafanaClient(params), params, check_mode, diff_mode)
    if params["state"] == "absent":
        return work.absent()
    return work.present()


def main() -> None:
    module = AnsibleModule(
        required_if=REQUIRED_IF, **grafana_module_kwargs(**MODULE_OPTIONS)
    )
    try:
        result = run(module.params, module.check_mode, module._diff)
    except GrafanaAPIError as error:
        module.fail_json(msg=str(error), status=error.status)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
