# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures for the Grafana module tests: one Grafana double for the session.

Modules run as subprocesses the way Ansible runs them, against a double of
Grafana's HTTP API on 127.0.0.1. Every exchange with the double is recorded,
and ``test_grafana_contract.py`` checks all of them against Grafana's OpenAPI
description after the other tests, because the hook below moves it last.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
COLLECTIONS_ROOT = REPO_ROOT / "collections"
TESTS_DIR = REPO_ROOT / "tests"
for entry in (str(TESTS_DIR), str(COLLECTIONS_ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from grafana_double import GrafanaDouble, load_settings  # noqa: E402

ADMIN_PASSWORD = "admin-pass-for-tests"
MODULE_PACKAGE = "ansible_collections.vigil.monitoring.plugins.modules"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")
CONTRACT_TEST = "test_grafana_contract_all_exchanges"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the contract check of the recorded exchanges after every other test."""
    last = [item for item in items if item.name == CONTRACT_TEST]
    others = [item for item in items if item.name != CONTRACT_TEST]
    items[:] = others + last


def write_ini(directory: Path) -> Path:
    data = directory / "data"
    text = "\n".join(
        [
            "[server]",
            "protocol = http",
            "http_addr = 127.0.0.1",
            "http_port = 0",
            "[security]",
            "admin_user = admin",
            f"admin_password = {ADMIN_PASSWORD}",
            "[paths]",
            f"data = {data}",
            f"logs = {directory / 'log'}",
            f"provisioning = {directory / 'provisioning'}",
            "",
        ]
    )
    path = directory / "grafana.ini"
    path.write_text(text, encoding="utf-8")
    return path


class Api:
    """Minimal admin client for test setup, with urllib to stay off the proxies."""

    def __init__(self, url: str, auth: tuple[str, str]) -> None:
        self.url = url
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        self.headers = {
            "Authorization": f"Basic {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=self.headers
        )
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, reply = self.call(method, path, body)
        assert status in (200, 201), f"{method} {path}: {status} {reply}"
        return reply


@pytest.fixture(scope="session")
def grafana(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GrafanaDouble]:
    home = tmp_path_factory.mktemp("grafana")
    double = GrafanaDouble(load_settings(write_ini(home), home)).start()
    yield double
    double.stop()


@pytest.fixture(scope="session")
def admin_api(grafana: GrafanaDouble) -> Api:
    return Api(grafana.url, ("admin", ADMIN_PASSWORD))


_names = itertools.count(1)


@pytest.fixture
def unique() -> str:
    """Return a short name that no other test uses, for uids, titles and logins."""
    return f"t{next(_names)}"


@pytest.fixture(scope="session")
def make_user(admin_api: Api):
    """Create a user in org 1 and return its login; the email is login@example.test."""

    def create(login: str, role: str = "Viewer") -> str:
        body = {
            "login": login,
            "email": f"{login}@example.test",
            "name": login.title(),
            "password": login + "-password",
        }
        user_id = admin_api.ok("POST", "/api/admin/users", body)["id"]
        if role != "Viewer":
            admin_api.ok("PATCH", f"/api/org/users/{user_id}", {"role": role})
        return login

    return create


@pytest.fixture(scope="session")
def service_account_token(admin_api: Api) -> str:
    account = admin_api.ok(
        "POST", "/api/serviceaccounts", {"name": "ansible", "role": "Admin"}
    )
    reply = admin_api.ok(
        "POST", f"/api/serviceaccounts/{account['id']}/tokens", {"name": "tests"}
    )
    return str(reply["key"])


class ModuleRunner:
    """Run a module in a subprocess with an args file, as Ansible's debugging does."""

    def __init__(self, tmp_path: Path, url: str) -> None:
        self.tmp_path = tmp_path
        self.url = url
        self.calls = 0

    def connection(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "url_username": "admin",
            "url_password": ADMIN_PASSWORD,
        }

    def __call__(
        self,
        module: str,
        args: dict[str, Any],
        check_mode: bool = False,
        diff_mode: bool = False,
        auth: bool = True,
    ) -> dict[str, Any]:
        module_args = dict(self.connection()) if auth else {}
        module_args.update(args)
        module_args["_ansible_check_mode"] = check_mode
        module_args["_ansible_diff"] = diff_mode
        module_args["_ansible_remote_tmp"] = str(self.tmp_path)
        self.calls += 1
        args_file = self.tmp_path / f"args-{self.calls}.json"
        args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
        env["PYTHONPATH"] = str(COLLECTIONS_ROOT)
        completed = subprocess.run(
            [sys.executable, "-m", f"{MODULE_PACKAGE}.{module}", str(args_file)],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.tmp_path,
            timeout=60,
            check=False,
        )
        try:
            return json.loads(completed.stdout)
        except ValueError:
            pytest.fail(
                f"{module} printed no JSON result (exit {completed.returncode}).\n"
                f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
            )


@pytest.fixture
def run_module(tmp_path: Path, grafana: GrafanaDouble) -> ModuleRunner:
    return ModuleRunner(tmp_path, grafana.url)


def minimal_dashboard(uid: str | None, title: str, **fields: Any) -> dict[str, Any]:
    """Return a dashboard model that passes Grafana's dashboard JSON schema."""
    dashboard: dict[str, Any] = {
        "title": title,
        "schemaVersion": 41,
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": [],
        "tags": [],
    }
    if uid is not None:
        dashboard["uid"] = uid
    dashboard.update(fields)
    return dashboard


@pytest.fixture(scope="session")
def dashboard_model():
    """Return ``minimal_dashboard`` for tests that build dashboard models."""
    return minimal_dashboard
