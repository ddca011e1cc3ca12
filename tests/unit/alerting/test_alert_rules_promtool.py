"""The alert rules, rendered from the inventories, under ``promtool test rules``.

The rule files come from the staging and sandbox inventories (catalogue,
SLO tiers, overrides) through plugins/filter/alerting.py and
plugins/filter/catalogue.py, as playbooks/08_alert_rules.yml and the
prometheus role render them. promtool comes from ``VIGIL_PROMTOOL`` or
``<repo>/.cache/bin/promtool``, which ``scripts/debian-binaries.sh``
downloads; a missing promtool fails the tests.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
RULE_MODULE = "ansible_collections.vigil.monitoring.plugins.modules.prometheus_rule"


def load_filter(name: str):
    spec = importlib.util.spec_from_file_location(
        name, REPO / f"plugins/filter/{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


alerting = load_filter("alerting")
catalogue = load_filter("catalogue")


def inventory_vars(inventory: str, name: str) -> dict:
    path = REPO / f"inventories/{inventory}/group_vars/all/{name}.yml"
    return yaml.safe_load(path.read_text())


SERVICES = inventory_vars("staging", "services")["vigil_services"]


def definitions_of(inventory: str) -> list[dict]:
    settings = inventory_vars(inventory, "alerting")
    return alerting.alert_definitions(
        SERVICES, settings["vigil_slo_tiers"], settings["vigil_alert_overrides"]
    )


@pytest.fixture(scope="module")
def promtool() -> str:
    path = os.environ.get("VIGIL_PROMTOOL") or str(REPO / ".cache/bin/promtool")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"promtool not found at {path}. Run scripts/debian-binaries.sh to"
            " download it into .cache/bin, or set VIGIL_PROMTOOL to its path."
        )
    return path


def run_promtool(
    directory: Path,
    promtool: str,
    rule_files: dict[str, list[dict]],
    cases: list[dict],
    interval: str = "1m",
) -> subprocess.CompletedProcess:
    """Write the rule files and cases, and run ``promtool test rules``."""
    for name, groups in rule_files.items():
        (directory / name).write_text(yaml.safe_dump({"groups": groups}))
    tests = {
        "rule_files": list(rule_files),
        "evaluation_interval": interval,
        "tests": cases,
    }
    (directory / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    return subprocess.run(
        [promtool, "test", "rules", "tests.yml"],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )


def failed_cases(done: subprocess.CompletedProcess) -> set[str]:
    """Return the names of the failed cases in promtool's output."""
    names = set()
    for raw in done.stdout.splitlines() + done.stderr.splitlines():
        line = raw.strip()
        if line.startswith("name: "):
            names.add(line.removeprefix("name: ").rstrip(","))
    return names


# The generated cases: every alert, every inventory


