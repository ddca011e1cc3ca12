# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Users, teams and folder or dashboard permissions for the Grafana modules.

Users are resolved by login or email from ``GET /api/org/users``, which an
org Admin or an Admin service account may read. Permissions use Grafana's
folder and dashboard permission API, where an item grants View (1), Edit (2)
or Admin (4) to one user, team or basic role.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Tuple

from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_api import (
    GrafanaAPIError,
    GrafanaClient,
    describe,
)

PERMISSION_LEVELS = {"View": 1, "Edit": 2, "Admin": 4}
PERMISSION_NAMES = {level: name for name, level in PERMISSION_LEVELS.items()}
PERMISSION_ROLES = ("Viewer", "Editor")
"""Grafana's permission API grants to these basic roles; org Admins have Admin."""

PERMISSIONS_OPTION: Dict[str, Any] = {
    "type": "list",
    "elements": "dict",
    "options": {
        "team": {"type": "str"},
        "user": {"type": "str"},
        "role": {"type": "str", "choices": list(PERMISSION_ROLES)},
        "permission": {
            "type": "str",
            "required": True,
            "choices": list(PERMISSION_LEVELS),
        },
    },
    "mutually_exclusive": [["team", "user", "role"]],
    "required_one_of": [["team", "user", "role"]],
}

# A grant as (kind, principal id or role, level), where kind is user, team or role.
Grant = Tuple[str, Any, int]


class OrgDirectory:
    """Lookups of the org's users and teams, cached for one module run."""

    def __init__(self, client: GrafanaClient) -> None:
        self.client = client
        self._users: Optional[List[Dict[str, Any]]] = None
        self._teams: Dict[str, Optional[Dict[str, Any]]] = {}

    def users(self) -> List[Dict[str, Any]]:
        if self._users is None:
            self._users = self.client.get("/api/org/users") or []
        return self._users

    def find_user(self, login_or_email: str) -> Optional[Dict[str, Any]]:
        """Return the org user whose login or email matches, ignoring case."""
        expected = login_or_email.strip().lower()
        for user in self.users():
            if expected in (
                str(user.get("login", "")).lower(),
                str(user.get("email", "")).lower(),
            ):
                return user
        return None

    def resolve_users(self, names: Iterable[str]) -> Dict[str, Dict[str, Any]]:
        """Return the user of each login or email, or raise naming every unknown one."""
        found: Dict[str, Dict[str, Any]] = {}
        unknown: List[str] = []
        for name in names:
            user = self.find_user(name)
            if user is None:
                unknown.append(name)
            else:
                found[name] = user
        if unknown:
            raise GrafanaAPIError(
                f"Unknown user {describe(unknown)}: no member of the organization has"
                " this login or email. Create the user or add it to the organization"
                " first. Nothing was changed."
            )
        return found

    def find_team(self, name: str) -> Optional[Dict[str, Any]]:
        """Return the team with exactly this name, or ``None``."""
        if name not in self._teams:
            reply = self.client.get("/api/teams/search", query={"name": name}) or {}
            matches = [
                team for team in reply.get("teams") or [] if team.get("name") == name
            ]
            self._teams[name] = matches[0] if matches else None
        return self._teams[name]

    def resolve_teams(self, names: Iterable[str]) -> Dict[str, Dict[str, Any]]:
        found: Dict[str, Dict[str, Any]] = {}
        unknown: List[str] = []
        for name in names:
            team = self.find_team(name)
            if team is None:
                unknown.append(name)
            else:
                found[name] = team
        if unknown:
            raise GrafanaAPIError(
                f"Unknown team {describe(unknown)}: no team of the organization has"
                " this name. Create it first, for example with"
                " vigil.monitoring.grafana_team. Nothing was changed."
            )
        return found


