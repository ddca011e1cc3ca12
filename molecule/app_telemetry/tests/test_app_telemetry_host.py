"""The drop-in, the proxy's unit and its files on the host."""

from __future__ import annotations

DROPIN = "/etc/systemd/system/user-management.service.d/app-telemetry.conf"


def test_dropin_turns_on_exporter(host):
    environment = host.check_output(
        "systemctl show -p Environment --value user-management"
    )
    assert "OTEL_METRICS_EXPORTER=prometheus" in environment
    assert "OTEL_EXPORTER_PROMETHEUS_HOST=127.0.0.1" in environment
    assert "OTEL_EXPORTER_PROMETHEUS_PORT=9464" in environment
    assert "OTEL_SERVICE_NAME=user_management" in environment


def test_dropin_file_root_owned(host):
    dropin = host.file(DROPIN)
    assert dropin.user == "root"
    assert dropin.mode == 0o644


def test_exporter_listens_on_loopback_only(host):
    listening = host.check_output("ss -Htln sport = :9464")
    assert "127.0.0.1:9464" in listening
    assert "0.0.0.0:9464" not in listening


def test_proxy_service_running(host):
    service = host.service("app-telemetry-proxy")
    assert service.is_running
    assert service.is_enabled


def test_package_nginx_masked(host):
    state = host.run("systemctl is-enabled nginx").stdout.strip()
    assert state == "masked"


def test_key_readable_only_by_root(host):
    key = host.file("/etc/app-telemetry/tls/proxy.key")
    assert key.user == "root"
    assert key.mode == 0o600


def test_password_stored_as_bcrypt(host, host_vars):
    content = host.file("/etc/app-telemetry/htpasswd").content_string
    assert content.startswith("prometheus:$2b$")
    assert host_vars["app_telemetry_web_password"] not in content


def test_proxy_hardened(host):
    props = host.check_output(
        "systemctl show -p NoNewPrivileges -p ProtectSystem app-telemetry-proxy"
    )
    assert "NoNewPrivileges=yes" in props
    assert "ProtectSystem=strict" in props
