#!/usr/bin/python
# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible modules keep the shebang but are not executable files, and they
# import after DOCUMENTATION, EXAMPLES and RETURN.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: grafana_team
short_description: Create or delete a Grafana team and manage its members and admins
version_added: 0.1.0
description:
  - Manages one team of a Grafana organization, addressed by its name.
  - Sets the team's members and team admins from users given by login or
    email. Every user is resolved before any change. An unknown user fails
    the task with a message that names it, or with O(unknown_users=warn) is
    left out of the team and named in a warning and in RV(unknown_users).
  - With O(members_mode=exact) the team has exactly the listed members
    afterwards. With O(members_mode=additive) the module only adds users and
    promotes admins.
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
  name:
    description:
      - Name of the team, unique in the organization.
    type: str
    required: true
  email:
    description:
      - Email address of the team. When unset, the module does not change it.
    type: str
  members:
    description:
      - Logins or emails of the team's members. Users that are also in
        O(admins) become team admins.
      - When both O(members) and O(admins) are unset, the module does not read
        or change the membership.
    type: list
    elements: str
  admins:
    description:
      - Logins or emails of the team's admins, who may manage the team and its
        members. They need not be repeated in O(members).
    type: list
    elements: str
  members_mode:
    description:
      - V(exact) removes members that are not listed and turns admins that
        are not in O(admins) into plain members.
      - V(additive) adds the listed users and makes the O(admins) team admins,
        and leaves every other member as it is.
    type: str
    choices: [exact, additive]
    default: exact
  unknown_users:
    description:
      - What to do with a login or email in O(members) or O(admins) that no
        member of the organization has, for example a user who signs in
        through SSO or LDAP and has not signed in yet.
      - V(fail) fails the task before any change.
      - V(warn) applies the membership without those users, returns them in
        RV(unknown_users) and warns about each of them on every run, until
        the user exists and the next run adds them.
    type: str
    choices: [fail, warn]
    default: fail
  state:
    description:
      - V(present) creates or updates the team. V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Grafana makes the user who creates a team its admin. With
    O(members_mode=exact) the module replaces that membership in the same run
    unless the user is listed, so the next run reports no change. A service
    account that creates a team does not become a member.
  - On Grafana 11.1 and later the module sets the membership with one
    request (C(PUT /api/teams/:id/members)), which identifies users by email.
    On older versions it adds, updates and removes members one by one.
  - Users are looked up in C(GET /api/org/users), which needs the org Admin
    role.
seealso:
  - module: vigil.monitoring.grafana_folder
  - name: Grafana team HTTP API
    description: Routes and fields that the module uses.
    link: https://grafana.com/docs/grafana/latest/developers/http_api/team/
"""

EXAMPLES = r"""
- name: Create the platform team with exactly these members
  vigil.monitoring.grafana_team:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    name: Platform
    email: platform@example.org
    admins:
      - alice
    members:
      - bob@example.org
      - carol
  delegate_to: localhost

- name: Set the members of a team whose users sign in through SSO
  vigil.monitoring.grafana_team:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    name: Platform
    admins: [alice@example.org]
    members: [bob@example.org, new.hire@example.org]
    unknown_users: warn
  delegate_to: localhost

- name: Add an on-call user without touching the other members
  vigil.monitoring.grafana_team:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    name: Platform
    members: [dave]
    members_mode: additive
  delegate_to: localhost

- name: Delete a team
  vigil.monitoring.grafana_team:
    url: https://grafana.example.org
    token: "{{ grafana_token }}"
    name: Legacy
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
changed:
  description: Whether the module created, updated or deleted the team or
    changed its membership, or would in check mode.
  returned: always
  type: bool
  sample: true
team_id:
  description: Numeric id of the team.
  returned: when the team exists after the run, except in check mode for a
    new team
  type: int
  sample: 3
created:
  description: Whether the team did not exist before.
  returned: when O(state=present)
  type: bool
  sample: false
members:
  description: Logins of the team's plain members after the run, sorted.
  returned: when O(members) or O(admins) is set
  type: list
  elements: str
  sample: [bob, carol]
admins:
  description: Logins of the team's admins after the run, sorted.
  returned: when O(members) or O(admins) is set
  type: list
  elements: str
  sample: [alice]
unknown_users:
  description: Logins or emails of O(members) and O(admins) that no member of
    the organization has, as given. Always empty with O(unknown_users=fail),
    which fails on them instead.
  returned: when O(members) or O(admins) is set
  type: list
  elements: str
  sample: [new.hire@example.org]
