"""Sample User Management service for the sandbox and the tests.

A small HTTP service with three endpoints (list users, get a user, log in)
whose latency and error ratio are set per endpoint in a JSON file, read at
start and again on SIGHUP (``systemctl reload user-management``). It records
the OpenTelemetry HTTP server duration histogram and, when the environment
selects the Prometheus exporter, serves it through the SDK's Prometheus reader.

Environment, with the names and meanings that the OpenTelemetry SDK uses:

- ``OTEL_METRICS_EXPORTER``: ``prometheus`` turns the exporter on; unset or
  ``none`` records nothing.
- ``OTEL_EXPORTER_PROMETHEUS_HOST`` and ``OTEL_EXPORTER_PROMETHEUS_PORT``: the
  exporter's listening address (the SDK's defaults are localhost and 9464).
- ``OTEL_SEMCONV_STABILITY_OPT_IN``: ``http`` records the stable
  ``http.server.request.duration`` histogram in seconds; ``http/dup`` records
  it and the older ``http.server.duration`` histogram in milliseconds; unset
  records only the older one, as the OpenTelemetry HTTP instrumentations do.
- ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``: the resource.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import signal
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import entry_points
from typing import ClassVar

from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource

log = logging.getLogger("user_management")

# Bucket boundaries that the HTTP semantic conventions advise for the stable
# histogram, in seconds. The older histogram used the SDK's default
# boundaries, which are in milliseconds.
STABLE_BOUNDARIES = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
)  # fmt: skip

USERS = {
    1: {"id": 1, "name": "ada", "email": "ada@example.org"},
    2: {"id": 2, "name": "grace", "email": "grace@example.org"},
    3: {"id": 3, "name": "linus", "email": "linus@example.org"},
}
PASSWORDS = {"ada": "lovelace", "grace": "hopper", "linus": "torvalds"}

# Route templates, used as the http.route attribute so that the metrics have
# one series per endpoint rather than one per user id.
ROUTES = (
    ("GET", re.compile(r"^/users$"), "/users", "list_users"),
    ("GET", re.compile(r"^/users/(?P<user_id>[^/]+)$"), "/users/{id}", "get_user"),
    ("POST", re.compile(r"^/login$"), "/login", "login"),
)

DEFAULT_ENDPOINTS = {
    "list_users": {"latency_ms": 50, "jitter_ms": 10, "error_ratio": 0.0},
    "get_user": {"latency_ms": 20, "jitter_ms": 5, "error_ratio": 0.0},
    "login": {"latency_ms": 200, "jitter_ms": 10, "error_ratio": 0.05},
}


def load_endpoints(path: str | None) -> dict[str, dict[str, float]]:
    """Read per-endpoint latency and error ratio, over the defaults."""
    endpoints = {name: dict(values) for name, values in DEFAULT_ENDPOINTS.items()}
    if not path:
        return endpoints
    with open(path, encoding="utf-8") as handle:
        configured = json.load(handle).get("endpoints", {})
    for name, values in configured.items():
        if name not in endpoints:
            raise ValueError(
                f"unknown endpoint {name!r} in {path}: use one of {sorted(endpoints)}"
            )
        endpoints[name].update(values)
    return endpoints


def semconv_modes(opt_in: str) -> tuple[bool, bool]:
    """Return (stable, old): which duration histograms to record."""
    values = {value.strip() for value in opt_in.split(",")}
    if "http/dup" in values:
        return True, True
    if "http" in values:
        return True, False
    return False, True


def start_metrics() -> MeterProvider:
    """Set up the meter provider with the exporters that the environment names."""
    names = os.environ.get("OTEL_METRICS_EXPORTER", "none")
    readers = []
    for name in (value.strip() for value in names.split(",")):
        if name in ("", "none"):
            continue
        # The SDK finds its exporters by this entry point group; the Prometheus
        # reader starts its HTTP server from the environment when created.
        found = entry_points(group="opentelemetry_metrics_exporter", name=name)
        if not found:
            raise ValueError(f"OTEL_METRICS_EXPORTER names unknown exporter {name!r}")
        readers.append(next(iter(found)).load()())
        log.info("metrics exporter %s started", name)
    provider = MeterProvider(resource=Resource.create(), metric_readers=readers)
    metrics.set_meter_provider(provider)
    return provider


class Telemetry:
    """The HTTP server duration histograms of the semantic conventions."""

    def __init__(self, stable: bool, old: bool) -> None:
        meter = metrics.get_meter("user_management", "1.0.0")
        self.stable = None
        self.old = None
        if stable:
            self.stable = meter.create_histogram(
                "http.server.request.duration",
                unit="s",
                description="Duration of HTTP server requests.",
                explicit_bucket_boundaries_advisory=STABLE_BOUNDARIES,
            )
        if old:
            self.old = meter.create_histogram(
                "http.server.duration",
                unit="ms",
                description="Duration of HTTP server requests.",
            )

    def record(self, seconds: float, method: str, route: str, status: int) -> None:
        if self.stable is not None:
            attributes = {
                "http.request.method": method,
                "http.route": route,
                "http.response.status_code": status,
                "url.scheme": "http",
            }
            if status >= 500:
                attributes["error.type"] = str(status)
            self.stable.record(seconds, attributes)
        if self.old is not None:
            self.old.record(
                seconds * 1000,
                {
                    "http.method": method,
                    "http.route": route,
                    "http.status_code": status,
                    "http.scheme": "http",
                },
            )


class Handler(BaseHTTPRequestHandler):
    server_version = "UserManagement/1.0"
    protocol_version = "HTTP/1.1"
    endpoints: ClassVar[dict[str, dict[str, float]]] = {}
    telemetry: Telemetry

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def dispatch(self, method: str) -> None:
        started = time.perf_counter()
        route, status, body = "", HTTPStatus.NOT_FOUND, {"error": "not found"}
        for route_method, pattern, template, name in ROUTES:
            match = pattern.match(self.path.split("?", 1)[0])
            if match and route_method == method:
                route = template
                status, body = self.run_endpoint(name, match.groupdict())
                break
        self.respond(status, body)
        # Unmatched paths get no route attribute, as in the instrumentations.
        self.telemetry.record(
            time.perf_counter() - started, method, route or "", int(status)
        )

    def run_endpoint(
        self, name: str, params: dict[str, str]
    ) -> tuple[HTTPStatus, dict]:
        settings = self.endpoints[name]
        delay = settings["latency_ms"] + random.uniform(
            -settings["jitter_ms"], settings["jitter_ms"]
        )
        time.sleep(max(delay, 0) / 1000)
        if random.random() < settings["error_ratio"]:
            return HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "injected failure"}
        if name == "list_users":
            return HTTPStatus.OK, {"users": list(USERS.values())}
        if name == "get_user":
            user = (
                USERS.get(int(params["user_id"]))
                if params["user_id"].isdigit()
                else None
            )
            if user is None:
                return HTTPStatus.NOT_FOUND, {"error": "no such user"}
            return HTTPStatus.OK, user
        return self.login()

    def login(self) -> tuple[HTTPStatus, dict]:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            credentials = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            return HTTPStatus.BAD_REQUEST, {"error": "body is not JSON"}
        user = str(credentials.get("user", ""))
        if PASSWORDS.get(user) != credentials.get("password"):
            return HTTPStatus.UNAUTHORIZED, {"error": "invalid user or password"}
        return HTTPStatus.OK, {"user": user, "token": f"sample-token-{user}"}

    def respond(self, status: HTTPStatus, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args) -> None:
        # Access logs would flood the journal under load; errors still log.
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="listening address")
    parser.add_argument("--port", type=int, default=8080, help="listening TCP port")
    parser.add_argument(
        "--config",
        help="JSON file with per-endpoint latency_ms, jitter_ms, error_ratio",
    )
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )

    Handler.endpoints = load_endpoints(args.config)
    provider = start_metrics()
    stable, old = semconv_modes(os.environ.get("OTEL_SEMCONV_STABILITY_OPT_IN", ""))
    Handler.telemetry = Telemetry(stable, old)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True

    def stop(signum, _frame) -> None:
        log.info("signal %d received, stopping", signum)
        threading.Thread(target=server.shutdown).start()

    def reload(_signum, _frame) -> None:
        # A file that does not parse keeps the settings in use.
        try:
            Handler.endpoints = load_endpoints(args.config)
        except (OSError, ValueError) as error:
            log.error("endpoint settings not reloaded: %s", error)
            return
        log.info("endpoint settings reloaded from %s", args.config)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)
    log.info(
        "listening on %s:%d (stable histogram: %s, older histogram: %s)",
        args.host, args.port, stable, old,
    )  # fmt: skip
    server.serve_forever()
    server.server_close()
    provider.shutdown()
    log.info("stopped")


if __name__ == "__main__":
    main()
