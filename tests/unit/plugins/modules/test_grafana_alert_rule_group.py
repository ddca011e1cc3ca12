# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for grafana_alert_rule_group, run as a subprocess against the double."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_api import (
    GrafanaAPIError,
)
from ansible_collections.vigil.monitoring.plugins.modules import (
    grafana_alert_rule_group,
)

MODULE = "grafana_alert_rule_group"
PROMETHEUS_UID = "prometheus"


def assert_ok(result: dict[str, Any]) -> dict[str, Any]:
    assert not result.get("failed"), result.get("msg")
    return result


def assert_failed(result: dict[str, Any]) -> str:
    assert result.get("failed"), result
    return str(result["msg"])


def group_path(folder_uid: str, name: str) -> str:
    return f"/api/v1/provisioning/folder/{folder_uid}/rule-groups/{name}"


def exchanges_since(grafana, start: int) -> list[dict[str, Any]]:
    return list(grafana.records[start:])


def writes_since(grafana, start: int) -> list[str]:
    return [
        f"{record['method']} {record['target']}"
        for record in exchanges_since(grafana, start)
        if record["method"] != "GET"
    ]


def memory_rule(**overrides: Any) -> dict[str, Any]:
    """Return a Prometheus-style alert: A is the alert expression, B is 1 per series."""
    rule = {
        "title": "HostMemoryLow",
        "condition": "B",
        "data": [
            {
                "refId": "A",
                "datasourceUid": PROMETHEUS_UID,
                "relativeTimeRange": {"from": 600, "to": 0},
                "model": {
                    "expr": "node_memory_MemAvailable_bytes"
                    " / node_memory_MemTotal_bytes < 0.1",
                    "instant": True,
                    "refId": "A",
                },
            },
            {
                "refId": "B",
                "datasourceUid": "__expr__",
                "model": {"type": "math", "expression": "is_number($A)", "refId": "B"},
            },
        ],
        "for": "5m",
        "keep_firing_for": "5m",
        "no_data_state": "OK",
        "exec_err_state": "Error",
        "labels": {"team": "infrastructure", "severity": "page"},
        "annotations": {
            "summary": "Less than 10% memory available on {{ $labels.instance }}",
        },
    }
    rule.update(overrides)
    return rule


def cpu_rule(**overrides: Any) -> dict[str, Any]:
    rule = memory_rule(title="HostCpuBusy", **overrides)
    rule["data"][0]["model"]["expr"] = (
        '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])) > 0.9'
    )
    rule["labels"] = {"team": "infrastructure", "severity": "ticket"}
    return rule


@pytest.fixture(scope="session")
def prometheus_datasource(admin_api) -> str:
    status, _ = admin_api.call("GET", f"/api/datasources/uid/{PROMETHEUS_UID}")
    if status == 404:
        admin_api.ok(
            "POST",
            "/api/datasources",
            {
                "uid": PROMETHEUS_UID,
                "name": "Prometheus (rule group tests)",
                "type": "prometheus",
                "access": "proxy",
                "url": "http://127.0.0.1:9",
            },
        )
    return PROMETHEUS_UID


@pytest.fixture
def folder(admin_api, unique, prometheus_datasource) -> str:
    uid = f"{unique}-alerts"
    admin_api.ok("POST", "/api/folders", {"uid": uid, "title": f"Alerts {unique}"})
    return uid


@pytest.fixture
def group_args(folder, unique) -> dict[str, Any]:
    return {
        "folder_uid": folder,
        "name": f"{unique}-infrastructure",
        "interval": "1m",
        "rules": [memory_rule(), cpu_rule()],
    }


