"""Notification policy tree: Grafana's duration form and route validation."""

from __future__ import annotations

import pytest
from double_support import Api, expect

POLICIES = "/api/v1/provisioning/policies"


def _tree(**route: object) -> dict:
    child = {"receiver": "grafana-default-email", **route}
    return {"receiver": "grafana-default-email", "routes": [child]}


def test_policy_durations_stored_short(admin: Api) -> None:
    tree = _tree(group_wait="60s", group_interval="90s", repeat_interval="336h")
    tree["group_wait"] = "0"

    expect(admin.put(f"{POLICIES}", tree), 202)
    stored = expect(admin.get(POLICIES), 200)

    assert stored["group_wait"] == "0s"
    assert stored["routes"][0]["group_wait"] == "1m"
    assert stored["routes"][0]["group_interval"] == "1m30s"
    assert stored["routes"][0]["repeat_interval"] == "2w"


@pytest.mark.parametrize(
    "route",
    [
        {"group_wait": "5 minutes"},
        {"repeat_interval": "1m1h"},
        {"group_interval": "0s"},
        {"repeat_interval": "0"},
        {"object_matchers": [["team", "==", "dev"]]},
        {"group_by": ["alertname", "alertname"]},
        {"group_by": ["...", "alertname"]},
    ],
)
def test_policy_invalid_route_rejected(admin: Api, route: dict) -> None:
    before = expect(admin.get(POLICIES), 200)

    reply = expect(admin.put(POLICIES, _tree(**route)), 400)

    assert reply["message"].startswith("invalid object specification")
    assert expect(admin.get(POLICIES), 200) == before


def test_policy_root_matchers_rejected(admin: Api) -> None:
    tree = {
        "receiver": "grafana-default-email",
        "object_matchers": [["team", "=", "dev"]],
    }

    reply = expect(admin.put(POLICIES, tree), 400)

    assert "root route must not have any matchers" in reply["message"]
