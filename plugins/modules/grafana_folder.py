#!/usr/bin/python
# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible modules keep the shebang but are not executable files, and they
# import after DOCUMENTATION, EXAMPLES and RETURN.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: grafana_folder
short_description: Create, rename or delete a Grafana folder and set its permissions
version_added: 0.1.0
description:
  - Manages one Grafana folder addressed by its uid, so a title change renames
    the folder instead of creating another one.
  - Creates nested folders under O(parent_uid).
  - Optionally sets the folder's own permissions from an authoritative list
    (O(permissions)), which can remove Grafana's default grants to the Viewer
    and Editor roles so that only the listed teams and users see the folder.
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
  uid:
    description:
      - Uid of the folder, at most 40 letters, digits, C(-) or C(_).
    type: str
    required: true
  title:
    description:
      - Title of the folder. Grafana requires titles to be unique among the
        folders of one parent.
      - Required when O(state=present).
    type: str
  parent_uid:
    description:
      - Uid of the parent folder for a nested folder. V("") places the folder
        at the root.
      - Nested folders need Grafana 11 or later, and Grafana allows at most
        4 levels.
      - When unset, a new folder goes to the root and an existing folder
        stays where it is.
    type: str
  state:
    description:
      - V(present) creates or renames the folder. V(absent) deletes it with
        every folder and dashboard inside it.
    type: str
    choices: [present, absent]
    default: present
  force_delete_rules:
    description:
      - With O(state=absent), also delete the alert rules stored in the
        folder and its subfolders. Without it, Grafana rejects the deletion of
        a folder that contains alert rules.
    type: bool
    default: false
  permissions:
    description:
      - Authoritative list of the folder's own permissions. Grants that are
        not listed are removed, including the Admin grant that Grafana gives
        the creator and, for a root folder, the Edit grant of the Editor role
        and the View grant of the Viewer role.
      - Permissions inherited from parent folders are not affected.
      - When unset, the module does not read or change permissions. An empty
        list removes every grant of the folder itself.
      - Org Admins always have Admin on every folder.
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
  - Moving an existing folder to another parent is not supported. The task
    fails and names both parents. Move the folder in Grafana's UI or delete
    and recreate it.
seealso:
  - module: vigil.monitoring.grafana_dashboard
  - module: vigil.monitoring.grafana_team
  - name: Grafana folder HTTP API
    description: Routes and fields that the module uses.
    link: https://grafana.com/docs/grafana/latest/developers/http_api/folder/
"""

EXAMPLES = r"""
- name: Create a folder that only the platform team sees
  vigil.monitoring.grafana_folder:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    uid: platform
    title: Platform
    permissions:
      - team: Platform
        permission: Edit
      - user: alice@example.org
        permission: Admin
  delegate_to: localhost

- name: Create a nested folder in organization 2
  vigil.monitoring.grafana_folder:
    url: https://grafana.example.org
    url_username: admin
    url_password: "{{ grafana_admin_password }}"
    org_id: 2
    uid: platform-linux
    title: Linux
    parent_uid: platform
  delegate_to: localhost

- name: Delete a folder with its dashboards and alert rules
  vigil.monitoring.grafana_folder:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    uid: legacy
    state: absent
    force_delete_rules: true
  delegate_to: localhost
"""

RETURN = r"""
changed:
  description: Whether the module created, renamed or deleted the folder or
    changed its permissions, or would in check mode.
  returned: always
  type: bool
  sample: true
uid:
  description: Uid of the folder.
  returned: always
  type: str
  sample: platform
title:
  description: Title of the folder after the run.
  returned: when O(state=present)
  type: str
  sample: Platform
parent_uid:
  description: Uid of the parent folder, V("") for a root folder.
  returned: when O(state=present)
  type: str
  sample: ""
url:
  description: Path of the folder in Grafana's UI, relative to O(url).
  returned: when the folder exists after the run, except in check mode for a
    new folder
  type: str
  sample: /dashboards/f/platform/platform
version:
  description: Version of the folder after the run.
  returned: when the folder exists after the run, except in check mode for a
    new folder
  type: int
  sample: 2
created:
  description: Whether the folder did not exist before.
  returned: when O(state=present)
  type: bool
  sample: false
permissions:
  description: The folder's own permissions after the run, in the form of
    O(permissions).
  returned: when O(permissions) is set
  type: list
  elements: dict
  sample:
    - team: Platform
      permission: Edit
diff:
  description: Title, parent and permissions before and after, as JSON text.
  returned: in diff mode
  type: dict
  sample:
    before: "{\n  \"title\": \"Old\",\n  \"uid\": \"platform\"\n}\n"
    after: "{\n  \"title\": \"Platform\",\n  \"uid\": \"platform\"\n}\n"
    before_header: folder platform
    after_header: folder platform