def test_rule_group_created(run_module, admin_api, grafana, group_args):
    start = len(grafana.records)

    result = assert_ok(run_module(MODULE, group_args))

    assert result["changed"] is True
    assert result["created"] is True
    assert result["interval"] == 60
    assert result["removed_rules"] == []
    assert [rule["title"] for rule in result["rules"]] == [
        "HostMemoryLow",
        "HostCpuBusy",
    ]
    assert writes_since(grafana, start) == [
        f"PUT {group_path(group_args['folder_uid'], group_args['name'])}"
    ]
    stored = admin_api.ok(
        "GET", group_path(group_args["folder_uid"], group_args["name"])
    )
    assert stored["interval"] == 60
    first = stored["rules"][0]
    assert first["uid"] == result["rules"][0]["uid"]
    assert first["condition"] == "B"
    assert first["for"] == "5m"
    assert first["keep_firing_for"] == "5m"
    assert first["noDataState"] == "OK"
    assert first["execErrState"] == "Error"
    assert first["labels"] == {"team": "infrastructure", "severity": "page"}
    assert first["provenance"] == "api"
    assert first["data"][0]["model"]["instant"] is True
    assert first["data"][1]["model"]["expression"] == "is_number($A)"
    assert first["data"][1]["relativeTimeRange"] == {"from": 0, "to": 0}


def test_rule_group_derived_uids_stable(run_module, group_args):
    result = assert_ok(run_module(MODULE, group_args))
    uids = [rule["uid"] for rule in result["rules"]]

    assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", uid) for uid in uids)
    assert uids[0].startswith("hostmemorylow-")
    assert len(set(uids)) == 2


def test_rule_group_rerun_sends_no_write(run_module, grafana, group_args):
    assert_ok(run_module(MODULE, group_args))
    # Same durations in other spellings: 300s for 5m, seconds for the interval.
    respelled = copy.deepcopy(group_args)
    respelled["interval"] = "60"
    respelled["rules"][0]["for"] = "300s"
    respelled["rules"][0]["keep_firing_for"] = "4m60s"
    start = len(grafana.records)

    second = assert_ok(run_module(MODULE, respelled, diff_mode=True))

    assert second["changed"] is False
    assert second["created"] is False
    assert writes_since(grafana, start) == []
    assert second["diff"]["before"] == second["diff"]["after"]


def test_rule_group_for_changed(run_module, admin_api, grafana, group_args):
    created = assert_ok(run_module(MODULE, group_args))
    group_args["rules"][0]["for"] = "10m"
    start = len(grafana.records)

    result = assert_ok(run_module(MODULE, group_args, diff_mode=True))

    assert result["changed"] is True
    assert result["rules"] == created["rules"]
    assert len(writes_since(grafana, start)) == 1
    before = json.loads(result["diff"]["before"])
    after = json.loads(result["diff"]["after"])
    assert before["rules"][0]["for"] == "5m"
    assert after["rules"][0]["for"] == "10m"
    stored = admin_api.ok(
        "GET", group_path(group_args["folder_uid"], group_args["name"])
    )
    assert stored["rules"][0]["for"] == "10m"
    assert stored["rules"][0]["uid"] == created["rules"][0]["uid"]


def test_rule_group_rule_removed(run_module, admin_api, grafana, group_args):
    created = assert_ok(run_module(MODULE, group_args))
    group_args["rules"] = [memory_rule()]
    start = len(grafana.records)

    result = assert_ok(run_module(MODULE, group_args, diff_mode=True))

    assert result["changed"] is True
    assert result["removed_rules"] == [created["rules"][1]]
    assert len(writes_since(grafana, start)) == 1
    before = json.loads(result["diff"]["before"])
    after = json.loads(result["diff"]["after"])
    assert [rule["title"] for rule in before["rules"]] == [
        "HostMemoryLow",
        "HostCpuBusy",
    ]
    assert [rule["title"] for rule in after["rules"]] == ["HostMemoryLow"]
    stored = admin_api.ok(
        "GET", group_path(group_args["folder_uid"], group_args["name"])
    )
    assert [rule["title"] for rule in stored["rules"]] == ["HostMemoryLow"]


def test_rule_group_check_mode_predicts(run_module, admin_api, grafana, group_args):
    path = group_path(group_args["folder_uid"], group_args["name"])
    start = len(grafana.records)

    predicted = assert_ok(run_module(MODULE, group_args, check_mode=True))

    assert predicted["changed"] is True
    assert writes_since(grafana, start) == []
    assert admin_api.call("GET", path)[0] == 404

    applied = assert_ok(run_module(MODULE, group_args))
    assert applied["rules"] == predicted["rules"]
    group_args["rules"] = [cpu_rule()]
    start = len(grafana.records)

    removal = assert_ok(run_module(MODULE, group_args, check_mode=True))

    assert removal["changed"] is True
    assert removal["removed_rules"] == [applied["rules"][0]]
    assert writes_since(grafana, start) == []
    assert len(admin_api.ok("GET", path)["rules"]) == 2


