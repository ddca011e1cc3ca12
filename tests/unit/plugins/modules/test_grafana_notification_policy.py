# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for grafana_notification_policy, run as a subprocess against the double.

The double keeps one policy tree per organization for the whole session, so
the ``policy`` fixture resets the tree of org 1 before and after each test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_routes import (
    comparable,
    format_duration,
    parse_duration,
    removed_routes,
    route_matchers,
)

MODULE = "grafana_notification_policy"
POLICIES = "/api/v1/provisioning/policies"
CONTACT_POINTS = "/api/v1/provisioning/contact-points"
DEV = "policy-development"
INFRA = "policy-infrastructure"
LEGACY = "policy-legacy"
DEFAULT_RECEIVER = "grafana-default-email"


def assert_ok(result: dict[str, Any]) -> dict[str, Any]:
    assert not result.get("failed"), result.get("msg")
    return result


def writes_since(grafana, start: int) -> list[str]:
    return [
        f"{record['method']} {record['target']}"
        for record in grafana.records[start:]
        if record["method"] != "GET"
    ]


def team_route(team: str, receiver: str, **fields: Any) -> dict[str, Any]:
    route = {"receiver": receiver, "object_matchers": [["team", "=", team]]}
    route.update(fields)
    return route


def merge_args(team: str, routes: list[dict[str, Any]], **options: Any) -> dict:
    return {"match": {"team": team}, "routes": routes, **options}


@pytest.fixture
def policy(admin_api):
    """Reset the tree, create the test contact points, and return a tree setter."""
    existing = {point["name"] for point in admin_api.ok("GET", CONTACT_POINTS)}
    for name in (DEV, INFRA, LEGACY):
        if name not in existing:
            point = {
                "name": name,
                "type": "webhook",
                "settings": {"url": f"http://127.0.0.1:9/{name}"},
            }
            status, reply = admin_api.call("POST", CONTACT_POINTS, point)
            assert status == 202, reply
    admin_api.call("DELETE", POLICIES)

    def set_tree(tree: dict[str, Any]) -> None:
        status, reply = admin_api.call("PUT", POLICIES, tree)
        assert status == 202, reply

    yield set_tree
    admin_api.call("DELETE", POLICIES)


@pytest.fixture
def shared_tree(policy) -> dict[str, Any]:
    """Set a tree with custom root settings and a route of the infrastructure team."""
    tree = {
        "receiver": DEFAULT_RECEIVER,
        "group_by": ["grafana_folder", "alertname"],
        "group_wait": "45s",
        "repeat_interval": "12h",
        "routes": [team_route("infrastructure", INFRA, group_by=["instance"])],
    }
    policy(tree)
    return tree


def stored(admin_api) -> dict[str, Any]:
    return admin_api.ok("GET", POLICIES)


def test_policy_merge_adds_team_route(run_module, admin_api, grafana, shared_tree):
    routes = [team_route("development", DEV, group_wait="30s")]

    first = assert_ok(run_module(MODULE, merge_args("development", routes)))
    start = len(grafana.records)
    second = assert_ok(run_module(MODULE, merge_args("development", routes)))
    tree = stored(admin_api)

    assert first["changed"] is True
    assert first["removed_routes"] == []
    assert second["changed"] is False
    assert writes_since(grafana, start) == []
    assert tree["receiver"] == DEFAULT_RECEIVER
    assert tree["group_by"] == ["grafana_folder", "alertname"]
    assert tree["group_wait"] == "45s"
    assert tree["repeat_interval"] == "12h"
    assert tree["routes"][0] == shared_tree["routes"][0]
    assert tree["routes"][1] == routes[0]
    assert first["policy"] == tree
    assert second["policy"] == tree


