# Copyright: vigil.monitoring contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that define the alerts once and render them for Prometheus and Grafana.

``alert_definitions`` builds a neutral list of alerts from the service
catalogue (``vigil_services``), the SLO tiers (``vigil_slo_tiers``) and the
per-alert overrides (``vigil_alert_overrides``). ``alerts_prometheus_groups``
turns that list into rule groups for the prometheus_rule module, and
``alerts_grafana_rule_groups`` into rule groups for the
grafana_alert_rule_group module. ``alert_rule_tests`` returns promtool test
cases for the same list, so every deployment proves its own rules.

Annotations use only ``{{ $labels.<name> }}`` templates, which Prometheus and
Grafana both expand, so that one text serves both backends.
"""

from __future__ import annotations

import hashlib
import math
import re

from ansible.errors import AnsibleFilterError

# Service alerts: multi-window burn rates of the error budget. Each pair is
# (long window, short window, burn-rate factor). The alert fires when both
# windows of any pair burn faster than the factor. ``test_bad`` and
# ``test_healthy`` are the error ratios of the test cases, in budgets.
SERVICE_ALERTS = {
    "ServiceErrorBudgetBurnFast": {
        "severity": "page",
        "for": "2m",
        "keep_firing_for": "5m",
        "pairs": (("1h", "5m", 14.4), ("6h", "30m", 6)),
        "test_bad": 20,
        "test_healthy": 5,
    },
    "ServiceErrorBudgetBurnSlow": {
        "severity": "ticket",
        "for": "1h",
        "keep_firing_for": "10m",
        "pairs": (("1d", "2h", 3), ("3d", "6h", 1)),
        "test_bad": 4,
        "test_healthy": 0.5,
    },
}

# Host alerts: one rule covers every host. ``threshold`` is a fraction.
HOST_ALERTS = {
    "HostCpuBusy": {
        "severity": "ticket",
        "threshold": 0.9,
        "for": "30m",
        "keep_firing_for": "10m",
    },
    "HostMemoryLow": {
        "severity": "page",
        "threshold": 0.1,
        "for": "10m",
        "keep_firing_for": "5m",
    },
    "HostDiskSpaceLow": {
        "severity": "page",
        "threshold": 0.1,
        "for": "5m",
        "keep_firing_for": "10m",
    },
    "HostDiskFillingUp": {
        "severity": "ticket",
        "threshold": 0.4,
        "for": "1h",
        "keep_firing_for": "10m",
    },
}

SEVERITIES = ("page", "ticket")
OVERRIDE_KEYS = ("for", "keep_firing_for", "severity", "threshold")
INFRASTRUCTURE_TEAM = "infrastructure"
RATIO = "service:http_server_request_errors:ratio_rate"
# Memory-backed file systems, images and kernel views, which an operator
# cannot free space on.
IGNORED_FSTYPES = "tmpfs|ramfs|devtmpfs|overlay|squashfs|iso9660|nsfs|autofs|fuse.lxcfs"
FILESYSTEM = f'fstype!~"{IGNORED_FSTYPES}"'
GRAFANA_EXPRESSION_UID = "__expr__"
# Mount points of the file system that fills up in the disk test cases, the
# first that vigil_alert_filesystem_mountpoints_exclude does not match.
TEST_MOUNTPOINTS = ("/", "/srv", "/vigil-alert-test")

_DURATION_RE = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
_DURATION_SECONDS = {"y": 31536000, "w": 604800, "d": 86400, "h": 3600, "m": 60}
_SERVICE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_LABEL_TEMPLATE_RE = re.compile(r"\{\{\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


def _seconds(duration: str) -> float:
    """Convert a Prometheus duration such as ``1h30m`` to seconds."""
    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|y|w|d|h|m|s)", duration):
        if unit == "ms":
            total += int(number) / 1000
        else:
            total += int(number) * _DURATION_SECONDS.get(unit, 1)
    return total


def _duration_ok(value) -> bool:
    text = str(value)
    return bool(text) and bool(_DURATION_RE.match(text))


def _number(value: float) -> str:
    """Format a threshold for PromQL without float noise such as 0.0144000001."""
    return f"{value:.6g}"


def _check_overrides(overrides) -> dict:
    """Validate vigil_alert_overrides and return it as a dict."""
    if overrides in (None, ""):
        return {}
    if not isinstance(overrides, dict):
        raise AnsibleFilterError(
            f"vigil_alert_overrides is {type(overrides).__name__}, expected a"
            " mapping of alert names to settings such as {HostCpuBusy: {for: 1h}}"
        )
    names = sorted([*SERVICE_ALERTS, *HOST_ALERTS])
    for name, settings in overrides.items():
        where = f"vigil_alert_overrides.{name}"
        if name not in names:
            raise AnsibleFilterError(
                f"vigil_alert_overrides: {name!r} is not an alert of this"
                f" collection. Use one of {', '.join(names)}, or remove the entry."
            )
        if not isinstance(settings, dict):
            raise AnsibleFilterError(
                f"{where} is {settings!r}, expected a mapping such as {{for: 10m}}"
            )
        for key, value in settings.items():
            if key not in OVERRIDE_KEYS or (
                key == "threshold" and name in SERVICE_ALERTS
            ):
                allowed = [
                    k for k in OVERRIDE_KEYS if k != "threshold" or name in HOST_ALERTS
                ]
                raise AnsibleFilterError(
                    f"{where}: key {key!r} is unknown for {name}. Allowed keys:"
                    f" {', '.join(allowed)}."
                )
            if key in ("for", "keep_firing_for") and not _duration_ok(value):
                raise AnsibleFilterError(
                    f"{where}.{key} is {value!r}, expected a Prometheus duration"
                    " such as 30s, 5m or 1h"
                )
            if key == "severity" and value not in SEVERITIES:
                raise AnsibleFilterError(
                    f"{where}.severity is {value!r}, expected one of"
                    f" {', '.join(SEVERITIES)}"
                )
            if key == "threshold" and not (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and 0 < value < 1
            ):
                raise AnsibleFilterError(
                    f"{where}.threshold is {value!r}, expected a fraction between"
                    " 0 and 1 such as 0.9"
                )
    return overrides


def _budget(tiers, service) -> float:
    """Return the error budget (1 - objective) of the service's tier."""
    if not isinstance(tiers, dict) or not tiers:
        raise AnsibleFilterError(
            "vigil_slo_tiers is missing or empty: give each tier an objective,"
            " such as {1: {objective: 0.999}}"
        )
    tier = service.get("tier")
    entry = tiers.get(tier, tiers.get(str(tier)))
    if entry is None and str(tier).isdigit():
        entry = tiers.get(int(tier))
    if not isinstance(entry, dict) or "objective" not in entry:
        raise AnsibleFilterError(
            f"service '{service.get('name')}' has tier {tier!r}, which has no"
            " objective in vigil_slo_tiers: add the tier or change the service's"
            " tier"
        )
    objective = entry["objective"]
    if (
        isinstance(objective, bool)
        or not isinstance(objective, (int, float))
        or not (0 < objective < 1)
    ):
        raise AnsibleFilterError(
            f"vigil_slo_tiers.{tier}.objective is {objective!r}, expected a"
            " fraction between 0 and 1 such as 0.999"
        )
    return 1 - objective