def test_rule_group_stored_title_keeps_uid(run_module, admin_api, group_args):
    path = group_path(group_args["folder_uid"], group_args["name"])
    body = {
        "title": group_args["name"],
        "folderUid": group_args["folder_uid"],
        "interval": 60,
        "rules": [
            {
                "uid": "made-in-the-ui",
                "orgID": 1,
                "folderUID": group_args["folder_uid"],
                "ruleGroup": group_args["name"],
                "title": "HostMemoryLow",
                "condition": "A",
                "data": [memory_rule()["data"][0]],
                "noDataState": "NoData",
                "execErrState": "Error",
                "for": "1m",
            }
        ],
    }
    admin_api.ok("PUT", path, body)

    result = assert_ok(run_module(MODULE, group_args))

    assert result["rules"][0]["uid"] == "made-in-the-ui"
    assert result["removed_rules"] == []


def test_rule_group_absent(run_module, admin_api, grafana, group_args):
    path = group_path(group_args["folder_uid"], group_args["name"])
    created = assert_ok(run_module(MODULE, group_args))
    absent = {**group_args, "state": "absent"}
    del absent["rules"]

    checked = assert_ok(run_module(MODULE, absent, check_mode=True, diff_mode=True))
    assert checked["changed"] is True
    assert admin_api.call("GET", path)[0] == 200

    start = len(grafana.records)
    removed = assert_ok(run_module(MODULE, absent, diff_mode=True))
    again = assert_ok(run_module(MODULE, absent))

    assert removed["changed"] is True
    assert removed["removed_rules"] == created["rules"]
    assert removed["diff"]["after"] == ""
    assert writes_since(grafana, start) == [f"DELETE {path}"]
    assert again["changed"] is False
    assert admin_api.call("GET", path)[0] == 404


def test_rule_group_provenance_header(run_module, admin_api, grafana, group_args):
    path = group_path(group_args["folder_uid"], group_args["name"])
    args = {**group_args, "disable_provenance": True}
    start = len(grafana.records)

    assert_ok(run_module(MODULE, args))

    writes = [
        record
        for record in exchanges_since(grafana, start)
        if record["method"] == "PUT"
    ]
    assert len(writes) == 1
    assert writes[0]["request_headers"].get("x-disable-provenance") == "true"
    stored = admin_api.ok("GET", path)
    assert {rule["provenance"] for rule in stored["rules"]} == {""}

    unchanged = assert_ok(run_module(MODULE, args))
    locked = assert_ok(run_module(MODULE, group_args))

    assert unchanged["changed"] is False
    assert locked["changed"] is True
    assert {rule["provenance"] for rule in admin_api.ok("GET", path)["rules"]} == {
        "api"
    }


def test_rule_group_file_provenance_fails(run_module, grafana, group_args):
    created = assert_ok(run_module(MODULE, group_args))
    # Marks a rule as provisioned from a file; the double reads no alerting files.
    with grafana.store.lock:
        rule = grafana.store.find("alert_rules", uid=created["rules"][0]["uid"])
        rule["provenance"] = "file"
    group_args["rules"][0]["for"] = "15m"
    start = len(grafana.records)

    message = assert_failed(run_module(MODULE, group_args))
    absent_message = assert_failed(
        run_module(MODULE, {**group_args, "state": "absent", "rules": None})
    )

    assert "disable_provenance" in message
    assert "'file'" in message
    assert "provisioning directory" in message
    assert "disable_provenance" in absent_message
    assert writes_since(grafana, start) == []


def test_rule_group_missing_folder(run_module, grafana, unique):
    args = {"folder_uid": f"{unique}-none", "name": "g", "rules": [memory_rule()]}
    start = len(grafana.records)

    message = assert_failed(run_module(MODULE, args))

    assert f"folder_uid '{unique}-none' does not exist" in message
    assert writes_since(grafana, start) == []


