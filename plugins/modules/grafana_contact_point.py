#!/usr/bin/python
# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible modules keep the shebang but are not executable files, and they
# import after DOCUMENTATION, EXAMPLES and RETURN.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: grafana_contact_point
short_description: Create, update or delete a Grafana alerting contact point
version_added: 0.1.0
description:
  - Manages one contact point of Grafana Alerting through the provisioning
    API C(/api/v1/provisioning/contact-points).
  - Grafana stores a contact point as one embedded contact point per
    integration, all with the same name. The module addresses every
    integration by its uid and treats O(integrations) as the complete list,
    so integrations that Grafana has under O(name) but that the list does not
    contain are deleted.
  - Secret settings are compared only by whether Grafana stores a value,
    because Grafana returns them as V([REDACTED]). O(secret_update) chooses
    when they are sent.
  - Secret values never appear in the module's result or diff. The module
    also adds them to Ansible's list of values that it masks in every
    output, including the task's arguments at C(-vvv).
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
      changing in check_mode), when in diff mode. Secret settings show as
      V([REDACTED]), or V([REDACTED] (new value sent)) where the module
      sends a value.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  name:
    description:
      - Name of the contact point, which notification policies use as their
        receiver.
    type: str
    required: true
  integrations:
    description:
      - Complete list of the contact point's integrations.
      - Required when O(state=present), with at least one integration.
    type: list
    elements: dict
    suboptions:
      uid:
        description:
          - Uid of the integration, at most 40 letters, digits, C(-) or C(_).
          - When unset, the module derives a stable uid from O(name), the
            type and the position of the integration among the integrations
            of the same type, such as C(webhook-3f1c0a9d2b7e4c6a81d0).
            Reordering integrations of one type therefore replaces them.
        type: str
      type:
        description:
          - Integration type.
        type: str
        required: true
        choices: [webhook, email, slack, teams]
      settings:
        description:
          - Settings of the integration, as Grafana's provisioning API takes
            them, for example C(url), C(httpMethod), C(username) and
            C(password) for V(webhook).
          - "Required settings: C(url) for V(webhook) and V(teams),
            C(addresses) for V(email), and C(url) or C(token) with
            C(recipient) for V(slack)."
          - C(addresses) of V(email) may be a list, which the module joins
            with C(;).
          - "The module treats these keys as secret: C(password) and
            C(authorization_credentials) of V(webhook), C(url) and C(token)
            of V(slack), and C(url) of V(teams)."
          - Non-secret settings are compared exactly with Grafana's, so a key
            that Grafana stores but this dict lacks is a change.
        type: dict
        default: {}
      disable_resolve_message:
        description:
          - Whether Grafana skips the notification when the alert resolves.
        type: bool
        default: false
  secret_update:
    description:
      - V(on_create) sends a secret setting only when the integration is
        created, when Grafana has no value stored for that key, or when the
        integration changes its type. A changed secret value is not sent, and
        a secret that the option no longer contains stays in Grafana. Use it
        for idempotent reruns.
      - V(always) sends the secret settings of every integration on every run,
        so the task reports a change on every run for integrations with
        secrets. A secret that the option no longer contains is removed.
    type: str
    choices: [on_create, always]
    default: on_create
  disable_provenance:
    description:
      - Send the C(X-Disable-Provenance) header with every write, so that the
        contact point keeps provenance none and stays editable in Grafana's
        UI.
      - Grafana rejects a change to an integration that was written without
        this header (provenance C(api)) or provisioned from a file
        (provenance C(file)) when the request carries the header. The task
        then fails before any change and names both fixes.
    type: bool
    default: false
  state:
    description:
      - V(present) creates, updates and deletes integrations so that Grafana
        has exactly O(integrations) under O(name).
      - V(absent) deletes every integration named O(name).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Integrations are deleted after all creates and updates of a run, so the
    contact point never loses all its integrations while policies use it.
  - With O(state=absent), the task fails before any change when a
    notification policy route uses O(name) as its receiver, because Grafana
    rejects the deletion of the last integration.
  - Some Grafana versions store the C(url) of V(teams) unencrypted and return
    it in the clear. The module still treats it as secret, and sends back
    what Grafana returned when it keeps the stored value.
seealso:
  - name: Grafana alerting provisioning HTTP API
    description: Routes and fields that the module uses.
    link: https://grafana.com/docs/grafana/latest/developers/http_api/alerting_provisioning/
"""

EXAMPLES = r"""
- name: Send the development team's alerts to a webhook and by email
  vigil.monitoring.grafana_contact_point:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    name: development
    integrations:
      - type: webhook
        settings:
          url: https://hooks.example.org/alerts
          username: grafana
          password: "{{ vault_webhook_password }}"
      - type: email
        settings:
          addresses: [dev-oncall@example.org, dev-lead@example.org]
        disable_resolve_message: true
  delegate_to: localhost

- name: Rotate the Slack webhook URL of the infrastructure contact point
  vigil.monitoring.grafana_contact_point:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    name: infrastructure
    secret_update: always
    disable_provenance: true
    integrations:
      - uid: infra-slack
        type: slack
        settings:
          url: "{{ vault_slack_webhook_url }}"
          recipient: "#infra-alerts"
  delegate_to: localhost

- name: Delete a contact point that no policy uses any more
  vigil.monitoring.grafana_contact_point:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    name: legacy-pager
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
changed:
  description: Whether the module created, updated or deleted an integration,
    or would in check mode.
  returned: always
  type: bool
  sample: true
name:
  description: Name of the contact point.
  returned: always
  type: str
  sample: development
integrations:
  description: The contact point's integrations after the run, in the order
    of O(integrations), with secret settings replaced by V([REDACTED]).
  returned: when O(state=present)
  type: list
  elements: dict
  sample:
    - uid: webhook-3f1c0a9d2b7e4c6a81d0
      type: webhook
      settings:
        url: https://hooks.example.org/alerts
        password: "[REDACTED]"
      disableResolveMessage: false
      provenance: api
created:
  description: Uids of the integrations created, or that check mode would
    create.
  returned: always
  type: list
  elements: str
  sample: [webhook-3f1c0a9d2b7e4c6a81d0]
updated:
  description: Uids of the integrations updated, or that check mode would
    update.
  returned: always
  type: list
  elements: str
  sample: []
deleted:
  description: Uids of the integrations deleted, or that check mode would
    delete.
  returned: always
  type: list
  elements: str
  sample: [d8e2b1c4]
diff:
  description: Integrations before and after, as JSON text with secret
    settings replaced.
  returned: in diff mode
  type: dict
  sample:
    before: ""
    after: "[\n  {\n    \"type\": \"teams\",\n    \"uid\": \"infra\"\n  }\n]\n"
    before_header: contact point development
    after_header: contact point development
"""

import copy
import hashlib
import json
import re
from typing import Any, Dict, List, Optional, Set, Tuple

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_api import (
    GrafanaAPIError,
    GrafanaClient,
    describe,
    grafana_module_kwargs,
    path_segment,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_diff import (
    make_diff,
)

CONTACT_POINTS_PATH = "/api/v1/provisioning/contact-points"
POLICIES_PATH = "/api/v1/provisioning/policies"
INTEGRATION_TYPES = ("webhook", "email", "slack", "teams")
SECRET_SETTINGS: Dict[str, Tuple[str, ...]] = {
    "webhook": ("password", "authorization_credentials"),
    "email": (),
    "slack": ("url", "token"),
    "teams": ("url",),
}
"""Settings of each type that Grafana stores encrypted and returns as ``[REDACTED]``.

