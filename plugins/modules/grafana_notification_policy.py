#!/usr/bin/python
# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible modules keep the shebang but are not executable files, and they
# import after DOCUMENTATION, EXAMPLES and RETURN.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: grafana_notification_policy
short_description: Manage routes of Grafana's notification policy tree
version_added: 0.1.0
description:
  - Manages the notification policy tree of a Grafana organization through
    the alerting provisioning API (C(/api/v1/provisioning/policies)).
  - With O(mode=merge) the task owns only the top-level routes that match the
    labels in O(match), and replaces them with O(routes). Other routes and
    the root route's settings stay as they are, so several tasks, for example
    one per team, can share the tree.
  - With O(mode=tree) the task owns the whole tree and replaces it with
    O(tree). The diff and RV(removed_routes) list every route that the change
    removes.
  - Routes are compared after normalisation, so a rerun reports no change
    and sends no request that writes. The normalisation treats durations of
    equal length as equal (V(60s) and V(1m)), empty lists as missing keys,
    and ignores the order of matchers, C(group_by) labels and time
    intervals. Matchers are read from C(object_matchers), C(matchers),
    C(match) and C(match_re).
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
  mode:
    description:
      - V(merge) manages the top-level routes selected by O(match) and keeps
        the rest of the tree.
      - V(tree) manages the whole tree, given in O(tree).
    type: str
    choices: [merge, tree]
    default: merge
  match:
    description:
      - Labels and values that select the top-level routes this task owns,
        for example the label C(team) with the value V(development). A route
        is owned when its matchers contain an equality matcher (C(=)) for
        every label and value.
      - Every route in O(routes) must carry these matchers, because a route
        without them would not be owned on the next run.
      - Required with O(mode=merge). Not used with O(mode=tree).
    type: dict
  routes:
    description:
      - The owned top-level routes, in order, with O(mode=merge). They
        replace every owned route, at the position of the first owned route.
        When no route is owned yet, they go in front of the first top-level
        route without matchers, which would catch their alerts, or else at
        the end of the tree.
      - Each route is a dictionary in Grafana's route format. C(receiver) is
        the name of a contact point. C(object_matchers) is a list of
        C([label, operator, value]) with the operator C(=), C(!=), C(=~) or
        C(!~). C(group_by) is a list of labels. C(group_wait),
        C(group_interval) and C(repeat_interval) are Prometheus durations
        such as V(30s) or V(4h). C(continue) is a boolean.
        C(mute_time_intervals) and C(active_time_intervals) are lists of
        time interval names. C(routes) is a list of nested routes.
      - C(matchers) (text such as V(team="development")), C(match) and
        C(match_re) are accepted as well, and sent as C(object_matchers).
      - An empty list removes every owned route. Required with O(mode=merge)
        and O(state=present).
    type: list
    elements: dict
  tree:
    description:
      - The whole policy tree with O(mode=tree). The root route needs a
        C(receiver) and takes no matchers. It may set C(group_by), the
        timings, and C(routes) in the format described under O(routes).
      - Required with O(mode=tree) and O(state=present).
    type: dict
  pending_contact_points:
    description:
      - Contact points that an earlier task of the same run creates. In
        check mode they count as existing, because that task only predicted
        them, so a check run against a Grafana without them predicts this
        change instead of failing. A real run checks every name.
    type: list
    elements: str
    default: []
  disable_provenance:
    description:
      - Send C(X-Disable-Provenance) with every write, so the tree stays
        editable in Grafana's UI.
      - The tree's provenance is part of the desired state. A tree whose
        provenance differs from this option is written again, even when its
        routes are unchanged.
    type: bool
    default: false
  state:
    description:
      - V(present) sets the owned routes or the tree.
      - With O(mode=merge), V(absent) removes the owned routes. With
        O(mode=tree), V(absent) resets the tree to Grafana's default, a root
        route to C(grafana-default-email) grouped by C(grafana_folder) and
        C(alertname).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Before a write the module checks that every contact point and time
    interval named in O(routes) or O(tree) exists, so check mode fails on
    the same unknown names as a real run, except the names in
    O(pending_contact_points).
  - Grafana rejects changes through the API to a tree provisioned from
    files (provenance C(file)).
  - "Each run reads the whole tree and writes all of it back, and the API
    has no version check for the tree. Two runs that change the tree at the
    same time can undo each other's change, for example one task delegated
    to localhost for several hosts. Use C(run_once: true) and run the tasks
    for different O(match) values one after another."
  - Only C(provenance) is dropped from the routes that the module keeps
    unchanged. Every other field of those routes is sent back as Grafana
    returned it.
