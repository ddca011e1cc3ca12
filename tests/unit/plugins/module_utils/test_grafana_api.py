# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for the shared Grafana client and diff helpers, against a stub server.

The stub on 127.0.0.1 replays scripted responses, so retries, backoff and
error texts can be checked without a Grafana double.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_api import (
    GrafanaAPIError,
    GrafanaClient,
    parse_version,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.grafana_diff import (
    comparable_dashboard,
    make_diff,
    strip_dashboard,
)

PASSWORD = "very-secret-password"
TOKEN = "glsa_secret_token_value"


class StubServer:
    """HTTP server that answers with scripted (status, body, headers) tuples."""

    def __init__(self, script: list[tuple[int, Any, dict[str, str]]]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                stub.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length).decode(),
                    }
                )
                status, body, headers = stub.script.pop(0)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def stub() -> Iterator[Any]:
    servers: list[StubServer] = []

    def start(*script: tuple[int, Any, dict[str, str]]) -> StubServer:
        server = StubServer(list(script))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def client_for(url: str, sleeps: list[float], **params: Any) -> GrafanaClient:
    options = {"url": url, "url_username": "admin", "url_password": PASSWORD}
    options.update(params)
    return GrafanaClient(options, sleep=sleeps.append)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_retry_503_then_success(stub):
    server = stub((503, {"message": "busy"}, {}), (200, {"ok": 1}, {}))
    sleeps: list[float] = []

    reply = client_for(server.url, sleeps).get("/api/health")

    assert reply == {"ok": 1}
    assert len(server.requests) == 2
    assert sleeps == [0.5]


def test_retry_backoff_doubles_then_fails(stub):
    server = stub(*[(502, {"message": "bad gateway"}, {})] * 4)
    sleeps: list[float] = []

    with pytest.raises(GrafanaAPIError) as caught:
        client_for(server.url, sleeps, retries=3).get("/api/search")

    assert sleeps == [0.5, 1.0, 2.0]
    assert len(server.requests) == 4
    assert caught.value.status == 502
    assert str(caught.value).startswith("GET /api/search failed with HTTP 502")


def test_retry_after_header_raises_wait(stub):
    server = stub((429, {"message": "slow down"}, {"Retry-After": "3"}), (200, [], {}))
    sleeps: list[float] = []

    client_for(server.url, sleeps).get("/api/search")

    assert sleeps == [3.0]


def test_client_error_not_retried(stub):
    server = stub((400, {"message": "bad request data"}, {}))
    sleeps: list[float] = []

    with pytest.raises(GrafanaAPIError) as caught:
        client_for(server.url, sleeps).post("/api/folders", {"title": ""})

    assert sleeps == []
    assert caught.value.status == 400
    assert caught.value.grafana_message == "bad request data"
    assert "POST /api/folders failed with HTTP 400: bad request data" in str(
        caught.value
    )


def test_connection_refused_retried(stub):
    sleeps: list[float] = []
    client = client_for(f"http://127.0.0.1:{free_port()}", sleeps, retries=2)

    with pytest.raises(GrafanaAPIError) as caught:
        client.get("/api/health")

    assert sleeps == [0.5, 1.0]
    assert client.request_count == 3
    assert caught.value.status is None
    assert "GET /api/health failed: connection failed" in str(caught.value)


def test_missing_ok_returns_none(stub):
    server = stub((404, {"message": "Dashboard not found"}, {}))

    assert client_for(server.url, []).get("/api/x", missing_ok=True) is None


def test_error_message_redacts_secrets(stub):
    echoed = f"invalid credentials {PASSWORD} {TOKEN}"
    server = stub((401, {"message": echoed}, {}), (401, {"message": echoed}, {}))

    with pytest.raises(GrafanaAPIError) as basic:
        client_for(server.url, []).get("/api/user")
    token_client = GrafanaClient({"url": server.url, "token": TOKEN}, sleep=[].append)
    with pytest.raises(GrafanaAPIError) as bearer:
        token_client.get("/api/user")

    assert "HTTP 401" in str(basic.value)
    assert PASSWORD not in str(basic.value)
    assert TOKEN not in str(bearer.value)
    assert "Basic " not in str(basic.value)