def test_policy_merge_changes_timing(run_module, admin_api, grafana, shared_tree):
    routes = [team_route("development", DEV, repeat_interval="4h")]
    assert_ok(run_module(MODULE, merge_args("development", routes)))

    routes[0]["repeat_interval"] = "2h"
    changed = assert_ok(run_module(MODULE, merge_args("development", routes)))
    routes[0]["repeat_interval"] = "120m"
    start = len(grafana.records)
    same_length = assert_ok(run_module(MODULE, merge_args("development", routes)))

    assert changed["changed"] is True
    assert stored(admin_api)["routes"][1]["repeat_interval"] == "2h"
    assert same_length["changed"] is False
    assert writes_since(grafana, start) == []


def test_policy_merge_two_teams_in_turn(run_module, admin_api, grafana, policy):
    development = merge_args(
        "development",
        [team_route("development", DEV, group_by=["alertname", "service"])],
    )
    infrastructure = merge_args(
        "infrastructure",
        [
            team_route(
                "infrastructure",
                INFRA,
                object_matchers=[["team", "=", "infrastructure"], ["tier", "=", "1"]],
                repeat_interval="1h",
            ),
            team_route("infrastructure", INFRA),
        ],
    )

    results = [
        assert_ok(run_module(MODULE, args))
        for args in (development, infrastructure, development, infrastructure)
    ]
    tree = stored(admin_api)

    assert [result["changed"] for result in results] == [True, True, False, False]
    assert [route["receiver"] for route in tree["routes"]] == [DEV, INFRA, INFRA]
    assert tree["routes"][0]["group_by"] == ["alertname", "service"]
    assert tree["routes"][1]["repeat_interval"] == "1h"
    assert tree["receiver"] == DEFAULT_RECEIVER


def test_policy_merge_replaces_at_first_owned(run_module, admin_api, policy):
    policy(
        {
            "receiver": DEFAULT_RECEIVER,
            "routes": [
                team_route("development", LEGACY),
                team_route("infrastructure", INFRA),
                {"receiver": LEGACY, "match": {"team": "development", "env": "qa"}},
            ],
        }
    )
    routes = [team_route("development", DEV, group_wait="1m")]

    result = assert_ok(run_module(MODULE, merge_args("development", routes)))
    tree = stored(admin_api)

    assert result["changed"] is True
    assert [route["receiver"] for route in tree["routes"]] == [DEV, INFRA]
    assert tree["routes"][0]["group_wait"] == "1m"
    assert [entry["path"] for entry in result["removed_routes"]] == ["routes[2]"]
    assert result["removed_routes"][0]["route"]["match"] == {
        "team": "development",
        "env": "qa",
    }


def test_policy_merge_goes_before_catch_all(run_module, admin_api, policy):
    policy(
        {
            "receiver": DEFAULT_RECEIVER,
            "routes": [
                team_route("infrastructure", INFRA),
                {"receiver": LEGACY},
                team_route("qa", LEGACY),
            ],
        }
    )
    routes = [team_route("development", DEV)]

    result = assert_ok(run_module(MODULE, merge_args("development", routes)))
    tree = stored(admin_api)

    assert result["changed"] is True
    receivers = [route["receiver"] for route in tree["routes"]]
    assert receivers == [INFRA, DEV, LEGACY, LEGACY]
    assert result["removed_routes"] == []


def test_policy_merge_absent_removes_owned(run_module, admin_api, shared_tree):
    routes = [team_route("development", DEV)]
    assert_ok(run_module(MODULE, merge_args("development", routes)))

    args = {"match": {"team": "development"}, "state": "absent"}
    removed = assert_ok(run_module(MODULE, args))
    again = assert_ok(run_module(MODULE, args))

    assert removed["changed"] is True
    assert again["changed"] is False
    assert stored(admin_api)["routes"] == shared_tree["routes"]


def test_policy_merge_check_mode(run_module, admin_api, grafana, shared_tree):
    args = merge_args("development", [team_route("development", DEV)])
    start = len(grafana.records)

    checked = assert_ok(run_module(MODULE, args, check_mode=True))
    untouched = stored(admin_api)
    applied = assert_ok(run_module(MODULE, args))

    assert checked["changed"] is True
    assert writes_since(grafana, start)[0] == f"PUT {POLICIES}"
    assert len(writes_since(grafana, start)) == 1
    assert untouched["routes"] == shared_tree["routes"]
    assert checked["policy"] == applied["policy"]


