"""Files, permissions and the systemd unit of Prometheus on the host."""

from __future__ import annotations


def test_key_readable_only_by_service(host):
    key = host.file("/etc/prometheus/tls/prometheus.key")
    assert key.user == "prometheus"
    assert key.mode == 0o600


def test_scrape_password_readable_only_by_service(host):
    secret = host.file("/etc/prometheus/secrets/peers.password")
    assert secret.user == "prometheus"
    assert secret.mode == 0o600


def test_alertmanager_password_readable_only_by_service(host):
    secret = host.file("/etc/prometheus/alertmanagers/0.password")
    assert secret.user == "prometheus"
    assert secret.mode == 0o600
    assert secret.content_string == "molecule-alert-secret"


def test_alertmanager_ca_copied(host):
    ca = host.file("/etc/prometheus/alertmanagers/0-ca.crt")
    assert ca.mode == 0o644
    assert "BEGIN CERTIFICATE" in ca.content_string


def test_web_config_not_world_readable(host):
    web = host.file("/etc/prometheus/web.yml")
    assert web.mode == 0o640
    assert "$2b$" in host.check_output("cat /etc/prometheus/web.yml")


def test_service_runs_as_prometheus(host):
    service = host.service("prometheus")
    assert service.is_running
    assert service.is_enabled
    user = host.check_output("systemctl show -p User --value prometheus")
    assert user == "prometheus"


def test_service_hardened(host):
    props = host.check_output(
        "systemctl show -p NoNewPrivileges -p ProtectSystem -p CapabilityBoundingSet"
        " prometheus"
    )
    assert "NoNewPrivileges=yes" in props
    assert "ProtectSystem=strict" in props
    assert "CapabilityBoundingSet=\n" in props + "\n"


def test_config_passes_promtool(host, host_vars):
    binary_dir = (
        "/usr/local/bin"
        if host_vars["prometheus_install_method"] == "archive"
        else "/usr/bin"
    )
    cmd = host.run(f"{binary_dir}/promtool check config /etc/prometheus/prometheus.yml")
    assert cmd.rc == 0, cmd.stderr