def test_rule_group_pending_folder_check_mode(run_module, grafana, unique):
    args = {
        "folder_uid": f"{unique}-later",
        "name": "g",
        "rules": [memory_rule()],
        "pending_folder": True,
    }
    start = len(grafana.records)

    checked = run_module(MODULE, args, check_mode=True)
    message = assert_failed(run_module(MODULE, args))

    assert checked.get("failed") is not True, checked
    assert checked["changed"] is True
    assert f"folder_uid '{unique}-later' does not exist" in message
    assert writes_since(grafana, start) == []


def _invalid_rules_cases() -> list[tuple[str, dict[str, Any], str]]:
    duplicate = {"rules": [memory_rule(), memory_rule()]}
    unknown_condition = {"rules": [memory_rule(condition="C")]}
    bad_for = {"rules": [memory_rule(**{"for": "5 minutes"})]}
    bad_keep = {"rules": [memory_rule(keep_firing_for="1.5s")]}
    odd_interval = {"interval": "15s"}
    zero_interval = {"interval": "0s"}
    bad_uid = {"rules": [memory_rule(uid="not/valid")]}
    repeated_ref = {"rules": [memory_rule()]}
    repeated_ref["rules"][0]["data"][1]["refId"] = "A"
    repeated_ref["rules"][0]["data"][1]["model"]["refId"] = "A"
    empty = {"rules": []}
    return [
        ("duplicate titles", duplicate, "rules[1].title 'HostMemoryLow' repeats"),
        ("unknown condition", unknown_condition, "condition 'C' is not a refId"),
        ("bad for", bad_for, ".for '5 minutes' is not a valid duration"),
        ("fractional keep", bad_keep, ".keep_firing_for '1.5s' is not a valid"),
        ("odd interval", odd_interval, "interval '15s' is invalid"),
        ("zero interval", zero_interval, "interval '0s' is invalid"),
        ("bad uid", bad_uid, ".uid 'not/valid' is invalid"),
        ("repeated refId", repeated_ref, ".data repeats refId A"),
        ("empty rules", empty, "rules is empty"),
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [case[1:] for case in _invalid_rules_cases()],
    ids=[case[0] for case in _invalid_rules_cases()],
)
def test_rule_group_invalid_options(run_module, grafana, change, expected):
    args = {"folder_uid": "never-read", "name": "g", "rules": [memory_rule()]}
    args.update(change)
    start = len(grafana.records)

    message = assert_failed(run_module(MODULE, args))

    assert expected in message
    assert exchanges_since(grafana, start) == []


@pytest.mark.parametrize(
    ("option", "value"),
    [("no_data_state", "Pending"), ("exec_err_state", "NoData")],
)
def test_rule_group_unknown_state(run_module, grafana, option, value):
    args = {
        "folder_uid": "never-read",
        "name": "g",
        "rules": [memory_rule(**{option: value})],
    }
    start = len(grafana.records)

    message = assert_failed(run_module(MODULE, args))

    assert option in message
    assert value in message
    assert exchanges_since(grafana, start) == []


class ProvenanceRejectingClient:
    """Client that finds the folder and no group, and fails every write."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.headers: list[dict[str, str]] = []

    def get(self, path: str, **kwargs: Any) -> Any:
        return {"uid": "alerts"} if path.startswith("/api/folders/") else None

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        self.headers.append(kwargs.get("headers") or {})
        raise GrafanaAPIError(
            f"{method} {path} failed with HTTP 409: {self.message}",
            method,
            path,
            409,
            self.message,
        )


def test_rule_group_rejected_provenance_write():
    client = ProvenanceRejectingClient(
        "cannot update with provided provenance '', needs 'file'"
    )
    params = {
        "folder_uid": "alerts",
        "name": "g",
        "interval": "1m",
        "rules": [memory_rule()],
        "disable_provenance": True,
        "state": "present",
    }

    with pytest.raises(GrafanaAPIError) as raised:
        grafana_alert_rule_group.run(params, client=client)

    assert "needs 'file'" in str(raised.value)
    assert "disable_provenance=true" in str(raised.value)
    assert raised.value.status == 409
    assert client.headers == [{"X-Disable-Provenance": "true"}]
