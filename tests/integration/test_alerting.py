"""Alerts from end to end: Prometheus rules, Alertmanager, the teams' webhooks.

The sandbox inventory sends both teams' notifications to webhooks on the
controller's address on the sandbox network, where a receiver of
alerting_support.py records them by path (/development, /infrastructure).

conftest.py runs this module after all others, and its tests run in file
order: first the checks that the healthy sandbox raised nothing, then the
routing check of playbooks/09_verify.yml, then the tests that break the
sandbox on purpose (a high error ratio, a full disk) and put it back.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import requests
from alerting_support import (
    FILL_MOUNTPOINT,
    RECEIVER_PORT,
    TestFilesystem,
    WebhookReceiver,
    controller_mounts,
    network_gateway,
    set_error_ratio,
)
from conftest import (
    APP1,
    APP2,
    CA_FILE,
    HOSTS,
    INVENTORY,
    MON1,
    NAME,
    REPO,
    run_playbook,
)

# The alerts of the shared rule set that the sandbox loads into Prometheus.
EXPECTED_ALERTS = {
    "ServiceErrorBudgetBurnFast",
    "ServiceErrorBudgetBurnSlow",
    "HostCpuBusy",
    "HostMemoryLow",
    "HostDiskSpaceLow",
    "HostDiskFillingUp",
}
# node_exporter in a container reads the controller's /proc/stat and
# /proc/meminfo, so these alerts are about the controller on every host.
CONTROLLER_ALERTS = {"HostCpuBusy", "HostMemoryLow"}
ROUTING_CHECK = "VigilRoutingCheck"
HEALTHY_WINDOW_S = 600
# Error ratio of every endpoint while the service is broken: far above the
# 14.4-fold burn of a 0.1 % budget, so the 1 h ratio passes it in minutes.
BROKEN_ERROR_RATIO = 0.5
ERROR_ALERT_TIMEOUT_S = 480
DISK_ALERT_TIMEOUT_S = 480
TMPFS_MOUNTPOINT = "/srv/vigil-fill-tmpfs"

pytestmark = pytest.mark.sandbox


def prometheus(sandbox, path: str, **params) -> dict:
    response = requests.get(
        f"https://{sandbox['addresses'][MON1]}:9090{path}",
        params=params,
        auth=("admin", sandbox["secrets"]["prometheus_web_password"]),
        verify=str(CA_FILE),
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["data"]


def query(sandbox, expression: str) -> list:
    return prometheus(sandbox, "/api/v1/query", query=expression)["result"]


def inventory_variable(name: str):
    """Return a variable of vigil-mon1 as Ansible renders it from the inventory."""
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible")),
            MON1,
            "-i",
            str(INVENTORY),
            "-m",
            "ansible.builtin.debug",
            "-a",
            f"var={name}",
        ],
        cwd=REPO,
        env=dict(
            os.environ,
            ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
            ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    report = json.loads(done.stdout[done.stdout.find("{") :])
    return report["plays"][0]["tasks"][0]["hosts"][MON1][name]


def summary(alerts: list[dict]) -> list[str]:
    return [
        f"{a.get('path', '')} {a.get('status', '')} {a.get('labels', a)}"
        for a in alerts
    ]


def labels_of(series: list[dict]) -> list[dict]:
    return [sample["metric"] for sample in series]


@pytest.fixture(scope="module")
def channels(converged) -> dict:
    return inventory_variable("vigil_alert_channels")


def about_controller(labels: dict) -> bool:
    """Tell whether an alert is about the controller's CPUs or memory."""
    return labels.get("alertname") in CONTROLLER_ALERTS


@pytest.fixture(scope="module")
def receiver(converged):
    """The teams' webhook receiver, recording from the start of this module."""
    with WebhookReceiver(network_gateway(f"{NAME}-sandbox")) as started:
        yield started


def loaded_since(sandbox) -> float:
    """Return the time since which every alert rule group has been loaded.

    Prometheus scrapes its own prometheus_rule_group_rules for each loaded
    group, so a range query finds where each group's series began.
    """
    groups = prometheus(sandbox, "/api/v1/rules", type="alert")["groups"]
    names = {rule["name"] for group in groups for rule in group["rules"]}
    assert EXPECTED_ALERTS <= names, (
        f"Prometheus has no alert rules {sorted(EXPECTED_ALERTS - names)}"
    )
    now = time.time()
    step = 15
    latest = 0.0
    for group in groups:
        label = f"{group['file']};{group['name']}"
        series = prometheus(
            sandbox,
            "/api/v1/query_range",
            query=f'prometheus_rule_group_rules{{rule_group="{label}"}}',
            start=now - HEALTHY_WINDOW_S - 300,
            end=now,
            step=step,
        )["result"]
        stamps = [float(t) for t, _ in series[0]["values"]] if series else []
        if not stamps or stamps[-1] < now - 4 * step:
            return now
        first = stamps[-1]
        for stamp in reversed(stamps[:-1]):
            if first - stamp > 4 * step:
                break
            first = stamp
        latest = max(latest, first)
    return latest


