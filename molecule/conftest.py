"""Helpers for the testinfra verifiers of the molecule scenarios.

The checks run on the controller and reach each container over the
scenario's Docker network, as a client of the service would.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests
import urllib3

# Plain-HTTP probes use no TLS at all; nothing else turns off verification.
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


@pytest.fixture(scope="module")
def ca_file() -> str:
    """Path of the private CA that the pki role made for the scenario."""
    path = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "pki" / "ca.crt"
    assert path.is_file(), f"no CA certificate at {path}: did converge run?"
    return str(path)


@pytest.fixture
def host_vars(host) -> dict:
    """Inventory variables of the host under test."""
    return host.ansible.get_variables()


@pytest.fixture
def address(host_vars) -> str:
    """Address of the host under test on the scenario's network."""
    return host_vars["vigil_address"]


def wait_for(check, timeout: float = 90.0, interval: float = 3.0):
    """Call ``check`` until it returns a truthy value or ``timeout`` passes.

    Returns the last value, so the caller's assert shows what was seen.
    """
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = check()
    return value


def get(url: str, **kwargs) -> requests.Response:
    """GET with a timeout that fits a container on a loaded machine."""
    kwargs.setdefault("timeout", 15)
    return requests.get(url, **kwargs)