seealso:
  - name: Grafana alerting provisioning HTTP API
    description: The notification policy routes that the module uses.
    link: https://grafana.com/docs/grafana/latest/developers/http_api/alerting_provisioning/
"""

EXAMPLES = r"""
- name: Route alerts of the development team to its contact point
  vigil.monitoring.grafana_notification_policy:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    match:
      team: development
    routes:
      - receiver: development
        object_matchers:
          - [team, "=", development]
        group_by: [alertname, service]
        group_wait: 30s
        group_interval: 5m
        repeat_interval: 4h
  delegate_to: localhost

- name: Page the infrastructure team and send the rest as tickets
  vigil.monitoring.grafana_notification_policy:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    match:
      team: infrastructure
    routes:
      - receiver: infrastructure-pager
        object_matchers:
          - [team, "=", infrastructure]
          - [severity, "=", page]
        repeat_interval: 1h
      - receiver: infrastructure
        object_matchers:
          - [team, "=", infrastructure]
    disable_provenance: true
  delegate_to: localhost

- name: Set the whole policy tree
  vigil.monitoring.grafana_notification_policy:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    mode: tree
    tree:
      receiver: grafana-default-email
      group_by: [grafana_folder, alertname]
      routes:
        - receiver: development
          object_matchers:
            - [team, "=", development]
  delegate_to: localhost

- name: Reset the policy tree to Grafana's default
  vigil.monitoring.grafana_notification_policy:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    mode: tree
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
changed:
  description: Whether the module changed the policy tree, or would in check
    mode.
  returned: always
  type: bool
  sample: true
policy:
  description: The policy tree after the run, as Grafana returns it. In
    check mode, the tree the module would send, with the provenance it
    would get.
  returned: always
  type: dict
  sample:
    receiver: grafana-default-email
    group_by: [grafana_folder, alertname]
    routes:
      - receiver: development
        object_matchers: [[team, "=", development]]
        group_wait: 30s
    provenance: api
removed_routes:
  description: Routes that the change removes, each with its C(path) in the
    tree before the change and the C(route) as Grafana returned it. Routes at
    the same level pair up by their matchers, so a route whose matchers
    change is listed as removed. Children of a removed route are not
    listed separately.
  returned: always
  type: list
  elements: dict
  sample:
    - path: routes[1]
      route:
        receiver: legacy
        object_matchers: [[team, "=", legacy]]
diff:
  description: The policy tree before and after as JSON text, and a summary
    of the removed routes in C(prepared).
  returned: in diff mode
  type: dict
  sample:
    before: "{\n  \"receiver\": \"grafana-default-email\"\n}\n"
    after: "{\n  \"receiver\": \"grafana-default-email\",\n  \"routes\": []\n}\n"
    before_header: notification policy tree
    after_header: notification policy tree
    prepared: "Removed routes:\n  routes[1]: {team=\"legacy\"} to legacy\n"
