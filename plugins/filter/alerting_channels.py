# Copyright: vigil.monitoring contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that map the inventory's alert channels to Grafana and Alertmanager.

``vigil_alert_channels`` has one entry per team; the key is the value of the
alert label ``team``::

    development:
      contact_point: development      # contact point = receiver name
      group_by: [alertname, service]
      group_wait: 30s
      group_interval: 5m
      repeat_interval: 4h
      integrations:
        - {type: webhook, url: https://..., username: u, password: p}
        - {type: email, to: [dev@example.org]}
        - {type: slack, url: https://hooks.slack.com/..., channel: "#dev"}
        - {type: teams, url: https://example.webhook.office.com/...}

The webhook password and the Slack and Teams URLs are secrets: problem
messages never show them.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

INTEGRATION_TYPES = ("webhook", "email", "slack", "teams")
DEFAULT_TIMING = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}
DEFAULT_GROUP_BY = ["alertname"]
NULL_RECEIVER = "null"
# Grafana's own contact point, the receiver of its default root policy.
GRAFANA_DEFAULT_CONTACT_POINT = "grafana-default-email"

# Prometheus durations as prometheus/common model.ParseDuration reads them,
# which both Alertmanager and Grafana's notification policies accept.
_DURATION_RE = re.compile(
    r"^(?=[0-9])([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$"
)
_LABEL_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")


def _is_positive_duration(value):
    return (
        isinstance(value, str)
        and bool(_DURATION_RE.match(value))
        and bool(re.search("[1-9]", value))
    )


def _url_problem(where, integration, schemes, secret):
    url = integration.get("url")
    if not isinstance(url, str) or url == "":
        return f"{where}.url is missing: set the {integration['type']} URL"
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in schemes:
        described = f"starts with '{scheme}://'" if scheme else "has no scheme"
        if not secret:
            described = f"is '{url}'"
        expected = " or ".join(f"{s}://" for s in schemes)
        return f"{where}.url {described}: use a URL that starts with {expected}"
    return None


def _webhook_problems(where, integration):
    problems = [_url_problem(where, integration, ("https", "http"), False)]
    for key in ("username", "password"):
        value = integration.get(key)
        if value is not None and not isinstance(value, str):
            # Only the type is named: the password is a secret.
            problems.append(
                f"{where}.{key} has the type {type(value).__name__}, not string:"
                " quote the value in YAML"
            )
    has_user = bool(integration.get("username"))
    has_password = bool(integration.get("password"))
    if has_user != has_password:
        problems.append(
            f"{where} has {'a username' if has_user else 'a password'} only:"
            " set both username and password, or neither"
        )
    return problems


def _email_problems(where, integration):
    to = integration.get("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not to:
        return [f"{where}.to is missing: list the recipient addresses"]
    bad = [a for a in to if not isinstance(a, str) or not _EMAIL_RE.match(a)]
    if bad:
        return [f"{where}.to has invalid addresses {bad}: use name@domain"]
    return []


def _slack_problems(where, integration):
    problems = [_url_problem(where, integration, ("https",), True)]
    channel = integration.get("channel")
    if channel is not None and not isinstance(channel, str):
        problems.append(f"{where}.channel is {channel!r}: use a string")
    return problems


def _teams_problems(where, integration):
    return [_url_problem(where, integration, ("https",), True)]


_TYPE_CHECKS = {
    "webhook": _webhook_problems,
    "email": _email_problems,
    "slack": _slack_problems,
    "teams": _teams_problems,
}


def _integration_problems(where, integration, types):
    if not isinstance(integration, dict):
        return [f"{where} is {integration!r}: use a dict with a key type"]
    kind = integration.get("type")
    if kind not in INTEGRATION_TYPES:
        return [f"{where}.type is {kind!r}: use one of {', '.join(INTEGRATION_TYPES)}"]
    if kind not in types:
        return [
            f"{where}.type is '{kind}', which the installed backend does not"
            f" support (supported: {', '.join(types)}): remove the integration"
            " or install a version that has it"
        ]
    return [p for p in _TYPE_CHECKS[kind](where, integration) if p]


def _channel_problems(where, channel, types):
    if not isinstance(channel, dict):
        return [
            f"{where} is {channel!r}: use a dict with contact_point and integrations"
        ]
    problems = []
    contact_point = channel.get("contact_point")
    if not isinstance(contact_point, str) or contact_point.strip() == "":
        problems.append(f"{where}.contact_point is missing: name the contact point")
    elif contact_point == NULL_RECEIVER:
        problems.append(
            f"{where}.contact_point is '{NULL_RECEIVER}', the name of the root"
            " receiver that drops alerts: choose another name"
        )
    elif contact_point == GRAFANA_DEFAULT_CONTACT_POINT:
        problems.append(
            f"{where}.contact_point is '{GRAFANA_DEFAULT_CONTACT_POINT}', Grafana's"
            " default contact point, whose integrations the team's would replace:"
            " choose another name"
        )
    group_by = channel.get("group_by", DEFAULT_GROUP_BY)
    if not isinstance(group_by, list) or not all(
        isinstance(label, str) and (label == "..." or _LABEL_NAME_RE.match(label))
        for label in group_by
    ):
        problems.append(f"{where}.group_by is {group_by!r}: use a list of label names")
    elif len(set(group_by)) != len(group_by):
        problems.append(
            f"{where}.group_by is {group_by!r}, which lists a label more than"
            " once: list each label once"
        )
    elif "..." in group_by and len(group_by) > 1:
        problems.append(
            f"{where}.group_by is {group_by!r}: '...' groups by all labels and"
            " cannot be combined with label names; use ['...'] alone or only"
            " label names"
        )
    for key, default in DEFAULT_TIMING.items():
        value = channel.get(key, default)
        if not _is_positive_duration(value):
            problems.append(
                f"{where}.{key} is {value!r}: use a duration above zero such as"
                f" {default} (units y, w, d, h, m, s, ms)"
            )
    integrations = channel.get("integrations")
    if not isinstance(integrations, list) or not integrations:
        problems.append(
            f"{where}.integrations is missing or empty: add at least one"
            " webhook, email, slack or teams integration"
        )
        return problems
    for index, integration in enumerate(integrations):
        problems.extend(
            _integration_problems(f"{where}.integrations[{index}]", integration, types)
        )
    return problems


def alerting_channels_problems(
    channels, variable="vigil_alert_channels", types=INTEGRATION_TYPES
):
    """List what is wrong with ``channels``, each naming the key and the fix.

    ``types`` limits the integration types, for example to leave out
    ``teams`` for an Alertmanager without msteams_configs.
    """
    if not isinstance(channels, dict):
        return [f"{variable} is {channels!r}: use a dict keyed by team"]
    problems = []
    contact_points = {}
    for team, channel in channels.items():
        where = f"{variable}.{team}"
        if not isinstance(team, str) or team == "":
            problems.append(f"{variable} has the key {team!r}: use the team name")
            continue
        problems.extend(_channel_problems(where, channel, list(types)))
        if isinstance(channel, dict) and isinstance(channel.get("contact_point"), str):
            contact_points.setdefault(channel["contact_point"], []).append(team)
    for name, teams in sorted(contact_points.items()):
        if len(teams) > 1:
            problems.append(
                f"{variable}: teams {teams} share the contact_point '{name}':"
                " give each team its own contact point"
            )
    return problems


def _checked(channels):
    problems = alerting_channels_problems(channels)
    if problems:
        raise AnsibleFilterError("; ".join(problems))
    return sorted(channels.items())


def _addresses(integration):
    to = integration["to"]
    return [to] if isinstance(to, str) else list(to)


def _grafana_settings(integration):
    kind = integration["type"]
    if kind == "webhook":
        settings = {"url": integration["url"], "httpMethod": "POST"}
        if integration.get("username"):
            settings["username"] = integration["username"]
            settings["password"] = integration["password"]
        return settings
    if kind == "email":
        return {"addresses": ";".join(_addresses(integration))}
    if kind == "slack":
        settings = {"url": integration["url"]}
        if integration.get("channel"):
            settings["recipient"] = integration["channel"]
        return settings
    return {"url": integration["url"]}


def alerting_grafana_contact_points(channels):
    """Build the grafana_contact_point arguments of every team's channel."""
    return [
        {
            "name": channel["contact_point"],
            "integrations": [
                {
                    "type": integration["type"],
                    "settings": _grafana_settings(integration),
                    "disable_resolve_message": False,
                }
                for integration in channel["integrations"]
            ],
        }
        for _team, channel in _checked(channels)
    ]


def _timing(channel):
    return {key: channel.get(key, default) for key, default in DEFAULT_TIMING.items()}


def alerting_grafana_policies(channels, label="team"):
    """Build the grafana_notification_policy arguments of every team.

    Each entry has ``match`` ({label: team}) and ``routes``: one route to
    the team's contact point that matches the label.
    """
    return [
        {
            "match": {label: team},
            "routes": [
                {
                    "receiver": channel["contact_point"],
                    "object_matchers": [[label, "=", team]],
                    "group_by": list(channel.get("group_by", DEFAULT_GROUP_BY)),
                    **_timing(channel),
                }
            ],
        }
        for team, channel in _checked(channels)
    ]


def _alertmanager_integration(integration):
    kind = integration["type"]
    if kind == "webhook":
        config = {"url": integration["url"], "send_resolved": True}
        if integration.get("username"):
            config["http_config"] = {
                "basic_auth": {
                    "username": integration["username"],
                    "password": integration["password"],
                }
            }
        return "webhook_configs", config
    if kind == "email":
        return "email_configs", {
            "to": ", ".join(_addresses(integration)),
            "send_resolved": True,
        }
    if kind == "slack":
        config = {"api_url": integration["url"], "send_resolved": True}
        if integration.get("channel"):
            config["channel"] = integration["channel"]
        return "slack_configs", config
    return "msteams_configs", {"webhook_url": integration["url"], "send_resolved": True}


def alertmanager_receivers(channels):
    """Build Alertmanager's receivers: the null receiver, then one per team."""
    receivers = [{"name": NULL_RECEIVER}]
    for _team, channel in _checked(channels):
        receiver = {"name": channel["contact_point"]}
        for integration in channel["integrations"]:
            key, config = _alertmanager_integration(integration)
            receiver.setdefault(key, []).append(config)
        receivers.append(receiver)
    return receivers


def _matcher_value(value):
    """Quote a label value for an Alertmanager matcher such as team="dev"."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def alertmanager_route(channels, label="team"):
    """Build Alertmanager's root route with one child route per team.

    Alerts without a matching team go to the null receiver, which drops them.
    """
    return {
        "receiver": NULL_RECEIVER,
        "group_by": list(DEFAULT_GROUP_BY),
        "routes": [
            {
                "receiver": channel["contact_point"],
                "matchers": [f"{label}={_matcher_value(team)}"],
                "group_by": list(channel.get("group_by", DEFAULT_GROUP_BY)),
                **_timing(channel),
            }
            for team, channel in _checked(channels)
        ],
    }


def alerting_channel_types(channels):
    """Return the sorted integration types that ``channels`` use."""
    if not isinstance(channels, dict):
        return []
    return sorted(
        {
            integration.get("type")
            for channel in channels.values()
            if isinstance(channel, dict)
            for integration in channel.get("integrations") or []
            if isinstance(integration, dict)
            and isinstance(integration.get("type"), str)
        }
    )


class FilterModule:
    """Filters that map vigil_alert_channels to Grafana and Alertmanager."""

    def filters(self):
        return {
            "alerting_channels_problems": alerting_channels_problems,
            "alerting_channel_types": alerting_channel_types,
            "alerting_grafana_contact_points": alerting_grafana_contact_points,
            "alerting_grafana_policies": alerting_grafana_policies,
            "alertmanager_receivers": alertmanager_receivers,
            "alertmanager_route": alertmanager_route,
        }