"""

from typing import Any, Dict, Optional

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
    grafana_module_kwargs,
    path_segment,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_diff import (
    make_diff,
)

MODULE_OPTIONS: Dict[str, Any] = {
    "uid": {"type": "str", "required": True},
    "title": {"type": "str"},
    "parent_uid": {"type": "str"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "force_delete_rules": {"type": "bool", "default": False},
    "permissions": dict(PERMISSIONS_OPTION),
}
REQUIRED_IF = [["state", "present", ["title"]]]
NESTED_FOLDERS_VERSION = (11,)
"""Nested folders are generally available and enabled by default from Grafana 11."""


class FolderRun:
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
        self.uid = params["uid"]
        self.path = f"/api/folders/{path_segment(self.uid)}"
        self.result: Dict[str, Any] = {"changed": False, "uid": self.uid}

    def absent(self) -> Dict[str, Any]:
        stored = self.client.get(self.path, missing_ok=True)
        if stored is not None:
            self.result["changed"] = True
            if not self.check_mode:
                query = {"forceDeleteRules": "true"}
                if not self.params["force_delete_rules"]:
                    query = {}
                self.client.delete(self.path, query=query)
        self._diff(self._view(stored), None)
        return self.result

    def present(self) -> Dict[str, Any]:
        stored = self.client.get(self.path, missing_ok=True)
        title = self.params["title"].strip()
        parent_uid = self._parent_uid(stored)
        change = self._plan_permissions(stored is not None)
        after = {"uid": self.uid, "title": title, "parentUid": parent_uid}
        before = self._view(stored)
        if change is not None:
            after["permissions"] = readable_list(change.after)
            if before is not None:
                before["permissions"] = readable_list(change.before)
        self.result.update(title=title, parent_uid=parent_uid, created=not stored)

        if stored is None:
            self._create(title, parent_uid)
        elif stored.get("title") != title:
            self._rename(stored, title)
        else:
            self.result.update(url=stored.get("url"), version=stored.get("version"))
        self._sync_permissions(change, created=stored is None)
        self._diff(before, after)
        return self.result

    def _parent_uid(self, stored: Optional[Dict[str, Any]]) -> str:
        """Return the parent to use, failing when the folder would have to move."""
        expected = self.params.get("parent_uid")
        current = None if stored is None else str(stored.get("parentUid") or "")
        if expected is None:
            return current or ""
        if current is not None and current != expected:
            raise GrafanaAPIError(
                f"Folder {self.uid} is in parent {current or '(root)'!r}, not in"
                f" parent_uid {expected or '(root)'!r}. Moving folders is not"
                " supported: move it in Grafana's UI, or delete and recreate it."
            )
        if stored is None and expected:
            self._require_nested_support()
        return expected

    def _require_nested_support(self) -> None:
        if not self.client.version_at_least(*NESTED_FOLDERS_VERSION):
            version = ".".join(str(part) for part in self.client.version())
            raise GrafanaAPIError(
                f"Cannot create folder {self.uid} under parent_uid: nested folders"
                f" need Grafana 11 or later, and this Grafana is {version or 'older'}."
            )

    def _plan_permissions(self, exists: bool) -> Optional[PermissionChange]:
        items = self.params.get("permissions")
        if items is None:
            return None
        return plan_permissions(
            self.client,
            OrgDirectory(self.client),
            self.path + "/permissions",
            items,
            exists,
        )

    def _create(self, title: str, parent_uid: str) -> None:
        self.result["changed"] = True
        if self.check_mode:
            return
        body: Dict[str, Any] = {"uid": self.uid, "title": title}
        if parent_uid:
            body["parentUid"] = parent_uid
        reply = self.client.post("/api/folders", body)
        self.result.update(url=reply.get("url"), version=reply.get("version"))

    def _rename(self, stored: Dict[str, Any], title: str) -> None:
        self.result["changed"] = True
        if self.check_mode:
            self.result.update(url=stored.get("url"), version=stored.get("version"))
            return
        body = {"title": title, "version": stored.get("version")}
        reply = self.client.put(self.path, body)
        self.result.update(url=reply.get("url"), version=reply.get("version"))

    def _sync_permissions(
        self, change: Optional[PermissionChange], created: bool
    ) -> None:
        if change is None:
            return
        self.result["permissions"] = readable_list(change.after)
        # A new folder gets Grafana's default grants, so the list is always set.
        if not (change.changed or created):
            return
        self.result["changed"] = True
        if not self.check_mode:
            apply_permissions(self.client, self.path + "/permissions", change)

    def _view(self, stored: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        if stored is None:
            return None
        return {
            "uid": self.uid,
            "title": stored.get("title"),
            "parentUid": str(stored.get("parentUid") or ""),
        }

    def _diff(self, before: Any, after: Any) -> None:
        if self.diff_mode:
            self.result["diff"] = make_diff(before, after, f"folder {self.uid}")


def run(
    params: Dict[str, Any],
    check_mode: bool = False,
    diff_mode: bool = False,
    client: Optional[GrafanaClient] = None,
) -> Dict[str, Any]:
    """Apply the module's parameters and return its result."""
    work = FolderRun(client or GrafanaClient(params), params, check_mode, diff_mode)
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