"""

import copy
from typing import Any, Dict, List, Optional

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_api import (
    GrafanaAPIError,
    GrafanaClient,
    describe,
    grafana_module_kwargs,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_diff import (
    make_diff,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_routes import (
    DEFAULT_TREE,
    RouteChecker,
    comparable,
    describe_route,
    owns,
    removed_routes,
    route_matchers,
    without_server_fields,
)

MODULE_OPTIONS: Dict[str, Any] = {
    "mode": {"type": "str", "choices": ["merge", "tree"], "default": "merge"},
    "match": {"type": "dict"},
    "routes": {"type": "list", "elements": "dict"},
    "tree": {"type": "dict"},
    "pending_contact_points": {"type": "list", "elements": "str", "default": []},
    "disable_provenance": {"type": "bool", "default": False},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
}
POLICIES = "/api/v1/provisioning/policies"
CONTACT_POINTS = "/api/v1/provisioning/contact-points"
MUTE_TIMINGS = "/api/v1/provisioning/mute-timings"
DIFF_HEADER = "notification policy tree"


def check_options(params: Dict[str, Any]) -> Dict[str, Any]:
    """Check the options before any request and return the desired routes.

    Returns ``{"match": ..., "routes": [...]}`` in merge mode and
    ``{"tree": ...}`` in tree mode, with routes in the form to send, and the
    ``RouteChecker`` that collected their contact points and time intervals.
    """
    mode, state = params["mode"], params["state"]
    checker = RouteChecker()
    if mode == "tree":
        for name in ("match", "routes"):
            if params.get(name) is not None:
                raise GrafanaAPIError(
                    f"Option {name} applies to mode=merge only. With mode=tree,"
                    " give the whole tree in option tree."
                )
        tree = None
        if state == "present":
            if params.get("tree") is None:
                raise GrafanaAPIError("Option tree is required with mode=tree.")
            tree = checker.route(params["tree"], "tree", root=True)
        return {"tree": tree, "checker": checker}

    if params.get("tree") is not None:
        raise GrafanaAPIError(
            "Option tree applies to mode=tree only. With mode=merge, give the"
            " owned routes in option routes."
        )
    match = params.get("match")
    if not match:
        raise GrafanaAPIError(
            "Option match is required with mode=merge and must name at least"
            " one label, such as {team: development}."
        )
    match = {str(name): _label_value(name, value) for name, value in match.items()}
    routes: List[Dict[str, Any]] = []
    if state == "present":
        if params.get("routes") is None:
            raise GrafanaAPIError(
                "Option routes is required with mode=merge and state=present."
                " Give an empty list to remove the owned routes."
            )
        for index, route in enumerate(params["routes"]):
            path = f"routes[{index}]"
            checked = checker.route(route, path)
            missing = missing_matchers(checked, match)
            if missing:
                raise GrafanaAPIError(
                    f"Option {path} lacks the matchers {missing} of option match,"
                    " so the next run would not find the route as owned by this"
                    " task and would add it again. Add them to its"
                    " object_matchers."
                )
            routes.append(checked)
    return {"match": match, "routes": routes, "checker": checker}


def _label_value(name: str, value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        raise GrafanaAPIError(
            f"Option match.{name} has the invalid value {value!r}. Give the label"
            " value as a string."
        )
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def missing_matchers(route: Dict[str, Any], match: Dict[str, str]) -> str:
    """Return the matchers of ``match`` that ``route`` lacks, as JSON-style text."""
    present = set(route_matchers(route))
    return ", ".join(
        f'["{name}", "=", "{value}"]'
        for name, value in match.items()
        if (name, "=", value) not in present
    )


def merged_tree(
    current: Dict[str, Any], match: Dict[str, str], routes: List[Dict[str, Any]]
) -> Dict[str, Any]:
    """Return ``current`` with its owned top-level routes replaced by ``routes``."""
    tree = without_server_fields(current)
    new_routes: List[Dict[str, Any]] = []
    inserted = False
    for route in tree.get("routes") or []:
        if not owns(route, match):
            new_routes.append(route)
        elif not inserted:
            new_routes.extend(copy.deepcopy(routes))
            inserted = True
    if not inserted:
        # A route without matchers catches every alert, so routes after it
        # would never match: the new routes go in front of the first one.
        position = len(new_routes)
        for index, route in enumerate(new_routes):
            if not route_matchers(route):
                position = index
                break
        new_routes[position:position] = copy.deepcopy(routes)
    if new_routes or "routes" in tree:
        tree["routes"] = new_routes
    return tree


class PolicyRun:
    """One run of the module: reads the tree, compares, and writes when needed."""

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
        self.provenance = "" if params["disable_provenance"] else "api"
        self.result: Dict[str, Any] = {"changed": False, "removed_routes": []}

    def apply(self, desired: Dict[str, Any]) -> Dict[str, Any]:
        current = self.client.get(POLICIES) or {}
        current_provenance = str(current.get("provenance") or "")
        reset = self.params["mode"] == "tree" and self.params["state"] == "absent"
        if reset:
            target = copy.deepcopy(DEFAULT_TREE)
            provenance = ""
        elif self.params["mode"] == "tree":
            target = desired["tree"]
            provenance = self.provenance
        else:
            target = merged_tree(current, desired["match"], desired["routes"])
            provenance = self.provenance

        changed = comparable(current, root=True) != comparable(target, root=True)
        changed = changed or current_provenance != provenance
        removed = removed_routes(current, target)
        self.result["changed"] = changed
        self.result["removed_routes"] = removed
        if changed and not reset:
            self._check_references(desired["checker"])
        if changed and not self.check_mode:
            self._write(target, reset)
            after = self.client.get(POLICIES) or {}
        else:
            after = dict(target, provenance=provenance) if changed else current
        self.result["policy"] = after
        if self.diff_mode:
            self._diff(current, dict(target, provenance=provenance), removed)
        return self.result

    def _check_references(self, checker: RouteChecker) -> None:
        """Fail when a route names a contact point or time interval Grafana lacks."""
        if checker.receivers:
            points = self.client.get(CONTACT_POINTS) or []
            known = {str(point.get("name")) for point in points}
            if self.check_mode:
                known.update(self.params.get("pending_contact_points") or [])
            for name, path in checker.receivers.items():
                if name not in known:
                    raise GrafanaAPIError(
                        f"Option {path} names the contact point {name!r}, which"
                        " does not exist in Grafana. Existing contact points:"
                        f" {describe(sorted(known))}. Create the contact point"
                        " first, for example with"
                        " vigil.monitoring.grafana_contact_point."
                    )
        if checker.intervals:
            timings = self.client.get(MUTE_TIMINGS) or []
            known = {str(timing.get("name")) for timing in timings}
            for name, path in checker.intervals.items():
                if name not in known:
                    raise GrafanaAPIError(
                        f"Option {path} names the time interval {name!r}, which"
                        " does not exist in Grafana. Create it first as a mute"
                        " timing."
                    )

    def _write(self, target: Dict[str, Any], reset: bool) -> None:
        headers = {}
        if self.params["disable_provenance"]:
            headers["X-Disable-Provenance"] = "true"
        if reset:
            self.client.delete(POLICIES, headers=headers)
        else:
            self.client.put(POLICIES, target, headers=headers)

    def _diff(
        self,
        before: Dict[str, Any],
        after: Dict[str, Any],
        removed: List[Dict[str, Any]],
    ) -> None:
        diff = make_diff(before, after, DIFF_HEADER)
        if removed:
            lines = ["Removed routes:"]
            lines += [
                f"  {entry['path']}: {describe_route(entry['route'])}"
                for entry in removed
            ]
            diff["prepared"] = "\n".join(lines) + "\n"
        self.result["diff"] = diff


def run(
    params: Dict[str, Any],
    check_mode: bool = False,
    diff_mode: bool = False,
    client: Optional[GrafanaClient] = None,
) -> Dict[str, Any]:
    """Apply the module's parameters and return its result."""
    desired = check_options(params)
    work = PolicyRun(client or GrafanaClient(params), params, check_mode, diff_mode)
    return work.apply(desired)


def main() -> None:
    module = AnsibleModule(**grafana_module_kwargs(**MODULE_OPTIONS))
    try:
        result = run(module.params, module.check_mode, module._diff)
    except GrafanaAPIError as error:
        module.fail_json(msg=str(error), status=error.status)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
