"""Files, permissions and the systemd unit of Grafana on the host."""

from __future__ import annotations


def test_key_readable_only_by_service(host):
    key = host.file("/etc/grafana/tls/grafana.key")
    assert key.user == "grafana"
    assert key.mode == 0o600


def test_grafana_ini_not_world_readable(host):
    ini = host.file("/etc/grafana/grafana.ini")
    assert ini.user == "root"
    assert ini.group == "grafana"
    assert ini.mode == 0o640


def test_grafana_ini_https_settings(host):
    ini = host.file("/etc/grafana/grafana.ini").content_string
    assert "protocol = https" in ini
    assert "cookie_secure = true" in ini
    assert "strict_transport_security = true" in ini
    assert "allow_sign_up = false" in ini


DATASOURCES_FILE = "/etc/grafana/provisioning/datasources/vigil-monitoring.yml"


def test_datasource_file_not_world_readable(host):
    provisioning = host.file(DATASOURCES_FILE)
    assert provisioning.group == "grafana"
    assert provisioning.mode == 0o640


def test_release_unpacked_with_current_link(host, host_vars):
    current = host.file("/opt/grafana/current")
    assert current.is_symlink
    assert current.linked_to == f"/opt/grafana/grafana-{host_vars['grafana_version']}"
    assert host.file("/opt/grafana/current/bin/grafana").mode == 0o755


def test_service_runs_as_grafana(host):
    service = host.service("grafana-server")
    assert service.is_running
    assert service.is_enabled
    user = host.check_output("systemctl show -p User --value grafana-server")
    assert user == "grafana"


def test_service_hardened(host):
    props = host.check_output(
        "systemctl show -p NoNewPrivileges -p ProtectSystem -p CapabilityBoundingSet"
        " grafana-server"
    )
    assert "NoNewPrivileges=yes" in props
    assert "ProtectSystem=strict" in props
    assert "CapabilityBoundingSet=\n" in props + "\n"


def test_data_folder_owned_by_grafana(host):
    state = host.file("/var/lib/grafana")
    assert state.user == "grafana"
    assert state.mode == 0o750