def test_policy_merge_check_mode_unchanged(run_module, grafana, shared_tree):
    args = merge_args("development", [team_route("development", DEV)])
    assert_ok(run_module(MODULE, args))

    checked = assert_ok(run_module(MODULE, args, check_mode=True))

    assert checked["changed"] is False


def test_policy_merge_diff_shows_trees(run_module, shared_tree):
    args = merge_args("development", [team_route("development", DEV)])

    result = assert_ok(run_module(MODULE, args, diff_mode=True))
    before = json.loads(result["diff"]["before"])
    after = json.loads(result["diff"]["after"])

    assert result["diff"]["before_header"] == "notification policy tree"
    assert [route["receiver"] for route in before["routes"]] == [INFRA]
    assert [route["receiver"] for route in after["routes"]] == [INFRA, DEV]
    assert after["group_wait"] == "45s"
    assert "prepared" not in result["diff"]


def test_policy_tree_removal_listed(run_module, admin_api, grafana, shared_tree):
    tree = {
        "receiver": DEFAULT_RECEIVER,
        "group_by": ["grafana_folder", "alertname"],
        "routes": [team_route("development", DEV)],
    }
    args = {"mode": "tree", "tree": tree}

    checked = assert_ok(run_module(MODULE, args, check_mode=True, diff_mode=True))
    applied = assert_ok(run_module(MODULE, args, diff_mode=True))
    start = len(grafana.records)
    again = assert_ok(run_module(MODULE, args))
    result = stored(admin_api)

    for run in (checked, applied):
        assert run["changed"] is True
        assert run["removed_routes"] == [
            {"path": "routes[0]", "route": shared_tree["routes"][0]}
        ]
        assert "routes[0]" in run["diff"]["prepared"]
        assert INFRA in run["diff"]["prepared"]
    assert checked["policy"] == applied["policy"]
    assert again["changed"] is False
    assert again["removed_routes"] == []
    assert writes_since(grafana, start) == []
    assert [route["receiver"] for route in result["routes"]] == [DEV]
    # The root timings that the task leaves unset are gone with the old tree.
    assert "group_wait" not in result


def test_policy_tree_root_defaults_equal(run_module, grafana, policy):
    policy({"receiver": DEFAULT_RECEIVER, "group_by": ["alertname"]})
    tree = {
        "receiver": DEFAULT_RECEIVER,
        "group_by": ["alertname"],
        "group_wait": "30s",
        "group_interval": "300s",
        "repeat_interval": "4h",
        "routes": [],
    }
    start = len(grafana.records)

    result = assert_ok(run_module(MODULE, {"mode": "tree", "tree": tree}))

    assert result["changed"] is False
    assert writes_since(grafana, start) == []


def test_policy_tree_absent_resets(run_module, admin_api, grafana, shared_tree):
    args = {"mode": "tree", "state": "absent"}

    reset = assert_ok(run_module(MODULE, args))
    start = len(grafana.records)
    again = assert_ok(run_module(MODULE, args))
    tree = stored(admin_api)

    assert reset["changed"] is True
    assert [entry["path"] for entry in reset["removed_routes"]] == ["routes[0]"]
    assert again["changed"] is False
    assert writes_since(grafana, start) == []
    assert tree["receiver"] == DEFAULT_RECEIVER
    assert "routes" not in tree


def test_policy_unknown_receiver_fails(run_module, admin_api, grafana, shared_tree):
    args = merge_args("development", [team_route("development", "nobody")])
    start = len(grafana.records)

    checked = run_module(MODULE, args, check_mode=True)
    result = run_module(MODULE, args)

    for run in (checked, result):
        assert run["failed"] is True
        assert "routes[0].receiver" in run["msg"]
        assert "'nobody'" in run["msg"]
        assert "does not exist" in run["msg"]
    assert writes_since(grafana, start) == []
    assert stored(admin_api)["routes"] == shared_tree["routes"]