NOTE: some Grafana versions store the teams ``url`` in the clear and return
it unredacted. The module treats it as secret with every version.
"""
ALL_SECRET_KEYS = tuple(
    sorted({key for keys in SECRET_SETTINGS.values() for key in keys})
)
REDACTED = "[REDACTED]"
"""Grafana's placeholder for a stored secret, also used in results and diffs."""
SENT_MARKER = "[REDACTED] (new value sent)"
"""Diff placeholder for a secret that the module sends in this run."""
UID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
DISABLE_PROVENANCE_HEADER = {"X-Disable-Provenance": "true"}

INTEGRATION_OPTIONS: Dict[str, Any] = {
    "uid": {"type": "str"},
    "type": {"type": "str", "required": True, "choices": list(INTEGRATION_TYPES)},
    "settings": {"type": "dict", "default": {}},
    "disable_resolve_message": {"type": "bool", "default": False},
}
MODULE_OPTIONS: Dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "integrations": {
        "type": "list",
        "elements": "dict",
        "options": INTEGRATION_OPTIONS,
    },
    "secret_update": {
        "type": "str",
        "choices": ["on_create", "always"],
        "default": "on_create",
        "no_log": False,
    },
    "disable_provenance": {"type": "bool", "default": False},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
}
REQUIRED_IF = [["state", "present", ["integrations"]]]


# Input


def secret_values(integrations: Any) -> Set[str]:
    """Return the secret setting values in raw ``integrations`` input.

    Works on unvalidated input, so that Ansible can mask the values even in
    the result of a failed argument validation. An integration of an unknown
    type has all keys that any type treats as secret.
    """
    values: Set[str] = set()
    if not isinstance(integrations, list):
        return values
    for item in integrations:
        if not isinstance(item, dict):
            continue
        settings = item.get("settings")
        if isinstance(settings, str):
            try:
                settings = json.loads(settings)
            except ValueError:
                continue
        if not isinstance(settings, dict):
            continue
        for key in SECRET_SETTINGS.get(item.get("type"), ALL_SECRET_KEYS):
            value = settings.get(key)
            if value not in (None, ""):
                values.add(str(value))
    return values


def derive_uid(name: str, kind: str, ordinal: int) -> str:
    """Return a stable uid for the ``ordinal``-th integration of ``kind``."""
    digest = hashlib.sha256(f"{name}\n{kind}\n{ordinal}".encode()).hexdigest()
    return f"{kind}-{digest[:20]}"


def _required_settings_problem(kind: str, settings: Dict[str, Any]) -> Optional[str]:
    """Return the missing required setting of an integration, or ``None``."""
    if kind == "slack":
        if settings.get("url") or (settings.get("token") and settings.get("recipient")):
            return None
        return "settings.url, or settings.token with settings.recipient,"
    required = {"webhook": "url", "teams": "url", "email": "addresses"}[kind]
    if settings.get(required):
        return None
    return f"settings.{required}"


def _normalise_settings(
    kind: str, settings: Dict[str, Any], where: str
) -> Dict[str, Any]:
    settings = copy.deepcopy(settings)
    addresses = settings.get("addresses")
    if kind == "email" and isinstance(addresses, list):
        if not all(isinstance(item, str) and item.strip() for item in addresses):
            raise GrafanaAPIError(
                f"{where}.settings.addresses must contain email addresses as "
                f"non-empty strings, got {addresses!r}."
            )
        settings["addresses"] = ";".join(item.strip() for item in addresses)
    missing = _required_settings_problem(kind, settings)
    if missing:
        raise GrafanaAPIError(
            f"{where} of type {kind} is missing {missing} which Grafana requires"
            f" for {kind} integrations. Nothing was changed."
        )
    return settings


