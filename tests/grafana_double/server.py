"""The HTTP(S) server: request dispatch, authentication, persistence, logging."""

from __future__ import annotations

import logging
import os
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from . import (
    accounts,
    alert_rules,
    alerting,
    dashboards,
    datasources,
    folders,
    permissions,
    preferences,
    search,
    serviceaccounts,
    teams,
    users,
)
from .auth import authenticate
from .config import GRAFANA_VERSION, Settings
from .recording import RECORD_ENV, Recorder
from .routing import ApiError, Context, Response, Route, Router
from .store import Store

log = logging.getLogger("grafana_double.server")

OUTBOUND_TEMPLATES = (
    "/api/datasources/uid/{uid}/health",
    "/api/ds/query",
    "/api/datasources/proxy/uid/{uid}/{datasource_proxy_route*}",
)
"""Routes that call a data source; they run without holding the state lock."""
REQUEST_TIMEOUT_SECONDS = 60


def health(ctx: Context) -> Response:
    return Response(
        200, {"commit": "grafana-double", "database": "ok", "version": GRAFANA_VERSION}
    )


def build_router() -> Router:
    router = Router()
    router.add("GET", "/api/health", health, public=True)
    for module in (
        users,
        preferences,
        teams,
        serviceaccounts,
        folders,
        permissions,
        dashboards,
        search,
        datasources,
        alerting,
        alert_rules,
    ):
        module.register(router)
    return router


class GrafanaDouble:
    """A Grafana HTTP API test double bound to the address in ``settings``.

    Call ``start()`` to serve in a background thread (tests) or
    ``serve_forever()`` to serve in the calling thread (the CLI).
    """

    def __init__(self, settings: Settings, record_path: str | None = None) -> None:
        self.settings = settings
        self.store = Store(settings.state_file)
        self.router = build_router()
        self.recorder = Recorder(record_path or os.environ.get(RECORD_ENV))
        self.httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.recorder.records

    @property
    def port(self) -> int:
        assert self.httpd is not None
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        host = self.settings.http_addr or "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{self.settings.protocol}://{host}:{self.port}"

    def prepare(self) -> None:
        """Open or create the state and apply data source provisioning."""
        settings = self.settings
        settings.data_path.mkdir(parents=True, exist_ok=True)
        with self.store.lock:
            self.store.load()
            if self.store.created:
                log.info("creating new database in %s", settings.state_file)
                accounts.bootstrap(
                    self.store,
                    settings.admin_user,
                    settings.admin_password,
                    not settings.disable_initial_admin_creation,
                )
            datasources.provision_datasources(
                self.store, settings.provisioning_path / "datasources"
            )
            self.store.save()

    def bind(self) -> None:
        settings = self.settings
        family = socket.AF_INET6 if ":" in settings.http_addr else socket.AF_INET
        server_class = type(
            "Server", (ThreadingHTTPServer,), {"address_family": family}
        )
        handler = type("Handler", (_Handler,), {"double": self})
        self.httpd = server_class((settings.http_addr, settings.http_port), handler)
        if settings.protocol == "https":
            self.httpd.socket = _tls_context(settings).wrap_socket(
                self.httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        log.info(
            'msg="HTTP Server Listen" address=%s:%d protocol=%s',
            settings.http_addr or "0.0.0.0",
            self.port,
            settings.protocol,
        )

    def start(self) -> GrafanaDouble:
        self.prepare()
        self.bind()
        assert self.httpd is not None
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.prepare()
        self.bind()
        assert self.httpd is not None
        self.httpd.serve_forever()

    def stop(self) -> None:
        if self.httpd is None:
            return
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        log.info("HTTP server stopped")

    def dispatch(self, ctx: Context) -> tuple[Response, Route | None]:
        route, params = self.router.match(ctx.method, ctx.path)
        if route is None:
            if "__method_not_allowed" in params:
                return Response(405, {"message": "Method Not Allowed"}), None
            return Response(404, {"message": "Not found"}), None
        ctx.params = params
        try:
            return self._run(route, ctx), route
        except ApiError as error:
            log.info(
                "request %s %s failed with status %d: %s",
                ctx.method,
                ctx.path,
                error.status,
                error,
            )
            return Response(error.status, error.body), route

    def _run(self, route: Route, ctx: Context) -> Response:
        with self.store.lock:
            self.store.reload_if_changed()
            if not route.public:
                ctx.identity = authenticate(ctx)
            if route.template in OUTBOUND_TEMPLATES:
                unlocked = True
            else:
                unlocked = False
                response = route.handler(ctx)
                if ctx.method != "GET" and response.status < 400:
                    self.store.save()
        if unlocked:
            response = route.handler(ctx)
        return response


def _tls_context(settings: Settings) -> ssl.SSLContext:
    if not settings.cert_file or not settings.cert_key:
        raise ValueError("protocol https needs [server] cert_file and cert_key")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.cert_file, settings.cert_key)
    return context


class _Handler(BaseHTTPRequestHandler):
    double: GrafanaDouble
    protocol_version = "HTTP/1.1"
    timeout = REQUEST_TIMEOUT_SECONDS
    server_version = "Grafana"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError) as error:
                log.warning(
                    "TLS handshake with %s failed: %s", self.client_address[0], error
                )
                self.close_connection = True
                raise ConnectionAbortedError from error

    def handle(self) -> None:
        try:
            super().handle()
        except ConnectionError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.client_address[0], format % args)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        ctx = Context(
            method=self.command,
            path=split.path,
            query_string=split.query,
            headers=headers,
            raw_body=body,
            settings=self.double.settings,
            store=self.double.store,
        )
        try:
            response, route = self.double.dispatch(ctx)
        except Exception:
            log.exception("request %s %s failed", self.command, self.path)
            response, route = Response(500, {"message": "Internal Server Error"}), None
        # Record before replying, so a client that got the reply finds the record.
        self.double.recorder.record(
            method=self.command,
            target=self.path,
            request_headers=headers,
            request_body=body,
            status=response.status,
            response_headers=self._response_headers(response),
            response_body=response.encode(),
            route=route.template if route else None,
        )
        self._send(response)

    def _response_headers(self, response: Response) -> dict[str, str]:
        headers = dict(response.headers)
        if response.body is not None and not isinstance(response.body, bytes):
            headers.setdefault("Content-Type", "application/json")
        return headers

    def _send(self, response: Response) -> None:
        payload = response.encode()
        self.send_response(response.status)
        for name, value in self._response_headers(response).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve
