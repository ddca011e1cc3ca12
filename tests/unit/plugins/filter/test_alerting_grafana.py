"""The rendered Grafana rule groups, pushed to the Grafana double by the module.

grafana_alert_rule_group sends the groups of alerts_grafana_rule_groups the
way playbooks/08_alert_rules.yml does, and the contract test checks every
exchange against Grafana's OpenAPI description.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]
MODULE = "grafana_alert_rule_group"
PROMETHEUS_UID = "prometheus"

spec = importlib.util.spec_from_file_location(
    "alerting_for_grafana", REPO / "plugins/filter/alerting.py"
)
alerting = importlib.util.module_from_spec(spec)
spec.loader.exec_module(alerting)


def inventory_vars(name: str) -> dict:
    path = REPO / f"inventories/staging/group_vars/all/{name}.yml"
    return yaml.safe_load(path.read_text())


@pytest.fixture
def rendered_groups(admin_api, unique) -> list[dict]:
    status, _ = admin_api.call("GET", f"/api/datasources/uid/{PROMETHEUS_UID}")
    if status == 404:
        admin_api.ok(
            "POST",
            "/api/datasources",
            {
                "uid": PROMETHEUS_UID,
                "name": "Prometheus (rendered alert tests)",
                "type": "prometheus",
                "access": "proxy",
                "url": "http://127.0.0.1:9",
            },
        )
    folders = {}
    for team in ("development", "infrastructure"):
        uid = f"{unique}-{team}"
        admin_api.ok("POST", "/api/folders", {"uid": uid, "title": uid})
        folders[team] = uid
    settings = inventory_vars("alerting")
    definitions = alerting.alert_definitions(
        inventory_vars("services")["vigil_services"],
        settings["vigil_slo_tiers"],
        settings["vigil_alert_overrides"],
    )
    return alerting.alerts_grafana_rule_groups(definitions, PROMETHEUS_UID, folders)


def group_args(group: dict) -> dict:
    return {
        "folder_uid": group["folder_uid"],
        "name": group["name"],
        "interval": group["interval"],
        "rules": group["rules"],
    }


def test_rendered_groups_accepted(run_module, admin_api, rendered_groups):
    for group in rendered_groups:
        result = run_module(MODULE, group_args(group))
        assert not result.get("failed"), result.get("msg")
        assert result["changed"] is True
        stored = admin_api.ok(
            "GET",
            f"/api/v1/provisioning/folder/{group['folder_uid']}"
            f"/rule-groups/{group['name']}",
        )
        assert [rule["uid"] for rule in stored["rules"]] == [
            rule["uid"] for rule in group["rules"]
        ]
        assert [rule["title"] for rule in stored["rules"]] == [
            rule["title"] for rule in group["rules"]
        ]


def test_rendered_groups_rerun_unchanged(run_module, rendered_groups):
    for group in rendered_groups:
        first = run_module(MODULE, group_args(group))
        assert not first.get("failed"), first.get("msg")
        second = run_module(MODULE, group_args(group))
        assert not second.get("failed"), second.get("msg")
        assert second["changed"] is False