def desired_integrations(
    name: str, items: List[Dict[str, Any]]
) -> List[Dict[str, Any]]:
    """Validate ``integrations`` and return them in Grafana's field names."""
    if not name.strip():
        raise GrafanaAPIError("name must not be empty.")
    if not items:
        raise GrafanaAPIError(
            f"integrations is empty for contact point {name!r}, but state=present"
            " needs at least one integration. Use state=absent to delete the"
            " contact point."
        )
    ordinals: Dict[str, int] = {}
    result = []
    for index, item in enumerate(items):
        where = f"integrations[{index}]"
        kind = item["type"]
        ordinal = ordinals.get(kind, 0)
        ordinals[kind] = ordinal + 1
        uid = item.get("uid") or derive_uid(name, kind, ordinal)
        if not UID_PATTERN.match(uid):
            raise GrafanaAPIError(
                f"{where}.uid {uid!r} is invalid: Grafana accepts at most 40 letters,"
                " digits, '-' or '_'."
            )
        settings = _normalise_settings(kind, item.get("settings") or {}, where)
        result.append(
            {
                "uid": uid,
                "type": kind,
                "settings": settings,
                "disableResolveMessage": bool(item.get("disable_resolve_message")),
            }
        )
    uids = [item["uid"] for item in result]
    duplicates = sorted({uid for uid in uids if uids.count(uid) > 1})
    if duplicates:
        raise GrafanaAPIError(
            f"integrations contains the uid {describe(duplicates)} more than once."
            " Give each integration its own uid, or leave uid unset."
        )
    return result


# Secrets in settings


def secret_keys(kind: str) -> Tuple[str, ...]:
    return SECRET_SETTINGS.get(kind, ALL_SECRET_KEYS)


def _is_set(settings: Dict[str, Any], key: str) -> bool:
    return settings.get(key) not in (None, "")


def public_settings(kind: str, settings: Dict[str, Any]) -> Dict[str, Any]:
    """Return ``settings`` without the secret keys of ``kind``."""
    hidden = secret_keys(kind)
    return {key: value for key, value in settings.items() if key not in hidden}


def redacted_settings(
    kind: str, settings: Dict[str, Any], sent: Tuple[str, ...] = ()
) -> Dict[str, Any]:
    """Return ``settings`` with every secret value replaced by a placeholder."""
    view = copy.deepcopy(settings)
    for key in secret_keys(kind):
        if _is_set(view, key):
            view[key] = SENT_MARKER if key in sent else REDACTED
    return view


# Run


