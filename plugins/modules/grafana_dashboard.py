#!/usr/bin/python
# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible modules keep the shebang but are not executable files, and they
# import after DOCUMENTATION, EXAMPLES and RETURN.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: grafana_dashboard
short_description: Create, update or delete a Grafana dashboard addressed by uid
version_added: 0.1.0
description:
  - Saves a dashboard model into Grafana through its HTTP API, or deletes it.
  - Takes the model as a dict, as JSON text, or from a JSON file on the host
    that runs the module. JSON exported from Grafana's UI or downloaded from
    grafana.com works as it is, including C(__inputs), C(__requires),
    numeric C(id) and C(version), with data source placeholders such as
    C(${DS_PROMETHEUS}) filled from O(inputs).
  - Compares the model with the stored dashboard in one GET request and
    saves only when they differ. The comparison ignores the fields that
    Grafana assigns (C(id), C(version)), C(iteration) of old exports, and
    panel C(id) values that the model leaves out, so an unchanged dashboard
    reports RV(changed=false).
  - Every save records a content hash in the version message, which lets
    O(on_ui_edit) tell whether someone changed the dashboard in Grafana since
    this module last wrote it.
  - Optionally sets the dashboard's own permissions from an authoritative list
    (O(permissions)).
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
  state:
    description:
      - V(present) creates or updates the dashboard. V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  uid:
    description:
      - Uid of the dashboard, at most 40 characters of letters, digits, C(-)
        and C(_).
      - Overrides the C(uid) inside the model. Required when the model has no
        C(uid), as dashboards from grafana.com usually do not.
    type: str
  dashboard:
    description:
      - Dashboard model as a dict or as JSON text.
      - Exactly one of O(dashboard) and O(dashboard_file) is required when
        O(state=present). With O(state=absent) the model only supplies the
        uid.
    type: raw
  dashboard_file:
    description:
      - Path of a JSON file with the dashboard model, on the host that runs
        the module.
    type: path
  inputs:
    description:
      - Values for the C(__inputs) of an exported dashboard, keyed by input
        name such as V(DS_PROMETHEUS). Give the uid of a data source for a
        data source input.
      - Every C(${NAME}) of a declared input is replaced in all strings of the
        model. Other C(${...}) texts, such as template variables, are kept.
      - A data source input without a value fails the task and names the
        input. A constant input without a value takes the C(value) from
        C(__inputs).
    type: dict
    default: {}
  folder_uid:
    description:
      - Uid of the folder that holds the dashboard. V("") or V(general) is
        the root (General) folder.
      - When neither O(folder_uid) nor O(folder_path) is set, a new dashboard
        goes to the root folder and an existing one stays in its folder.
    type: str
  folder_path:
    description:
      - Titles of the folders from the root down to the folder that holds the
        dashboard, such as V([Platform, Linux]). An empty list is the root
        folder.
      - Each title must match exactly one folder under its parent. The task
        fails when a title matches no folder or more than one.
      - Costs one request per level on every run. O(folder_uid) costs none.
    type: list
    elements: str
  commit_message:
    description:
      - Commit message of the saved version, shown in the dashboard's
        version history.
      - The module appends C([vigil.monitoring sha256:<hash>]) with the hash
        of the saved content, which O(on_ui_edit) reads.
    type: str
    default: Saved by vigil.monitoring.grafana_dashboard
  on_ui_edit:
    description:
      - What to do when the stored dashboard differs from the model and its
        content is not the content that this module saved last, for example
        because someone saved it in Grafana's UI since then.
      - V(overwrite) saves the model over it.
      - V(fail) fails the task without saving and names the version and user
        of the latest save. Also fails for a dashboard that this module never
        saved.
      - V(keep) leaves the dashboard as it is, reports RV(changed=false) and
        returns a warning.
      - Reading the latest version costs one more request, only when the
        stored dashboard differs from the model and the value is not
        V(overwrite).
    type: str
    choices: [overwrite, fail, keep]
    default: overwrite
  permissions:
    description:
      - Authoritative list of the dashboard's own permissions. Grants that are
        not listed are removed, including the Admin grant that Grafana gives
        the creator and the Editor and Viewer grants of a dashboard in the
        root folder. Permissions inherited from folders are not affected.
      - When unset, the module does not read or change permissions. An empty
        list removes every grant of the dashboard itself.
      - Org Admins always have Admin on every dashboard.
    type: list
    elements: dict
    suboptions:
      user:
        description:
          - Login or email of an org member. The task fails before any change
            when no org member has it.
        type: str
      team:
        description:
          - Name of a team of the organization.
        type: str
      role:
        description:
          - Basic role that receives the permission.
        type: str
        choices: [Viewer, Editor]
      permission:
        description:
          - Permission level.
        type: str
        required: true
        choices: [View, Edit, Admin]
