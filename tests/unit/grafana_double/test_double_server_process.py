"""The ``grafana-server`` entry script as a process, serving HTTPS."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from double_support import ADMIN_PASSWORD, TESTS_DIR, TlsFiles, write_ini

STARTUP_TIMEOUT_SECONDS = 20


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(url: str, ca: Path, process: subprocess.Popen) -> requests.Response:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            return requests.get(url + "/api/health", verify=str(ca), timeout=2)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_grafana_server_https(tmp_path: Path, tls_files: TlsFiles) -> None:
    port = _free_port()
    ini = write_ini(
        tmp_path,
        {
            "server": {
                "protocol": "https",
                "http_port": port,
                "cert_file": tls_files.cert,
                "cert_key": tls_files.key,
            }
        },
    )
    script = TESTS_DIR / "grafana_double" / "grafana-server"
    process = subprocess.Popen(
        [
            sys.executable,
            str(script),
            "--config",
            str(ini),
            "--homepath",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"https://127.0.0.1:{port}"
        health = _wait_healthy(url, tls_files.ca_cert, process)
        user = requests.get(
            url + "/api/user",
            auth=("admin", ADMIN_PASSWORD),
            verify=str(tls_files.ca_cert),
            timeout=5,
        )
        assert health.status_code == 200
        assert user.json()["login"] == "admin"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    assert process.returncode == 0
    assert (tmp_path / "data" / "grafana-double.json").is_file()
    assert "HTTP Server Listen" in (tmp_path / "log" / "grafana.log").read_text()
