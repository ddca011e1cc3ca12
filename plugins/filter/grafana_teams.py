# Copyright: vigil.monitoring contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the inventory's ``grafana_teams`` into Grafana settings.

A team entry looks like this::

    name: development
    admin: dev.lead@example.org      # login or email
    members: [dev1, dev2@example.org]
    folder_permission: Edit          # what the team gets on its folders
    folders:
      - uid: development
        title: Development
        viewer_teams: [infrastructure]

The admin is the team's admin in Grafana, has Admin on the team's folders
and is the named admin of every dashboard in them. Teams in ``viewer_teams``
get View on that folder; no other team and neither the Viewer nor the
Editor role gets anything.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

FOLDER_PERMISSIONS = ("Edit", "Admin")
ADMIN_LEVEL = 4


def _fail(message):
    raise AnsibleFilterError(f"invalid grafana_teams: {message}")


def _check_team(team, index):
    if not isinstance(team, dict):
        _fail(f"item {index} is {team!r}, not a mapping with name, admin and folders")
    name = team.get("name")
    if not isinstance(name, str) or not name.strip():
        _fail(f"item {index} has no name; give each team a name")
    if not isinstance(team.get("admin"), str) or not team["admin"].strip():
        _fail(f"team {name!r} has no admin; set admin to a login or email")
    members = team.get("members", [])
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        _fail(f"team {name!r}: members must be a list of logins or emails")
    permission = team.get("folder_permission", "Edit")
    if permission not in FOLDER_PERMISSIONS:
        _fail(f"team {name!r}: folder_permission is {permission!r}; use Edit or Admin")
    if not isinstance(team.get("folders", []), list):
        _fail(f"team {name!r}: folders must be a list of uid and title mappings")


def _check_folder(folder, team_name, names):
    if not isinstance(folder, dict) or not folder.get("uid") or not folder.get("title"):
        _fail(
            f"team {team_name!r}: each folder needs a uid and a title, not {folder!r}"
        )
    viewers = folder.get("viewer_teams", [])
    if not isinstance(viewers, list):
        _fail(f"folder {folder['uid']!r}: viewer_teams must be a list of team names")
    for viewer in viewers:
        if viewer == team_name:
            _fail(
                f"folder {folder['uid']!r}: viewer_teams names its own team "
                f"{team_name!r}, which already has {folder.get('uid')!r}"
            )
        if viewer not in names:
            _fail(
                f"folder {folder['uid']!r}: viewer_teams names {viewer!r}, which is "
                f"not a team in grafana_teams (teams: {', '.join(sorted(names))})"
            )


def _validated(teams):
    """Return the teams after checking them, or raise naming the bad value."""
    if teams is None:
        return []
    if not isinstance(teams, list):
        _fail(f"{teams!r} is not a list of teams")
    for index, team in enumerate(teams):
        _check_team(team, index)
    names = [team["name"] for team in teams]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        _fail(f"team {', '.join(duplicates)} appears more than once")
    for team in teams:
        for folder in team.get("folders", []):
            _check_folder(folder, team["name"], names)
    uids = [f["uid"] for team in teams for f in team.get("folders", [])]
    repeated = sorted({uid for uid in uids if uids.count(uid) > 1})
    if repeated:
        _fail(f"folder {', '.join(repeated)} is listed more than once")
    return teams


def grafana_team_folders(teams):
    """Return every team folder with its owner and its authoritative permissions.

    Each item has ``uid``, ``title``, ``team``, ``admin``, ``viewer_teams`` and
    ``permissions`` in the form of the grafana_folder module's option.
    """
    folders = []
    for team in _validated(teams):
        for folder in team.get("folders", []):
            viewers = list(folder.get("viewer_teams", []))
            permissions = [
                {
                    "team": team["name"],
                    "permission": team.get("folder_permission", "Edit"),
                },
                {"user": team["admin"], "permission": "Admin"},
            ]
            permissions += [{"team": name, "permission": "View"} for name in viewers]
            folders.append(
                {
                    "uid": folder["uid"],
                    "title": folder["title"],
                    "team": team["name"],
                    "admin": team["admin"],
                    "viewer_teams": viewers,
                    "permissions": permissions,
                }
            )
    return folders


def grafana_folder_admin(teams, folder_uid):
    """Return the admin of the team that owns ``folder_uid``."""
    for folder in grafana_team_folders(teams):
        if folder["uid"] == folder_uid:
            return folder["admin"]
    known = ", ".join(f["uid"] for f in grafana_team_folders(teams)) or "none"
    raise AnsibleFilterError(
        f"folder {folder_uid!r} is not a team folder in grafana_teams "
        f"(team folders: {known}); add it to a team's folders or name the admin"
    )


