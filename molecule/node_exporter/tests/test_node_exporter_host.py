"""Files, permissions and the systemd unit of node_exporter on the host."""

from __future__ import annotations


def test_key_readable_only_by_service(host):
    key = host.file("/etc/node_exporter/tls/node_exporter.key")
    assert key.user == "node_exporter"
    assert key.mode == 0o600


def test_service_runs_as_node_exporter(host):
    service = host.service("node_exporter")
    assert service.is_running
    assert service.is_enabled
    user = host.check_output("systemctl show -p User --value node_exporter")
    assert user == "node_exporter"


def test_package_service_masked(host, host_vars):
    if host_vars["node_exporter_install_method"] != "package":
        assert not host.exists("prometheus-node-exporter")
        return
    state = host.run("systemctl is-enabled prometheus-node-exporter").stdout.strip()
    assert state == "masked"


def test_service_hardened(host):
    props = host.check_output(
        "systemctl show -p NoNewPrivileges -p ProtectSystem -p ProtectHome"
        " node_exporter"
    )
    assert "NoNewPrivileges=yes" in props
    assert "ProtectSystem=strict" in props
    assert "ProtectHome=read-only" in props
