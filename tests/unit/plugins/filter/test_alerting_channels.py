"""The filters that map vigil_alert_channels to Grafana and Alertmanager."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

REPO = Path(__file__).resolve().parents[4]
_spec = importlib.util.spec_from_file_location(
    "alerting_channels_filters", REPO / "plugins" / "filter" / "alerting_channels.py"
)
channels_filters = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(channels_filters)

SECRET_PASSWORD = "hook-secret-password"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/slack-secret-token"
TEAMS_URL = "https://example.webhook.office.com/webhookb2/teams-secret-token"


def sample_channels() -> dict:
    return {
        "development": {
            "contact_point": "development",
            "group_by": ["alertname", "service"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "integrations": [
                {
                    "type": "webhook",
                    "url": "https://hooks.example.org/dev",
                    "username": "hook",
                    "password": SECRET_PASSWORD,
                },
                {"type": "teams", "url": TEAMS_URL},
            ],
        },
        "infrastructure": {
            "contact_point": "infrastructure",
            "group_by": ["alertname", "instance"],
            "integrations": [
                {"type": "email", "to": ["ops@example.org", "oncall@example.org"]},
                {"type": "slack", "url": SLACK_URL, "channel": "#infra"},
                {"type": "webhook", "url": "http://hooks.example.org/infra"},
            ],
        },
    }


def test_problems_none_for_sample():
    assert channels_filters.alerting_channels_problems(sample_channels()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda c: c["development"]["integrations"][0].update(type="pager"),
            "vigil_alert_channels.development.integrations[0].type is 'pager'",
        ),
        (
            lambda c: c["development"]["integrations"][0].pop("url"),
            "vigil_alert_channels.development.integrations[0].url is missing",
        ),
        (
            lambda c: c["development"]["integrations"][0].pop("password"),
            "vigil_alert_channels.development.integrations[0] has a username only",
        ),
        (
            lambda c: c["development"].update(group_wait="soon"),
            "vigil_alert_channels.development.group_wait is 'soon'",
        ),
        (
            lambda c: c["development"].update(repeat_interval="0m"),
            "vigil_alert_channels.development.repeat_interval is '0m'",
        ),
        (
            lambda c: c["development"].update(group_by="alertname"),
            "vigil_alert_channels.development.group_by is 'alertname'",
        ),
        (
            lambda c: c["development"].update(group_by=["alertname", "alertname"]),
            "vigil_alert_channels.development.group_by is ['alertname', 'alertname']",
        ),
        (
            lambda c: c["development"].update(group_by=["...", "service"]),
            "vigil_alert_channels.development.group_by is ['...', 'service']",
        ),
        (
            lambda c: c["infrastructure"].update(integrations=[]),
            "vigil_alert_channels.infrastructure.integrations is missing or empty",
        ),
        (
            lambda c: c["infrastructure"]["integrations"][0].update(to=["nobody"]),
            "vigil_alert_channels.infrastructure.integrations[0].to has invalid",
        ),
        (
            lambda c: c["infrastructure"].update(contact_point="development"),
            "share the contact_point 'development'",
        ),
        (
            lambda c: c["infrastructure"].update(contact_point="null"),
            "vigil_alert_channels.infrastructure.contact_point is 'null'",
        ),
        (
            lambda c: c["infrastructure"].update(contact_point="grafana-default-email"),
            "infrastructure.contact_point is 'grafana-default-email'",
        ),
        (
            lambda c: c["infrastructure"].pop("contact_point"),
            "vigil_alert_channels.infrastructure.contact_point is missing",
        ),
    ],
)
def test_problems_name_key_and_value(change, expected):
    channels = sample_channels()
    change(channels)
    problems = channels_filters.alerting_channels_problems(channels)
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_problems_hide_secret_urls():
    channels = sample_channels()
    channels["infrastructure"]["integrations"][1]["url"] = "http://slack-secret-token"
    problems = channels_filters.alerting_channels_problems(channels)
    assert len(problems) == 1
    assert "slack-secret-token" not in problems[0]
    assert "starts with 'http://'" in problems[0]


def test_problems_reject_number_password():
    channels = sample_channels()
    channels["development"]["integrations"][0]["password"] = 73519
    problems = channels_filters.alerting_channels_problems(channels)
    assert len(problems) == 1
    assert "development.integrations[0].password has the type int" in problems[0]
    assert "73519" not in problems[0]


def test_problems_reject_teams_when_unsupported():
    problems = channels_filters.alerting_channels_problems(
        sample_channels(), "alertmanager_channels", ["webhook", "email", "slack"]
    )
    assert len(problems) == 1
    assert "alertmanager_channels.development.integrations[1].type" in problems[0]
    assert "does not support" in problems[0]


def test_problems_name_given_variable():
    problems = channels_filters.alerting_channels_problems([], "alertmanager_channels")
    assert problems == ["alertmanager_channels is []: use a dict keyed by team"]


def test_channel_types_sorted_and_unique():
    types = channels_filters.alerting_channel_types(sample_channels())
    assert types == ["email", "slack", "teams", "webhook"]


def test_grafana_contact_points_settings():
    points = channels_filters.alerting_grafana_contact_points(sample_channels())
    assert [p["name"] for p in points] == ["development", "infrastructure"]
    development, infrastructure = points
    assert development["integrations"] == [
        {
            "type": "webhook",
            "settings": {
                "url": "https://hooks.example.org/dev",
                "httpMethod": "POST",
                "username": "hook",
                "password": SECRET_PASSWORD,
            },
            "disable_resolve_message": False,
        },
        {
            "type": "teams",
            "settings": {"url": TEAMS_URL},
            "disable_resolve_message": False,
        },
    ]
    settings = [i["settings"] for i in infrastructure["integrations"]]
    assert settings[0] == {"addresses": "ops@example.org;oncall@example.org"}
    assert settings[1] == {"url": SLACK_URL, "recipient": "#infra"}
    assert settings[2] == {
        "url": "http://hooks.example.org/infra",
        "httpMethod": "POST",
    }


def test_grafana_policies_match_team():
    policies = channels_filters.alerting_grafana_policies(sample_channels())
    assert policies[0] == {
        "match": {"team": "development"},
        "routes": [
            {
                "receiver": "development",
                "object_matchers": [["team", "=", "development"]],
                "group_by": ["alertname", "service"],
                "group_wait": "30s",
                "group_interval": "5m",
                "repeat_interval": "4h",
            }
        ],
    }


def test_grafana_policies_default_timing():
    infrastructure = channels_filters.alerting_grafana_policies(sample_channels())[1]
    route = infrastructure["routes"][0]
    assert route["group_wait"] == "30s"
    assert route["group_interval"] == "5m"
    assert route["repeat_interval"] == "4h"


def test_alertmanager_receivers_map_integrations():
    receivers = channels_filters.alertmanager_receivers(sample_channels())
    assert receivers[0] == {"name": "null"}
    development = receivers[1]
    assert development["webhook_configs"] == [
        {
            "url": "https://hooks.example.org/dev",
            "send_resolved": True,
            "http_config": {
                "basic_auth": {"username": "hook", "password": SECRET_PASSWORD}
            },
        }
    ]
    assert development["msteams_configs"] == [
        {"webhook_url": TEAMS_URL, "send_resolved": True}
    ]
    infrastructure = receivers[2]
    assert infrastructure["email_configs"] == [
        {"to": "ops@example.org, oncall@example.org", "send_resolved": True}
    ]
    assert infrastructure["slack_configs"] == [
        {"api_url": SLACK_URL, "send_resolved": True, "channel": "#infra"}
    ]
    assert "http_config" not in infrastructure["webhook_configs"][0]


def test_alertmanager_route_per_team():
    route = channels_filters.alertmanager_route(sample_channels())
    assert route["receiver"] == "null"
    assert [r["matchers"] for r in route["routes"]] == [
        ['team="development"'],
        ['team="infrastructure"'],
    ]
    assert route["routes"][1]["group_by"] == ["alertname", "instance"]
    assert route["routes"][1]["repeat_interval"] == "4h"


def test_mapping_rejects_invalid_channels():
    channels = sample_channels()
    channels["development"]["integrations"][0]["type"] = "pager"
    with pytest.raises(AnsibleFilterError, match="type is 'pager'"):
        channels_filters.alertmanager_receivers(channels)


@pytest.fixture(scope="module")
def amtool() -> str:
    path = os.environ.get("VIGIL_AMTOOL") or str(REPO / ".cache/bin/amtool")
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"amtool not found at {path}. Run scripts/debian-binaries.sh to"
            " download it into .cache/bin, or set VIGIL_AMTOOL to its path."
        )
    return path


def test_alertmanager_config_passes_amtool(tmp_path, amtool):
    channels = sample_channels()
    # Alertmanager 0.25 (Debian 12's amtool here) has no msteams_configs.
    channels["development"]["integrations"].pop()
    config = {
        "global": {"smtp_smarthost": "127.0.0.1:25", "smtp_from": "am@example.org"},
        "route": channels_filters.alertmanager_route(channels),
        "receivers": channels_filters.alertmanager_receivers(channels),
    }
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [amtool, "check-config", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_route_escapes_team_quotes(tmp_path, amtool):
    channel = {
        "contact_point": "ops",
        "integrations": [{"type": "webhook", "url": "http://hooks.example.org/ops"}],
    }
    channels = {'ops "east"\\1': channel}
    route = channels_filters.alertmanager_route(channels)
    assert route["routes"][0]["matchers"] == ['team="ops \\"east\\"\\\\1"']
    config = {
        "route": route,
        "receivers": channels_filters.alertmanager_receivers(channels),
    }
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [amtool, "check-config", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