diff:
  description: Name, email, members and admins before and after, as JSON
    text.
  returned: in diff mode
  type: dict
  sample:
    before: "{\n  \"admins\": [],\n  \"members\": [\"bob\"]\n}\n"
    after: "{\n  \"admins\": [\"alice\"],\n  \"members\": [\"bob\"]\n}\n"
    before_header: team Platform
    after_header: team Platform
"""

from typing import Any, Dict, List, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_access import (
    OrgDirectory,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_api import (
    GrafanaAPIError,
    GrafanaClient,
    grafana_module_kwargs,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_diff import (
    make_diff,
)

MODULE_OPTIONS: Dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "email": {"type": "str"},
    "members": {"type": "list", "elements": "str"},
    "admins": {"type": "list", "elements": "str"},
    "members_mode": {
        "type": "str",
        "choices": ["exact", "additive"],
        "default": "exact",
    },
    "unknown_users": {"type": "str", "choices": ["fail", "warn"], "default": "fail"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
}
TEAM_ADMIN = 4
TEAM_MEMBER = 0
BULK_MEMBERSHIP_VERSION = (11, 1)
"""``PUT /api/teams/:id/members`` exists from Grafana 11.1."""

# A membership maps user id to (login, email, permission).
Membership = Dict[int, Dict[str, Any]]


def find_team(client: GrafanaClient, name: str) -> Optional[Dict[str, Any]]:
    reply = client.get("/api/teams/search", query={"name": name}) or {}
    for team in reply.get("teams") or []:
        if team.get("name") == name:
            return team
    return None


def read_membership(client: GrafanaClient, team_id: int) -> Membership:
    members = client.get(f"/api/teams/{team_id}/members") or []
    return {
        int(member["userId"]): {
            "login": member.get("login") or "",
            "email": member.get("email") or "",
            "permission": int(member.get("permission") or 0),
        }
        for member in members
    }


def resolve_members(
    params: Dict[str, Any], directory: OrgDirectory
) -> Tuple[Dict[str, Dict[str, Any]], List[str]]:
    """Return the user of each known name in members and admins, and the unknown names.

    With ``unknown_users=fail`` an unknown name raises before any change.
    """
    names = list(params.get("members") or []) + list(params.get("admins") or [])
    if params.get("unknown_users", "fail") == "fail":
        return directory.resolve_users(names), []
    users: Dict[str, Dict[str, Any]] = {}
    unknown: List[str] = []
    for name in names:
        user = directory.find_user(name)
        if user is not None:
            users[name] = user
        elif name not in unknown:
            unknown.append(name)
    return users, unknown


def desired_membership(
    params: Dict[str, Any],
    users: Dict[str, Dict[str, Any]],
    current: Membership,
) -> Membership:
    """Return the membership the team should have from the resolved users.

    Names that are not in ``users`` are left out.
    """
    members = [name for name in params.get("members") or [] if name in users]
    admins = [name for name in params.get("admins") or [] if name in users]
    additive = params["members_mode"] == "additive"
    expected: Membership = {}
    if additive:
        expected = {user_id: dict(entry) for user_id, entry in current.items()}
    for name in members:
        user = users[name]
        user_id = int(user["userId"])
        permission = expected.get(user_id, {}).get("permission", TEAM_MEMBER)
        expected[user_id] = _entry(user, permission)
    for name in admins:
        user = users[name]
        expected[int(user["userId"])] = _entry(user, TEAM_ADMIN)
    return expected


def _entry(user: Dict[str, Any], permission: int) -> Dict[str, Any]:
    return {
        "login": str(user.get("login") or ""),
        "email": str(user.get("email") or ""),
        "permission": permission,
    }


def logins(membership: Membership, permission: int) -> List[str]:
    return sorted(
        entry["login"]
        for entry in membership.values()
        if entry["permission"] == permission
    )


def same_membership(left: Membership, right: Membership) -> bool:
    return {key: value["permission"] for key, value in left.items()} == {
        key: value["permission"] for key, value in right.items()
    }


def apply_membership(
    client: GrafanaClient, team_id: int, current: Membership, expected: Membership
) -> None:
    """Change the team's membership from ``current`` to ``expected``."""
    if client.version_at_least(*BULK_MEMBERSHIP_VERSION):
        body = {
            "members": _emails(expected, TEAM_MEMBER),
            "admins": _emails(expected, TEAM_ADMIN),
        }
        client.put(f"/api/teams/{team_id}/members", body)
        return
    # NOTE: this path for Grafana before 11.1 is not exercised by the tests,
    # because the test double reports Grafana 12.
    for user_id in current.keys() - expected.keys():
        client.delete(f"/api/teams/{team_id}/members/{user_id}")
    for user_id, entry in expected.items():
        if user_id not in current:
            client.post(f"/api/teams/{team_id}/members", {"userId": user_id})
        old = current.get(user_id, {}).get("permission", TEAM_MEMBER)
        if entry["permission"] != old:
            client.put(
                f"/api/teams/{team_id}/members/{user_id}",
                {"permission": entry["permission"]},
            )


