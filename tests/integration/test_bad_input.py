"""Bad settings fail in the preflight, before any host changes."""

from __future__ import annotations

import pytest
from conftest import APP1, APP2, CA_FILE, HOSTS, REPO, host_fingerprint, run_playbook

GARBAGE_PEM = REPO / ".cache" / "sandbox" / "garbage.pem"
OTHER_HOST_KEY = CA_FILE.parent / "hosts" / f"{APP1}.key"

CASES = {
    "retention_time_in_days_word": (
        {"prometheus_retention_time": "30days"},
        ["prometheus_retention_time", "30days", "15d"],
    ),
    "retention_size_without_byte_unit": (
        {"prometheus_retention_size": "120G"},
        ["prometheus_retention_size", "120G", "50GB"],
    ),
    "retention_size_larger_than_disk": (
        {"prometheus_retention_size": "64PB"},
        ["prometheus_retention_size", "64PB", "grow the disk"],
    ),
    "prometheus_password_missing": (
        {"prometheus_web_password": ""},
        ["prometheus_web_password", "ansible-vault"],
    ),
    "node_exporter_password_missing": (
        {"node_exporter_web_password": ""},
        ["node_exporter_web_password", "empty"],
    ),
    "certificate_missing": (
        {"prometheus_tls_cert_src": "/nonexistent/prometheus.crt"},
        [
            "prometheus_tls_cert_src",
            "/nonexistent/prometheus.crt",
            "not a readable file",
        ],
    ),
    "scrape_group_without_hosts": (
        {
            "prometheus_scrape_jobs": [
                {"name": "orphans", "group": "app_cms", "port": 9100}
            ]
        },
        ["orphans", "app_cms", "0 hosts", "add hosts to the group"],
    ),
    "scrape_timeout_above_interval": (
        {"prometheus_scrape_timeout": "2m"},
        ["prometheus_scrape_timeout", "2m", "lower prometheus_scrape_timeout"],
    ),
    "certificate_not_pem": (
        {"prometheus_tls_cert_src": str(GARBAGE_PEM)},
        ["prometheus_tls_cert_src", "is not a PEM certificate"],
    ),
    "key_of_another_host": (
        {"prometheus_tls_key_src": str(OTHER_HOST_KEY)},
        ["prometheus_tls_key_src", "does not belong to the certificate"],
    ),
    "password_longer_than_bcrypt_limit": (
        {"prometheus_web_password": "A" * 73},
        ["prometheus_web_password", "72 bytes"],
    ),
    "password_with_trailing_space": (
        {"node_exporter_web_password": "secret "},
        ["node_exporter_web_password", "white space"],
    ),
    "port_out_of_range": (
        {"node_exporter_port": 99999},
        ["node_exporter_port", "99999", "1 to 65535"],
    ),
    "duration_units_out_of_order": (
        {"prometheus_retention_time": "1m1h"},
        ["prometheus_retention_time", "1m1h", "largest first"],
    ),
    "scrape_job_name_with_path": (
        {
            "prometheus_scrape_jobs": [
                {"name": "../evil", "group": "node_exporter", "port": 9100}
            ]
        },
        ["../evil", "letters, digits"],
    ),
    "bad_setting_on_one_host_stops_all": (
        {
            "node_exporter_web_password": (
                "{{ '' if inventory_hostname == '" + APP2 + "' else 'one-host-case' }}"
            )
        },
        ["node_exporter_web_password", "empty"],
    ),
    "grafana_certificate_missing": (
        {"grafana_tls_cert_src": "/nonexistent/grafana.crt"},
        ["grafana_tls_cert_src", "/nonexistent/grafana.crt", "does not exist"],
    ),
    "grafana_admin_password_too_short": (
        {"grafana_admin_password": "abc"},
        ["grafana_admin_password", "at least 5 characters"],
    ),
    "install_method_unknown": (
        {"prometheus_install_method": "tarball"},
        ["prometheus_install_method", "tarball", "'archive'"],
    ),
}


@pytest.fixture(scope="module")
def fingerprints(converged) -> dict[str, str]:
    return {host: host_fingerprint(host) for host in HOSTS}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_fails_before_change(case, fingerprints):
    extra_vars, expected = CASES[case]
    GARBAGE_PEM.write_bytes(b"not a certificate\n" * 8)
    run = run_playbook("site.yml", extra_vars=extra_vars)
    assert run.returncode != 0
    for text in expected:
        assert text in run.stdout, f"{text!r} missing from the failure output"
    assert all(count == 0 for count in run.changed_per_host.values())
    after = {host: host_fingerprint(host) for host in HOSTS}
    assert after == fingerprints