class ContactPointRun:
    """One run of the module: reads, plans every write, then writes."""

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
        self.name = params["name"]
        self.always = params["secret_update"] == "always"
        self.disable_provenance = bool(params["disable_provenance"])
        self.provenance = "" if self.disable_provenance else "api"
        self.headers = DISABLE_PROVENANCE_HEADER if self.disable_provenance else None
        self.result: Dict[str, Any] = {
            "changed": False,
            "name": self.name,
            "created": [],
            "updated": [],
            "deleted": [],
        }

    def _stored(self) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        """Return every contact point of the org and those named ``name``."""
        points = self.client.get(CONTACT_POINTS_PATH) or []
        return points, [point for point in points if point.get("name") == self.name]

    # state=absent

    def absent(self) -> Dict[str, Any]:
        stored = self._stored()[1]
        if stored:
            self._require_unused_by_policies()
        for point in stored:
            self._delete(point)
        self._diff([self._view(point) for point in stored] or None, None)
        return self.result

    def _require_unused_by_policies(self) -> None:
        tree = self.client.get(POLICIES_PATH) or {}
        if self.name in _receivers(tree):
            raise GrafanaAPIError(
                f"Contact point {self.name!r} is the receiver of a notification"
                " policy, and Grafana rejects deleting it. Point those policies at"
                " another contact point first, for example with"
                " vigil.monitoring.grafana_notification_policy. Nothing was changed."
            )

    # state=present

    def present(self, desired: List[Dict[str, Any]]) -> Dict[str, Any]:
        points, stored = self._stored()
        self._require_uids_free(points, desired)
        by_uid = {point["uid"]: point for point in stored}
        creates: List[Dict[str, Any]] = []
        updates: List[Tuple[Dict[str, Any], Dict[str, Any]]] = []
        after = []
        for item in desired:
            current = by_uid.get(item["uid"])
            if current is None:
                body, sent = self._create_body(item)
                creates.append(body)
                after.append(self._planned_view(body, sent, self.provenance))
                continue
            body, sent, changed = self._update_body(item, current)
            provenance = str(current.get("provenance") or "")
            if changed:
                updates.append((body, current))
                provenance = self.provenance
            after.append(self._planned_view(body, sent, provenance))
        expected_uids = {item["uid"] for item in desired}
        deletes = [point for point in stored if point["uid"] not in expected_uids]
        self._require_provenance_allowed([pair[1] for pair in updates])

        for body in creates:
            self._create(body)
        for body, current in updates:
            self._update(body, current)
        for point in deletes:
            self._delete(point)
        self.result["integrations"] = after
        self._diff([self._view(point) for point in stored] or None, after)
        return self.result

    def _require_uids_free(
        self, points: List[Dict[str, Any]], desired: List[Dict[str, Any]]
    ) -> None:
        """Fail when a uid of ``desired`` belongs to another contact point."""
        owners = {point.get("uid"): point.get("name") for point in points}
        for index, item in enumerate(desired):
            owner = owners.get(item["uid"])
            if owner is not None and owner != self.name:
                raise GrafanaAPIError(
                    f"integrations[{index}].uid {item['uid']!r} belongs to an"
                    f" integration of contact point {owner!r}. Choose another uid,"
                    " or leave uid unset to derive one. Nothing was changed."
                )

    def _require_provenance_allowed(self, targets: List[Dict[str, Any]]) -> None:
        """Fail before any write when Grafana would reject the provenance change."""
        if not self.disable_provenance:
            return
        for point in targets:
            stored = str(point.get("provenance") or "")
            if stored:
                raise GrafanaAPIError(
                    _provenance_message(self.name, point["uid"], stored)
                    + " Nothing was changed."
                )

    def _create_body(
        self, item: Dict[str, Any]
    ) -> Tuple[Dict[str, Any], Tuple[str, ...]]:
        body = dict(copy.deepcopy(item), name=self.name)
        settings = item["settings"]
        sent = tuple(key for key in secret_keys(item["type"]) if _is_set(settings, key))
        return body, sent

    def _update_body(
        self, item: Dict[str, Any], current: Dict[str, Any]
    ) -> Tuple[Dict[str, Any], Tuple[str, ...], bool]:
        """Return the PUT body, the secret keys it sends, and whether it changes."""
        kind = item["type"]
        stored_settings = current.get("settings") or {}
        same_type = current.get("type") == kind
        settings = public_settings(kind, item["settings"])
        sent = []
        secrets_changed = False
        for key in secret_keys(kind):
            requested = _is_set(item["settings"], key)
            stored = same_type and _is_set(stored_settings, key)
            if requested and (self.always or not stored):
                settings[key] = item["settings"][key]
                sent.append(key)
                secrets_changed = True
            elif stored and not self.always:
                # Grafana keeps its stored value when it gets back what it returned.
                settings[key] = stored_settings[key]
            elif stored:
                secrets_changed = True
        body = dict(copy.deepcopy(item), name=self.name, settings=settings)
        changed = (
            secrets_changed
            or not same_type
            or bool(current.get("disableResolveMessage"))
            != item["disableResolveMessage"]
            or public_settings(kind, stored_settings)
            != public_settings(kind, item["settings"])
        )
        return body, tuple(sent), changed

    # Writes

    def _create(self, body: Dict[str, Any]) -> None:
        self.result["changed"] = True
        self.result["created"].append(body["uid"])
        if not self.check_mode:
            self.client.post(CONTACT_POINTS_PATH, body, headers=self.headers)

    def _update(self, body: Dict[str, Any], current: Dict[str, Any]) -> None:
        self.result["changed"] = True
        self.result["updated"].append(body["uid"])
        if self.check_mode:
            return
        path = f"{CONTACT_POINTS_PATH}/{path_segment(body['uid'])}"
        try:
            self.client.put(path, body, headers=self.headers)
        except GrafanaAPIError as error:
            if error.status in (403, 500) and "provenance" in error.grafana_message:
                stored = str(current.get("provenance") or "")
                raise GrafanaAPIError(
                    f"{error} "
                    + _provenance_message(self.name, body["uid"], stored or "unknown"),
                    error.method,
                    error.path,
                    error.status,
                    error.grafana_message,
                ) from None
            raise

    def _delete(self, point: Dict[str, Any]) -> None:
        self.result["changed"] = True
        self.result["deleted"].append(point["uid"])
        if not self.check_mode:
            path = f"{CONTACT_POINTS_PATH}/{path_segment(point['uid'])}"
            self.client.delete(path, headers=self.headers)

    # Views

    @staticmethod
    def _view(point: Dict[str, Any]) -> Dict[str, Any]:
        kind = str(point.get("type") or "")
        return {
            "uid": point.get("uid"),
            "type": kind,
            "settings": redacted_settings(kind, point.get("settings") or {}),
            "disableResolveMessage": bool(point.get("disableResolveMessage")),
            "provenance": str(point.get("provenance") or ""),
        }

    @staticmethod
    def _planned_view(
        body: Dict[str, Any], sent: Tuple[str, ...], provenance: str
    ) -> Dict[str, Any]:
        return {
            "uid": body["uid"],
            "type": body["type"],
            "settings": redacted_settings(body["type"], body["settings"], sent),
            "disableResolveMessage": body["disableResolveMessage"],
            "provenance": provenance,
        }

    def _diff(self, before: Any, after: Any) -> None:
        if self.diff_mode:
            self.result["diff"] = make_diff(before, after, f"contact point {self.name}")


def _receivers(route: Dict[str, Any]) -> Set[str]:
    """Return every receiver named in a notification policy tree."""
    names = {route["receiver"]} if route.get("receiver") else set()
    for child in route.get("routes") or []:
        names |= _receivers(child)
    return names


def _provenance_message(name: str, uid: str, stored: str) -> str:
    return (
        f"Grafana rejects changes to integration {uid!r} of contact point {name!r}"
        f" from a request with X-Disable-Provenance, because its provenance is"
        f" {stored!r}. Set disable_provenance: false to manage it through the API"
        " (it then stays read-only in Grafana's UI), or delete the contact point"
        " in Grafana and let this task recreate it with disable_provenance: true."
    )


def run(
    params: Dict[str, Any],
    check_mode: bool = False,
    diff_mode: bool = False,
    client: Optional[GrafanaClient] = None,
) -> Dict[str, Any]:
    """Apply the module's parameters and return its result."""
    desired = None
    if params["state"] == "present":
        # Validate first, so that bad input fails before any request is sent.
        desired = desired_integrations(params["name"], params["integrations"] or [])
    work = ContactPointRun(
        client or GrafanaClient(params), params, check_mode, diff_mode
    )
    if desired is None:
        return work.absent()
    return work.present(desired)


class ContactPointModule(AnsibleModule):
    """AnsibleModule that masks secret settings in every output it writes."""

    def _load_params(self) -> None:
        # Runs before argument validation, which may already fail the module
        # and print its arguments.
        super()._load_params()
        self.no_log_values.update(secret_values(self.params.get("integrations")))


def main() -> None:
    module = ContactPointModule(
        required_if=REQUIRED_IF, **grafana_module_kwargs(**MODULE_OPTIONS)
    )
    try:
        result = run(module.params, module.check_mode, module._diff)
    except GrafanaAPIError as error:
        module.fail_json(msg=str(error), status=error.status)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