def _emails(membership: Membership, permission: int) -> List[str]:
    return sorted(
        entry["email"] or entry["login"]
        for entry in membership.values()
        if entry["permission"] == permission
    )


class TeamRun:
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
        self.name = params["name"]
        self.result: Dict[str, Any] = {"changed": False}
        self.manage_members = (
            params.get("members") is not None or params.get("admins") is not None
        )

    def absent(self) -> Dict[str, Any]:
        team = find_team(self.client, self.name)
        before = None
        if team is not None:
            before = {"name": self.name, "email": team.get("email") or ""}
            self.result["changed"] = True
            if not self.check_mode:
                self.client.delete(f"/api/teams/{team['id']}")
        self._diff(before, None)
        return self.result

    def present(self) -> Dict[str, Any]:
        team = find_team(self.client, self.name)
        directory = OrgDirectory(self.client)
        current: Membership = {}
        if team is not None and self.manage_members:
            current = read_membership(self.client, int(team["id"]))
        expected = current
        users: Dict[str, Dict[str, Any]] = {}
        if self.manage_members:
            # Resolves every user now, so an unknown user fails before a change.
            users, unknown = resolve_members(self.params, directory)
            expected = desired_membership(self.params, users, current)
            self._report_unknown(unknown)
        before = self._view(team, current)
        self.result["created"] = team is None

        team_id = self._ensure_team(team)
        if team is None and self.manage_members and team_id is not None:
            # Grafana has just added the creating user; plan against that.
            current = read_membership(self.client, team_id)
            expected = desired_membership(self.params, users, current)
        if self.manage_members and not same_membership(current, expected):
            self.result["changed"] = True
            if not self.check_mode and team_id is not None:
                apply_membership(self.client, team_id, current, expected)
        if self.manage_members:
            self.result["members"] = logins(expected, TEAM_MEMBER)
            self.result["admins"] = logins(expected, TEAM_ADMIN)
        email = self.params.get("email")
        if email is None:
            email = (team or {}).get("email") or ""
        self._diff(before, self._view({"email": email}, expected))
        return self.result

    def _report_unknown(self, unknown: List[str]) -> None:
        self.result["unknown_users"] = unknown
        if not unknown:
            return
        self.result["warnings"] = [
            f"Team {self.name!r}: no member of the organization has the login or"
            f" email {name!r}, so the team does not include this user. Create"
            " the user or let them sign in once, then run again."
            for name in unknown
        ]

    def _ensure_team(self, team: Optional[Dict[str, Any]]) -> Optional[int]:
        """Create the team or update its email, and return its id.

        Returns ``None`` for a team that check mode would create.
        """
        email = self.params.get("email")
        if team is None:
            self.result["changed"] = True
            if self.check_mode:
                return None
            reply = self.client.post(
                "/api/teams", {"name": self.name, "email": email or ""}
            )
            self.result["team_id"] = int(reply["teamId"])
            return self.result["team_id"]
        team_id = int(team["id"])
        self.result["team_id"] = team_id
        if email is not None and email != (team.get("email") or ""):
            self.result["changed"] = True
            if not self.check_mode:
                body = {"name": self.name, "email": email}
                self.client.put(f"/api/teams/{team_id}", body)
        return team_id

    def _view(
        self, team: Optional[Dict[str, Any]], membership: Membership
    ) -> Optional[Dict[str, Any]]:
        if team is None:
            return None
        view: Dict[str, Any] = {"name": self.name, "email": team.get("email") or ""}
        if self.manage_members:
            view["members"] = logins(membership, TEAM_MEMBER)
            view["admins"] = logins(membership, TEAM_ADMIN)
        return view

    def _diff(self, before: Any, after: Any) -> None:
        if self.diff_mode:
            self.result["diff"] = make_diff(before, after, f"team {self.name}")


def run(
    params: Dict[str, Any],
    check_mode: bool = False,
    diff_mode: bool = False,
    client: Optional[GrafanaClient] = None,
) -> Dict[str, Any]:
    """Apply the module's parameters and return its result."""
    work = TeamRun(client or GrafanaClient(params), params, check_mode, diff_mode)
    if params["state"] == "absent":
        return work.absent()
    return work.present()


def main() -> None:
    module = AnsibleModule(**grafana_module_kwargs(**MODULE_OPTIONS))
    try:
        result = run(module.params, module.check_mode, module._diff)
    except GrafanaAPIError as error:
        module.fail_json(msg=str(error), status=error.status)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