def _burn_expr(name: str, budget: float, pairs) -> str:
    clauses = []
    for long, short, factor in pairs:
        threshold = _number(factor * budget)
        clauses.append(
            f'(\n  {RATIO}{long}{{service="{name}"}} > {threshold}\n'
            f'  and\n  {RATIO}{short}{{service="{name}"}} > {threshold}\n)'
        )
    return "\nor\n".join(clauses)


def _service_definitions(service, tiers, overrides) -> list[dict]:
    name = service["name"]
    budget = _budget(tiers, service)
    objective = _number(1 - budget)
    definitions = []
    for alert, default in SERVICE_ALERTS.items():
        settings = {**default, **overrides.get(alert, {})}
        pairs = ", or ".join(
            f"{_number(factor)}x over {long} and {short}"
            for long, short, factor in default["pairs"]
        )
        speed = "fast" if alert.endswith("Fast") else "slowly"
        definitions.append(
            {
                "alert": alert,
                "service": name,
                "team": str(service["team"]),
                "severity": settings["severity"],
                "budget": budget,
                "expr": _burn_expr(name, budget, default["pairs"]),
                "for": settings["for"],
                "keep_firing_for": settings["keep_firing_for"],
                "labels": {
                    "team": str(service["team"]),
                    "severity": settings["severity"],
                    "service": name,
                    "tier": str(service["tier"]),
                },
                "annotations": {
                    "summary": f"{name} spends its error budget {speed}",
                    "description": (
                        f"The 5xx ratio of {name} (tier {service['tier']}, objective"
                        f" {objective}) burns the error budget at {pairs}."
                    ),
                },
            }
        )
    return definitions


