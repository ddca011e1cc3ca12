"""A loopback HTTPS server with Prometheus' query endpoints and basic auth."""

from __future__ import annotations

import base64
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from double_support import TlsFiles

USER = "prometheus"
PASSWORD = "prom-pass"


class _Handler(BaseHTTPRequestHandler):
    requests_seen: list[dict[str, Any]]

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _params(self) -> dict[str, str]:
        split = urlsplit(self.path)
        params = parse_qs(split.query)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            params.update(parse_qs(self.rfile.read(length).decode()))
        return {key: values[0] for key, values in params.items()}

    def _authorized(self) -> bool:
        expected = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return self.headers.get("Authorization") == f"Basic {expected}"

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _serve(self) -> None:
        params = self._params()
        path = urlsplit(self.path).path
        self.requests_seen.append(
            {"method": self.command, "path": path, "params": params}
        )
        if not self._authorized():
            self._reply(401, {"status": "error", "error": "unauthorized"})
            return
        if path == "/api/v1/query":
            sample = {
                "metric": {"__name__": "up", "job": "node"},
                "value": [1700000000, "1"],
            }
            self._reply(
                200,
                {
                    "status": "success",
                    "data": {"resultType": "vector", "result": [sample]},
                },
            )
        elif path == "/api/v1/query_range":
            series = {
                "metric": {"__name__": "up", "job": "node"},
                "values": [[1700000000, "1"], [1700000015, "0"]],
            }
            self._reply(
                200,
                {
                    "status": "success",
                    "data": {"resultType": "matrix", "result": [series]},
                },
            )
        else:
            self._reply(404, {"status": "error", "error": "not found"})

    do_GET = do_POST = _serve


class FakePrometheus:
    """Start with ``start()``; ``url`` is ``https://127.0.0.1:<port>``."""

    def __init__(self, tls: TlsFiles) -> None:
        self.requests_seen: list[dict[str, Any]] = []
        handler = type("Handler", (_Handler,), {"requests_seen": self.requests_seen})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls.cert), str(tls.key))
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> FakePrometheus:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
