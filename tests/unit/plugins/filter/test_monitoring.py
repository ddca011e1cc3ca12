"""The filters and Jinja tests that the roles use in their preflight checks."""

from __future__ import annotations

import datetime
import importlib.util
from pathlib import Path

import bcrypt
import pytest
from ansible.errors import AnsibleFilterError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[4]


def load(path: str):
    spec = importlib.util.spec_from_file_location(path.replace("/", "_"), REPO / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


filters = load("plugins/filter/monitoring.py")
checks = load("plugins/test/monitoring.py")


def test_bcrypt_hash_keeps_matching_hash():
    existing = bcrypt.hashpw(b"secret", bcrypt.gensalt(rounds=4)).decode()
    assert filters.bcrypt_hash("secret", existing) == existing


def test_bcrypt_hash_replaces_stale_hash():
    existing = bcrypt.hashpw(b"old", bcrypt.gensalt(rounds=4)).decode()
    new = filters.bcrypt_hash("secret", existing, 4)
    assert new != existing
    assert bcrypt.checkpw(b"secret", new.encode())


def test_bcrypt_hash_replaces_non_bcrypt_value():
    new = filters.bcrypt_hash("secret", "not-a-hash", 4)
    assert bcrypt.checkpw(b"secret", new.encode())


def test_bcrypt_hash_rejects_73_bytes():
    with pytest.raises(AnsibleFilterError, match="73 bytes"):
        filters.bcrypt_hash("a" * 73)


@pytest.mark.parametrize(
    ("size", "expected"),
    [("512MB", 512 * 2**20), ("1GB", 2**30), ("1GiB", 2**30), ("0B", 0)],
)
def test_prometheus_size_bytes(size, expected):
    assert filters.prometheus_size_bytes(size) == expected


@pytest.mark.parametrize(
    ("duration", "expected"),
    [("7d", 604800), ("1w", 604800), ("1h30m", 5400), ("500ms", 0.5)],
)
def test_prometheus_duration_seconds(duration, expected):
    assert filters.prometheus_duration_seconds(duration) == expected


@pytest.mark.parametrize("value", ["30days", "120G", "", "d"])
def test_invalid_values_rejected(value):
    with pytest.raises(AnsibleFilterError):
        filters.prometheus_duration_seconds(value)
    with pytest.raises(AnsibleFilterError):
        filters.prometheus_size_bytes(value)


def test_without_secrets_hides_password():
    copies = filters.without_secrets([{"name": "node", "password": "x"}, {"name": "b"}])
    assert copies == [
        {"name": "node", "has_password": True},
        {"name": "b", "has_password": False},
    ]


def test_systemd_quote_escapes_specials():
    quoted = filters.systemd_quote('^(lo|veth.*)$ 50% "a\\b"')
    assert quoted == '"^(lo|veth.*)$$ 50%% \\"a\\\\b\\""'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("15d", True),
        ("1h30m", True),
        ("1y2w3d4h5m6s7ms", True),
        ("1m1h", False),
        ("15s15s", False),
        ("30days", False),
        ("", False),
    ],
)
def test_prometheus_duration_test(value, expected):
    assert checks.is_prometheus_duration(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("x", True), ("", False), (" x", False), ("x ", False), ("a" * 72, True)],
)
def test_web_password_test(value, expected):
    assert checks.is_web_password(value) is expected


def test_web_password_counts_bytes():
    assert checks.is_web_password("é" * 36)
    assert not checks.is_web_password("é" * 37)


@pytest.mark.parametrize(
    ("value", "expected"), [(9090, True), ("1", True), (0, False), (65536, False)]
)
def test_port_test(value, expected):
    assert checks.is_port(value) is expected


def write_pair(directory: Path, name: str, issuer=None, issuer_key=None):
    """Write a certificate and key; self-signed unless an issuer is given."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(issuer_key or key, hashes.SHA256())
    )
    (directory / f"{name}.crt").write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
    )
    (directory / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    ca, ca_key = write_pair(tmp_path, "ca")
    write_pair(tmp_path, "host", ca, ca_key)
    write_pair(tmp_path, "other", ca, ca_key)
    write_pair(tmp_path, "stranger")
    (tmp_path / "garbage.pem").write_text("not a certificate\n")
    return tmp_path


def test_tls_files_fit(pki):
    problem = filters.tls_files_problem(
        str(pki / "ca.crt"), str(pki / "host.crt"), str(pki / "host.key")
    )
    assert problem == ""


def test_tls_files_key_of_other_host(pki):
    problem = filters.tls_files_problem(
        str(pki / "ca.crt"), str(pki / "host.crt"), str(pki / "other.key")
    )
    assert "does not belong to the certificate" in problem


def test_tls_files_certificate_not_pem(pki):
    problem = filters.tls_files_problem(
        str(pki / "ca.crt"), str(pki / "garbage.pem"), str(pki / "host.key")
    )
    assert "is not a PEM certificate" in problem


def test_tls_files_other_issuer(pki):
    problem = filters.tls_files_problem(
        str(pki / "ca.crt"), str(pki / "stranger.crt"), str(pki / "stranger.key")
    )
    assert "not by the CA" in problem


def test_readable_file_test(pki):
    assert checks.is_readable_file(str(pki / "ca.crt"))
    assert not checks.is_readable_file(str(pki / "missing.crt"))
    assert not checks.is_readable_file(str(pki))
    assert not checks.is_readable_file("")


def test_ini_problems_clean_settings():
    ini = {"security": {"secret_key": "abc", "cookie_secure": True}, "log": {}}
    assert filters.ini_problems(ini) == []


@pytest.mark.parametrize(
    ("ini", "expected"),
    [
        ({"security": {"secret_key": "a\nb"}}, "[security] 'secret_key'"),
        ({"security": {"secret_key": "a\rb"}}, "[security] 'secret_key'"),
        ({"database": {"password": 'x"""y'}}, "[database] 'password'"),
        ({"log": {"": "x"}}, "[log] ''"),
        ({"log": {"a\n[x]": "1"}}, "[log] 'a\\n[x]'"),
        ({"a]b": {"k": "v"}}, "['a]b']"),
    ],
)
def test_ini_problems_names_bad_entry(ini, expected):
    assert filters.ini_problems(ini) == [expected]


def test_ini_problems_hides_values():
    problems = filters.ini_problems({"security": {"secret_key": "s3cret\nx"}})
    assert "s3cret" not in " ".join(problems)


def test_ini_overrides_lists_protected_keys():
    extra = {"server": {"protocol": "http", "root_url": "x"}, "log": {"level": "w"}}
    protected = {"server": ["protocol", "cert_file"], "auth.anonymous": ["enabled"]}
    assert filters.ini_overrides(extra, protected) == ["server.protocol"]


def test_ini_overrides_empty_extra():
    assert filters.ini_overrides({}, {"server": ["protocol"]}) == []