def _host_expr(alert: str, threshold: float, mountpoints_exclude: str = "") -> str:
    limit = _number(threshold)
    selector = FILESYSTEM
    if mountpoints_exclude:
        selector += f', mountpoint!~"{mountpoints_exclude}"'
    avail = f"node_filesystem_avail_bytes{{{selector}}}"
    size = f"node_filesystem_size_bytes{{{selector}}}"
    writable = f"node_filesystem_readonly{{{selector}}} == 0"
    if alert == "HostCpuBusy":
        return (
            "1 - avg without (cpu, mode) (\n"
            '  rate(node_cpu_seconds_total{mode="idle"}[5m])\n'
            f") > {limit}"
        )
    if alert == "HostMemoryLow":
        return f"node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < {limit}"
    if alert == "HostDiskSpaceLow":
        return f"(\n  {avail} / {size} < {limit}\n)\nand\n{writable}"
    return (
        f"(\n  {avail} / {size} < {limit}\n"
        f"  and\n  predict_linear({avail}[6h], 24 * 3600) < 0\n)\nand\n{writable}"
    )


def _host_annotations(alert: str, threshold: float) -> dict[str, str]:
    percent = f"{threshold * 100:g} %"
    where = "{{ $labels.instance }}"
    mount = "{{ $labels.mountpoint }} on {{ $labels.instance }}"
    texts = {
        "HostCpuBusy": (
            f"CPU of {where} is busy",
            f"The CPUs of {where} were more than {percent} busy on average.",
        ),
        "HostMemoryLow": (
            f"Memory of {where} is low",
            f"Less than {percent} of the memory of {where} is available.",
        ),
        "HostDiskSpaceLow": (
            f"File system {mount} is almost full",
            f"Less than {percent} of {mount} is available to unprivileged users.",
        ),
        "HostDiskFillingUp": (
            f"File system {mount} fills up",
            f"Less than {percent} of {mount} is available, and at the rate of"
            " the last 6 hours it is full within 24 hours.",
        ),
    }
    summary, description = texts[alert]
    return {"summary": summary, "description": description}


def _test_mountpoint(mountpoints_exclude: str) -> str | None:
    """Return a mount point for the disk test cases that the exclusion keeps.

    PromQL anchors a regular expression at both ends, as fullmatch does.
    """
    for mountpoint in TEST_MOUNTPOINTS:
        if not mountpoints_exclude or not re.fullmatch(mountpoints_exclude, mountpoint):
            return mountpoint
    return None