def test_webhooks_point_at_the_receiver(channels, receiver):
    backends = inventory_variable("vigil_alerting_backends")
    assert "alertmanager" in backends
    urls = {
        team: [i["url"] for i in channel["integrations"] if i["type"] == "webhook"]
        for team, channel in channels.items()
    }
    assert urls == {
        team: [f"http://{receiver.host}:{RECEIVER_PORT}/{team}"] for team in channels
    }
    assert {"development", "infrastructure"} <= set(channels)


def test_controller_disk_mounts_are_not_alerted_on(sandbox, converged):
    """Docker's mounts from the controller's disk are outside the disk alerts."""
    exclude = inventory_variable("vigil_alert_filesystem_mountpoints_exclude")
    pattern = re.compile(exclude)
    reported = {
        (sample["instance"], sample["mountpoint"])
        for sample in labels_of(query(sandbox, "node_filesystem_size_bytes"))
    }
    for host in HOSTS:
        # Only the mounts that node_exporter reports can reach an alert.
        mounts = {m for m in controller_mounts(host) if (host, m) in reported}
        assert "/etc/hosts" in mounts, (host, sorted(reported))
        assert [m for m in mounts if not pattern.fullmatch(m)] == [], host
    groups = prometheus(sandbox, "/api/v1/rules", type="alert")["groups"]
    disk_queries = [
        rule["query"]
        for group in groups
        for rule in group["rules"]
        if rule["name"] in ("HostDiskSpaceLow", "HostDiskFillingUp")
    ]
    assert len(disk_queries) == 2
    for text in disk_queries:
        assert f'mountpoint!~"{exclude}"' in text, text


def test_healthy_sandbox_raises_no_alert(sandbox, converged, receiver):
    # A rule needs the whole window loaded for "no alert" to mean anything.
    wait = loaded_since(sandbox) + HEALTHY_WINDOW_S + 30 - time.time()
    if wait > 0:
        time.sleep(wait)
    alerts = labels_of(query(sandbox, f"last_over_time(ALERTS[{HEALTHY_WINDOW_S}s])"))
    # The sandbox hosts share the controller's CPUs and memory, which the
    # sandbox does not control, so alerts about those are warnings here. The
    # mounts that Docker makes from the controller's disk are excluded by
    # vigil_alert_filesystem_mountpoints_exclude, so every disk alert counts.
    controller_alerts = [a for a in alerts if about_controller(a)]
    if controller_alerts:
        warnings.warn(
            f"alerts about the controller's resources: {controller_alerts}",
            stacklevel=1,
        )
    sandbox_alerts = [a for a in alerts if a not in controller_alerts]
    assert sandbox_alerts == [], "alerts pending or firing in a healthy sandbox"
    received = [a for a in receiver.alerts() if not about_controller(a["labels"])]
    assert summary(received) == []


