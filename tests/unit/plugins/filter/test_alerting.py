"""The alerting filters: definitions, overrides, Prometheus and Grafana rendering.

The promtool runs of the rendered rules are in tests/unit/alerting.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]

spec = importlib.util.spec_from_file_location(
    "alerting", REPO / "plugins/filter/alerting.py"
)
alerting = importlib.util.module_from_spec(spec)
spec.loader.exec_module(alerting)

SERVICES = yaml.safe_load(
    (REPO / "inventories/staging/group_vars/all/services.yml").read_text()
)["vigil_services"]
TIERS = {1: {"objective": 0.999}, 2: {"objective": 0.995}, 3: {"objective": 0.99}}
GRAFANA_TEAMS = yaml.safe_load(
    (REPO / "inventories/staging/group_vars/all/grafana_teams.yml").read_text()
)["grafana_teams"]


def by_key(definitions):
    return {(d["alert"], d.get("service")): d for d in definitions}


def test_definitions_order_and_count():
    definitions = alerting.alert_definitions(SERVICES, TIERS)
    keys = [(d["alert"], d.get("service")) for d in definitions]
    assert keys == [
        ("ServiceErrorBudgetBurnFast", "user_management"),
        ("ServiceErrorBudgetBurnSlow", "user_management"),
        ("ServiceErrorBudgetBurnFast", "financial_core"),
        ("ServiceErrorBudgetBurnSlow", "financial_core"),
        ("ServiceErrorBudgetBurnFast", "cms"),
        ("ServiceErrorBudgetBurnSlow", "cms"),
        ("HostCpuBusy", None),
        ("HostMemoryLow", None),
        ("HostDiskSpaceLow", None),
        ("HostDiskFillingUp", None),
    ]


def test_definitions_defaults():
    definitions = by_key(alerting.alert_definitions(SERVICES, TIERS))
    expected = {
        ("ServiceErrorBudgetBurnFast", "cms"): ("page", "2m"),
        ("ServiceErrorBudgetBurnSlow", "cms"): ("ticket", "1h"),
        ("HostCpuBusy", None): ("ticket", "30m"),
        ("HostMemoryLow", None): ("page", "10m"),
        ("HostDiskSpaceLow", None): ("page", "5m"),
        ("HostDiskFillingUp", None): ("ticket", "1h"),
    }
    for key, (severity, hold) in expected.items():
        assert definitions[key]["severity"] == severity
        assert definitions[key]["labels"]["severity"] == severity
        assert definitions[key]["for"] == hold
        assert definitions[key]["keep_firing_for"]


def test_service_definition_labels_and_budget():
    definition = by_key(alerting.alert_definitions(SERVICES, TIERS))[
        ("ServiceErrorBudgetBurnFast", "financial_core")
    ]
    assert definition["team"] == "development"
    assert definition["labels"] == {
        "team": "development",
        "severity": "page",
        "service": "financial_core",
        "tier": "2",
    }
    assert definition["budget"] == pytest.approx(0.005)


def test_burn_rate_expression():
    definition = by_key(alerting.alert_definitions(SERVICES, TIERS))[
        ("ServiceErrorBudgetBurnFast", "user_management")
    ]
    ratio = "service:http_server_request_errors:ratio_rate"
    selector = '{service="user_management"}'
    assert definition["expr"] == (
        f"(\n  {ratio}1h{selector} > 0.0144\n  and\n"
        f"  {ratio}5m{selector} > 0.0144\n)\nor\n"
        f"(\n  {ratio}6h{selector} > 0.006\n  and\n"
        f"  {ratio}30m{selector} > 0.006\n)"
    )


def test_slow_burn_windows():
    definition = by_key(alerting.alert_definitions(SERVICES, TIERS))[
        ("ServiceErrorBudgetBurnSlow", "cms")
    ]
    for window, threshold in (("1d", "0.03"), ("2h", "0.03"), ("3d", "0.01")):
        assert (
            f'ratio_rate{window}{{service="cms"}} > {threshold}' in (definition["expr"])
        )


def test_tier_as_string_key():
    tiers = {
        "1": {"objective": 0.999},
        "2": {"objective": 0.995},
        "3": {"objective": 0.99},
    }
    definitions = alerting.alert_definitions(SERVICES, tiers)
    assert by_key(definitions)[("ServiceErrorBudgetBurnFast", "cms")][
        "budget"
    ] == pytest.approx(0.01)


def test_filesystem_expressions():
    definitions = by_key(alerting.alert_definitions(SERVICES, TIERS))
    for alert in ("HostDiskSpaceLow", "HostDiskFillingUp"):
        expr = definitions[(alert, None)]["expr"]
        assert "node_filesystem_free_bytes" not in expr
        assert "node_filesystem_avail_bytes" in expr
        assert "node_filesystem_size_bytes" in expr
        assert "== 0" in expr
        for fstype in ("tmpfs", "overlay", "squashfs", "ramfs"):
            assert fstype in alerting.IGNORED_FSTYPES
        assert expr.count('fstype!~"') == expr.count("node_filesystem_")
    filling = definitions[("HostDiskFillingUp", None)]["expr"]
    assert "< 0.4" in filling
    assert "[6h], 24 * 3600) < 0" in filling


def test_mountpoints_excluded_from_every_filesystem_selector():
    pattern = "^/(etc/hosts|var/lib/prometheus)$"
    definitions = by_key(alerting.alert_definitions(SERVICES, TIERS, {}, pattern))
    for alert in ("HostDiskSpaceLow", "HostDiskFillingUp"):
        expr = definitions[(alert, None)]["expr"]
        assert expr.count(f'mountpoint!~"{pattern}"') == expr.count("node_filesystem_")
    assert "mountpoint" not in definitions[("HostCpuBusy", None)]["expr"]
    plain = by_key(alerting.alert_definitions(SERVICES, TIERS))
    assert "mountpoint!~" not in plain[("HostDiskSpaceLow", None)]["expr"]


@pytest.mark.parametrize(
    "pattern, message",
    [
        ('^/boot"', "without double quotes"),
        ("^/(boot", "not a regular expression"),
        (["^/boot"], "one regular expression"),
        ("/.*", "matches every mount point"),
    ],
)
def test_mountpoints_exclude_rejected(pattern, message):
    with pytest.raises(alerting.AnsibleFilterError) as error:
        alerting.alert_definitions(SERVICES, TIERS, {}, pattern)
    assert message in str(error.value)
    assert "vigil_alert_filesystem_mountpoints_exclude" in str(error.value)


def test_host_thresholds():
    definitions = by_key(alerting.alert_definitions(SERVICES, TIERS))
    assert definitions[("HostCpuBusy", None)]["expr"].endswith(") > 0.9")
    assert definitions[("HostMemoryLow", None)]["expr"].endswith(" < 0.1")
    assert "< 0.1\n" in definitions[("HostDiskSpaceLow", None)]["expr"]


def test_overrides_applied():
    overrides = {
        "HostCpuBusy": {"threshold": 0.95, "for": "1h", "severity": "page"},
        "ServiceErrorBudgetBurnFast": {"for": "1m", "keep_firing_for": "0s"},
    }
    definitions = by_key(alerting.alert_definitions(SERVICES, TIERS, overrides))
    cpu = definitions[("HostCpuBusy", None)]
    assert cpu["expr"].endswith(") > 0.95")
    assert cpu["for"] == "1h"
    assert cpu["labels"]["severity"] == "page"
    assert "95 %" in cpu["annotations"]["description"]
    fast = definitions[("ServiceErrorBudgetBurnFast", "cms")]
    assert fast["for"] == "1m"
    assert fast["keep_firing_for"] == "0s"
    assert definitions[("ServiceErrorBudgetBurnSlow", "cms")]["for"] == "1h"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"HostDiskFull": {"for": "1m"}}, "'HostDiskFull' is not an alert"),
        ({"HostCpuBusy": {"duration": "1m"}}, "key 'duration' is unknown"),
        ({"ServiceErrorBudgetBurnFast": {"threshold": 0.5}}, "key 'threshold'"),
        ({"HostCpuBusy": {"for": "ten minutes"}}, "expected a Prometheus duration"),
        ({"HostCpuBusy": {"keep_firing_for": ""}}, "keep_firing_for is ''"),
        ({"HostCpuBusy": {"severity": "critical"}}, "expected one of page, ticket"),
        ({"HostCpuBusy": {"threshold": 90}}, "threshold is 90"),
        ({"HostCpuBusy": {"threshold": True}}, "threshold is True"),
        ({"HostCpuBusy": "1m"}, "expected a mapping"),
        (["HostCpuBusy"], "vigil_alert_overrides is list"),
    ],
)
def test_override_rejected(overrides, message):
    with pytest.raises(alerting.AnsibleFilterError) as error:
        alerting.alert_definitions(SERVICES, TIERS, overrides)
    assert message in str(error.value)
    assert "vigil_alert_overrides" in str(error.value)


def test_unknown_alert_names_the_fix():
    with pytest.raises(alerting.AnsibleFilterError) as error:
        alerting.alert_definitions(SERVICES, TIERS, {"HostDiskFull": {}})
    assert "Use one of HostCpuBusy" in str(error.value)
    assert "or remove the entry" in str(error.value)


def test_missing_tier_rejected():
    with pytest.raises(alerting.AnsibleFilterError) as error:
        alerting.alert_definitions(SERVICES, {1: {"objective": 0.999}})
    assert "financial_core" in str(error.value)
    assert "vigil_slo_tiers" in str(error.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tier": None}, "vigil_services[0].tier (user_management) is None"),
        ({"tier": "gold"}, "vigil_services[0].tier (user_management) is 'gold'"),
        ({"team": None}, "vigil_services[0].team (user_management) is None"),
        ({"name": 'a"b'}, "vigil_services[0].name is 'a\"b'"),
    ],
)
def test_service_entry_rejected(change, message):
    services = [{**SERVICES[0], **change}, *SERVICES[1:]]
    with pytest.raises(alerting.AnsibleFilterError) as error:
        alerting.alert_definitions(services, TIERS)
    assert message in str(error.value)


@pytest.mark.parametrize("key", ["name", "team", "tier"])
def test_service_key_missing_rejected(key):
    service = {k: v for k, v in SERVICES[0].items() if k != key}
    with pytest.raises(alerting.AnsibleFilterError) as error:
        alerting.alert_definitions([service], TIERS)
    assert f"vigil_services[0].{key}" in str(error.value)


def test_service_not_mapping_rejected():
    with pytest.raises(alerting.AnsibleFilterError) as error:
        alerting.alert_definitions(["user_management"], TIERS)
    assert "vigil_services[0] is 'user_management'" in str(error.value)


@pytest.mark.parametrize("objective", [1, 0, 1.5, "high", True])
def test_bad_objective_rejected(objective):
    tiers = {**TIERS, 1: {"objective": objective}}
    with pytest.raises(alerting.AnsibleFilterError) as error:
        alerting.alert_definitions(SERVICES, tiers)
    assert "vigil_slo_tiers.1.objective" in str(error.value)


def test_prometheus_groups_one_per_team():
    definitions = alerting.alert_definitions(SERVICES, TIERS)
    groups = alerting.alerts_prometheus_groups(definitions)
    assert [group["name"] for group in groups] == [
        "alerts_development",
        "alerts_infrastructure",
    ]
    development = groups[0]["rules"]
    assert len(development) == 6
    assert {rule["labels"]["team"] for rule in development} == {"development"}
    assert [rule["alert"] for rule in groups[1]["rules"]] == list(alerting.HOST_ALERTS)
    assert set(development[0]) == {
        "alert",
        "expr",
        "for",
        "keep_firing_for",
        "labels",
        "annotations",
    }


def test_grafana_groups_in_team_folders():
    definitions = alerting.alert_definitions(SERVICES, TIERS)
    groups = alerting.alerts_grafana_rule_groups(
        definitions, "prometheus", GRAFANA_TEAMS
    )
    assert [(g["folder_uid"], g["name"], g["interval"]) for g in groups] == [
        ("development", "alerts_development", "1m"),
        ("infrastructure", "alerts_infrastructure", "1m"),
    ]
    titles = [rule["title"] for rule in groups[0]["rules"]]
    assert "ServiceErrorBudgetBurnFast user_management" in titles
    assert len(titles) == 6
    assert [rule["title"] for rule in groups[1]["rules"]] == list(alerting.HOST_ALERTS)


def test_grafana_rule_model():
    definitions = alerting.alert_definitions(SERVICES, TIERS)
    groups = alerting.alerts_grafana_rule_groups(
        definitions, "prom-uid", {"development": "dev", "infrastructure": "infra"}
    )
    rule = groups[0]["rules"][0]
    definition = definitions[0]
    query, condition = rule["data"]
    assert rule["condition"] == "B"
    assert query["refId"] == "A"
    assert query["datasourceUid"] == "prom-uid"
    assert query["relativeTimeRange"] == {"from": 600, "to": 0}
    assert query["model"] == {"refId": "A", "expr": definition["expr"], "instant": True}
    assert condition["datasourceUid"] == "__expr__"
    assert condition["model"]["type"] == "math"
    assert condition["model"]["expression"] == "is_number($A)"
    assert rule["for"] == definition["for"]
    assert rule["keep_firing_for"] == definition["keep_firing_for"]
    assert rule["labels"] == definition["labels"]
    assert rule["annotations"] == definition["annotations"]
    assert rule["no_data_state"] == "OK"
    assert rule["exec_err_state"] == "Error"


def test_grafana_uids_stable_and_short():
    definitions = alerting.alert_definitions(SERVICES, TIERS)
    folders = {"development": "development", "infrastructure": "infrastructure"}
    first = alerting.alerts_grafana_rule_groups(definitions, "prometheus", folders)
    overridden = alerting.alert_definitions(
        SERVICES, TIERS, {"HostCpuBusy": {"threshold": 0.5}}
    )
    second = alerting.alerts_grafana_rule_groups(overridden, "prometheus", folders)
    uids = [rule["uid"] for group in first for rule in group["rules"]]
    assert uids == [rule["uid"] for group in second for rule in group["rules"]]
    assert len(set(uids)) == len(uids)
    assert all(len(uid) <= 40 for uid in uids)
    assert alerting.grafana_rule_uid("HostCpuBusy") == uids[6]


def test_grafana_team_without_folder():
    definitions = alerting.alert_definitions(SERVICES, TIERS)
    teams = [team for team in GRAFANA_TEAMS if team["name"] != "infrastructure"]
    with pytest.raises(alerting.AnsibleFilterError) as error:
        alerting.alerts_grafana_rule_groups(definitions, "prometheus", teams)
    assert "team 'infrastructure'" in str(error.value)
    assert "grafana_teams" in str(error.value)


@pytest.mark.parametrize(
    ("folders", "message"),
    [
        ([{"name": "infrastructure", "folders": [{"title": "x"}]}], "grafana_teams[0]"),
        ([{"folders": [{"uid": "x"}]}], "grafana_teams[0]"),
        (["infrastructure"], "grafana_teams[0] is 'infrastructure'"),
        ({"infrastructure": None}, "team 'infrastructure' is None"),
        ("infrastructure", "grafana_teams is str"),
    ],
)
def test_grafana_folders_rejected(folders, message):
    definitions = alerting.alert_definitions([], TIERS)
    with pytest.raises(alerting.AnsibleFilterError) as error:
        alerting.alerts_grafana_rule_groups(definitions, "prometheus", folders)
    assert message in str(error.value)


def test_annotations_use_label_templates_only():
    definitions = alerting.alert_definitions(SERVICES, TIERS)
    for definition in definitions:
        for text in definition["annotations"].values():
            stripped = alerting._LABEL_TEMPLATE_RE.sub("", text)
            assert "{{" not in stripped, text
    disk = by_key(definitions)[("HostDiskSpaceLow", None)]
    assert "{{ $labels.mountpoint }}" in disk["annotations"]["summary"]


def test_rule_tests_follow_overrides():
    definitions = alerting.alert_definitions(
        SERVICES, TIERS, {"HostDiskSpaceLow": {"for": "1m"}}
    )
    cases = {case["name"]: case for case in alerting.alert_rule_tests(definitions)}
    fires = cases["HostDiskSpaceLow: fires on a breach"]
    assert [check["eval_time"] for check in fires["alert_rule_test"]] == ["2m"]
    default = alerting.alert_rule_tests(alerting.alert_definitions(SERVICES, TIERS))
    fires = next(
        c for c in default if c["name"] == "HostDiskSpaceLow: fires on a breach"
    )
    assert [check["eval_time"] for check in fires["alert_rule_test"]] == ["4m", "6m"]


def test_rule_tests_skip_dip_without_keep_firing_for():
    definitions = alerting.alert_definitions(
        SERVICES, TIERS, {"HostCpuBusy": {"keep_firing_for": "2m"}}
    )
    names = [case["name"] for case in alerting.alert_rule_tests(definitions)]
    assert "HostCpuBusy: keeps firing through one healthy scrape" not in names
    assert "HostMemoryLow: keeps firing through one healthy scrape" in names


def test_filters_registered():
    filters = alerting.FilterModule().filters()
    assert sorted(filters) == [
        "alert_definitions",
        "alert_rule_tests",
        "alerts_grafana_rule_groups",
        "alerts_prometheus_groups",
    ]
    for name in filters:
        assert (REPO / f"plugins/filter/{name}.yml").is_file()


def test_grafana_folders_default_to_team_names():
    definitions = alerting.alert_definitions(SERVICES, TIERS)
    groups = alerting.alerts_grafana_rule_groups(definitions, "prometheus", [])
    assert [group["folder_uid"] for group in groups] == [
        "development",
        "infrastructure",
    ]