def desired_grants(
    directory: OrgDirectory, items: List[Dict[str, Any]]
) -> Dict[Grant, Dict[str, str]]:
    """Resolve permission option items to grants, each with a readable form."""
    users = directory.resolve_users([i["user"] for i in items if i.get("user")])
    teams = directory.resolve_teams([i["team"] for i in items if i.get("team")])
    grants: Dict[Grant, Dict[str, str]] = {}
    for item in items:
        level = PERMISSION_LEVELS[item["permission"]]
        if item.get("user"):
            user = users[item["user"]]
            key: Grant = ("user", int(user["userId"]), level)
            readable = {
                "user": str(user.get("login")),
                "permission": item["permission"],
            }
        elif item.get("team"):
            key = ("team", int(teams[item["team"]]["id"]), level)
            readable = {"team": item["team"], "permission": item["permission"]}
        else:
            key = ("role", item["role"], level)
            readable = {"role": item["role"], "permission": item["permission"]}
        _reject_duplicate(grants, key)
        grants[key] = readable
    return grants


def _reject_duplicate(grants: Dict[Grant, Dict[str, str]], key: Grant) -> None:
    for kind, principal, _level in grants:
        if (kind, principal) == key[:2]:
            raise GrafanaAPIError(
                f"Invalid permissions: {kind} {principal!r} appears more than once."
                " List each user, team and role once with its highest permission."
            )


def current_grants(entries: List[Dict[str, Any]]) -> Dict[Grant, Dict[str, str]]:
    """Convert the non-inherited entries of a permission list to grants."""
    grants: Dict[Grant, Dict[str, str]] = {}
    for entry in entries:
        if entry.get("inherited"):
            continue
        level = int(entry.get("permission") or 0)
        name = PERMISSION_NAMES.get(level, str(level))
        if entry.get("userId"):
            key: Grant = ("user", int(entry["userId"]), level)
            login = entry.get("userLogin") or str(entry["userId"])
            grants[key] = {"user": str(login), "permission": name}
        elif entry.get("teamId"):
            key = ("team", int(entry["teamId"]), level)
            team_name = entry.get("team") or str(entry["teamId"])
            grants[key] = {"team": str(team_name), "permission": name}
        elif entry.get("role"):
            key = ("role", entry["role"], level)
            grants[key] = {"role": str(entry["role"]), "permission": name}
    return grants


def readable_list(grants: Dict[Grant, Dict[str, str]]) -> List[Dict[str, str]]:
    """Return the readable grants in a stable order for diffs and results."""
    return sorted(grants.values(), key=lambda item: sorted(item.items()))


def acl_items(grants: Dict[Grant, Dict[str, str]]) -> List[Dict[str, Any]]:
    """Build the ``items`` of an ``UpdateDashboardACLCommand``."""
    field = {"user": "userId", "team": "teamId", "role": "role"}
    return [
        {field[kind]: principal, "permission": level}
        for kind, principal, level in sorted(grants, key=str)
    ]


class PermissionChange:
    """Comparison of a folder's or dashboard's own permissions with the desired list."""

    def __init__(
        self,
        before: Dict[Grant, Dict[str, str]],
        after: Dict[Grant, Dict[str, str]],
    ) -> None:
        self.before = before
        self.after = after

    @property
    def changed(self) -> bool:
        return set(self.before) != set(self.after)


def plan_permissions(
    client: GrafanaClient,
    directory: OrgDirectory,
    permissions_path: str,
    items: List[Dict[str, Any]],
    exists: bool,
) -> PermissionChange:
    """Resolve ``items`` and read the current permissions at ``permissions_path``.

    For an object that does not exist yet, the current list is empty.
    """
    after = desired_grants(directory, items)
    before: Dict[Grant, Dict[str, str]] = {}
    if exists:
        before = current_grants(client.get(permissions_path) or [])
    return PermissionChange(before, after)


def apply_permissions(
    client: GrafanaClient, permissions_path: str, change: PermissionChange
) -> None:
    client.post(permissions_path, {"items": acl_items(change.after)})
