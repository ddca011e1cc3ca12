"""The dashboard filters: uids, panel queries, and Grafana's dashboard schema.

The schema check needs Grafana's dashboard JSON Schema from the folder that
``VIGIL_GRAFANA_OPENAPI_DIR`` names (default ``../shared/grafana-api``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(REPO / "tests"))

from grafana_double.contract import dashboard_errors  # noqa: E402

spec = importlib.util.spec_from_file_location(
    "dashboards", REPO / "plugins/filter/dashboards.py"
)
dashboards = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dashboards)

SERVICES = yaml.safe_load(
    (REPO / "inventories/staging/group_vars/all/services.yml").read_text()
)["vigil_services"]


def expressions(model: dict) -> list[str]:
    return [
        target["expr"]
        for panel in model["panels"]
        for target in panel.get("targets", [])
    ]


def test_service_uid_from_name():
    assert dashboards.service_dashboard_uid(SERVICES[0]) == "svc-user-management"
    assert dashboards.service_dashboard_uid("cms") == "svc-cms"


def test_service_uid_rejects_long_name():
    with pytest.raises(dashboards.AnsibleFilterError):
        dashboards.service_dashboard_uid("x" * 37)


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s["name"])
def test_service_dashboard_matches_schema(service):
    model = dashboards.service_dashboard(service)
    assert dashboard_errors(model) == []


def test_vm_dashboard_matches_schema():
    assert dashboard_errors(dashboards.vm_dashboard()) == []


def test_service_dashboard_panels():
    model = dashboards.service_dashboard(SERVICES[0], "prom")
    titles = [panel["title"] for panel in model["panels"]]
    for expected in (
        "P95 response time per endpoint",
        "P99 response time per endpoint",
        "Request rate per endpoint",
        "Error rate per endpoint (5xx share)",
        "P95 response time per instance",
        "P99 response time per instance",
    ):
        assert expected in titles


def test_service_dashboard_reads_own_rules():
    exprs = expressions(dashboards.service_dashboard(SERVICES[0]))
    assert all('service="user_management"' in expr for expr in exprs)
    assert any('quantile="0.95"' in expr for expr in exprs)
    assert any('instance=~"$instance"' in expr for expr in exprs)


def test_panels_use_given_datasource():
    model = dashboards.service_dashboard(SERVICES[0], "prom")
    sources = {
        target["datasource"]["uid"]
        for panel in model["panels"]
        for target in panel.get("targets", [])
    }
    assert sources == {"prom"}


def test_panel_ids_unique():
    model = dashboards.vm_dashboard()
    ids = [panel["id"] for panel in model["panels"]]
    assert len(ids) == len(set(ids))


def test_vm_dashboard_covers_host_metrics():
    exprs = " ".join(expressions(dashboards.vm_dashboard()))
    for family in (
        "node_cpu_seconds_total",
        "node_memory_MemAvailable_bytes",
        "node_filesystem_avail_bytes",
        "node_disk_read_bytes_total",
        "node_network_receive_bytes_total",
        "node_load1",
    ):
        assert family in exprs
    assert 'instance=~"$host"' in exprs


def test_dashboard_queries_fill_variables():
    models = [dashboards.service_dashboard(SERVICES[0]), dashboards.vm_dashboard()]
    queries = dashboards.dashboard_queries(models, {"instance": ".+", "host": ".+"})
    assert {query["dashboard"] for query in queries} == {
        "svc-user-management",
        "vm-hosts",
    }
    assert len(queries) == 9 + 10
    assert all("$" not in query["expr"] for query in queries)