def test_auth_and_org_headers_sent(stub):
    server = stub((200, {}, {}), (200, {}, {}))

    client_for(server.url, [], org_id=3).get("/api/org/users")
    GrafanaClient({"url": server.url, "token": TOKEN}, sleep=[].append).get("/api/x")

    basic_headers = server.requests[0]["headers"]
    bearer_headers = server.requests[1]["headers"]
    assert basic_headers["Authorization"].startswith("Basic ")
    assert basic_headers["X-Grafana-Org-Id"] == "3"
    assert bearer_headers["Authorization"] == f"Bearer {TOKEN}"
    assert "X-Grafana-Org-Id" not in bearer_headers


def test_request_headers_only_on_that_request(stub):
    server = stub((202, {}, {}), (200, [], {}))
    client = client_for(server.url, [])

    client.put("/api/x", {}, headers={"X-Disable-Provenance": "true"})
    client.get("/api/x")

    assert server.requests[0]["headers"]["X-Disable-Provenance"] == "true"
    assert "X-Disable-Provenance" not in server.requests[1]["headers"]


def test_search_pages_until_short_page(stub):
    full = [{"uid": f"d{i}"} for i in range(1000)]
    server = stub((200, full, {}), (200, [{"uid": "last"}], {}))

    hits = list(client_for(server.url, []).search(type="dash-db"))

    assert len(hits) == 1001
    assert "page=1" in server.requests[0]["path"]
    assert "page=2" in server.requests[1]["path"]
    assert "limit=1000" in server.requests[1]["path"]


def test_version_read_once(stub):
    server = stub((200, {"version": "11.1.0-pre", "database": "ok"}, {}))
    client = client_for(server.url, [])

    assert client.version_at_least(11, 1) is True
    assert client.version_at_least(12) is False
    assert len(server.requests) == 1


def test_parse_version_forms():
    assert parse_version("12.2.0") == (12, 2, 0)
    assert parse_version("v10.4.3+security-01") == (10, 4, 3)
    assert parse_version("") == ()


def test_strip_dashboard_removes_export_fields():
    model = {"id": 3, "version": 7, "iteration": 1, "__inputs": [], "title": "T"}

    assert strip_dashboard(model) == {"title": "T"}


def test_panel_ids_ignored_only_when_absent():
    desired = {"panels": [{"title": "a"}, {"id": 9, "title": "b"}]}
    stored = {"id": 1, "panels": [{"id": 1, "title": "a"}, {"id": 2, "title": "b"}]}

    reduced = comparable_dashboard(desired, stored)

    assert reduced == {"panels": [{"title": "a"}, {"id": 2, "title": "b"}]}


def test_row_panel_ids_ignored():
    desired = {"panels": [{"type": "row", "panels": [{"title": "x"}]}]}
    stored = {"panels": [{"id": 1, "type": "row", "panels": [{"id": 2, "title": "x"}]}]}

    assert comparable_dashboard(desired, stored) == desired


def test_make_diff_missing_side_empty():
    diff = make_diff(None, {"b": 1, "a": 2}, "folder x")

    assert diff["before"] == ""
    assert diff["after"] == '{\n  "a": 2,\n  "b": 1\n}\n'
    assert diff["after_header"] == "folder x"


def test_module_connection_refused_retries(run_module):
    url = f"http://127.0.0.1:{free_port()}"
    args = {"url": url, "url_username": "admin", "url_password": PASSWORD}
    args.update(uid="x", title="X", retries=1)

    result = run_module("grafana_folder", args, auth=False)

    assert result["failed"] is True
    assert "GET /api/folders/x failed: connection failed" in result["msg"]
    assert PASSWORD not in result["msg"]


def test_module_retries_503_then_succeeds(run_module, stub):
    folder = {"uid": "x", "title": "X", "url": "/dashboards/f/x/x", "version": 1}
    server = stub((503, {"message": "unavailable"}, {}), (200, folder, {}))
    args = {"url": server.url, "url_username": "admin", "url_password": PASSWORD}
    args.update(uid="x", title="X")

    result = run_module("grafana_folder", args, auth=False)

    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False
    assert [request["method"] for request in server.requests] == ["GET", "GET"]