def test_policy_pending_contact_point_check_mode(
    run_module, admin_api, grafana, shared_tree
):
    routes = [team_route("development", "not-yet-created")]
    args = merge_args("development", routes, pending_contact_points=["not-yet-created"])
    start = len(grafana.records)

    checked = assert_ok(run_module(MODULE, args, check_mode=True))
    result = run_module(MODULE, args)

    assert checked["changed"] is True
    assert result["failed"] is True
    assert "'not-yet-created'" in result["msg"]
    assert writes_since(grafana, start) == []
    assert stored(admin_api)["routes"] == shared_tree["routes"]


def test_policy_unknown_interval_fails(run_module, grafana, shared_tree):
    route = team_route("development", DEV, mute_time_intervals=["weekends"])
    start = len(grafana.records)

    result = run_module(MODULE, merge_args("development", [route]))

    assert result["failed"] is True
    assert "routes[0].mute_time_intervals" in result["msg"]
    assert "'weekends'" in result["msg"]
    assert writes_since(grafana, start) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("group_wait", "5 minutes"),
        ("group_interval", "0s"),
        ("repeat_interval", "1m4h"),
    ],
)
def test_policy_bad_duration_fails_early(run_module, grafana, field, value):
    route = team_route("development", DEV, **{field: value})
    start = len(grafana.records)

    result = run_module(MODULE, merge_args("development", [route]))

    assert result["failed"] is True
    assert f"routes[0].{field}" in result["msg"]
    assert repr(value) in result["msg"]
    assert len(grafana.records) == start


def test_policy_route_without_match_fails(run_module, grafana):
    routes = [team_route("development", DEV), team_route("infrastructure", INFRA)]
    start = len(grafana.records)

    result = run_module(MODULE, merge_args("development", routes))

    assert result["failed"] is True
    assert "routes[1]" in result["msg"]
    assert '["team", "=", "development"]' in result["msg"]
    assert len(grafana.records) == start


@pytest.mark.parametrize(
    ("args", "option"),
    [
        ({"routes": []}, "match"),
        ({"match": {"team": None}, "routes": []}, "match.team"),
        ({"match": {"team": "development"}}, "routes"),
        ({"mode": "tree"}, "tree"),
        ({"mode": "tree", "tree": {"group_by": ["alertname"]}}, "tree.receiver"),
        (
            {"match": {"team": "x"}, "routes": [{"receiver": DEV, "grup_by": []}]},
            "routes[0].grup_by",
        ),
    ],
)
def test_policy_invalid_options_fail(run_module, grafana, args, option):
    start = len(grafana.records)

    result = run_module(MODULE, args)

    assert result["failed"] is True
    assert f"Option {option} " in result["msg"]
    assert len(grafana.records) == start


def test_policy_provenance_header(run_module, admin_api, grafana, shared_tree):
    routes = [team_route("development", DEV)]
    editable = merge_args("development", routes, disable_provenance=True)
    start = len(grafana.records)

    first = assert_ok(run_module(MODULE, editable))
    puts = [r for r in grafana.records[start:] if r["method"] == "PUT"]
    second = assert_ok(run_module(MODULE, editable))
    provisioned = assert_ok(run_module(MODULE, merge_args("development", routes)))
    last_put = [r for r in grafana.records if r["method"] == "PUT"][-1]

    assert first["changed"] is True
    assert len(puts) == 1
    assert puts[0]["request_headers"]["x-disable-provenance"] == "true"
    assert first["policy"]["provenance"] == ""
    assert second["changed"] is False
    assert provisioned["changed"] is True
    assert "x-disable-provenance" not in last_put["request_headers"]
    assert stored(admin_api)["provenance"] == "api"


def test_policy_reset_provenance_header(run_module, grafana, shared_tree):
    start = len(grafana.records)

    args = {"mode": "tree", "state": "absent", "disable_provenance": True}

    result = assert_ok(run_module(MODULE, args))
    deletes = [r for r in grafana.records[start:] if r["method"] == "DELETE"]

    assert result["changed"] is True
    assert len(deletes) == 1
    assert deletes[0]["request_headers"]["x-disable-provenance"] == "true"


def test_policy_grafana_short_durations(run_module, admin_api, grafana, policy):
    policy(
        {
            "receiver": DEFAULT_RECEIVER,
            "routes": [team_route("development", DEV, group_interval="90s")],
        }
    )
    routes = [team_route("development", DEV, group_interval="90s")]
    start = len(grafana.records)

    result = assert_ok(run_module(MODULE, merge_args("development", routes)))

    assert stored(admin_api)["routes"][0]["group_interval"] == "1m30s"
    assert result["changed"] is False
    assert writes_since(grafana, start) == []


@pytest.mark.parametrize(
    ("text", "milliseconds", "short"),
    [
        ("0", 0, "0s"),
        ("60s", 60_000, "1m"),
        ("90s", 90_000, "1m30s"),
        ("1h30m", 5_400_000, "1h30m"),
        ("2d", 172_800_000, "2d"),
        ("14d", 1_209_600_000, "2w"),
        ("90d", 7_776_000_000, "90d"),
        ("1500ms", 1500, "1s500ms"),
    ],
)
def test_duration_parse_and_format(text, milliseconds, short):
    assert parse_duration(text) == milliseconds
    assert format_duration(milliseconds) == short


@pytest.mark.parametrize("text", ["", "5", "1m1h", "1.5h", "5 m", "-1s", "1hh", "5m\n"])
def test_duration_invalid(text):
    assert parse_duration(text) is None


def test_route_matchers_all_forms():
    route = {
        "object_matchers": [["severity", "!=", "info"]],
        "matchers": ['team="development"', "env=~qa|dev", '"odd label"!~"x\\"y"'],
        "match": {"tier": 1},
        "match_re": {"service": "api.*"},
    }

    assert route_matchers(route) == [
        ("env", "=~", "qa|dev"),
        ("odd label", "!~", 'x"y'),
        ("service", "=~", "api.*"),
        ("severity", "!=", "info"),
        ("team", "=", "development"),
        ("tier", "=", "1"),
    ]


def test_comparable_ignores_forms():
    grafana_form = {
        "receiver": DEV,
        "matchers": ['team="development"', 'env="qa"'],
        "group_by": ["service", "alertname"],
        "group_wait": "1m",
        "continue": False,
        "mute_time_intervals": [],
        "provenance": "api",
    }
    option_form = {
        "receiver": DEV,
        "object_matchers": [["env", "=", "qa"], ["team", "=", "development"]],
        "group_by": ["alertname", "service"],
        "group_wait": "60s",
        "routes": [],
    }

    assert comparable(grafana_form) == comparable(option_form)
    assert comparable(grafana_form) != comparable({**option_form, "continue": True})


def test_removed_routes_nested_paths():
    before = {
        "receiver": DEFAULT_RECEIVER,
        "routes": [
            {
                "receiver": DEV,
                "object_matchers": [["team", "=", "development"]],
                "routes": [
                    {"receiver": DEV, "object_matchers": [["severity", "=", "page"]]},
                    {"receiver": LEGACY, "match": {"severity": "ticket"}},
                ],
            },
            {"receiver": LEGACY, "object_matchers": [["team", "=", "legacy"]]},
        ],
    }
    after = {
        "receiver": DEFAULT_RECEIVER,
        "routes": [
            {
                "receiver": INFRA,
                "matchers": ['team="development"'],
                "routes": [
                    {"receiver": DEV, "object_matchers": [["severity", "=", "page"]]}
                ],
            }
        ],
    }

    removed = removed_routes(before, after)

    assert [entry["path"] for entry in removed] == ["routes[0].routes[1]", "routes[1]"]
    assert removed[0]["route"] == before["routes"][0]["routes"][1]
    assert removed[1]["route"] == before["routes"][1]
