"""The catalogue filters: checks, scrape jobs, and recording rules with promtool.

promtool comes from ``VIGIL_PROMTOOL`` or ``<repo>/.cache/bin/promtool``,
which ``scripts/debian-binaries.sh`` downloads.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]

spec = importlib.util.spec_from_file_location(
    "catalogue", REPO / "plugins/filter/catalogue.py"
)
catalogue = importlib.util.module_from_spec(spec)
spec.loader.exec_module(catalogue)

SERVICES = yaml.safe_load(
    (REPO / "inventories/staging/group_vars/all/services.yml").read_text()
)["vigil_services"]
GROUPS = {"app_user_management": ["um1", "um2"]}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = os.environ.get("VIGIL_PROMTOOL") or str(REPO / ".cache/bin/promtool")
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"promtool not found at {path}. Run scripts/debian-binaries.sh to"
            " download it into .cache/bin, or set VIGIL_PROMTOOL to its path."
        )
    return path


def changed(index: int, path: str, value) -> list[dict]:
    """Return a copy of the staging catalogue with one field of one entry set."""
    services = copy.deepcopy(SERVICES)
    target = services[index]
    *parents, last = path.split(".")
    for key in parents:
        target = target.setdefault(key, {})
    if value is None:
        target.pop(last, None)
    else:
        target[last] = value
    return services


def test_staging_catalogue_valid():
    assert catalogue.catalogue_problems(SERVICES, GROUPS) == []


def test_catalogues_sorted_by_tier():
    for environment in ("staging", "production", "sandbox"):
        path = REPO / f"inventories/{environment}/group_vars/all/services.yml"
        services = yaml.safe_load(path.read_text())["vigil_services"]
        assert [s["tier"] for s in services] == sorted(s["tier"] for s in services)


@pytest.mark.parametrize(
    ("index", "path", "value", "message"),
    [
        (0, "name", "User-Management", "name must be lower-case"),
        (0, "tier", "first", "tier is 'first'"),
        (0, "team", None, "team is missing"),
        (0, "metrics.port", 70000, "metrics.port is '70000'"),
        (0, "metrics.scheme", "http", "must be https for a VM service"),
        (0, "vm.unit", None, "vm.unit is missing"),
        (0, "vm.exporter_port", 9465, "the TLS proxy needs a port of its own"),
        (0, "instances.vm_group", "app_missing", "not an inventory group with hosts"),
        (1, "instances.kubernetes.labels", {}, "labels is empty"),
        (1, "instances.kubernetes.labels", {"bad label!": "x"}, "not a Kubernetes"),
        (1, "instances.vm_group", "app_user_management", "exactly one of vm_group"),
    ],
)
def test_catalogue_problem_named(index, path, value, message):
    problems = catalogue.catalogue_problems(changed(index, path, value), GROUPS)
    assert len(problems) == 1, problems
    assert message in problems[0]


def test_catalogue_repeated_name():
    services = [*copy.deepcopy(SERVICES), copy.deepcopy(SERVICES[2])]
    problems = catalogue.catalogue_problems(services, GROUPS)
    assert problems == ["service names ['cms'] appear more than once"]


def test_catalogue_not_a_list():
    assert catalogue.catalogue_problems({"name": "x"}) == [
        "vigil_services is dict, expected a list"
    ]


def test_vm_scrape_job_labels():
    jobs = catalogue.catalogue_vm_scrape_jobs(SERVICES, "staging", "prometheus", "pw")
    assert [job["name"] for job in jobs] == ["user_management"]
    job = jobs[0]
    assert job["group"] == "app_user_management"
    assert job["port"] == 9465
    assert job["scheme"] == "https"
    assert job["labels"] == {
        "service": "user_management",
        "team": "development",
        "tier": "1",
        "environment": "staging",
    }


def test_kubernetes_scrape_job_selector():
    jobs = catalogue.catalogue_kubernetes_scrape_jobs(SERVICES, "staging")
    assert [job["name"] for job in jobs] == ["financial_core", "cms"]
    assert jobs[0]["namespace"] == "finance"
    assert jobs[0]["selector"] == "app.kubernetes.io/name=financial-core"
    assert jobs[0]["labels"]["tier"] == "2"


def test_recording_rule_names():
    groups = catalogue.catalogue_recording_rules(SERVICES[0])
    names = {rule["record"] for rule in groups[0]["rules"]}
    for level in ("service", "service_route", "service_instance_route"):
        assert f"{level}:http_server_requests:rate5m" in names
        assert f"{level}:http_server_request_errors:ratio_rate5m" in names
        assert (
            f"{level}_quantile:http_server_request_duration_seconds"
            ":histogram_quantile_rate5m"
        ) in names


def test_recording_rules_read_both_histograms():
    groups = catalogue.catalogue_recording_rules(SERVICES[0])
    quantile = next(r for r in groups[0]["rules"] if "quantile" in r["record"])
    assert "http_server_request_duration_seconds_bucket" in quantile["expr"]
    assert "http_server_duration_milliseconds_bucket" in quantile["expr"]
    assert quantile["expr"].endswith("/ 1000")


def test_recording_rules_reject_bad_name():
    with pytest.raises(catalogue.AnsibleFilterError):
        catalogue.catalogue_recording_rules({"name": 'x"} or vector(1)'})


def run_promtool_tests(tmp_path, promtool, groups, cases, interval="1m"):
    """Write the rules and their test cases, and run ``promtool test rules``."""
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": groups}))
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": interval,
        "tests": cases,
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests))
    return subprocess.run(
        [promtool, "test", "rules", "tests.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("window", ["5m", "2m"])
def test_rules_pass_promtool_tests(tmp_path, promtool, window):
    service = SERVICES[0]
    done = run_promtool_tests(
        tmp_path,
        promtool,
        catalogue.catalogue_recording_rules(service, window),
        catalogue.catalogue_rule_tests(service, window),
        interval="30s",
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_rule_tests_catch_wrong_quantile(tmp_path, promtool):
    service = SERVICES[0]
    groups = catalogue.catalogue_recording_rules(service)
    for rule in groups[0]["rules"]:
        if rule.get("labels", {}).get("quantile") == "0.95":
            rule["labels"]["quantile"] = "0.9"
    done = run_promtool_tests(
        tmp_path, promtool, groups, catalogue.catalogue_rule_tests(service)
    )
    assert done.returncode != 0
    assert 'quantile="0.95"' in done.stdout + done.stderr
