# Copyright: vigil.monitoring contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the service catalogue into scrape jobs and recording rules.

The catalogue is the inventory variable ``vigil_services``: one entry per
service with ``name``, ``title``, ``tier``, ``team``, ``instances`` (either
``vm_group`` or ``kubernetes`` with ``namespace`` and ``labels``),
``metrics`` (``port``, ``path``, ``scheme``) and, for VM services, ``vm``
(``unit`` and ``exporter_port``).

Recording rules read the HTTP server duration histogram that the
OpenTelemetry SDK's Prometheus exporter serves under two names. The stable
``http.server.request.duration`` in seconds becomes
``http_server_request_duration_seconds_*`` (labels ``http_route`` and
``http_response_status_code``). The older ``http.server.duration`` in
milliseconds becomes ``http_server_duration_milliseconds_*`` (labels
``http_route`` and ``http_status_code``). Every rule takes the stable series
where they exist and falls back to the older ones, converted to seconds.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_LABEL_NAME_RE = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_PATH_RE = re.compile(r"^/[^\s\"]*$")

STABLE = "http_server_request_duration_seconds"
OLD = "http_server_duration_milliseconds"
QUANTILES = ("0.5", "0.95", "0.99")
# Windows of the service-level error ratios that the error budget burn-rate
# alerts compare (plugins/filter/alerting.py). Only the service level gets
# them, because a 3d rate per route and instance would cost many series that
# no alert reads.
ERROR_RATIO_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# Aggregation levels of the recording rules: the label sets they keep.
LEVELS = {
    "service": ("service",),
    "service_route": ("service", "http_route"),
    "service_instance_route": ("service", "instance", "http_route"),
}


def _port_ok(value) -> bool:
    return str(value).isdigit() and 1 <= int(value) <= 65535


def _service_problems(service, groups) -> list[str]:
    """List what is wrong with one catalogue entry, each with its fix."""
    if not isinstance(service, dict):
        return [f"entry {service!r} is not a mapping: give name, tier, team, ..."]
    name = service.get("name", "")
    where = f"service '{name}'"
    problems = []
    if not _NAME_RE.match(str(name)):
        problems.append(
            f"{where}: name must be lower-case letters, digits and '_', starting"
            " with a letter (it becomes the job name and the service label)"
        )
    for key in ("title", "team"):
        if not str(service.get(key, "")).strip():
            problems.append(f"{where}: {key} is missing")
    if not str(service.get("tier", "")).isdigit():
        problems.append(
            f"{where}: tier is '{service.get('tier', '')}', expected a whole number"
            " (1 is the most critical)"
        )
    metrics = service.get("metrics") or {}
    if not _port_ok(metrics.get("port", "")):
        problems.append(
            f"{where}: metrics.port is '{metrics.get('port', '')}', expected a TCP"
            " port from 1 to 65535"
        )
    if metrics.get("scheme", "https") not in ("https", "http"):
        problems.append(
            f"{where}: metrics.scheme is '{metrics.get('scheme')}', expected https"
        )
    if not _PATH_RE.match(str(metrics.get("path", "/metrics"))):
        problems.append(
            f"{where}: metrics.path is '{metrics.get('path')}', expected a URL path"
            " such as /metrics"
        )
    instances = service.get("instances") or {}
    kinds = [kind for kind in ("vm_group", "kubernetes") if kind in instances]
    if len(kinds) != 1:
        problems.append(
            f"{where}: instances must have exactly one of vm_group (an inventory"
            " group) or kubernetes (namespace and labels)"
        )
    elif kinds == ["vm_group"]:
        problems += _vm_problems(service, where, groups)
    else:
        problems += _kubernetes_problems(instances["kubernetes"], where)
    return problems