def _check_mountpoints_exclude(value) -> str:
    """Validate vigil_alert_filesystem_mountpoints_exclude, a PromQL regex."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or '"' in value or "\n" in value:
        raise AnsibleFilterError(
            f"vigil_alert_filesystem_mountpoints_exclude is {value!r}: expected"
            " one regular expression on one line without double quotes, such as"
            " '^/(boot|mnt/backup)$'"
        )
    try:
        re.compile(value)
    except re.error as error:
        raise AnsibleFilterError(
            f"vigil_alert_filesystem_mountpoints_exclude is {value!r}, which is"
            f" not a regular expression ({error}); fix the pattern"
        ) from None
    if _test_mountpoint(value) is None:
        raise AnsibleFilterError(
            f"vigil_alert_filesystem_mountpoints_exclude is {value!r}, which"
            f" matches every mount point, even {', '.join(TEST_MOUNTPOINTS)}, so"
            " the disk alerts could never fire: list only the mount points to"
            " leave out, such as '^/(boot|mnt/backup)$'"
        )
    return value


def _host_definitions(overrides, mountpoints_exclude="") -> list[dict]:
    definitions = []
    for alert, default in HOST_ALERTS.items():
        settings = {**default, **overrides.get(alert, {})}
        definition = {
            "alert": alert,
            "team": INFRASTRUCTURE_TEAM,
            "severity": settings["severity"],
            "threshold": settings["threshold"],
            "expr": _host_expr(alert, settings["threshold"], mountpoints_exclude),
            "for": settings["for"],
            "keep_firing_for": settings["keep_firing_for"],
            "labels": {
                "team": INFRASTRUCTURE_TEAM,
                "severity": settings["severity"],
            },
            "annotations": _host_annotations(alert, settings["threshold"]),
        }
        if alert.startswith("HostDisk"):
            definition["test_mountpoint"] = _test_mountpoint(mountpoints_exclude)
        definitions.append(definition)
    return definitions


def _check_service(service, index: int) -> None:
    """Raise when a catalogue entry lacks the name, team or tier that alerts read.

    playbooks/08_alert_rules.yml may run without the catalogue check of the
    prometheus role, so the filter names the entry and the fix itself.
    """
    where = f"vigil_services[{index}]"
    if not isinstance(service, dict):
        raise AnsibleFilterError(
            f"{where} is {service!r}, expected a mapping with name, team and tier"
        )
    name = service.get("name")
    if not isinstance(name, str) or not _SERVICE_NAME_RE.match(name):
        raise AnsibleFilterError(
            f"{where}.name is {name!r}, expected lower-case letters, digits and"
            " '_', starting with a letter, such as user_management"
        )
    team = service.get("team")
    if not isinstance(team, str) or not team.strip():
        raise AnsibleFilterError(
            f"{where}.team ({name}) is {team!r}: set the team that owns the"
            " service, a key of vigil_alert_channels"
        )
    tier = service.get("tier")
    if isinstance(tier, bool) or not str(tier).isdigit():
        raise AnsibleFilterError(
            f"{where}.tier ({name}) is {tier!r}, expected a whole number that"
            " vigil_slo_tiers has, such as 1"
        )


def alert_definitions(services, tiers, overrides=None, mountpoints_exclude=""):
    """Build the neutral alert list: burn rates per service, then host alerts.

    ``mountpoints_exclude`` is a regular expression of mount points that the
    file system alerts ignore, on top of the ignored file system types.

    Each entry has ``alert``, ``team``, ``severity``, ``expr``, ``for``,
    ``keep_firing_for``, ``labels`` and ``annotations``. Service alerts also
    have ``service`` and ``budget``, host alerts ``threshold``, and the
    disk alerts ``test_mountpoint``, the mount point of their test cases.
    """
    overrides = _check_overrides(overrides)
    mountpoints_exclude = _check_mountpoints_exclude(mountpoints_exclude)
    if not isinstance(services, list):
        raise AnsibleFilterError(
            f"vigil_services is {type(services).__name__}, expected a list"
        )
    for index, service in enumerate(services):
        _check_service(service, index)
    definitions = []
    ordered = sorted(services, key=lambda s: (int(s["tier"]), s["name"]))
    for service in ordered:
        definitions += _service_definitions(service, tiers, overrides)
    return definitions + _host_definitions(overrides, mountpoints_exclude)


def _teams(definitions) -> list[str]:
    return sorted({definition["team"] for definition in definitions})


def alerts_prometheus_groups(definitions):
    """Render the alerts as Prometheus rule groups, one group per team."""
    groups = []
    for team in _teams(definitions):
        rules = []
        for definition in definitions:
            if definition["team"] != team:
                continue
            rules.append(
                {
                    "alert": definition["alert"],
                    "expr": definition["expr"],
                    "for": definition["for"],
                    "keep_firing_for": definition["keep_firing_for"],
                    "labels": dict(definition["labels"]),
                    "annotations": dict(definition["annotations"]),
                }
            )
        groups.append({"name": f"alerts_{team}", "rules": rules})
    return groups


def _folder_uids(folders, teams) -> dict[str, str]:
    """Map team names to folder uids, from a mapping or from grafana_teams.

    Without ``folders``, each team's folder uid is the team name.
    """
    if not folders:
        return {team: team for team in teams}
    if isinstance(folders, dict):
        for team, uid in folders.items():
            if not isinstance(uid, str) or not uid:
                raise AnsibleFilterError(
                    f"the folder uid of team '{team}' is {uid!r}: map each team"
                    " to the uid of its folder, such as {development: development}"
                )
        return {str(team): uid for team, uid in folders.items()}
    if not isinstance(folders, list):
        raise AnsibleFilterError(
            f"grafana_teams is {type(folders).__name__}, expected a list of teams"
            " with name and folders"
        )
    uids = {}
    for index, team in enumerate(folders):
        team_folders = []
        if isinstance(team, dict):
            team_folders = team.get("folders") or []
        valid = (
            isinstance(team, dict)
            and bool(team.get("name"))
            and isinstance(team_folders, list)
            and all(isinstance(item, dict) and item.get("uid") for item in team_folders)
        )
        if not valid:
            raise AnsibleFilterError(
                f"grafana_teams[{index}] is {team!r}: give each team a name and"
                " a list of folders, each with a uid and a title"
            )
        if team_folders:
            uids[str(team["name"])] = str(team_folders[0]["uid"])
    return uids


def grafana_rule_uid(alert: str, service: str | None = None) -> str:
    """Derive a stable rule uid (at most 40 characters) from alert and service."""
    digest = hashlib.sha256(f"{alert}/{service or ''}".encode()).hexdigest()
    return f"vigil-{digest[:24]}"


def _grafana_rule(definition, datasource_uid: str) -> dict:
    service = definition.get("service")
    title = f"{definition['alert']} {service}" if service else definition["alert"]
    return {
        "uid": grafana_rule_uid(definition["alert"], service),
        "title": title,
        "condition": "B",
        "data": [
            {
                "refId": "A",
                "datasourceUid": datasource_uid,
                "relativeTimeRange": {"from": 600, "to": 0},
                "model": {"refId": "A", "expr": definition["expr"], "instant": True},
            },
            {
                "refId": "B",
                "datasourceUid": GRAFANA_EXPRESSION_UID,
                "relativeTimeRange": {"from": 0, "to": 0},
                "model": {
                    "refId": "B",
                    "type": "math",
                    # 1 for every series that query A returns: the PromQL
                    # expression already applied the threshold.
                    "expression": "is_number($A)",
                    "datasource": {
                        "type": GRAFANA_EXPRESSION_UID,
                        "uid": GRAFANA_EXPRESSION_UID,
                    },
                },
            },
        ],
        "for": definition["for"],
        "keep_firing_for": definition["keep_firing_for"],
        "labels": dict(definition["labels"]),
        "annotations": dict(definition["annotations"]),
        # A healthy expression returns no series, which is not an alert.
        "no_data_state": "OK",
        "exec_err_state": "Error",
    }


def alerts_grafana_rule_groups(
    definitions, datasource_uid="prometheus", folders=None, interval="1m"
):
    """Render the alerts as Grafana rule groups, one per team in its folder.

    ``folders`` maps team names to folder uids, or is ``grafana_teams``, whose
    first folder of each team is used. When empty, the team names are the
    folder uids. A service alert becomes one rule per
    service; a host alert one rule for all hosts, like its Prometheus rule.
    """
    uids = _folder_uids(folders, _teams(definitions))
    groups = []
    for team in _teams(definitions):
        if team not in uids:
            raise AnsibleFilterError(
                f"team '{team}' owns alerts but has no folder in grafana_teams:"
                " give the team an entry with at least one folder"
            )
        rules = [
            _grafana_rule(definition, datasource_uid)
            for definition in definitions
            if definition["team"] == team
        ]
        groups.append(
            {
                "folder_uid": uids[team],
                "name": f"alerts_{team}",
                "interval": interval,
                "rules": rules,
            }
        )
    return groups


# Promtool test cases. Each alert gets input series for a run of scrapes,
# one a minute, each either healthy or in breach. The cases check that the
# alert fires on a breach, stays silent when healthy, keeps firing through one
# healthy scrape (keep_firing_for), ignores one bad scrape, and resolves.

_HOST = {"instance": "host1:9100", "job": "node"}
_DISK_BYTES = 100_000_000_000
_MEMORY_BYTES = 8_000_000_000


def _series(metric: str, labels: dict[str, str]) -> str:
    text = ", ".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    return f"{metric}{{{text}}}"


def _values(numbers) -> str:
    return " ".join(
        f"{round(number, 9):g}" if isinstance(number, float) else str(number)
        for number in numbers
    )


def _burn_series(definition, states):
    default = SERVICE_ALERTS[definition["alert"]]
    budget = definition["budget"]
    labels = {"service": definition["service"]}
    series = []
    for long, short, _factor in default["pairs"]:
        for window in (long, short):
            values = [
                budget * (default["test_bad"] if bad else default["test_healthy"])
                for bad in states
            ]
            series.append(
                {"series": _series(RATIO + window, labels), "values": _values(values)}
            )
    return series, labels


def _cpu_series(definition, states):
    threshold = definition["threshold"]
    idle_per_minute = {True: 60 * (1 - threshold) / 2, False: 60 * (1 - threshold / 2)}
    total, values = 0.0, []
    for bad in states:
        values.append(total)
        total += idle_per_minute[bad]
    labels = {**_HOST, "cpu": "0", "mode": "idle"}
    return [
        {"series": _series("node_cpu_seconds_total", labels), "values": _values(values)}
    ], dict(_HOST)


def _memory_series(definition, states):
    threshold = definition["threshold"]
    ratio = {True: threshold / 2, False: (1 + threshold) / 2}
    available = [int(_MEMORY_BYTES * ratio[bad]) for bad in states]
    return [
        {
            "series": _series("node_memory_MemAvailable_bytes", _HOST),
            "values": _values(available),
        },
        {
            "series": _series("node_memory_MemTotal_bytes", _HOST),
            "values": _values([_MEMORY_BYTES] * len(states)),
        },
    ], dict(_HOST)


def _filesystem(labels, avail, free, readonly=0):
    count = len(avail)
    return [
        {
            "series": _series("node_filesystem_avail_bytes", labels),
            "values": _values(avail),
        },
        # Free bytes include the blocks reserved for root. They stay high in
        # the breach, so only a rule that reads avail bytes fires.
        {
            "series": _series("node_filesystem_free_bytes", labels),
            "values": _values(free),
        },
        {
            "series": _series("node_filesystem_size_bytes", labels),
            "values": _values([_DISK_BYTES] * count),
        },
        {
            "series": _series("node_filesystem_readonly", labels),
            "values": _values([readonly] * count),
        },
    ]


def _disk_labels(fstype="ext4", device="/dev/vda1", mountpoint="/"):
    return {**_HOST, "device": device, "fstype": fstype, "mountpoint": mountpoint}


def _ignored_filesystems(avail, free):
    """Build file systems in breach that the disk alerts must ignore."""
    series = []
    for fstype, mountpoint in (
        ("tmpfs", "/run"),
        ("overlay", "/var/lib/docker/overlay2/x/merged"),
        ("squashfs", "/snap/core/1"),
    ):
        series += _filesystem(_disk_labels(fstype, fstype, mountpoint), avail, free)
    series += _filesystem(
        _disk_labels(mountpoint="/mnt/readonly", device="/dev/vdb1"),
        avail,
        free,
        readonly=1,
    )
    return series


def _disk_values(definition, states):
    """Return the avail and free bytes of a file system, one value a minute."""
    threshold = definition["threshold"]
    if definition["alert"] == "HostDiskSpaceLow":
        ratio = {True: threshold / 2, False: (1 + threshold) / 2}
        avail = [int(_DISK_BYTES * ratio[bad]) for bad in states]
    else:
        # In breach the file system is below the threshold and loses 1/300 of
        # that level a minute, so predict_linear reaches 0 well within 24 hours.
        avail = [
            int(_DISK_BYTES * threshold * 0.9 * (1 - minute / 300))
            if bad
            else int(_DISK_BYTES * (1 + threshold) / 2)
            for minute, bad in enumerate(states)
        ]
    free = [min(_DISK_BYTES, value + int(_DISK_BYTES * 0.3)) for value in avail]
    return avail, free


def _disk_series(definition, states):
    avail, free = _disk_values(definition, states)
    labels = _disk_labels(mountpoint=definition.get("test_mountpoint") or "/")
    return _filesystem(labels, avail, free) + _ignored_filesystems(avail, free), labels


# Per alert: the series builder, the minutes before the expression can
# return a result (a rate needs two scrapes), and the number of evaluations
# that one healthy scrape leaves the expression empty (5 for a 5m rate).
_SCENARIOS = {
    "ServiceErrorBudgetBurnFast": (_burn_series, 0, 1),
    "ServiceErrorBudgetBurnSlow": (_burn_series, 0, 1),
    "HostCpuBusy": (_cpu_series, 1, 5),
    "HostMemoryLow": (_memory_series, 0, 1),
    "HostDiskSpaceLow": (_disk_series, 0, 1),
    "HostDiskFillingUp": (_disk_series, 1, 1),
}


def _expand(text: str, labels: dict[str, str]) -> str:
    return _LABEL_TEMPLATE_RE.sub(lambda match: labels.get(match.group(1), ""), text)


def _check(definition, eval_minute: int, firing_labels) -> dict:
    expected = []
    if firing_labels is not None:
        labels = {**firing_labels, **definition["labels"]}
        expected.append(
            {
                "exp_labels": labels,
                "exp_annotations": {
                    key: _expand(value, labels)
                    for key, value in definition["annotations"].items()
                },
            }
        )
    return {
        "eval_time": f"{eval_minute}m",
        "alertname": definition["alert"],
        "exp_alerts": expected,
    }


def _case(definition, title: str, states, checks) -> dict:
    """Build a case from one state a minute (True is a breach)."""
    build = _SCENARIOS[definition["alert"]][0]
    series, labels = build(definition, states)
    return _series_case(definition, title, series, labels, checks)


def _series_case(definition, title: str, series, labels, checks) -> dict:
    """Build a case from input series; ``checks`` are (minute, firing) pairs."""
    name = definition["alert"]
    if definition.get("service"):
        name += f" {definition['service']}"
    return {
        "name": f"{name}: {title}",
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [
            _check(definition, minute, labels if firing else None)
            for minute, firing in checks
        ],
    }


def _definition_cases(definition) -> list[dict]:
    _build, warmup, dip_span = _SCENARIOS[definition["alert"]]
    hold = math.ceil(_seconds(definition["for"]) / 60)
    keep = int(_seconds(definition["keep_firing_for"]) // 60)
    fire_at = warmup + hold
    cases = []

    checks = [(fire_at + 1, True)]
    if hold >= 2:
        checks.insert(0, (fire_at - 1, False))
    cases.append(_case(definition, "fires on a breach", [True] * (fire_at + 3), checks))
    cases.append(
        _case(
            definition,
            "silent when healthy",
            [False] * (fire_at + 3),
            [(fire_at + 1, False)],
        )
    )

    dip = fire_at + 1
    if keep > dip_span:
        states = [True] * (dip + dip_span + 3)
        states[dip] = False
        checks = [(dip, True), (dip + dip_span, True), (dip + dip_span + 1, True)]
        cases.append(
            _case(definition, "keeps firing through one healthy scrape", states, checks)
        )

    end = fire_at + 1
    states = [True] * end + [False] * (dip_span + keep + 3)
    checks = [(end - 1, True), (end + dip_span + keep + 1, False)]
    cases.append(_case(definition, "resolves after keep_firing_for", states, checks))

    if hold >= 1:
        blip = warmup + 2
        states = [False] * (blip + hold + 3)
        states[blip] = True
        checks = [(blip, False), (blip + 1, False), (blip + hold + 1, False)]
        cases.append(_case(definition, "ignores one bad scrape", states, checks))
    return cases + _extra_cases(definition, fire_at)


def _extra_cases(definition, fire_at: int) -> list[dict]:
    alert = definition["alert"]
    length = fire_at + 3
    if alert in SERVICE_ALERTS:
        # Long windows still in breach, short windows recovered: the error
        # burst is over, so the alert must not fire.
        series, labels = _burn_series(definition, [True] * length)
        short_windows = [
            short for _long, short, _factor in SERVICE_ALERTS[alert]["pairs"]
        ]
        for entry in series:
            metric = entry["series"].split("{")[0]
            if metric in [RATIO + short for short in short_windows]:
                entry["values"] = _values([0.0] * length)
        title = "silent once the short window recovers"
        return [_series_case(definition, title, series, labels, [(fire_at + 1, False)])]
    if alert.startswith("HostDisk"):
        series = _ignored_filesystems(*_disk_values(definition, [True] * length))
        title = "ignores tmpfs, overlay, squashfs and read-only"
        return [_series_case(definition, title, series, {}, [(fire_at + 1, False)])]
    return []


def alert_rule_tests(definitions):
    """Return promtool test cases for the rules of alerts_prometheus_groups.

    The cases feed the series that the alert expressions read (the service
    error ratios, not the raw histograms), so they run against the alert rule
    file alone. They follow the ``for`` and ``keep_firing_for`` of each alert,
    so overrides keep them valid. They need an evaluation interval of 1m or
    less. The case "keeps firing through one healthy scrape" is left out when
    keep_firing_for is shorter than the gap it has to bridge.
    """
    cases = []
    for definition in definitions:
        cases += _definition_cases(definition)
    return cases


class FilterModule:
    """Alerting filters of vigil.monitoring."""

    def filters(self):
        return {
            "alert_definitions": alert_definitions,
            "alerts_prometheus_groups": alerts_prometheus_groups,
            "alerts_grafana_rule_groups": alerts_grafana_rule_groups,
            "alert_rule_tests": alert_rule_tests,
        }