notes:
  - The module saves with the version it read and without C(overwrite), so a
    save made by someone else between the read and the write fails with
    HTTP 412 instead of being lost, and a dashboard with the same title in the
    target folder makes the task fail instead of being replaced.
  - The comparison includes C(schemaVersion). Grafana's dashboard API stores
    the model as sent, so C(schemaVersion) changes only when someone saves the
    dashboard in the UI, which O(on_ui_edit) then detects.
  - Panels without C(id) are matched to stored panels by position, so
    reordering such panels reports a change.
  - The data source inputs of an exported dashboard are filled by plain text
    replacement. Old exports that name a data source as a string get its uid,
    which current Grafana versions resolve.
  - The module uses C(POST /api/dashboards/db), not the import route, so that
    O(commit_message) and the version check apply. Library panels (C(__elements))
    are not created.
seealso:
  - module: vigil.monitoring.grafana_folder
  - name: Grafana dashboard HTTP API
    description: Routes and fields that the module uses.
    link: https://grafana.com/docs/grafana/latest/developers/http_api/dashboard/
"""

EXAMPLES = r"""
- name: Deploy a dashboard exported from Grafana's UI into a team folder
  vigil.monitoring.grafana_dashboard:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    dashboard_file: files/dashboards/node.json
    folder_uid: platform
    inputs:
      DS_PROMETHEUS: prometheus-main
    commit_message: "Deployed from {{ lookup('env', 'CI_COMMIT_SHA') }}"
  delegate_to: localhost

- name: Install a grafana.com dashboard with a fixed uid under a nested folder
  vigil.monitoring.grafana_dashboard:
    url: https://grafana.example.org
    url_username: admin
    url_password: "{{ grafana_admin_password }}"
    org_id: 2
    uid: node-exporter-full
    dashboard: "{{ lookup('ansible.builtin.file', 'node-exporter-full.json') }}"
    folder_path: [Platform, Linux]
    inputs:
      DS_PROMETHEUS: prometheus-main
  delegate_to: localhost

- name: Refuse to overwrite edits made in the UI, and make the SRE team admin
  vigil.monitoring.grafana_dashboard:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    dashboard:
      uid: slo-overview
      title: SLO overview
      schemaVersion: 41
      panels: []
      templating: {list: []}
      annotations: {list: []}
    on_ui_edit: fail
    permissions:
      - team: SRE
        permission: Admin
      - role: Viewer
        permission: View
  delegate_to: localhost

- name: Delete a dashboard
  vigil.monitoring.grafana_dashboard:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    uid: legacy-overview
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
changed:
  description: Whether the module saved, deleted or changed permissions, or
    would in check mode.
  returned: always
  type: bool
  sample: true
uid:
  description: Uid of the dashboard.
  returned: always
  type: str
  sample: node-exporter
url:
  description: Path of the dashboard in Grafana's UI, relative to O(url).
  returned: when the dashboard exists after the run, except in check mode
    for a new dashboard
  type: str
  sample: /d/node-exporter/node-exporter
version:
  description: Version of the stored dashboard after the run.
  returned: when the dashboard exists after the run, except in check mode
    for a new dashboard
  type: int
  sample: 4