def test_routing_check_reaches_each_team_only(channels, receiver):
    since = time.time()
    run = run_playbook(
        "playbooks/09_verify.yml", extra_vars={"vigil_verify_alert_routing": True}
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr
    posted = [
        result
        for play in run.report.get("plays", [])
        for task in play["tasks"]
        if task["task"]["name"] == "Post a routing check alert for each team"
        for result in task["hosts"].values()
        if not result.get("skipped")
    ]
    assert posted, "playbooks/09_verify.yml posted no routing check alert"
    for team in channels:
        found = receiver.wait_for(
            lambda a, team=team: (
                a["labels"].get("alertname") == ROUTING_CHECK
                and a["labels"].get("team") == team
            ),
            timeout=180,
            path=f"/{team}",
            since=since,
        )
        assert found, f"no {ROUTING_CHECK} alert for team {team} at /{team}"
    for alert in receiver.alerts(since=since):
        if alert["labels"].get("alertname") == ROUTING_CHECK:
            assert alert["path"] == "/" + alert["labels"]["team"], summary([alert])


def test_error_budget_burn_pages_development(sandbox, converged, receiver):
    since = time.time()
    saved = {}
    try:
        for host in (APP1, APP2):
            saved[host] = set_error_ratio(host, BROKEN_ERROR_RATIO)
        found = receiver.wait_for(
            lambda a: (
                a["labels"].get("alertname") == "ServiceErrorBudgetBurnFast"
                and a.get("status") == "firing"
            ),
            timeout=ERROR_ALERT_TIMEOUT_S,
            since=since,
        )
    finally:
        for host, settings in saved.items():
            set_error_ratio(host, None, saved=settings)
    assert found, (
        "no ServiceErrorBudgetBurnFast notification within "
        f"{ERROR_ALERT_TIMEOUT_S} s; ALERTS: {labels_of(query(sandbox, 'ALERTS'))}"
    )
    for alert in found:
        assert alert["path"] == "/development", summary([alert])
        assert alert["labels"]["team"] == "development"
        assert alert["labels"]["severity"] == "page"
        assert alert["labels"]["service"] == "user_management"
    # Nothing about the service reaches the infrastructure team.
    others = [
        a
        for a in receiver.alerts("/infrastructure", since=since)
        if a["labels"].get("alertname") != ROUTING_CHECK
        and not about_controller(a["labels"])
    ]
    assert summary(others) == []


def test_full_disk_pages_infrastructure(sandbox, converged, receiver):
    since = time.time()
    with (
        TestFilesystem(APP1, TMPFS_MOUNTPOINT, size_mib=4, fstype="tmpfs") as tmpfs,
        TestFilesystem(APP1) as disk,
    ):
        tmpfs.fill(0.99, steps=1)
        disk.fill(0.96, duration=120)
        available, size = disk.usage()
        assert available / size < 0.1
        reported = {
            m["mountpoint"]: m["fstype"]
            for m in labels_of(
                query(
                    sandbox,
                    "node_filesystem_avail_bytes{mountpoint="
                    f'~"{FILL_MOUNTPOINT}|{TMPFS_MOUNTPOINT}"}}',
                )
            )
        }
        # node_exporter may leave tmpfs out; then it cannot alert either.
        assert reported.get(FILL_MOUNTPOINT) == "ext4", reported
        assert reported.get(TMPFS_MOUNTPOINT, "tmpfs") == "tmpfs", reported

        def disk_alert(name):
            return lambda a: (
                a["labels"].get("alertname") == name
                and a["labels"].get("mountpoint") == FILL_MOUNTPOINT
                and a.get("status") == "firing"
            )

        low = receiver.wait_for(
            disk_alert("HostDiskSpaceLow"),
            timeout=DISK_ALERT_TIMEOUT_S,
            path="/infrastructure",
            since=since,
        )
        # HostDiskFillingUp counts only when it came in time: its window
        # needs the filling to show as a trend.
        filling = receiver.wait_for(
            disk_alert("HostDiskFillingUp"),
            timeout=60,
            path="/infrastructure",
            since=since,
        )
        alerted = [
            a
            for a in labels_of(
                query(sandbox, 'last_over_time(ALERTS{alertname=~"HostDisk.*"}[15m])')
            )
            if not about_controller(a)
        ]
    assert low, (
        f"no HostDiskSpaceLow notification for {FILL_MOUNTPOINT} within "
        f"{DISK_ALERT_TIMEOUT_S} s; received: {summary(receiver.alerts(since=since))}"
    )
    for alert in low:
        assert alert["labels"]["team"] == "infrastructure"
        assert alert["labels"]["severity"] == "page"
        assert alert["labels"]["instance"].split(":")[0] == APP1, alert["labels"]
    for alert in filling:
        assert alert["labels"]["team"] == "infrastructure"
        assert alert["labels"]["severity"] == "ticket"
    # Only the ext4 file system alerted, never the full tmpfs or an overlay.
    assert {a["mountpoint"] for a in alerted} == {FILL_MOUNTPOINT}, alerted
    assert {a["fstype"] for a in alerted if "fstype" in a} <= {"ext4"}
    disk_alerts = [
        a
        for a in receiver.alerts(since=since)
        if a["labels"].get("alertname", "").startswith("Host")
        and not about_controller(a["labels"])
    ]
    assert {a["path"] for a in disk_alerts} == {"/infrastructure"}
    assert {a["labels"].get("mountpoint") for a in disk_alerts} == {FILL_MOUNTPOINT}
    # The development team hears of no host alert.
    assert (
        summary(
            [
                a
                for a in receiver.alerts("/development", since=since)
                if a["labels"].get("team") != "development"
            ]
        )
        == []
    )