def _vm_problems(service, where, groups) -> list[str]:
    problems = []
    group = service["instances"]["vm_group"]
    if groups is not None and not groups.get(group):
        problems.append(
            f"{where}: instances.vm_group is '{group}', which is not an inventory"
            " group with hosts: add the hosts or correct the group name"
        )
    vm = service.get("vm") or {}
    if not str(vm.get("unit", "")).strip():
        problems.append(
            f"{where}: vm.unit is missing: name the systemd unit of the service,"
            " such as user-management.service"
        )
    if not _port_ok(vm.get("exporter_port", "")):
        problems.append(
            f"{where}: vm.exporter_port is '{vm.get('exporter_port', '')}', expected"
            " the loopback TCP port of the OpenTelemetry Prometheus exporter (9464)"
        )
    elif str(vm.get("exporter_port")) == str(service["metrics"].get("port")):
        problems.append(
            f"{where}: vm.exporter_port and metrics.port are both"
            f" {vm.get('exporter_port')}: the TLS proxy needs a port of its own"
        )
    if service.get("metrics", {}).get("scheme", "https") != "https":
        problems.append(
            f"{where}: metrics.scheme must be https for a VM service, because its"
            " TLS proxy serves only https"
        )
    return problems


def _kubernetes_problems(kubernetes, where) -> list[str]:
    problems = []
    if not isinstance(kubernetes, dict) or not kubernetes.get("namespace"):
        return [f"{where}: instances.kubernetes.namespace is missing"]
    labels = kubernetes.get("labels") or {}
    if not labels:
        problems.append(
            f"{where}: instances.kubernetes.labels is empty: give the pod labels"
            " that select the service, such as app.kubernetes.io/name"
        )
    for label in labels:
        if not _LABEL_NAME_RE.match(str(label)):
            problems.append(
                f"{where}: '{label}' in instances.kubernetes.labels is not a"
                " Kubernetes label name"
            )
    return problems