def grafana_dashboard_permissions(teams, folder_uid):
    """Return the permissions of a dashboard in a team folder: its named admin.

    The admin is the admin of the folder's team. The team's other grants
    come from the folder.
    """
    return [{"user": grafana_folder_admin(teams, folder_uid), "permission": "Admin"}]


def _find_local_user(users, name):
    expected = name.strip().lower()
    for user in users or []:
        names = {str(user.get("login", "")).lower(), str(user.get("email", "")).lower()}
        if expected in names and user.get("password"):
            return user
    return None


def grafana_team_checker(team, users):
    """Return the login of a team's user whose password the inventory has.

    Plain members come first, then the admin. Returns ``""`` when there is
    none, as on sites whose users sign in through SSO or LDAP.
    """
    for name in [*team.get("members", []), team["admin"]]:
        user = _find_local_user(users, name)
        if user is not None:
            return str(user["login"])
    return ""


def grafana_team_access_checks(teams, dashboards, users):
    """Return the requests to make as each team's users, with the status expected.

    For each team that has a user with a password in ``users``, the user
    opens every team folder and every dashboard in it. The expected status
    is 200 for the team's own folders and those that list the team in
    ``viewer_teams``, and 403 for the others. The admin of each team opens
    the permission list of every dashboard in the team's folders, which
    needs Admin on the dashboard.
    ``dashboards`` are search hits with ``uid`` and ``folderUid``.
    """
    folders = grafana_team_folders(teams)
    checks = []
    for team in teams or []:
        login = grafana_team_checker(team, users)
        if not login:
            continue
        for folder in folders:
            allowed = (
                folder["team"] == team["name"] or team["name"] in folder["viewer_teams"]
            )
            status = 200 if allowed else 403
            checks.append(
                {
                    "login": login,
                    "path": f"/api/folders/{folder['uid']}",
                    "status": status,
                }
            )
            for uid in _dashboards_in(dashboards, folder["uid"]):
                checks.append(
                    {
                        "login": login,
                        "path": f"/api/dashboards/uid/{uid}",
                        "status": status,
                    }
                )
    for folder in folders:
        admin = _find_local_user(users, folder["admin"])
        if admin is None:
            continue
        for uid in _dashboards_in(dashboards, folder["uid"]):
            path = f"/api/dashboards/uid/{uid}/permissions"
            checks.append({"login": str(admin["login"]), "path": path, "status": 200})
    return checks


def _dashboards_in(dashboards, folder_uid):
    return sorted(
        str(hit["uid"])
        for hit in dashboards or []
        if hit.get("folderUid") == folder_uid
        and hit.get("type", "dash-db") == "dash-db"
    )


def grafana_own_admins(entries):
    """Return the lowercased logins and emails of users granted Admin directly.

    ``entries`` is a permission list from Grafana's API. Inherited entries
    and grants to teams or roles do not count.
    """
    names = []
    for entry in entries or []:
        if entry.get("inherited") or not entry.get("userId"):
            continue
        if int(entry.get("permission") or 0) != ADMIN_LEVEL:
            continue
        names += [str(entry.get(key, "")).lower() for key in ("userLogin", "userEmail")]
    return sorted(name for name in set(names) if name)


def grafana_team_membership_problems(team, members, org_users):
    """Return how a team's members in Grafana differ from the inventory.

    Inventory names that no org user has are skipped, because the playbook
    reports them as unknown. A member that the inventory does not list, or
    an admin without the team admin permission, is a problem.
    """
    listed = [*team.get("members", []), team["admin"]]
    known = {}
    for name in listed:
        for user in org_users or []:
            names = {
                str(user.get("login", "")).lower(),
                str(user.get("email", "")).lower(),
            }
            if name.strip().lower() in names:
                known[int(user["userId"])] = name
    problems = []
    present = {int(member["userId"]): member for member in members or []}
    for user_id, member in present.items():
        if user_id not in known:
            problems.append(
                f"team {team['name']!r} has member {member.get('login')!r}, "
                "whom grafana_teams does not list"
            )
    for user_id, name in known.items():
        if user_id not in present:
            problems.append(f"team {team['name']!r} lacks member {name!r}")
    admin_ids = [uid for uid, name in known.items() if name == team["admin"]]
    for user_id in admin_ids:
        if user_id in present and int(present[user_id].get("permission") or 0) != 4:
            problems.append(
                f"team {team['name']!r}: {team['admin']!r} is not a team admin"
            )
    return problems


class FilterModule:
    """Filters of vigil.monitoring for Grafana teams."""

    def filters(self):
        return {
            "grafana_team_folders": grafana_team_folders,
            "grafana_folder_admin": grafana_folder_admin,
            "grafana_dashboard_permissions": grafana_dashboard_permissions,
            "grafana_team_checker": grafana_team_checker,
            "grafana_team_access_checks": grafana_team_access_checks,
            "grafana_own_admins": grafana_own_admins,
            "grafana_team_membership_problems": grafana_team_membership_problems,
        }
