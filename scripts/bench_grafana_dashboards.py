#!/usr/bin/env python3
# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark grafana_dashboard: sync N dashboards into the Grafana double twice.

Starts the test double of Grafana's HTTP API on 127.0.0.1, then calls the
module's ``run`` function once per dashboard, for a first run that creates
every dashboard and a second run with unchanged dashboards. It prints wall
time and HTTP requests per dashboard for both runs, counted from the
double's recorded exchanges.

The module's own code path (argument defaults, client, comparison, save) is
measured in one process. Ansible's per-task cost (templating, module
transfer, a Python start per task) is not included.

Usage: .venv/bin/python scripts/bench_grafana_dashboards.py [--count 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
sys.path.insert(0, str(REPO_ROOT / "collections"))

from ansible_collections.vigil.monitoring.plugins.modules import (  # noqa: E402
    grafana_dashboard,
)
from grafana_double import GrafanaDouble, load_settings  # noqa: E402

ADMIN_PASSWORD = "bench-admin-password"


def write_ini(home: Path) -> Path:
    path = home / "grafana.ini"
    path.write_text(
        "\n".join(
            [
                "[server]",
                "http_addr = 127.0.0.1",
                "http_port = 0",
                "[security]",
                "admin_user = admin",
                f"admin_password = {ADMIN_PASSWORD}",
                "[paths]",
                f"data = {home / 'data'}",
                f"logs = {home / 'log'}",
                f"provisioning = {home / 'provisioning'}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    return path


def dashboard(index: int) -> dict[str, Any]:
    """Return a dashboard with a few panels and a data source input, as exported."""
    panels = [
        {
            "type": "timeseries",
            "title": f"Panel {panel}",
            "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
            "targets": [{"expr": f"rate(metric_{panel}[5m])", "refId": "A"}],
            "gridPos": {"h": 8, "w": 12, "x": 12 * (panel % 2), "y": 8 * panel},
        }
        for panel in range(6)
    ]
    return {
        "__inputs": [
            {"name": "DS_PROMETHEUS", "type": "datasource", "pluginId": "prometheus"}
        ],
        "id": None,
        "uid": f"bench-{index:04d}",
        "title": f"Bench dashboard {index:04d}",
        "schemaVersion": 41,
        "tags": ["bench"],
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": panels,
    }


def module_params(url: str, model: dict[str, Any]) -> dict[str, Any]:
    """Return the module's parameters with the defaults of its argument spec."""
    params: dict[str, Any] = {
        "url": url,
        "url_username": "admin",
        "url_password": ADMIN_PASSWORD,
        "token": None,
        "org_id": None,
        "ca_path": None,
        "client_cert": None,
        "client_key": None,
        "validate_certs": True,
        "timeout": 30,
        "retries": 3,
        "uid": None,
        "dashboard_file": None,
        "folder_path": None,
        "permissions": None,
    }
    for name, option in grafana_dashboard.MODULE_OPTIONS.items():
        if "default" in option:
            params[name] = option["default"]
    params.update(dashboard=model, inputs={"DS_PROMETHEUS": "prom"}, folder_uid="")
    return params


def sync_all(double: GrafanaDouble, count: int) -> tuple[float, int, int]:
    """Run the module for every dashboard; return seconds, requests and changes."""
    first_record = len(double.records)
    changed = 0
    started = time.perf_counter()
    for index in range(count):
        result = grafana_dashboard.run(module_params(double.url, dashboard(index)))
        changed += bool(result["changed"])
    elapsed = time.perf_counter() - started
    return elapsed, len(double.records) - first_record, changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="number of dashboards")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-grafana-") as directory:
        home = Path(directory)
        double = GrafanaDouble(load_settings(write_ini(home), home)).start()
        try:
            print(f"dashboards: {options.count}")
            for label in ("first run", "unchanged rerun"):
                seconds, requests, changed = sync_all(double, options.count)
                print(
                    f"{label}: {seconds:.2f} s wall, {requests} requests,"
                    f" {requests / options.count:.2f} requests per dashboard,"
                    f" {changed} changed"
                )
        finally:
            double.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