def catalogue_problems(services, groups=None):
    """Check the catalogue and return a list of problems, each with its fix.

    ``groups`` is Ansible's ``groups``; when given, VM groups must have hosts.
    """
    if not isinstance(services, list):
        return [f"vigil_services is {type(services).__name__}, expected a list"]
    problems = []
    for service in services:
        problems += _service_problems(service, groups)
    names = [s.get("name") for s in services if isinstance(s, dict)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problems.append(f"service names {repeated} appear more than once")
    return problems


def _labels(service, environment) -> dict[str, str]:
    return {
        "service": service["name"],
        "team": str(service["team"]),
        "tier": str(service["tier"]),
        "environment": str(environment),
    }


def _sorted(services):
    return sorted(services, key=lambda service: (int(service["tier"]), service["name"]))


def catalogue_vm_scrape_jobs(services, environment, username, password):
    """Return the scrape jobs (prometheus_scrape_jobs format) of VM services."""
    jobs = []
    for service in _sorted(services):
        if "vm_group" not in service.get("instances", {}):
            continue
        metrics = service["metrics"]
        jobs.append(
            {
                "name": service["name"],
                "group": service["instances"]["vm_group"],
                "port": int(metrics["port"]),
                "scheme": metrics.get("scheme", "https"),
                "metrics_path": metrics.get("path", "/metrics"),
                "username": username,
                "password": password,
                "labels": _labels(service, environment),
            }
        )
    return jobs


def catalogue_kubernetes_scrape_jobs(services, environment):
    """Return the Kubernetes services with the labels their targets get."""
    jobs = []
    for service in _sorted(services):
        kubernetes = service.get("instances", {}).get("kubernetes")
        if not kubernetes:
            continue
        metrics = service["metrics"]
        jobs.append(
            {
                "name": service["name"],
                "namespace": kubernetes["namespace"],
                "selector": ",".join(
                    f"{key}={value}"
                    for key, value in sorted(kubernetes["labels"].items())
                ),
                "port": int(metrics["port"]),
                "scheme": metrics.get("scheme", "https"),
                "metrics_path": metrics.get("path", "/metrics"),
                "tls_server_name": metrics.get("tls_server_name", ""),
                "labels": _labels(service, environment),
            }
        )
    return jobs


def _by(level: str, extra: tuple[str, ...] = ()) -> str:
    return ", ".join(LEVELS[level] + extra)


def _rate(metric: str, selector: str, by: str, window: str) -> str:
    return f"sum by ({by}) (rate({metric}{{{selector}}}[{window}]))"


def _requests_expr(name: str, level: str, window: str) -> str:
    selector = f'service="{name}"'
    return (
        f"{_rate(STABLE + '_count', selector, _by(level), window)}\n"
        f"or\n{_rate(OLD + '_count', selector, _by(level), window)}"
    )


def _errors_expr(name: str, level: str, window: str) -> str:
    # A route without server errors gets 0 instead of no series, so that the
    # error ratio and the dashboards show 0 rather than "no data".
    selector = f'service="{name}"'
    parts = []
    for metric, status in (
        (STABLE, "http_response_status_code"),
        (OLD, "http_status_code"),
    ):
        errors = f'{selector}, {status}=~"5.."'
        parts.append(_rate(metric + "_count", errors, _by(level), window))
        parts.append("0 * " + _rate(metric + "_count", selector, _by(level), window))
    return "\nor\n".join(parts)


def _quantile_expr(name: str, level: str, quantile: str, window: str) -> str:
    selector = f'service="{name}"'
    by = _by(level, ("le",))
    stable = _rate(STABLE + "_bucket", selector, by, window)
    old = _rate(OLD + "_bucket", selector, by, window)
    # The older histogram's buckets are in milliseconds, so its quantile is too.
    return (
        f"histogram_quantile({quantile}, {stable})\n"
        f"or\nhistogram_quantile({quantile}, {old}) / 1000"
    )


def catalogue_recording_rules(service, window="5m"):
    """Return the rule groups of one service: rates, error ratios, quantiles.

    The first group records every level at ``window``. The second records
    the service-level error ratios of ERROR_RATIO_WINDOWS for the error
    budget alerts. Names follow Prometheus's level:metric:operations
    convention. The levels are ``service``, ``service_route`` (per endpoint,
    across instances) and ``service_instance_route`` (per endpoint and
    instance).
    """
    name = service["name"]
    if not _NAME_RE.match(str(name)):
        raise AnsibleFilterError(
            f"invalid service name {name!r}: use lower-case letters, digits and '_'"
        )
    rules = []
    for level in LEVELS:
        rules.append(
            {
                "record": f"{level}:http_server_requests:rate{window}",
                "expr": _requests_expr(name, level, window),
            }
        )
        rules.append(
            {
                "record": f"{level}:http_server_request_errors:rate{window}",
                "expr": _errors_expr(name, level, window),
            }
        )
        rules.append(
            {
                "record": f"{level}:http_server_request_errors:ratio_rate{window}",
                "expr": (
                    f'{level}:http_server_request_errors:rate{window}{{service="{name}"}}\n'
                    f'/ {level}:http_server_requests:rate{window}{{service="{name}"}}'
                ),
            }
        )
        for quantile in QUANTILES:
            rules.append(
                {
                    "record": (
                        f"{level}_quantile:http_server_request_duration_seconds"
                        f":histogram_quantile_rate{window}"
                    ),
                    "expr": _quantile_expr(name, level, quantile, window),
                    "labels": {"quantile": quantile},
                }
            )
    return [
        {"name": f"service_{name}.http", "rules": rules},
        {
            "name": f"service_{name}.error_ratios",
            "rules": _error_ratio_rules(name, skip=window),
        },
    ]


def _error_ratio_rules(name: str, skip: str) -> list[dict]:
    """Build the service-level error ratios of ERROR_RATIO_WINDOWS.

    The window ``skip`` is left out because the first group already records
    it, and two rules must not write the same series.
    """
    rules = []
    for window in ERROR_RATIO_WINDOWS:
        if window == skip:
            continue
        rules.append(
            {
                "record": f"service:http_server_requests:rate{window}",
                "expr": _requests_expr(name, "service", window),
            }
        )
        rules.append(
            {
                "record": f"service:http_server_request_errors:rate{window}",
                "expr": _errors_expr(name, "service", window),
            }
        )
        rules.append(
            {
                "record": f"service:http_server_request_errors:ratio_rate{window}",
                "expr": (
                    f'service:http_server_request_errors:rate{window}{{service="{name}"}}\n'
                    f'/ service:http_server_requests:rate{window}{{service="{name}"}}'
                ),
            }
        )
    return rules


def _series(metric: str, labels: dict[str, str]) -> str:
    text = ", ".join(f'{key}="{value}"' for key, value in labels.items())
    return f"{metric}{{{text}}}"


def _histogram_series(name, family, status_label, boundaries, per_status):
    """Build the input series of route /login: all requests in the second bucket."""
    lowest, second = boundaries
    series = []
    for status, per_minute in per_status.items():
        labels = {
            "service": name,
            "instance": "app1",
            "http_route": "/login",
            status_label: status,
        }
        growing = f"0+{per_minute}x10"
        series.append({"series": _series(f"{family}_count", labels), "values": growing})
        for le, values in ((lowest, "0x10"), (second, growing), ("+Inf", growing)):
            bucket = _series(f"{family}_bucket", {**labels, "le": le})
            series.append({"series": bucket, "values": values})
    return series


def _expect(record: str, labels: dict[str, str], value: float) -> dict:
    """Build a promql_expr_test that expects one sample of ``record``."""
    return {
        "expr": _series(record, labels),
        "eval_time": "10m",
        "exp_samples": [{"labels": _series(record, labels), "value": value}],
    }


def _expected_quantiles(name, window):
    record = (
        "{level}_quantile:http_server_request_duration_seconds"
        f":histogram_quantile_rate{window}"
    )
    quantiles = {"0.5": 0.175, "0.95": 0.2425, "0.99": 0.2485}
    cases = []
    for level, labels in (
        ("service_route", {"http_route": "/login"}),
        ("service_instance_route", {"instance": "app1", "http_route": "/login"}),
    ):
        for quantile, value in quantiles.items():
            full = {"service": name, **labels, "quantile": quantile}
            cases.append(_expect(record.format(level=level), full, value))
    return cases


def catalogue_rule_tests(service, window="5m"):
    """Return promtool test cases for the rules of one service.

    One case feeds the stable histogram (seconds), one the older histogram
    (milliseconds), one both with different values to show that the stable
    one wins. In each, 45 requests a minute succeed and 15 fail, all between
    0.1 s and 0.25 s, so P50 is 0.175 s, P95 0.2425 s and P99 0.2485 s by
    histogram_quantile's linear interpolation, and the error ratio is 0.25.
    """
    name = service["name"]
    counts = {"200": 45, "500": 15}
    stable = _histogram_series(
        name, STABLE, "http_response_status_code", ("0.1", "0.25"), counts
    )
    old = _histogram_series(name, OLD, "http_status_code", ("100.0", "250.0"), counts)
    # Older series that disagree with the stable ones: all below 100 ms.
    old_fast = _histogram_series(
        name, OLD, "http_status_code", ("0.0", "100.0"), counts
    )
    quantiles = _expected_quantiles(name, window)
    totals = [
        _expect(f"service:http_server_requests:rate{window}", {"service": name}, 1),
        _expect(
            f"service_route:http_server_request_errors:ratio_rate{window}",
            {"service": name, "http_route": "/login"},
            0.25,
        ),
    ]
    # Every window of the burn-rate alerts has the same 25 % of errors,
    # because all series start together and grow at a constant rate.
    totals += [
        _expect(
            f"service:http_server_request_errors:ratio_rate{ratio_window}",
            {"service": name},
            0.25,
        )
        for ratio_window in dict.fromkeys((window, *ERROR_RATIO_WINDOWS))
    ]
    return [
        {
            "interval": "1m",
            "input_series": stable,
            "promql_expr_test": totals + quantiles,
        },
        {"interval": "1m", "input_series": old, "promql_expr_test": totals + quantiles},
        {
            "interval": "1m",
            "input_series": stable + old_fast,
            "promql_expr_test": quantiles,
        },
    ]


class FilterModule:
    """Catalogue filters of vigil.monitoring."""

    def filters(self):
        return {
            "catalogue_problems": catalogue_problems,
            "catalogue_vm_scrape_jobs": catalogue_vm_scrape_jobs,
            "catalogue_kubernetes_scrape_jobs": catalogue_kubernetes_scrape_jobs,
            "catalogue_recording_rules": catalogue_recording_rules,
            "catalogue_rule_tests": catalogue_rule_tests,
        }