folder_uid:
  description: Uid of the dashboard's folder, V("") for the root folder.
  returned: when O(state=present)
  type: str
  sample: platform
created:
  description: Whether the dashboard did not exist before, so it was (or
    would be) created.
  returned: when O(state=present)
  type: bool
  sample: false
permissions:
  description: The dashboard's own permissions after the run, in the form of
    O(permissions).
  returned: when O(permissions) is set
  type: list
  elements: dict
  sample:
    - team: SRE
      permission: Admin
diff:
  description: Normalised stored dashboard, folder and permissions before
    and after, as JSON text.
  returned: in diff mode
  type: dict
  sample:
    before: "{\n  \"dashboard\": {\"title\": \"Old\"},\n  \"folderUid\": \"\"\n}\n"
    after: "{\n  \"dashboard\": {\"title\": \"New\"},\n  \"folderUid\": \"\"\n}\n"
    before_header: dashboard node-exporter
    after_header: dashboard node-exporter
"""

import json
import re
from typing import Any, Dict, List, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_access import (
    PERMISSIONS_OPTION,
    OrgDirectory,
    PermissionChange,
    apply_permissions,
    plan_permissions,
    readable_list,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_api import (
    GrafanaAPIError,
    GrafanaClient,
    describe,
    grafana_module_kwargs,
    path_segment,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_diff import (
    comparable_dashboard,
    content_hash,
    make_diff,
    strip_dashboard,
)

MODULE_OPTIONS: Dict[str, Any] = {
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "uid": {"type": "str"},
    "dashboard": {"type": "raw"},
    "dashboard_file": {"type": "path"},
    "inputs": {"type": "dict", "default": {}},
    "folder_uid": {"type": "str"},
    "folder_path": {"type": "list", "elements": "str"},
    "commit_message": {
        "type": "str",
        "default": "Saved by vigil.monitoring.grafana_dashboard",
    },
    "on_ui_edit": {
        "type": "str",
        "choices": ["overwrite", "fail", "keep"],
        "default": "overwrite",
    },
    "permissions": dict(PERMISSIONS_OPTION),
}
MUTUALLY_EXCLUSIVE = [["dashboard", "dashboard_file"], ["folder_uid", "folder_path"]]
REQUIRED_IF = [["state", "present", ["dashboard", "dashboard_file"], True]]

UID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MARKER_PATTERN = re.compile(r"\[vigil\.monitoring sha256:([0-9a-f]{16})\]")
GENERAL_FOLDER_UIDS = ("", "general")


# Loading the model


def load_model(params: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """Return the dashboard model from ``dashboard`` or ``dashboard_file``."""
    if params.get("dashboard_file"):
        path = params["dashboard_file"]
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise GrafanaAPIError(
                f"Cannot read dashboard_file {path}: {error.strerror}."
            ) from None
        return parse_model(text, f"dashboard_file {path}")
    value = params.get("dashboard")
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        return parse_model(value, "dashboard")
    raise GrafanaAPIError(
        f"Invalid dashboard: expected a dict or JSON text, got {type(value).__name__}."
    )


def parse_model(text: str, source: str) -> Dict[str, Any]:
    try:
        model = json.loads(text)
    except ValueError as error:
        raise GrafanaAPIError(f"Invalid JSON in {source}: {error}.") from None
    if not isinstance(model, dict):
        raise GrafanaAPIError(
            f"Invalid {source}: the JSON must be an object, not {type(model).__name__}."
        )
    return model


def input_values(model: Dict[str, Any], given: Dict[str, Any]) -> Dict[str, str]:
    """Return the value of each declared ``__inputs`` entry, failing on gaps."""
    values: Dict[str, str] = {}
    missing: List[str] = []
    for declared in model.get("__inputs") or []:
        if not isinstance(declared, dict) or not declared.get("name"):
            continue
        name = str(declared["name"])
        if name in given and given[name] is not None:
            values[name] = str(given[name])
        elif declared.get("type") == "constant" and "value" in declared:
            values[name] = str(declared["value"])
        else:
            plugin = declared.get("pluginId") or declared.get("type") or "input"
            missing.append(f"{name} ({plugin})")
    if missing:
        raise GrafanaAPIError(
            f"Unmapped dashboard input {', '.join(missing)}: set inputs to a dict"
            " such as {'DS_PROMETHEUS': '<data source uid>'} with a value for"
            " each input."
        )
    return values


def substitute(value: Any, values: Dict[str, str]) -> Any:
    """Replace ``${NAME}`` of each input in every string of ``value``."""
    if not values:
        return value
    if isinstance(value, dict):
        return {key: substitute(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, values) for item in value]
    if isinstance(value, str):
        for name, replacement in values.items():
            value = value.replace("${" + name + "}", replacement)
    return value


def desired_model(
    params: Dict[str, Any], model: Dict[str, Any]
) -> Tuple[Dict[str, Any], List[str]]:
    """Return the model to store and warnings about unused inputs."""
    values = input_values(model, params.get("inputs") or {})
    declared = {str(item.get("name")) for item in model.get("__inputs") or []}
    unused = sorted(set(params.get("inputs") or {}) - declared)
    warnings = []
    if unused:
        warnings.append(
            f"inputs {describe(unused)} are not declared in the dashboard's"
            " __inputs and were not used."
        )
    desired = substitute(strip_dashboard(model), values)
    desired["uid"] = dashboard_uid(params, model)
    title = str(desired.get("title") or "").strip()
    if not title:
        raise GrafanaAPIError(
            f"Invalid dashboard {desired['uid']}: the model has no title."
        )
    desired["title"] = title
    return desired, warnings


def dashboard_uid(params: Dict[str, Any], model: Optional[Dict[str, Any]]) -> str:
    uid = params.get("uid") or (model or {}).get("uid")
    if not uid:
        raise GrafanaAPIError(
            "Missing dashboard uid: set the uid option, because the dashboard"
            " model has no uid."
        )
    uid = str(uid)
    if not UID_PATTERN.match(uid):
        raise GrafanaAPIError(
            f"Invalid dashboard uid {uid!r}: use at most 40 letters, digits,"
            " '-' or '_'."
        )
    return uid


# Folders


def resolve_folder_path(client: GrafanaClient, titles: List[str]) -> str:
    """Return the uid of the folder reached by following ``titles`` from the root."""
    parent_uid = ""
    walked: List[str] = []
    for title in titles:
        walked.append(title)
        query: Dict[str, Any] = {"limit": 1000}
        if parent_uid:
            query["parentUid"] = parent_uid
        matches = [
            folder
            for folder in _list_child_folders(client, query)
            if folder.get("title") == title
        ]
        where = "/".join(walked)
        if not matches:
            raise GrafanaAPIError(
                f"Folder {where!r} of folder_path not found: no folder titled"
                f" {title!r} under {_parent_label(parent_uid)}. Create it first,"
                " for example with vigil.monitoring.grafana_folder."
            )
        if len(matches) > 1:
            uids = [str(folder.get("uid")) for folder in matches]
            raise GrafanaAPIError(
                f"Ambiguous folder_path {where!r}: {len(matches)} folders titled"
                f" {title!r} under {_parent_label(parent_uid)} (uids"
                f" {describe(uids)}). Use folder_uid instead."
            )
        parent_uid = str(matches[0]["uid"])
    return parent_uid


def _list_child_folders(
    client: GrafanaClient, query: Dict[str, Any]
) -> List[Dict[str, Any]]:
    folders: List[Dict[str, Any]] = []
    page = 1
    while True:
        batch = client.get("/api/folders", query=dict(query, page=page)) or []
        folders.extend(batch)
        if len(batch) < query["limit"]:
            return folders
        page += 1


def _parent_label(parent_uid: str) -> str:
    return f"folder {parent_uid!r}" if parent_uid else "the root folder"


def target_folder(
    client: GrafanaClient, params: Dict[str, Any], meta: Optional[Dict[str, Any]]
) -> str:
    """Return the folder uid the dashboard belongs in, ``""`` for the root."""
    if params.get("folder_path") is not None:
        return resolve_folder_path(client, params["folder_path"])
    folder_uid = params.get("folder_uid")
    if folder_uid is not None:
        return "" if folder_uid in GENERAL_FOLDER_UIDS else folder_uid
    if meta is not None:
        return str(meta.get("folderUid") or "")
    return ""


# Edits made outside this module


def saved_by_module(stored: Dict[str, Any], latest_message: str) -> bool:
    """Return whether ``stored`` is the content this module saved last."""
    match = MARKER_PATTERN.search(latest_message or "")
    if match is None:
        return False
    return match.group(1) == content_hash(strip_dashboard(stored))[:16]


def latest_version(client: GrafanaClient, uid: str) -> Dict[str, Any]:
    path = f"/api/dashboards/uid/{path_segment(uid)}/versions"
    versions = client.get(path, query={"limit": 1}) or []
    # Grafana 11 and later wrap the list in an object with "versions".
    if isinstance(versions, dict):
        versions = versions.get("versions") or []
    return versions[0] if versions else {}


def check_foreign_edit(
    client: GrafanaClient, params: Dict[str, Any], uid: str, stored: Dict[str, Any]
) -> Optional[str]:
    """Apply ``on_ui_edit`` to a stored dashboard that differs from the model.

    Returns a warning when the dashboard is kept, raises for ``fail``, and
    returns ``None`` when the module may save.
    """
    mode = params["on_ui_edit"]
    if mode == "overwrite":
        return None
    latest = latest_version(client, uid)
    if saved_by_module(stored, str(latest.get("message") or "")):
        return None
    who = (
        f"version {latest.get('version', stored.get('version'))} saved by"
        f" {latest.get('createdBy') or 'an unknown user'}"
        f" at {latest.get('created') or 'an unknown time'}"
    )
    if mode == "keep":
        return (
            f"Dashboard {uid} was kept because it was changed outside this module"
            f" ({who}). Set on_ui_edit=overwrite to replace it."
        )
    raise GrafanaAPIError(
        f"Dashboard {uid} was changed outside this module since it last saved it"
        f" ({who}). Copy the change into the dashboard source, or set"
        " on_ui_edit=overwrite to replace it."
    )


# The run


class DashboardRun:
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
        self.result: Dict[str, Any] = {"changed": False}
        self.warnings: List[str] = []

    def fetch(self, uid: str) -> Optional[Dict[str, Any]]:
        return self.client.get(
            f"/api/dashboards/uid/{path_segment(uid)}", missing_ok=True
        )

    def absent(self) -> Dict[str, Any]:
        uid = dashboard_uid(self.params, load_model(self.params))
        self.result["uid"] = uid
        stored = self.fetch(uid)
        if stored is None:
            self._diff(None, None, uid)
            return self.result
        self.result["changed"] = True
        self._diff(self._view(stored["dashboard"], stored["meta"], None), None, uid)
        if not self.check_mode:
            self.client.delete(f"/api/dashboards/uid/{path_segment(uid)}")
        return self.result

    def present(self) -> Dict[str, Any]:
        model = load_model(self.params)
        if model is None:
            raise GrafanaAPIError("state=present needs dashboard or dashboard_file")
        desired, self.warnings = desired_model(self.params, model)
        uid = desired["uid"]
        self.result["uid"] = uid
        stored = self.fetch(uid)
        meta = stored["meta"] if stored else None
        current = comparable_dashboard(desired, stored["dashboard"] if stored else None)
        folder_uid = target_folder(self.client, self.params, meta)
        permission_change = self._plan_permissions(uid, stored is not None)

        before = self._view(current, meta, permission_change, before=True)
        after = self._view(desired, {"folderUid": folder_uid}, permission_change)
        content_differs = before is None or before["dashboard"] != after["dashboard"]
        content_differs = content_differs or before["folderUid"] != folder_uid
        self.result.update(folder_uid=folder_uid, created=stored is None)

        if content_differs and stored is not None:
            warning = check_foreign_edit(
                self.client, self.params, uid, stored["dashboard"]
            )
            if warning is not None:
                self.warnings.append(warning)
                content_differs = False
                after["dashboard"] = before["dashboard"]
                after["folderUid"] = before["folderUid"]

        if content_differs:
            self._save(desired, folder_uid, stored)
        elif stored is not None:
            self.result.update(url=meta["url"], version=meta["version"])
        self._sync_permissions(uid, permission_change, created=stored is None)
        self._diff(before, after, uid)
        return self.result

    def _plan_permissions(self, uid: str, exists: bool) -> Optional[PermissionChange]:
        items = self.params.get("permissions")
        if items is None:
            return None
        return plan_permissions(
            self.client,
            OrgDirectory(self.client),
            f"/api/dashboards/uid/{path_segment(uid)}/permissions",
            items,
            exists,
        )

    def _save(
        self,
        desired: Dict[str, Any],
        folder_uid: str,
        stored: Optional[Dict[str, Any]],
    ) -> None:
        self.result["changed"] = True
        if self.check_mode:
            if stored is not None:
                meta = stored["meta"]
                self.result.update(url=meta["url"], version=meta["version"])
            return
        body_model = dict(desired)
        if stored is not None:
            body_model["version"] = stored["dashboard"].get("version")
        marker = f"[vigil.monitoring sha256:{content_hash(desired)[:16]}]"
        message = " ".join(
            part for part in (self.params["commit_message"], marker) if part
        )
        reply = self.client.post(
            "/api/dashboards/db",
            {
                "dashboard": body_model,
                "folderUid": folder_uid,
                "overwrite": False,
                "message": message,
            },
        )
        self.result.update(url=reply.get("url"), version=reply.get("version"))

    def _sync_permissions(
        self, uid: str, change: Optional[PermissionChange], created: bool
    ) -> None:
        if change is None:
            return
        self.result["permissions"] = readable_list(change.after)
        # A new dashboard gets Grafana's default grants, so the list is always set.
        if not (change.changed or created):
            return
        self.result["changed"] = True
        if not self.check_mode:
            path = f"/api/dashboards/uid/{path_segment(uid)}/permissions"
            apply_permissions(self.client, path, change)

    def _view(
        self,
        dashboard: Optional[Dict[str, Any]],
        meta: Optional[Dict[str, Any]],
        permissions: Optional[PermissionChange],
        before: bool = False,
    ) -> Optional[Dict[str, Any]]:
        if dashboard is None or meta is None:
            return None
        view: Dict[str, Any] = {
            "dashboard": dashboard,
            "folderUid": str(meta.get("folderUid") or ""),
        }
        if permissions is not None:
            grants = permissions.before if before else permissions.after
            view["permissions"] = readable_list(grants)
        return view

    def _diff(self, before: Any, after: Any, uid: str) -> None:
        if self.diff_mode:
            self.result["diff"] = make_diff(before, after, f"dashboard {uid}")


def run(
    params: Dict[str, Any],
    check_mode: bool = False,
    diff_mode: bool = False,
    client: Optional[GrafanaClient] = None,
) -> Dict[str, Any]:
    """Apply the module's parameters and return its result."""
    work = DashboardRun(client or GrafanaClient(params), params, check_mode, diff_mode)
    if params["state"] == "absent":
        return work.absent()
    result = work.present()
    if work.warnings:
        result["warnings"] = work.warnings
    return result


def main() -> None:
    kwargs = grafana_module_kwargs(**MODULE_OPTIONS)
    kwargs["mutually_exclusive"] += MUTUALLY_EXCLUSIVE
    module = AnsibleModule(required_if=REQUIRED_IF, **kwargs)
    try:
        result = run(module.params, module.check_mode, module._diff)
    except GrafanaAPIError as error:
        module.fail_json(msg=str(error), status=error.status)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