@pytest.mark.parametrize(
    ("inventory", "interval"),
    [("staging", "1m"), ("staging", "30s"), ("sandbox", "30s")],
)
def test_alert_cases_pass_promtool(tmp_path, promtool, inventory, interval):
    definitions = definitions_of(inventory)
    cases = alerting.alert_rule_tests(definitions)
    done = run_promtool(
        tmp_path,
        promtool,
        {"alerts.yml": alerting.alerts_prometheus_groups(definitions)},
        cases,
        interval,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("exclude", ["/", "^/|/srv$"])
def test_alert_cases_pass_with_root_excluded(tmp_path, promtool, exclude):
    definitions = alerting.alert_definitions([], {1: {"objective": 0.999}}, {}, exclude)
    cases = alerting.alert_rule_tests(definitions)
    done = run_promtool(
        tmp_path,
        promtool,
        {"alerts.yml": alerting.alerts_prometheus_groups(definitions)},
        cases,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_alert_cases_cover_every_alert():
    cases = alerting.alert_rule_tests(definitions_of("staging"))
    names = [case["name"] for case in cases]
    expected = [
        "fires on a breach",
        "silent when healthy",
        "keeps firing through one healthy scrape",
        "resolves after keep_firing_for",
        "ignores one bad scrape",
    ]
    subjects = [
        f"{alert} {service['name']}"
        for service in SERVICES
        for alert in alerting.SERVICE_ALERTS
    ] + list(alerting.HOST_ALERTS)
    for subject in subjects:
        for title in expected:
            assert f"{subject}: {title}" in names
    for service in SERVICES:
        for alert in alerting.SERVICE_ALERTS:
            title = f"{alert} {service['name']}: silent once the short window recovers"
            assert title in names
    for alert in ("HostDiskSpaceLow", "HostDiskFillingUp"):
        assert f"{alert}: ignores tmpfs, overlay, squashfs and read-only" in names


def test_alert_cases_expect_team_and_severity():
    cases = alerting.alert_rule_tests(definitions_of("staging"))
    fires = {
        case["name"]: case["alert_rule_test"][-1]["exp_alerts"][0]["exp_labels"]
        for case in cases
        if case["name"].endswith(": fires on a breach")
    }
    assert fires["ServiceErrorBudgetBurnFast user_management: fires on a breach"] == {
        "service": "user_management",
        "team": "development",
        "severity": "page",
        "tier": "1",
    }
    assert fires["ServiceErrorBudgetBurnSlow cms: fires on a breach"]["severity"] == (
        "ticket"
    )
    assert fires["HostDiskSpaceLow: fires on a breach"] == {
        "instance": "host1:9100",
        "job": "node",
        "device": "/dev/vda1",
        "fstype": "ext4",
        "mountpoint": "/",
        "team": "infrastructure",
        "severity": "page",
    }
    assert fires["HostCpuBusy: fires on a breach"]["severity"] == "ticket"
    assert fires["HostMemoryLow: fires on a breach"]["team"] == "infrastructure"


# The cases catch broken rules


def broken_groups(definitions: list[dict], alert: str, old: str, new: str):
    groups = alerting.alerts_prometheus_groups(definitions)
    for group in groups:
        for rule in group["rules"]:
            if rule["alert"] == alert:
                assert old in rule["expr"] or old in rule, (alert, old)
                rule["expr"] = rule["expr"].replace(old, new)
    return groups


def run_broken(tmp_path, promtool, groups, definitions, subject) -> set[str]:
    """Run the cases whose name starts with ``subject``; return the failures."""
    cases = [
        case
        for case in alerting.alert_rule_tests(definitions)
        if case["name"].startswith(subject)
    ]
    done = run_promtool(tmp_path, promtool, {"alerts.yml": groups}, cases)
    assert done.returncode != 0
    return failed_cases(done)


def test_cases_reject_free_bytes(tmp_path, promtool):
    definitions = definitions_of("staging")
    groups = broken_groups(
        definitions,
        "HostDiskSpaceLow",
        "node_filesystem_avail_bytes",
        "node_filesystem_free_bytes",
    )
    failed = run_broken(tmp_path, promtool, groups, definitions, "HostDiskSpaceLow")
    assert "HostDiskSpaceLow: fires on a breach" in failed


def test_cases_reject_missing_fstype_filter(tmp_path, promtool):
    definitions = definitions_of("staging")
    groups = broken_groups(
        definitions, "HostDiskSpaceLow", alerting.FILESYSTEM, 'fstype!=""'
    )
    failed = run_broken(tmp_path, promtool, groups, definitions, "HostDiskSpaceLow")
    assert "HostDiskSpaceLow: ignores tmpfs, overlay, squashfs and read-only" in failed


def test_cases_reject_missing_readonly_check(tmp_path, promtool):
    definitions = definitions_of("staging")
    groups = broken_groups(
        definitions,
        "HostDiskFillingUp",
        "} == 0",
        "} >= 0",
    )
    failed = run_broken(tmp_path, promtool, groups, definitions, "HostDiskFillingUp")
    assert "HostDiskFillingUp: ignores tmpfs, overlay, squashfs and read-only" in (
        failed
    )


def test_cases_reject_missing_keep_firing_for(tmp_path, promtool):
    definitions = definitions_of("staging")
    groups = alerting.alerts_prometheus_groups(definitions)
    for group in groups:
        for rule in group["rules"]:
            rule.pop("keep_firing_for")
    failed = run_broken(tmp_path, promtool, groups, definitions, "")
    for subject in ("ServiceErrorBudgetBurnFast user_management", "HostMemoryLow"):
        assert f"{subject}: keeps firing through one healthy scrape" in failed


def test_cases_reject_single_window(tmp_path, promtool):
    definitions = definitions_of("staging")
    groups = broken_groups(
        definitions,
        "ServiceErrorBudgetBurnFast",
        "\n  and\n  service:http_server_request_errors:ratio_rate5m",
        "\n  or\n  service:http_server_request_errors:ratio_rate5m",
    )
    failed = run_broken(
        tmp_path, promtool, groups, definitions, "ServiceErrorBudgetBurnFast"
    )
    assert (
        "ServiceErrorBudgetBurnFast user_management: silent once the short window"
        " recovers"
    ) in failed


def test_cases_reject_wrong_team(tmp_path, promtool):
    definitions = definitions_of("staging")
    groups = alerting.alerts_prometheus_groups(definitions)
    for group in groups:
        for rule in group["rules"]:
            if rule["alert"] == "HostMemoryLow":
                rule["labels"]["team"] = "development"
    failed = run_broken(tmp_path, promtool, groups, definitions, "HostMemoryLow")
    assert "HostMemoryLow: fires on a breach" in failed


# From raw request counters through the recording rules to the alert


def request_counters(service: str, per_minute: int, errors_per_minute: int):
    """Build counters of one route: successes and 5xx errors, each a minute."""
    series = []
    for status, count in (
        ("200", per_minute - errors_per_minute),
        ("500", errors_per_minute),
    ):
        labels = (
            f'service="{service}", instance="app1", http_route="/login",'
            f' http_response_status_code="{status}"'
        )
        series.append(
            {
                "series": f"http_server_request_duration_seconds_count{{{labels}}}",
                "values": f"0+{count}x40",
            }
        )
    return series


def fast_burn(definitions, service: str, firing: bool, eval_time="15m") -> dict:
    definition = next(
        d
        for d in definitions
        if d["alert"] == "ServiceErrorBudgetBurnFast" and d.get("service") == service
    )
    expected = []
    if firing:
        expected.append(
            {
                "exp_labels": dict(definition["labels"]),
                "exp_annotations": dict(definition["annotations"]),
            }
        )
    return {
        "eval_time": eval_time,
        "alertname": "ServiceErrorBudgetBurnFast",
        "exp_alerts": expected,
    }


@pytest.mark.parametrize(
    ("service", "per_mille", "firing"),
    [
        # Tier 1, objective 99.9 %: 14.4 x 0.1 % = 1.44 % of requests.
        ("user_management", 20, True),
        ("user_management", 5, False),
        # Tier 3, objective 99 %: 14.4 x 1 % = 14.4 %, and 6 x 1 % = 6 %.
        ("cms", 20, False),
        ("cms", 200, True),
    ],
)
def test_fast_burn_from_counters(tmp_path, promtool, service, per_mille, firing):
    definitions = definitions_of("staging")
    entry = next(s for s in SERVICES if s["name"] == service)
    case = {
        "name": f"{service} at {per_mille / 10:g} % errors",
        "interval": "1m",
        "input_series": request_counters(service, 1000, per_mille),
        "alert_rule_test": [
            fast_burn(definitions, service, False, "1m"),
            fast_burn(definitions, service, firing, "15m"),
            fast_burn(definitions, service, firing, "30m"),
        ],
    }
    done = run_promtool(
        tmp_path,
        promtool,
        {
            "service.yml": catalogue.catalogue_recording_rules(entry),
            "alerts.yml": alerting.alerts_prometheus_groups(definitions),
        },
        [case],
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_tier_thresholds_differ():
    definitions = definitions_of("staging")
    fast = {
        d["service"]: d["expr"]
        for d in definitions
        if d["alert"] == "ServiceErrorBudgetBurnFast"
    }
    assert "> 0.0144" in fast["user_management"]
    assert "> 0.072" in fast["financial_core"]
    assert "> 0.144" in fast["cms"]
    assert "> 0.06\n" in fast["cms"]


def test_sandbox_overrides_shorten_three_alerts():
    staging = {(d["alert"], d.get("service")): d for d in definitions_of("staging")}
    sandbox = {(d["alert"], d.get("service")): d for d in definitions_of("sandbox")}
    changed = sorted(
        {key[0] for key in staging if staging[key]["for"] != sandbox[key]["for"]}
    )
    assert changed == [
        "HostDiskFillingUp",
        "HostDiskSpaceLow",
        "ServiceErrorBudgetBurnFast",
    ]
    assert sandbox[("HostDiskSpaceLow", None)]["for"] == "1m"
    assert sandbox[("HostDiskFillingUp", None)]["for"] == "2m"
    assert sandbox[("ServiceErrorBudgetBurnFast", "cms")]["for"] == "1m"


def test_definitions_not_changed_by_rendering():
    definitions = definitions_of("staging")
    before = copy.deepcopy(definitions)
    alerting.alerts_prometheus_groups(definitions)
    alerting.alerts_grafana_rule_groups(
        definitions,
        "prometheus",
        {"development": "development", "infrastructure": "infrastructure"},
    )
    alerting.alert_rule_tests(definitions)
    assert definitions == before


# The deploy-time path: the prometheus_rule module runs the same cases


def run_rule_module(tmp_path: Path, promtool: str, groups, tests) -> dict:
    """Run prometheus_rule as playbooks/08_alert_rules.yml does, in a subprocess."""
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir(exist_ok=True)
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir(exist_ok=True)
    args = {
        "name": "alerts",
        "rules_dir": str(rules_dir),
        "groups": groups,
        "tests": tests,
        # The evaluation interval of the prometheus role's defaults.
        "tests_evaluation_interval": "30s",
        "promtool": promtool,
        "_ansible_remote_tmp": str(remote_tmp),
    }
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = {**os.environ, "PYTHONPATH": str(REPO / "collections")}
    done = subprocess.run(
        [sys.executable, "-m", RULE_MODULE, str(args_file)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


def test_rule_module_runs_cases_and_writes(tmp_path, promtool):
    definitions = definitions_of("sandbox")
    groups = alerting.alerts_prometheus_groups(definitions)
    result = run_rule_module(
        tmp_path, promtool, groups, alerting.alert_rule_tests(definitions)
    )
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    written = yaml.safe_load((tmp_path / "rules/alerts.yml").read_text())
    assert [group["name"] for group in written["groups"]] == [
        "alerts_development",
        "alerts_infrastructure",
    ]


def test_rule_module_rejects_failing_cases(tmp_path, promtool):
    definitions = definitions_of("sandbox")
    groups = broken_groups(
        definitions,
        "HostDiskSpaceLow",
        "node_filesystem_avail_bytes",
        "node_filesystem_free_bytes",
    )
    result = run_rule_module(
        tmp_path, promtool, groups, alerting.alert_rule_tests(definitions)
    )
    assert result.get("failed") is True
    assert "HostDiskSpaceLow: fires on a breach" in json.dumps(result)
    assert not (tmp_path / "rules/alerts.yml").exists()
