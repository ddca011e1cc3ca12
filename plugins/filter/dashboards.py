# Copyright: vigil.monitoring contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that build Grafana dashboard models from the service catalogue.

The development dashboard of a service reads the recording rules of
``catalogue.py``; the infrastructure dashboard reads node_exporter's series
of job ``node``. Uids are derived from the service name, so a rerun updates
the same dashboard.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

SCHEMA_VERSION = 39
QUANTILE_RECORD = (
    "{level}_quantile:http_server_request_duration_seconds:histogram_quantile_rate{w}"
)


def service_dashboard_uid(service) -> str:
    """Return the uid of a service's development dashboard, such as svc-cms."""
    name = str(service["name"] if isinstance(service, dict) else service)
    if not name or len(name) > 36:
        raise AnsibleFilterError(
            f"service name {name!r} gives no dashboard uid: use 1 to 36 characters"
        )
    return "svc-" + name.replace("_", "-")


def _target(expr: str, legend: str, ref_id: str = "A") -> dict:
    return {"refId": ref_id, "expr": expr, "legendFormat": legend, "range": True}


def _panel(title: str, unit: str, targets: list[dict], position: tuple) -> dict:
    x, y, width = position
    return {
        "type": "timeseries",
        "title": title,
        "gridPos": {"h": 8, "w": width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": targets,
    }


def _row(title: str, y: int) -> dict:
    return {
        "type": "row",
        "title": title,
        "collapsed": False,
        "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
        "panels": [],
    }


def _query_variable(name: str, label: str, query: str, datasource: dict) -> dict:
    """Build a multi-value variable whose All matches every label value."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": datasource,
        "query": query,
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".+",
        "current": {"text": ["All"], "value": ["$__all"]},
        "sort": 1,
        "hide": 0,
    }


def _model(uid, title, tags, variables, panels, *, datasource_uid) -> dict:
    """Number the panels, point them at the data source, wrap them in a model."""
    datasource = {"type": "prometheus", "uid": datasource_uid}
    for number, panel in enumerate(panels, start=1):
        panel["id"] = number
        if panel["type"] != "row":
            panel["datasource"] = datasource
            for target in panel["targets"]:
                target["datasource"] = datasource
    for variable in variables:
        variable["datasource"] = datasource
    return {
        "uid": uid,
        "title": title,
        "tags": tags,
        "timezone": "browser",
        "editable": True,
        "schemaVersion": SCHEMA_VERSION,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "1m",
        "annotations": {"list": []},
        "templating": {"list": variables},
        "panels": panels,
    }


def service_dashboard(service, datasource_uid="prometheus", window="5m"):
    """Build the development dashboard of one catalogue service.

    The first row shows each endpoint across all instances, the second row
    each endpoint per instance of the ``instance`` variable.
    """
    name = service["name"]
    selector = f'service="{name}"'
    instance_selector = f'service="{name}", instance=~"$instance"'
    quantile = {
        level: QUANTILE_RECORD.format(level=level, w=window)
        for level in ("service_route", "service_instance_route")
    }
    requests = "{level}:http_server_requests:rate" + window
    errors = "{level}:http_server_request_errors:ratio_rate" + window

    def all_instances(title, expr, unit, position):
        return _panel(title, unit, [_target(expr, "{{http_route}}")], position)

    def per_instance(title, expr, unit, position):
        legend = "{{instance}} {{http_route}}"
        return _panel(title, unit, [_target(expr, legend)], position)

    level, each = "service_route", "service_instance_route"
    panels = [
        _row("All instances", 0),
        all_instances(
            "Response time per endpoint (median)",
            f'{quantile[level]}{{{selector}, quantile="0.5"}}',
            "s",
            (0, 1, 8),
        ),
        all_instances(
            "P95 response time per endpoint",
            f'{quantile[level]}{{{selector}, quantile="0.95"}}',
            "s",
            (8, 1, 8),
        ),
        all_instances(
            "P99 response time per endpoint",
            f'{quantile[level]}{{{selector}, quantile="0.99"}}',
            "s",
            (16, 1, 8),
        ),
        all_instances(
            "Request rate per endpoint",
            f"{requests.format(level=level)}{{{selector}}}",
            "reqps",
            (0, 9, 12),
        ),
        all_instances(
            "Error rate per endpoint (5xx share)",
            f"{errors.format(level=level)}{{{selector}}}",
            "percentunit",
            (12, 9, 12),
        ),
        _row("Per instance", 17),
        per_instance(
            "P95 response time per instance",
            f'{quantile[each]}{{{instance_selector}, quantile="0.95"}}',
            "s",
            (0, 18, 12),
        ),
        per_instance(
            "P99 response time per instance",
            f'{quantile[each]}{{{instance_selector}, quantile="0.99"}}',
            "s",
            (12, 18, 12),
        ),
        per_instance(
            "Request rate per instance",
            f"{requests.format(level=each)}{{{instance_selector}}}",
            "reqps",
            (0, 26, 12),
        ),
        per_instance(
            "Error rate per instance (5xx share)",
            f"{errors.format(level=each)}{{{instance_selector}}}",
            "percentunit",
            (12, 26, 12),
        ),
    ]
    variables = [
        _query_variable(
            "instance",
            "Instance",
            f"label_values({requests.format(level=each)}{{{selector}}}, instance)",
            {},
        ),
    ]
    tags = ["development", f"service:{name}", f"tier:{service['tier']}"]
    uid = service_dashboard_uid(service)
    return _model(
        uid, service["title"], tags, variables, panels, datasource_uid=datasource_uid
    )


def vm_dashboard(datasource_uid="prometheus", job="node", uid="vm-hosts"):
    """Build the infrastructure dashboard of the VMs that node_exporter scrapes."""
    host = f'job="{job}", instance=~"$host"'
    interface = f'{host}, device!="lo"'
    filesystem = f'{host}, fstype!~"tmpfs|overlay|squashfs"'

    def panel(title, unit, exprs, position):
        targets = [
            _target(expr, legend, chr(ord("A") + number))
            for number, (expr, legend) in enumerate(exprs)
        ]
        return _panel(title, unit, targets, position)

    panels = [
        panel(
            "CPU usage",
            "percentunit",
            [
                (
                    "1 - avg by (instance) ("
                    f'rate(node_cpu_seconds_total{{{host}, mode="idle"}}[5m]))',
                    "{{instance}}",
                )
            ],
            (0, 0, 12),
        ),
        panel(
            "Memory usage",
            "percentunit",
            [
                (
                    f"1 - node_memory_MemAvailable_bytes{{{host}}}"
                    f" / node_memory_MemTotal_bytes{{{host}}}",
                    "{{instance}}",
                )
            ],
            (12, 0, 12),
        ),
        panel(
            "Disk usage",
            "percentunit",
            [
                (
                    f"1 - node_filesystem_avail_bytes{{{filesystem}}}"
                    f" / node_filesystem_size_bytes{{{filesystem}}}",
                    "{{instance}} {{mountpoint}}",
                )
            ],
            (0, 8, 12),
        ),
        panel(
            "Disk IO",
            "Bps",
            [
                (
                    f"rate(node_disk_read_bytes_total{{{host}}}[5m])",
                    "{{instance}} {{device}} read",
                ),
                (
                    f"rate(node_disk_written_bytes_total{{{host}}}[5m])",
                    "{{instance}} {{device}} written",
                ),
            ],
            (12, 8, 12),
        ),
        panel(
            "Network traffic",
            "Bps",
            [
                (
                    f"rate(node_network_receive_bytes_total{{{interface}}}[5m])",
                    "{{instance}} {{device}} received",
                ),
                (
                    f"rate(node_network_transmit_bytes_total{{{interface}}}[5m])",
                    "{{instance}} {{device}} sent",
                ),
            ],
            (0, 16, 12),
        ),
        panel(
            "Load average",
            "short",
            [
                (f"node_load1{{{host}}}", "{{instance}} 1m"),
                (f"node_load5{{{host}}}", "{{instance}} 5m"),
                (f"node_load15{{{host}}}", "{{instance}} 15m"),
            ],
            (12, 16, 12),
        ),
    ]
    variables = [
        _query_variable(
            "host", "Host", f'label_values(up{{job="{job}"}}, instance)', {}
        ),
    ]
    tags = ["infrastructure", "node_exporter"]
    return _model(
        uid, "VM hosts", tags, variables, panels, datasource_uid=datasource_uid
    )


def dashboard_queries(models, variables=None):
    """List every panel query of the dashboard models, with variables filled in.

    Returns dicts with ``dashboard`` (uid), ``panel`` (title), ``ref`` (the
    target's refId) and ``expr``. ``variables`` maps a variable name to the
    text that replaces ``$name``, such as ``{"instance": ".+"}``.
    """
    queries = []
    for model in models:
        for panel in model.get("panels", []):
            for target in panel.get("targets", []):
                expr = target["expr"]
                for name, value in (variables or {}).items():
                    expr = expr.replace(f"${name}", value)
                queries.append(
                    {
                        "dashboard": model["uid"],
                        "panel": panel["title"],
                        "ref": target["refId"],
                        "expr": expr,
                    }
                )
    return queries


class FilterModule:
    """Dashboard filters of vigil.monitoring."""

    def filters(self):
        return {
            "service_dashboard_uid": service_dashboard_uid,
            "service_dashboard": service_dashboard,
            "vm_dashboard": vm_dashboard,
            "dashboard_queries": dashboard_queries,
        }
