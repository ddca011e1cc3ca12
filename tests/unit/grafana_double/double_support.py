"""Helpers for the double's tests: ini files, TLS material, an API client."""

from __future__ import annotations

import datetime
import ipaddress
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TESTS_DIR = Path(__file__).resolve().parents[2]
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from grafana_double import GrafanaDouble, load_settings  # noqa: E402

ADMIN_PASSWORD = "s3cret-admin"


def minimal_dashboard(title: str, **fields: Any) -> dict[str, Any]:
    """Return a dashboard model that passes the dashboard JSON schema."""
    dashboard: dict[str, Any] = {
        "title": title,
        "schemaVersion": 41,
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": [],
        "tags": [],
    }
    dashboard.update(fields)
    return dashboard


def write_ini(directory: Path, sections: dict[str, dict[str, Any]]) -> Path:
    """Write grafana.ini with defaults for a loopback test server on a free port."""
    merged: dict[str, dict[str, Any]] = {
        "server": {"protocol": "http", "http_addr": "127.0.0.1", "http_port": 0},
        "security": {"admin_user": "admin", "admin_password": ADMIN_PASSWORD},
        "paths": {
            "data": str(directory / "data"),
            "logs": str(directory / "log"),
            "provisioning": str(directory / "provisioning"),
        },
    }
    for section, values in sections.items():
        merged.setdefault(section, {}).update(values)
    lines = []
    for section, values in merged.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {value}" for key, value in values.items())
        lines.append("")
    path = directory / "grafana.ini"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@dataclass
class TlsFiles:
    """A CA and a server certificate for 127.0.0.1 and localhost, as PEM files."""

    ca_cert: Path
    cert: Path
    key: Path

    @property
    def ca_pem(self) -> str:
        return self.ca_cert.read_text(encoding="utf-8")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def generate_tls(directory: Path) -> TlsFiles:
    """Generate a test CA and a server certificate signed by it."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("grafana-double test CA"))
        .issuer_name(_name("grafana-double test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(
        directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    )
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


class Api:
    """A small client for the double: base URL, credentials and org header."""

    def __init__(
        self,
        base_url: str,
        auth: tuple[str, str] | None = None,
        token: str | None = None,
        org_id: int | None = None,
        verify: str | bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = verify
        if auth:
            self.session.auth = auth
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        if org_id:
            self.session.headers["X-Grafana-Org-Id"] = str(org_id)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json=body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, json=body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


def expect(response: requests.Response, status: int) -> Any:
    """Assert the status, showing the body on failure, and return the JSON body."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: "
        f"expected {status}, got {response.status_code}: {response.text}"
    )
    if not response.content:
        return None
    return json.loads(response.content)


class DoubleFactory:
    """Start doubles in a temp home; stop them and check their traffic at teardown."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.running: list[GrafanaDouble] = []
        self.records: list[dict[str, Any]] = []

    def ini(self, sections: dict[str, dict[str, Any]] | None = None) -> Path:
        return write_ini(self.home, sections or {})

    def start(self, sections: dict[str, dict[str, Any]] | None = None) -> GrafanaDouble:
        path = self.ini(sections)
        double = GrafanaDouble(load_settings(path, self.home), record_path=None)
        double.recorder.path = None
        self.running.append(double)
        return double.start()

    def stop(self, double: GrafanaDouble) -> None:
        double.stop()
        self.running.remove(double)
        self.records.extend(double.records)

    def stop_all(self) -> None:
        for double in list(self.running):
            self.stop(double)
