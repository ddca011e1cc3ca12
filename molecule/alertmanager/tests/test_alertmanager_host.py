"""Files, permissions and the systemd unit of Alertmanager on the host."""

from __future__ import annotations


def test_config_readable_only_by_group(host):
    config = host.file("/etc/alertmanager/alertmanager.yml")
    assert config.user == "root"
    assert config.group == "alertmanager"
    assert config.mode == 0o640


def test_key_readable_only_by_service(host):
    key = host.file("/etc/alertmanager/tls/alertmanager.key")
    assert key.user == "alertmanager"
    assert key.mode == 0o600


def test_web_config_holds_only_hashes(host):
    web = host.file("/etc/alertmanager/web.yml")
    assert web.mode == 0o640
    text = host.check_output("cat /etc/alertmanager/web.yml")
    assert "$2b$" in text
    assert "molecule-web-secret" not in text


def test_storage_in_var_lib(host):
    data = host.file("/var/lib/alertmanager")
    assert data.is_directory
    assert data.user == "alertmanager"
    assert data.mode == 0o750
    assert host.file("/var/lib/alertmanager/nflog").exists


def test_service_runs_as_alertmanager(host):
    service = host.service("alertmanager")
    assert service.is_running
    assert service.is_enabled
    user = host.check_output("systemctl show -p User --value alertmanager")
    assert user == "alertmanager"


def test_service_hardened(host):
    props = host.check_output(
        "systemctl show -p NoNewPrivileges -p ProtectSystem -p CapabilityBoundingSet"
        " alertmanager"
    )
    assert "NoNewPrivileges=yes" in props
    assert "ProtectSystem=strict" in props
    assert "CapabilityBoundingSet=\n" in props + "\n"


def test_package_unit_masked(host, host_vars):
    if host_vars["alertmanager_install_method"] != "package":
        assert not host.package("prometheus-alertmanager").is_installed
        return
    state = host.run("systemctl is-enabled prometheus-alertmanager")
    assert state.stdout.strip() == "masked"


def test_config_passes_amtool(host):
    cmd = host.run(
        "$(command -v amtool || echo /usr/local/bin/amtool)"
        " check-config /etc/alertmanager/alertmanager.yml"
    )
    assert cmd.rc == 0, cmd.stderr


def test_teams_only_where_supported(host, host_vars):
    config = host.check_output("cat /etc/alertmanager/alertmanager.yml")
    want_teams = bool(host_vars["molecule_teams_integrations"])
    assert ("msteams_configs" in config) == want_teams
